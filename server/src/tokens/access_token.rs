//! JWT access tokens per RFC 9068: `typ: at+jwt`, iss, sub, aud, client_id, scope, jti, iat,
//! exp. Verification for our own resource endpoints (userinfo, introspection) checks type,
//! issuer, audience and expiry, then the store for revocation.

use serde_json::{Map, Value, json};

use crate::keys::{KeyError, KeyRing, Signer};
use crate::protocol::ids::GrantId;
use crate::protocol::vocab::Scopes;
use crate::tokens::opaque;

pub const TYP: &str = "at+jwt";

pub struct AccessTokenInput<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    /// The user, or for client credentials the client itself (RFC 9068 §2.2).
    pub subject: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scopes,
    pub now: i64,
    pub lifetime: i64,
    pub auth_time: Option<i64>,
    /// The grant the token is issued under (none for client credentials). It leads the `jti`,
    /// `<grant>.<random>`, so revoking the grant revokes the token with no row per token.
    pub grant: Option<&'a GrantId>,
    /// The `roles` claim: the account's (with the `roles` scope), or a client's own.
    pub roles: Option<&'a [String]>,
}

pub struct MintedAccessToken {
    pub token: String,
    pub jti: String,
    pub expires_at: i64,
}

/// The token `i` describes, signed on the signing threads.
pub async fn mint(signer: &Signer, i: AccessTokenInput<'_>) -> Result<MintedAccessToken, KeyError> {
    let (claims, mut minted) = unsigned(i);
    minted.token = signer.sign(claims, TYP).await?;
    Ok(minted)
}

/// The claims of the token `i` describes, and the token's figures with `token` still empty.
pub(super) fn unsigned(i: AccessTokenInput<'_>) -> (Map<String, Value>, MintedAccessToken) {
    let jti = match i.grant {
        Some(g) => format!("{g}.{}", opaque::random_id()),
        None => opaque::random_id(),
    };
    let mut c = Map::new();
    c.insert("iss".into(), json!(i.issuer));
    c.insert("sub".into(), json!(i.subject));
    c.insert("aud".into(), json!(i.audience));
    c.insert("client_id".into(), json!(i.client_id));
    c.insert("scope".into(), json!(i.scope.to_string()));
    c.insert("jti".into(), json!(jti));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + i.lifetime));
    if let Some(t) = i.auth_time {
        c.insert("auth_time".into(), json!(t));
    }
    if let Some(r) = i.roles {
        c.insert("roles".into(), json!(r));
    }
    let minted = MintedAccessToken {
        token: String::new(),
        jti,
        expires_at: i.now + i.lifetime,
    };
    (c, minted)
}

/// The claims of an access token that passed every signature and claim check.
#[derive(Debug, Clone)]
pub struct VerifiedAccessToken {
    pub claims: Map<String, Value>,
    pub subject: String,
    pub client_id: String,
    pub jti: String,
    pub scope: Scopes,
    pub expires_at: i64,
}

impl VerifiedAccessToken {
    /// The grant the token was issued under, read from its `jti`.
    pub fn grant(&self) -> Option<GrantId> {
        self.jti
            .split_once('.')
            .map(|(grant, _)| GrantId::new(grant.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessTokenError {
    #[error("signature or format")]
    Malformed(#[from] KeyError),
    #[error("not an access token")]
    WrongType,
    #[error("claim {0} is missing or wrong")]
    Claim(&'static str),
    #[error("expired")]
    Expired,
}

/// Verify signature, `typ`, issuer, audience and expiry (RFC 9068 §4). Revocation is the
/// caller's next step.
pub fn verify(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
    audience: &str,
    now: i64,
) -> Result<VerifiedAccessToken, AccessTokenError> {
    let (claims, typ) = ring.verify(token)?;
    if !typ.is_some_and(|t| {
        t.eq_ignore_ascii_case(TYP) || t.eq_ignore_ascii_case("application/at+jwt")
    }) {
        return Err(AccessTokenError::WrongType);
    }
    let s = |k: &'static str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(AccessTokenError::Claim(k))
    };
    if s("iss")? != issuer {
        return Err(AccessTokenError::Claim("iss"));
    }
    if s("aud")? != audience {
        return Err(AccessTokenError::Claim("aud"));
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(AccessTokenError::Claim("exp"))?;
    if exp <= now {
        return Err(AccessTokenError::Expired);
    }
    let scope = Scopes::parse(&s("scope")?).ok_or(AccessTokenError::Claim("scope"))?;
    Ok(VerifiedAccessToken {
        subject: s("sub")?,
        client_id: s("client_id")?,
        jti: s("jti")?,
        scope,
        expires_at: exp,
        claims,
    })
}
