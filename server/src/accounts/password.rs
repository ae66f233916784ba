//! argon2id password hashing (OWASP: m=19456 KiB, t=2, p=1; RFC 9106) on a fixed set of
//! threads, each hashing into its own pre-allocated working memory, so the process holds
//! exactly `threads × 19 MiB` for hashing however many sign-ins arrive. A sign-in for an
//! unknown email verifies against a dummy hash, so it takes as long as a wrong password (no
//! account enumeration through timing).

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use std::sync::Arc;
use subtle::ConstantTimeEq as _;

use super::AccountError;
use super::policy::normalise;
use crate::secret::Secret;
use crate::store::Account;
use crate::workers::Workers;

/// The parameters new hashes get (OWASP Password Storage Cheat Sheet, argon2id option 2).
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, Some(32)).unwrap_or_default()
}

/// Whether a password typed at sign-in is within the limit every password is held to (longer
/// ones are refused unhashed, against long-password DoS).
pub fn within_limit(password: &Secret) -> bool {
    password.expose().len() <= super::policy::MAX_BYTES
}

/// One thread's argon2 working memory: allocated at its first hash for the default parameters
/// (an idle server holds none) and reused by every hash after. A stored hash with larger
/// parameters (made under an earlier policy) is verified in memory allocated for that hash
/// alone and freed after it.
#[derive(Default)]
struct Workspace {
    blocks: Vec<Block>,
}

impl Workspace {
    fn new() -> Self {
        Self::default()
    }

    /// argon2 of `password` with `salt` under `params` into `out`.
    fn compute(
        &mut self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let needed = params.block_count();
        let default = self::params().block_count();
        if self.blocks.is_empty() && needed <= default {
            self.blocks = vec![Block::default(); default];
        }
        let argon = Argon2::new(algorithm, version, params);
        match self.blocks.get_mut(..needed) {
            Some(blocks) => argon.hash_password_into_with_memory(password, salt, out, blocks),
            None => argon.hash_password_into(password, salt, out),
        }
    }

    /// A PHC string for `password` (NFKC-normalised) with a fresh random salt.
    fn hash(&mut self, password: &Secret) -> Result<String, AccountError> {
        let password = &normalise(password);
        let fail = |e: &dyn std::fmt::Display| AccountError::Hash(e.to_string());
        let salt_bytes: [u8; 16] = rand::random();
        let mut out = [0u8; 32];
        self.compute(
            Algorithm::Argon2id,
            Version::V0x13,
            params(),
            password.expose().as_bytes(),
            &salt_bytes,
            &mut out,
        )
        .map_err(|e| fail(&e))?;
        phc(&salt_bytes, &out)
    }

    /// Whether `password` matches the PHC string `stored`: its NFKC form (how hashes are made
    /// now), or, when that differs, the password as typed (a hash made before normalisation).
    fn verify(&mut self, password: &Secret, stored: &str) -> bool {
        let normalised = normalise(password);
        self.verify_exact(&normalised, stored)
            || (normalised.expose() != password.expose() && self.verify_exact(password, stored))
    }

    /// Whether exactly `password` matches the PHC string `stored`, compared in constant time.
    fn verify_exact(&mut self, password: &Secret, stored: &str) -> bool {
        let Ok(phc) = PasswordHash::new(stored) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params)) = (
            Algorithm::try_from(phc.algorithm.as_str()),
            Params::try_from(&phc),
        ) else {
            return false;
        };
        let version = phc
            .version
            .map_or(Ok(Version::V0x13), Version::try_from)
            .unwrap_or(Version::V0x13);
        let mut out = vec![0u8; expected.len()];
        self.compute(
            algorithm,
            version,
            params,
            password.expose().as_bytes(),
            salt.as_ref(),
            &mut out,
        )
        .is_ok()
            && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
    }
}

/// The PHC string of an argon2id `output` under the default parameters and `salt`.
fn phc(salt: &[u8], output: &[u8]) -> Result<String, AccountError> {
    let fail = |e: &dyn std::fmt::Display| AccountError::Hash(e.to_string());
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params()).map_err(|e| fail(&e))?,
        salt: Some(Salt::new(salt).map_err(|e| fail(&e))?),
        hash: Some(Output::new(output).map_err(|e| fail(&e))?),
    };
    Ok(phc.to_string())
}

