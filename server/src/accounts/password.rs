//! argon2id password hashing (OWASP: m=19456 KiB, t=2, p=1) on blocking threads, with a cap on
//! concurrent hashes. A sign-in for an unknown email verifies against a dummy hash, so it takes
//! as long as a wrong password (no account enumeration through timing).

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use std::sync::{Arc, Mutex};

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

/// Password length limits, in characters (Unicode scalar values), the same at creation and at
/// sign-in (ASVS 6.2.1, 6.2.9: at least 8, at least 64 allowed; a cap against long-password DoS).
pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 1024;

/// A password's length as the limits count it.
pub fn length(password: &Secret) -> usize {
    password.expose().chars().count()
}

pub async fn hash_blocking(password: Secret) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
}

type Job = (String, Secret, tokio::sync::oneshot::Sender<bool>);

/// Verifies passwords on a fixed set of threads (one per allowed concurrent hash), so that
/// argon2id's 19 MiB working memory is reused by the same few threads instead of spreading
/// over the blocking pool's arenas.
#[derive(Clone)]
pub struct PasswordVerifierPool {
    jobs: std::sync::mpsc::SyncSender<Job>,
    dummy_hash: Arc<String>,
}

impl PasswordVerifierPool {
    pub fn new(threads: usize) -> Result<Self, AccountError> {
        let dummy = hash_now(&Secret::new(crate::tokens::opaque::random_id()))?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(1024);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        let Ok((hash, password, reply)) = job else {
                            return;
                        };
                        let ok = hash
                            .parse::<PasswordHash>()
                            .map(|parsed| {
                                argon2()
                                    .verify_password(password.expose().as_bytes(), &parsed)
                                    .is_ok()
                            })
                            .unwrap_or(false);
                        let _ = reply.send(ok);
                    }
                })
                .map_err(|e| AccountError::Hash(e.to_string()))?;
        }
        Ok(Self {
            jobs: tx,
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
        let (reply, answer) = tokio::sync::oneshot::channel();
        let jobs = self.jobs.clone();
        // The queue is bounded: waiting for room must not block an async worker.
        tokio::task::spawn_blocking(move || jobs.send((hash, password, reply)))
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?
            .map_err(|_| AccountError::Hash("password workers stopped".into()))?;
        let ok = answer
            .await
            .map_err(|_| AccountError::Hash("password worker failed".into()))?;
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
