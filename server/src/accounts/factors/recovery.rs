//! Recovery codes (ASVS 6.5.1–6.5.4 lookup secrets): ten single-use codes of 50 random bits
//! each, shown once, stored as HMAC-SHA256 under a key derived from the key-encryption key
//! (a copy of the database alone does not allow guessing them offline).

use hmac::{Hmac, Mac};
use rand::Rng;

use super::FactorKeys;
use crate::protocol::ids::AccountId;

/// How many codes a set has.
pub const COUNT: usize = 10;
/// Characters per code (without the separator).
pub const LENGTH: usize = 10;
/// No 0/O, 1/I: 32 symbols, 5 bits each.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// A fresh set, as shown to the person (`XXXXX-XXXXX`).
pub fn generate() -> Vec<String> {
    let mut rng = rand::rng();
    (0..COUNT)
        .map(|_| {
            let raw: String = (0..LENGTH)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            format!("{}-{}", &raw[..LENGTH / 2], &raw[LENGTH / 2..])
        })
        .collect()
}

/// The stored form of a code (typed codes are upper-cased, without spaces and dashes).
pub fn hash(keys: &FactorKeys, account_id: &AccountId, code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&keys.recovery)
        .unwrap_or_else(|_| unreachable!());
    mac.update(account_id.as_str().as_bytes());
    mac.update(b":");
    mac.update(normalised.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The stored forms of a set.
pub fn hashes(keys: &FactorKeys, account_id: &AccountId, codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| hash(keys, account_id, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyEncryptionKey;

    fn keys() -> FactorKeys {
        use base64::Engine;
        let kek = KeyEncryptionKey::from_base64(
            &base64::engine::general_purpose::STANDARD.encode([7u8; 32]),
        )
        .unwrap();
        FactorKeys::from_kek(&kek)
    }

    #[test]
    fn a_set_has_ten_distinct_codes_of_the_readable_alphabet() {
        let set = generate();
        assert_eq!(set.len(), COUNT);
        let mut unique = set.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        for c in &set {
            assert_eq!(c.len(), LENGTH + 1);
            assert!(
                c.replace('-', "").bytes().all(|b| ALPHABET.contains(&b)),
                "{c}"
            );
        }
    }

    #[test]
    fn a_code_hashes_the_same_however_it_is_typed_and_differently_per_account() {
        let k = keys();
        let a = AccountId::new("a");
        let h = hash(&k, &a, "ABCDE-FGHJK");
        assert_eq!(hash(&k, &a, " abcde fghjk "), h);
        assert_ne!(hash(&k, &AccountId::new("b"), "ABCDE-FGHJK"), h);
    }
}