/// What a sign-in for an unknown email is verified against: a well-formed argon2id hash with
/// the default parameters, a random salt and a random output that no password produces
/// (verifying it costs one hash, like a real one; making it costs none, so no working
/// memory is touched at startup).
fn dummy_hash() -> Result<String, AccountError> {
    let salt: [u8; 16] = rand::random();
    let output: [u8; 32] = rand::random();
    phc(&salt, &output)
}

/// A hash for a new password, on a blocking thread with working memory of its own (account
/// creation is rare; sign-ins use the pool).
pub async fn hash_blocking(password: Secret) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || Workspace::new().hash(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
}

/// Password checks waiting at most before callers wait to queue theirs.
const QUEUE: usize = 1024;

/// Verifies passwords on a fixed set of threads (one per allowed concurrent hash), each with
/// its own `Workspace`; requests queue in order when all are busy.
#[derive(Clone)]
pub struct PasswordVerifierPool {
    workers: Workers<Workspace>,
    dummy_hash: Arc<String>,
}

impl PasswordVerifierPool {
    pub fn new(threads: usize) -> Result<Self, AccountError> {
        let dummy = dummy_hash()?;
        let workers = Workers::start("argon2", threads, QUEUE, Workspace::new)
            .map_err(|e| AccountError::Hash(e.to_string()))?;
        Ok(Self {
            workers,
            dummy_hash: Arc::new(dummy),
        })
    }

    /// True only if the account exists, has a password, and it matches. Always costs one hash.
    pub async fn verify(
        &self,
        account: Option<&Account>,
        password: Secret,
    ) -> Result<bool, AccountError> {
        let stored = account.and_then(|a| a.password_hash.clone());
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let ok = self
            .workers
            .run(move |workspace: &mut Workspace| workspace.verify(&password, &hash))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?;
        Ok(ok && real)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hashes_are_argon2id_with_owasp_parameters() {
        let h = Workspace::new()
            .hash(&Secret::new("correct horse"))
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    }

    #[test]
    fn the_dummy_hash_is_a_default_argon2id_hash_no_password_matches() {
        let h = dummy_hash().unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert_ne!(h, dummy_hash().unwrap(), "salt and output are random");
        let mut w = Workspace::new();
        assert!(!w.verify(&Secret::new(""), &h));
        assert_eq!(w.blocks.len(), params().block_count(), "verified in full");
    }

    #[test]
    fn a_hash_verifies_its_password_and_no_other() {
        let mut w = Workspace::new();
        let h = w.hash(&Secret::new("correct horse")).unwrap();
        assert!(w.verify(&Secret::new("correct horse"), &h));
        assert!(!w.verify(&Secret::new("correct horsf"), &h));
        assert!(!w.verify(&Secret::new("correct horse"), "not a phc string"));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_verify_including_other_parameters() {
        use argon2::password_hash::PasswordHasher as _;
        let mut w = Workspace::new();
        for (m, t) in [(19 * 1024, 2), (8 * 1024, 3), (32 * 1024, 1)] {
            let p = Params::new(m, t, 1, None).unwrap();
            let h = Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
                .hash_password(b"correct horse")
                .unwrap()
                .to_string();
            assert!(w.verify(&Secret::new("correct horse"), &h), "{h}");
            assert!(!w.verify(&Secret::new("wrong horse"), &h), "{h}");
        }
        assert_eq!(
            w.blocks.len(),
            params().block_count(),
            "workspace not grown"
        );
    }

    #[test]
    fn equivalent_unicode_forms_of_a_password_verify_alike() {
        let mut w = Workspace::new();
        let h = w
            .hash(&Secret::new("caf\u{00e9} au lait s'il vous pla\u{00ee}t"))
            .unwrap();
        assert!(w.verify(
            &Secret::new("cafe\u{0301} au lait s'il vous plai\u{0302}t"),
            &h
        ));
    }

    #[test]
    fn a_new_workspace_holds_no_memory_until_its_first_hash() {
        let mut w = Workspace::new();
        assert!(w.blocks.is_empty());
        w.hash(&Secret::new("correct horse")).unwrap();
        assert_eq!(w.blocks.len(), params().block_count());
    }
}
