//! Second factors (ASVS 6.5, 6.6): a TOTP authenticator (RFC 6238) and recovery codes. A code
//! is accepted once; wrong codes are counted per account with the password lockout's doubling
//! rule (`throttle`), in the database, so every instance shares the count. Secrets are sealed
//! with a key derived from the key-encryption key; recovery codes are stored as keyed hashes.

pub mod passkeys;
pub mod recovery;
pub mod totp;

use super::throttle::{Gate, Throttle};
use crate::keys::KeyEncryptionKey;
use crate::protocol::ids::AccountId;
use crate::store::{Store, StoreError};
use crate::tokens::opaque;

/// The keys second factors are protected with, derived from the key-encryption key (every
/// instance sharing the KEK derives the same ones).
pub struct FactorKeys {
    seal: KeyEncryptionKey,
    recovery: [u8; 32],
}

impl FactorKeys {
    pub fn from_kek(kek: &KeyEncryptionKey) -> Self {
        Self {
            seal: kek.subkey("ostiary second factor secrets v1"),
            recovery: kek.derive("ostiary recovery codes v1"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored secret does not open (another key-encryption key?).
    #[error("a second-factor secret cannot be opened: {0}")]
    Sealed(String),
}

/// What a typed second-factor code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorCheck {
    /// A current code of the authenticator, not used before.
    Totp,
    /// One of the recovery codes; `left` remain unused.
    Recovery { left: u64 },
    /// Not accepted; `replayed` when it was a code of the authenticator used already, `locked`
    /// when this failure locked the account's second factor.
    Refused { replayed: bool, locked: bool },
    /// Locked after too many wrong codes: not checked at all.
    Locked,
}

/// What checking a code needs.
pub struct Checker<'a> {
    pub store: &'a Store,
    pub keys: &'a FactorKeys,
    pub throttle: Throttle,
    pub gate: &'a Gate,
    pub now: i64,
}

/// The key an account's second-factor failures are counted under.
fn lockout_key(account_id: &AccountId) -> String {
    opaque::hash(&format!("second-factor:{account_id}"))
}

/// Check a code typed by the person signed in (first factor) as `account_id`: a TOTP code or
/// a recovery code, each used at most once. Checks of one account are serialised in this
/// instance, so parallel guesses cannot run past the threshold.
pub async fn check(
    c: &Checker<'_>,
    account_id: &AccountId,
    typed: &str,
) -> Result<FactorCheck, FactorError> {
    let key = lockout_key(account_id);
    let _turn = c.gate.enter(&key).await;
    let before = c.store.login_failures(&key).await?;
    if c.throttle.is_locked(&before, c.now) {
        return Ok(FactorCheck::Locked);
    }
    let code: String = typed
        .chars()
        .filter(|ch| !ch.is_whitespace() && *ch != '-')
        .take(64)
        .collect::<String>()
        .to_ascii_uppercase();
    let mut replayed = false;
    let accepted = if code.len() == totp::DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        match totp::check(c.store, c.keys, account_id, &code, c.now).await? {
            totp::Checked::Accepted => Some(FactorCheck::Totp),
            totp::Checked::Replayed => {
                replayed = true;
                None
            }
            totp::Checked::Wrong => None,
        }
    } else if code.len() == recovery::LENGTH {
        let hash = recovery::hash(c.keys, account_id, &code);
        if c.store.use_recovery_code(account_id, &hash, c.now).await? {
            let left = c
                .store
                .factor_summary(account_id)
                .await?
                .recovery_codes_left;
            Some(FactorCheck::Recovery { left })
        } else {
            None
        }
    } else {
        None
    };
    match accepted {
        Some(ok) => {
            if before != crate::store::FailureState::default() {
                c.store.clear_login_failures(&key).await?;
            }
            Ok(ok)
        }
        None => {
            let throttle = c.throttle;
            let now = c.now;
            let locked = c
                .store
                .record_login_attempt(&key, now, |s| throttle.after_failure(s, now))
                .await?;
            Ok(FactorCheck::Refused { replayed, locked })
        }
    }
}

/// Forget an account's second-factor failures (an admin's reset).
pub async fn unlock(store: &Store, account_id: &AccountId) -> Result<(), FactorError> {
    store.clear_login_failures(&lockout_key(account_id)).await?;
    Ok(())
}
