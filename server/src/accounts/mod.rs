//! Local accounts: creation (CLI, dev demo account) and password sign-in.

pub mod email_proof;
pub mod factors;
pub mod federation;
pub mod password;
pub mod policy;
pub mod registration;
pub mod throttle;

use crate::secret::Secret;
use crate::store::{Account, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0} is not a valid email address")]
    BadEmail(String),
    #[error("{0}")]
    WeakPassword(policy::Weakness),
    #[error("an account with this email already exists")]
    Exists,
    #[error(transparent)]
    Store(StoreError),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("an email could not be composed: {0}")]
    Email(String),
    #[error("sign-up is not open to addresses at this domain")]
    DomainNotAllowed,
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

/// Whether an address looks deliverable: one `@`, a non-empty local part, a dotted domain,
/// no whitespace, at most 254 bytes (RFC 5321 §4.5.3.1.3). `email` is normalised already.
pub fn valid_email(email: &str) -> bool {
    email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.contains('@')
        })
}

/// A local account to create.
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub name: Option<String>,
    pub password: &'a Secret,
    /// The address is known to be the person's (an administrator created the account).
    pub email_verified: bool,
    /// The policy the password must meet; `None` only for trusted imports and tests
    /// (`users add --allow-weak-password`), which still get the length limit.
    pub policy: Option<&'a policy::PasswordPolicy>,
}

impl NewAccount<'_> {
    /// The account record, its password checked and hashed.
    pub async fn prepare(&self, now: i64) -> Result<Account, AccountError> {
        let email = normalise_email(self.email);
        if !valid_email(&email) {
            return Err(AccountError::BadEmail(email));
        }
        let name = self.name.clone().filter(|n| !n.trim().is_empty());
        if let Some(p) = self.policy {
            p.check_for(self.password, Some(&email), name.as_deref())
                .map_err(AccountError::WeakPassword)?;
        } else if self.password.expose().is_empty() {
            return Err(AccountError::WeakPassword(policy::Weakness::TooShort(1)));
        } else if !password::within_limit(self.password) {
            return Err(AccountError::WeakPassword(policy::Weakness::TooLong));
        }
        let hash = password::hash_blocking(self.password.clone()).await?;
        Ok(Account {
            id: crate::protocol::ids::AccountId::new(uuid::Uuid::new_v4().to_string()),
            email: Some(email),
            email_verified: self.email_verified,
            name,
            password_hash: Some(hash),
            created_at: now,
        })
    }
}

/// Create a local account (`users add`, the demo account).
pub async fn create_local(
    store: &Store,
    new: NewAccount<'_>,
    now: i64,
) -> Result<Account, AccountError> {
    let account = new.prepare(now).await?;
    store.create_account(&account).await?;
    Ok(account)
}

/// Create a verified local account without the strength check (tests and trusted callers).
pub async fn create(
    store: &Store,
    email: &str,
    name: Option<String>,
    password: &Secret,
    now: i64,
) -> Result<Account, AccountError> {
    let new = NewAccount {
        email,
        name,
        password,
        email_verified: true,
        policy: None,
    };
    create_local(store, new, now).await
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
    /// The right password of a disabled account (same answer for the person as `Refused`).
    Disabled,
}

/// A password sign-in, throttled per email (known or not): refused unchecked while the email
/// is locked; a failure is recorded before the next check of the same email may start.
pub async fn check_password(
    store: &Store,
    passwords: &password::PasswordVerifierPool,
    throttle: &throttle::Throttle,
    gate: &throttle::Gate,
    email: &str,
    password: Secret,
    now: i64,
) -> Result<PasswordCheck, AccountError> {
    let key = lockout_key(email);
    let _turn = gate.enter(&key).await;
    // The account and the email's failed attempts in one read (an absurdly long email names
    // no account: no lookup).
    let named = Some(email).filter(|e| e.len() <= 254);
    let found = store.sign_in_account(named, &key).await?;
    let before = if throttle.enabled() {
        if throttle.is_locked(&found.failures, now) {
            return Ok(PasswordCheck::Locked);
        }
        Some(found.failures)
    } else {
        None
    };
    let (account, disabled) = match found.account {
        Some((a, disabled)) => (Some(a), disabled),
        None => (None, false),
    };
    let ok = password::within_limit(&password)
        && passwords
            .verify(account.as_ref(), password)
            .await
            .map_err(|e| AccountError::Hash(e.to_string()))?;
    let accepted = |a| match disabled {
        true => PasswordCheck::Disabled,
        false => PasswordCheck::Accepted(a),
    };
    match (account.filter(|_| ok), before) {
        (Some(a), Some(s)) => {
            if s != throttle::FailureState::default() {
                store.clear_login_failures(&key).await?;
            }
            Ok(accepted(a))
        }
        (Some(a), None) => Ok(accepted(a)),
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
    store.clear_login_failures(&lockout_key(email)).await?;
    Ok(())
}

/// The key the lockout of an email is counted under (never the address itself).
pub fn lockout_key(email: &str) -> String {
    crate::tokens::opaque::hash(&format!("password-login:{}", normalise_email(email)))
}
