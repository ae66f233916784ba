//! Accounts for upstream identities (architecture guide C7, security guide: accounts keyed by
//! (upstream, subject), never by email alone):
//! - a known identity signs in to its account;
//! - an email counts as verified only when the upstream is configured `trust_email = true` and
//!   says the email is verified; from any other upstream it is stored and released unverified;
//! - a new identity links to an existing account by email only when that email counts as
//!   verified and the account's email is verified too;
//! - otherwise a new account is created from the profile; when another account holds the email
//!   the new one goes without it, and nothing tells the person so (no account enumeration:
//!   they have not proven control of the address to us);
//! - an email no one verified never blocks its verified owner: it is released from the
//!   account that held it, but only for an email that counts as verified.

use super::normalise_email;
use crate::protocol::ids::{AccountId, UpstreamId};
use crate::store::{Account, LinkedIdentity, Store, StoreError};
use crate::upstream::UpstreamIdentity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// The identity was linked already.
    Known,
    /// Linked to an existing account by verified email.
    LinkedByEmail,
    /// A new account was created.
    Created,
}

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("this identity is linked to another account")]
    LinkedElsewhere,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn clean_email(identity: &UpstreamIdentity) -> Option<String> {
    identity
        .email
        .as_deref()
        .map(normalise_email)
        .filter(|e| e.len() <= 254 && e.contains('@'))
}

/// The account an upstream sign-in belongs to, creating or linking as the rules say.
pub async fn sign_in(
    store: &Store,
    upstream_id: &UpstreamId,
    trust_email: bool,
    identity: &UpstreamIdentity,
    now: i64,
) -> Result<(Account, How), FederationError> {
    // Two attempts: a concurrent first sign-in of the same person may win the insert.
    for _ in 0..2 {
        let email = clean_email(identity);
        if let Some(link) = store
            .linked_identity(upstream_id, &identity.subject)
            .await?
        {
            store
                .touch_identity(upstream_id, &identity.subject, email.as_deref(), now)
                .await?;
            if let Some(name) = &identity.name {
                store
                    .set_account_name_if_missing(&link.account_id, name)
                    .await?;
            }
            let account = store
                .account(&link.account_id)
                .await?
                .ok_or(FederationError::Store(StoreError::Conflict))?;
            return Ok((account, How::Known));
        }
        let new_link = |account_id: &AccountId| LinkedIdentity {
            upstream_id: upstream_id.clone(),
            subject: identity.subject.clone(),
            account_id: account_id.clone(),
            email: email.clone(),
            created_at: now,
            last_login_at: now,
        };
        let verified = trust_email && identity.email_verified && email.is_some();
        let holder = match &email {
            Some(e) => store.account_by_email(e).await?,
            None => None,
        };
        let mut account_email = email.clone();
        match holder {
            Some(existing) if existing.email_verified && verified => {
                match store.link_identity(&new_link(&existing.id)).await {
                    Ok(()) => return Ok((existing, How::LinkedByEmail)),
                    Err(StoreError::Conflict) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Some(_) if verified => {
                if let Some(e) = &email {
                    store.release_unverified_email(e).await?;
                }
            }
            // Someone else holds this address: the new account goes without it.
            Some(_) => account_email = None,
            None => {}
        }
        let account = Account {
            id: AccountId::new(uuid::Uuid::new_v4().to_string()),
            email_verified: verified && account_email.is_some(),
            email: account_email,
            name: identity.name.clone().filter(|n| !n.trim().is_empty()),
            password_hash: None,
            created_at: now,
        };
        match store
            .create_account_with_identity(&account, &new_link(&account.id))
            .await
        {
            Ok(()) => return Ok((account, How::Created)),
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(FederationError::Store(StoreError::Conflict))
}

/// Link an upstream identity to a signed-in account (from the account page).
pub async fn link(
    store: &Store,
    account_id: &AccountId,
    upstream_id: &UpstreamId,
    identity: &UpstreamIdentity,
    now: i64,
) -> Result<(), FederationError> {
    if let Some(existing) = store
        .linked_identity(upstream_id, &identity.subject)
        .await?
    {
        return if existing.account_id == *account_id {
            Ok(())
        } else {
            Err(FederationError::LinkedElsewhere)
        };
    }
    let link = LinkedIdentity {
        upstream_id: upstream_id.clone(),
        subject: identity.subject.clone(),
        account_id: account_id.clone(),
        email: clean_email(identity),
        created_at: now,
        last_login_at: now,
    };
    match store.link_identity(&link).await {
        Ok(()) => Ok(()),
        Err(StoreError::Conflict) => Err(FederationError::LinkedElsewhere),
        Err(e) => Err(e.into()),
    }
}
