//! What the demo relying party shows of a JWT: its header and claims decoded, and whether its
//! RS256 signature verifies against a key of the provider's published JWKS (by `kid`), checked
//! with the openidconnect crate's JWK code as any relying party would (RFC 7515 §5.2).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::JsonWebKey;
use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
use serde_json::Value;

/// A decoded token and the verdict on its signature.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub header: String,
    pub claims: Value,
    /// `Ok(kid)` when the signature verified with that key; the reason otherwise.
    pub signature: Result<String, String>,
}

impl Decoded {
    pub fn claims_text(&self) -> String {
        serde_json::to_string_pretty(&self.claims).unwrap_or_default()
    }
}

fn part(s: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?).ok()
}

/// Decode `token` and check its signature against `jwks` (the JSON document).
pub fn decode(token: &str, jwks: &Value) -> Decoded {
    let parts: Vec<&str> = token.split('.').collect();
    let (Some(header), Some(claims)) = (
        parts.first().and_then(|p| part(p)),
        parts.get(1).and_then(|p| part(p)),
    ) else {
        return Decoded {
            header: String::new(),
            claims: Value::Null,
            signature: Err("not a JWT".into()),
        };
    };
    Decoded {
        header: serde_json::to_string_pretty(&header).unwrap_or_default(),
        claims,
        signature: verify(&parts, &header, jwks),
    }
}

fn verify(parts: &[&str], header: &Value, jwks: &Value) -> Result<String, String> {
    if parts.len() != 3 {
        return Err("not a signed JWT".into());
    }
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err("not RS256".into());
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or("no kid in the header")?;
    let set: CoreJsonWebKeySet = serde_json::from_value(jwks.clone())
        .map_err(|e| format!("the JWKS does not parse: {e}"))?;
    let key = set
        .keys()
        .iter()
        .find(|k| k.key_id().is_some_and(|id| id.as_str() == kid))
        .ok_or_else(|| format!("kid {kid} is not in the JWKS"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(parts[2])
        .map_err(|_| "the signature is not base64url")?;
    let message = format!("{}.{}", parts[0], parts[1]);
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        message.as_bytes(),
        &signature,
    )
    .map(|()| kid.to_owned())
    .map_err(|e| format!("the signature does not verify: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_that_is_not_a_jwt_is_shown_as_such() {
        let d = decode("nope", &serde_json::json!({"keys": []}));
        assert!(d.signature.is_err());
    }

    #[test]
    fn an_unsigned_token_never_verifies() {
        let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k"}"#);
        let c = URL_SAFE_NO_PAD.encode(r#"{"sub":"x"}"#);
        let d = decode(&format!("{h}.{c}."), &serde_json::json!({"keys": []}));
        assert_eq!(d.signature, Err("not RS256".into()));
        assert_eq!(d.claims["sub"], "x");
    }
}
