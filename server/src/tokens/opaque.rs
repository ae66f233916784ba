//! Opaque credentials: authorization codes, refresh tokens, session ids, request ids. 256 random
//! bits, base64url; the store keeps only a SHA-256 hash (RFC 9700 §4.14, OAuth 2.1 §7.7).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::secret::Secret;

pub fn random_token() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

/// A random identifier that is not secret (grant ids, jti, request ids).
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The form in which the store keeps a code or token.
pub fn hash(value: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(value.as_bytes()))
}

/// The successor of a refresh token: an HMAC of the old token under a server key, so a replay
/// inside the grace window can be given the same successor without storing it.
pub fn successor(key: &[u8; 32], old: &Secret) -> Secret {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(b"refresh-successor:");
    mac.update(old.expose().as_bytes());
    Secret::new(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_256_bits_and_differ() {
        let a = random_token();
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a, random_token());
    }

    #[test]
    fn a_successor_depends_on_key_and_token() {
        let t = Secret::new("t");
        assert_eq!(successor(&[1; 32], &t), successor(&[1; 32], &t));
        assert_ne!(successor(&[1; 32], &t), successor(&[2; 32], &t));
    }
}
