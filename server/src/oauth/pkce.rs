//! PKCE verification at the token endpoint (RFC 7636 §4.6; RFC 9700 §2.1.1), through
//! oxide-auth's `Pkce` primitive. A verifier without a stored challenge is a downgrade attempt.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value;
use sha2::Digest as _;
use std::borrow::Cow;

use crate::protocol::error::OAuthError;

/// An S256 `code_challenge` in the form it is stored with its code, the form `verify` reads.
pub fn stored(challenge: &str) -> Option<String> {
    Pkce::required()
        .challenge(Some(Cow::Borrowed("S256")), Some(Cow::Borrowed(challenge)))
        .ok()
        .flatten()
        .and_then(|v| v.into_private_value().ok().flatten())
}

/// The stored challenge a code must carry for `verify(stored, verifier)` to pass: `Some(None)`
/// without a verifier (a code issued without a challenge), the verifier's S256 challenge with
/// one; `None` when the verifier is malformed (only `verify` can say why). Lets the token
/// endpoint claim a code only if it matches, in one statement.
pub fn expected(verifier: Option<&str>) -> Option<Option<String>> {
    let Some(v) = verifier else {
        return Some(None);
    };
    if !well_formed(v) {
        return None;
    }
    let digest = sha2::Sha256::digest(v.as_bytes());
    stored(&URL_SAFE_NO_PAD.encode(digest)).map(Some)
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn well_formed(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

pub fn verify(stored_challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (stored_challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (Some(challenge), Some(v)) => {
            if !well_formed(v) {
                return Err(OAuthError::invalid_grant("code_verifier is malformed"));
            }
            Pkce::required()
                .verify(
                    Some(Value::private(Some(challenge.to_owned()))),
                    Some(Cow::Borrowed(v)),
                )
                .map_err(|_| {
                    OAuthError::invalid_grant("code_verifier does not match the code_challenge")
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn the_rfc7636_example_verifies() {
        let v = Pkce::required()
            .challenge(
                Some(Cow::Borrowed("S256")),
                Some(Cow::Borrowed("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")),
            )
            .unwrap()
            .unwrap();
        let stored = v.into_private_value().unwrap().unwrap();
        verify(
            Some(&stored),
            Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        )
        .unwrap();
        assert_eq!(
            expected(Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            Some(Some(stored.clone()))
        );
        assert_eq!(expected(None), Some(None));
        assert_eq!(expected(Some("short")), None);
        assert!(
            verify(
                Some(&stored),
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX")
            )
            .is_err()
        );
    }
}
