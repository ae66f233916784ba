//! Local accounts: creation (CLI, dev demo account) and password sign-in.

pub mod federation;
pub mod password;
pub mod throttle;

use crate::store::{Account, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0} is not a valid email address")]
    BadEmail(String),
    #[error("the password must be 8 to 1024 characters")]
    BadPassword,
    #[error("an account with this email already exists")]
    Exists,
    #[error(transparent)]
    Store(StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => AccountError::Exists,
            e => AccountError::Store(e),
        }
    }
}

/// Emails compare case-insensitively in ASCII only: Unicode case folding would make distinct
/// addresses collide (U+212A KELVIN SIGN lower-cases to "k").
pub fn normalise_email(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// Create a local account with an argon2id password hash.
pub async fn create(
    store: &Store,
    email: &str,
    name: Option<String>,
    password: &crate::secret::Secret,
    now: i64,
) -> Result<Account, AccountError> {
    let email = normalise_email(email);
    let valid = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'));
    if !valid || email.chars().any(char::is_whitespace) {
        return Err(AccountError::BadEmail(email));
    }
    if !(password::MIN_CHARS..=password::MAX_CHARS).contains(&password::length(password)) {
        return Err(AccountError::BadPassword);
    }
    let hash = password::hash_blocking(password.clone()).await?;
    let account = Account {
        id: crate::protocol::ids::AccountId::new(uuid::Uuid::new_v4().to_string()),
        email: Some(email),
        // An administrator created it and vouches for the address.
        email_verified: true,
        name: name.filter(|n| !n.trim().is_empty()),
        password_hash: Some(hash),
        created_at: now,
    };
    store.create_account(&account).await?;
    Ok(account)
}

/// The outcome of a password sign-in attempt.
#[derive(Debug)]
pub enum PasswordCheck {
    Accepted(Account),
    /// Wrong email or password; `locked` when this failure locked the email.
    Refused {
        locked: bool,
    },
    /// The email is locked: not checked at all (same answer for the person as `Refused`).
    Locked,
}

/// A password sign-in, throttled per email (known or not): refused unchecked while the email
/// is locked; a failure is recorded before the next check of the same email may start.
pub async fn check_password(
    store: &Store,
    passwords: &password::PasswordVerifierPool,
    throttle: &throttle::Throttle,
    gate: &throttle::Gate,
    email: &str,
    password: crate::secret::Secret,
    now: i64,
) -> Result<PasswordCheck, AccountError> {
    let key = crate::tokens::opaque::hash(&format!("password-login:{email}"));
    let _turn = gate.enter(&key).await;
    let before = if throttle.enabled() {
        let s = store.login_failures(&key).await?;
        if throttle.is_locked(&s, now) {
            return Ok(PasswordCheck::Locked);
        }
        Some(s)
    } else {
        None
    };
    let account = if email.len() > 254 {
        None
    } else {
        store.account_by_email(email).await?
    };
    let ok = password::length(&password) <= password::MAX_CHARS
        && passwords
            .verify(account.as_ref(), password)
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?;
    match (account.filter(|_| ok), before) {
        (Some(a), Some(s)) => {
            if s != throttle::FailureState::default() {
                store.clear_login_failures(&key).await?;
            }
            Ok(PasswordCheck::Accepted(a))
        }
        (Some(a), None) => Ok(PasswordCheck::Accepted(a)),
        (None, Some(_)) => {
            // Another instance may have counted meanwhile: apply the failure to what is stored.
            let locked = store
                .record_login_attempt(&key, now, |s| throttle.after_failure(s, now))
                .await?;
            Ok(PasswordCheck::Refused { locked })
        }
        (None, None) => Ok(PasswordCheck::Refused { locked: false }),
    }
}

/// Clear the lockout of an email (`ostiary users unlock`).
pub async fn unlock(store: &Store, email: &str) -> Result<(), AccountError> {
    let email = normalise_email(email);
    let key = crate::tokens::opaque::hash(&format!("password-login:{email}"));
    store.clear_login_failures(&key).await?;
    Ok(())
}
