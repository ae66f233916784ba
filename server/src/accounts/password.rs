//! argon2id password hashing (OWASP: m=19456 KiB, t=2, p=1) on blocking threads, with a cap on
//! concurrent hashes. A sign-in for an unknown email verifies against a dummy hash, so it takes
//! as long as a wrong password (no account enumeration through timing).

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use std::sync::Arc;
use tokio::sync::Semaphore;

use super::AccountError;
use crate::secret::Secret;
use crate::store::Account;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &Secret) -> Result<String, AccountError> {
    argon2()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

pub async fn hash_blocking(password: Secret) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
}

/// Verifies passwords with bounded parallelism.
#[derive(Clone)]
pub struct PasswordVerifierPool {
    permits: Arc<Semaphore>,
    dummy_hash: Arc<String>,
}

impl PasswordVerifierPool {
    pub fn new(max_concurrent: usize) -> Result<Self, AccountError> {
        let dummy = hash_now(&Secret::new(crate::tokens::opaque::random_id()))?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
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
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?;
        let ok = tokio::task::spawn_blocking(move || {
            hash.parse::<PasswordHash>()
                .map(|parsed| {
                    argon2()
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
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
        let h = hash_now(&Secret::new("correct horse")).unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
    }
}
