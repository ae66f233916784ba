//! PKCE verification at the token endpoint (RFC 7636 §4.6; RFC 9700 §2.1.1), through
//! oxide-auth's `Pkce` primitive. A verifier without a stored challenge is a downgrade attempt.

use oxide_auth::code_grant::extensions::Pkce;
use oxide_auth::primitives::grant::Value;
use std::borrow::Cow;

use crate::protocol::error::OAuthError;

pub fn verify(stored_challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (stored_challenge, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (Some(challenge), Some(v)) => {
            // RFC 7636 §4.1: 43 to 128 unreserved characters.
            let well_formed = (43..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
            if !well_formed {
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
        assert!(
            verify(
                Some(&stored),
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX")
            )
            .is_err()
        );
    }
}
