//! ID tokens (OIDC Core §2, §3.1.3.6): RS256, with at_hash binding the access token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::keys::{KeyError, KeyRing, Signer};
use crate::protocol::vocab::Amr;
use crate::tokens::access_token::{self, AccessTokenInput, MintedAccessToken};

pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub client_id: &'a str,
    pub now: i64,
    pub lifetime: i64,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub amr: &'a [Amr],
    /// The authentication context class reached (OIDC Core §2).
    pub acr: Option<&'a str>,
    /// The upstream that signed the user in (absent for a local password).
    pub idp: Option<&'a str>,
    /// The browser session it was issued in (Back-Channel Logout 1.0 §2.1).
    pub sid: Option<&'a str>,
    pub user_claims: Map<String, Value>,
}

/// OIDC Core §3.1.3.6: the base64url of the left half of SHA-256 of the access token.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// The access token `at` describes and the ID token `id` describes, bound to it by `at_hash`:
/// both signed in one turn of the signing threads.
pub async fn mint_with_access_token(
    signer: &Signer,
    at: AccessTokenInput<'_>,
    id: IdTokenInput<'_>,
) -> Result<(MintedAccessToken, String), KeyError> {
    let (at_claims, mut minted) = access_token::unsigned(at);
    let mut id_claims = unsigned(id);
    signer
        .run(move |ring| {
            minted.token = ring.sign(at_claims, access_token::TYP)?;
            id_claims.insert("at_hash".into(), json!(at_hash(&minted.token)));
            let id_token = ring.sign(id_claims, "JWT")?;
            Ok((minted, id_token))
        })
        .await
}

/// The claims of the ID token `i` describes, but its `at_hash`.
fn unsigned(i: IdTokenInput<'_>) -> Map<String, Value> {
    let mut c = i.user_claims;
    c.insert("iss".into(), json!(i.issuer));
    c.insert("sub".into(), json!(i.subject));
    c.insert("aud".into(), json!(i.client_id));
    // A single audience: azp equals it, and OIDC Core §2 makes it optional; we send it anyway
    // so relying parties that always check azp are satisfied.
    c.insert("azp".into(), json!(i.client_id));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + i.lifetime));
    c.insert("auth_time".into(), json!(i.auth_time));
    if let Some(n) = i.nonce {
        c.insert("nonce".into(), json!(n));
    }
    c.insert("amr".into(), json!(i.amr));
    if let Some(acr) = i.acr {
        c.insert("acr".into(), json!(acr));
    }
    if let Some(idp) = i.idp {
        c.insert("idp".into(), json!(idp));
    }
    if let Some(sid) = i.sid {
        c.insert("sid".into(), json!(sid));
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OIDC Core appendix A.3 example access token and its at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HintError {
    #[error("signature, algorithm or key")]
    Signature(#[from] KeyError),
    #[error("claim {0} is missing or wrong")]
    Claim(&'static str),
}

/// What a verified `id_token_hint` says.
#[derive(Debug, Clone)]
pub struct Hint {
    pub subject: String,
    pub audience: Vec<String>,
}

/// An `id_token_hint` (OIDC Core §3.1.2.1; RP-Initiated Logout §2): an ID token signed by one
/// of our keys with RS256 (so `none`, HS256 and header-supplied keys fail), typed `JWT` (an
/// access token is not an ID token: RFC 8725 §3.11), issued by us. It may have expired.
pub fn verify_hint(ring: &KeyRing, token: &str, issuer: &str) -> Result<Hint, HintError> {
    let (claims, typ) = ring.verify(token)?;
    if !typ.is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
        || claims.contains_key("client_id")
        || claims.contains_key("scope")
    {
        return Err(HintError::Claim("typ"));
    }
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(HintError::Claim("iss"));
    }
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(HintError::Claim("sub"))?
        .to_owned();
    let audience = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(HintError::Claim("aud"))?,
        _ => return Err(HintError::Claim("aud")),
    };
    if audience.is_empty() {
        return Err(HintError::Claim("aud"));
    }
    Ok(Hint { subject, audience })
}
