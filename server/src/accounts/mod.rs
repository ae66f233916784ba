//! Local accounts: creation (CLI, dev demo account) and password sign-in.

pub mod federation;
pub mod password;

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

/// Emails compare case-insensitively: keep them lower-cased.
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
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
    let len = password.expose().chars().count();
    if !(8..=1024).contains(&len) {
        return Err(AccountError::BadPassword);
    }
    let hash = password::hash_blocking(password.clone()).await?;
    let account = Account {
        id: uuid::Uuid::new_v4().to_string(),
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
