//! Changes a person makes to their own account, each one job on the writer (all or nothing):
//! sign-up, confirming an address, setting a password, deleting the account.
//!
//! Contracts:
//! - A proof-backed change applies only if its proof is still usable when the job runs (the
//!   proof is marked used in the same job), so a link or code works once.
//! - Setting a password (reset or change) revokes every grant of the account and deletes its
//!   browser sessions but the one kept, and clears the email's lockout, in the same job.
//! - Deleting an account revokes its grants and removes its sessions, consents, linked
//!   identities, proofs and the account row; audit records stay.

use sea_orm::{ColumnTrait, DatabaseExecutor, EntityTrait, QueryFilter, sea_query::Expr};

use super::accounts::{Account, account_model};
use super::entities::{
    accounts, consents, email_proofs, grants, login_failures, upstream_identities,
};
use super::outbox::{self, NewEmail};
use super::proofs::{self, NewProof};
use super::{Store, StoreError, StoreResult, conflict_or};
use crate::protocol::ids::AccountId;

/// What confirming an address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmed {
    Done,
    /// The proof was used already, or expired meanwhile.
    Stale,
    /// Another account holds the address now.
    Taken,
}

/// A new password and what goes with it.
pub struct PasswordChange<'a> {
    pub account_id: &'a AccountId,
    pub hash: String,
    /// The proof that allows it (a reset link); `None` when the current password was given.
    pub proof_id: Option<&'a str>,
    /// The session that stays signed in (the one that changed the password).
    pub keep_session: Option<&'a str>,
    /// The lockout key of the account's email, cleared.
    pub lockout_key: Option<String>,
    pub reason: &'static str,
}

async fn mark_used(db: &DatabaseExecutor<'_>, proof_id: &str, now: i64) -> StoreResult<bool> {
    let used = email_proofs::Entity::update_many()
        .col_expr(email_proofs::Column::UsedAt, Expr::value(now))
        .filter(proofs::usable(proof_id, now))
        .exec(db)
        .await?;
    Ok(used.rows_affected == 1)
}

/// Revoke every live grant of an account and end its sessions except `keep` (their apps are
/// told by back-channel logout).
pub(super) async fn sign_out_everywhere(
    db: &DatabaseExecutor<'_>,
    account_id: &str,
    keep: Option<&str>,
    reason: &str,
    now: i64,
) -> StoreResult<()> {
    grants::Entity::update_many()
        .col_expr(grants::Column::RevokedAt, Expr::value(now))
        .col_expr(
            grants::Column::RevokedReason,
            Expr::value(reason.to_owned()),
        )
        .filter(grants::Column::AccountId.eq(account_id))
        .filter(grants::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    let sessions = super::logouts::of_account(account_id, keep);
    super::logouts::end_sessions(db, sessions, reason, now).await?;
    super::factors::forget_devices(db, account_id).await
}

impl Store {
    /// A self-registered account with its verification proof and message, all or none;
    /// `Conflict` if the email is taken.
    pub async fn register_account(
        &self,
        account: &Account,
        proof: Option<&NewProof>,
        email: Option<&NewEmail>,
        now: i64,
    ) -> StoreResult<()> {
        let account = account_model(account);
        let proof = proof.map(|p| proofs::proof_model(p, now));
        let emails: Vec<_> = email.iter().map(|e| outbox::email_model(e, now)).collect();
        self.write
            .run(move |db| {
                Box::pin(async move {
                    accounts::Entity::insert(account)
                        .exec_without_returning(db)
                        .await
                        .map_err(conflict_or)?;
                    if let Some(p) = proof {
                        email_proofs::Entity::insert(p)
                            .exec_without_returning(db)
                            .await?;
                    }
                    outbox::queue(db, emails).await
                })
            })
            .await
    }

    /// The person proved `email` with proof `proof_id`: it becomes the account's verified
    /// address (for an email change, replacing the old one), and `notices` are queued.
    pub async fn confirm_email(
        &self,
        proof_id: &str,
        account_id: &AccountId,
        email: &str,
        notices: &[NewEmail],
        now: i64,
    ) -> StoreResult<Confirmed> {
        let (proof_id, account_id, email) = (
            proof_id.to_owned(),
            account_id.to_string(),
            email.to_owned(),
        );
        let emails: Vec<_> = notices
            .iter()
            .map(|e| outbox::email_model(e, now))
            .collect();
        let done = self
            .write
            .run(move |db| {
                Box::pin(async move {
                    if !mark_used(db, &proof_id, now).await? {
                        return Ok(Confirmed::Stale);
                    }
                    accounts::Entity::update_many()
                        .col_expr(accounts::Column::Email, Expr::value(email))
                        .col_expr(accounts::Column::EmailVerified, Expr::value(true))
                        .filter(accounts::Column::Id.eq(account_id))
                        .exec(db)
                        .await
                        .map_err(conflict_or)?;
                    outbox::queue(db, emails).await?;
                    Ok(Confirmed::Done)
                })
            })
            .await;
        match done {
            Err(StoreError::Conflict) => Ok(Confirmed::Taken),
            other => other,
        }
    }

    /// Store a new password hash and sign the account out everywhere else (see the module
    /// contract); false if the proof it relies on is no longer usable (nothing changed).
    pub async fn set_password(&self, change: PasswordChange<'_>, now: i64) -> StoreResult<bool> {
        let account_id = change.account_id.to_string();
        let proof_id = change.proof_id.map(str::to_owned);
        let keep = change.keep_session.map(str::to_owned);
        let (hash, lockout_key, reason) = (change.hash, change.lockout_key, change.reason);
        self.write
            .run(move |db| {
                Box::pin(async move {
                    if let Some(p) = &proof_id
                        && !mark_used(db, p, now).await?
                    {
                        return Ok(false);
                    }
                    accounts::Entity::update_many()
                        .col_expr(accounts::Column::PasswordHash, Expr::value(Some(hash)))
                        .filter(accounts::Column::Id.eq(account_id.as_str()))
                        .exec(db)
                        .await?;
                    sign_out_everywhere(db, &account_id, keep.as_deref(), reason, now).await?;
                    if let Some(k) = lockout_key {
                        login_failures::Entity::delete_many()
                            .filter(login_failures::Column::KeyHash.eq(k))
                            .exec(db)
                            .await?;
                    }
                    Ok(true)
                })
            })
            .await
    }

    /// Change the display name (`None` clears it).
    pub async fn set_account_name(&self, id: &AccountId, name: Option<&str>) -> StoreResult<()> {
        let update = accounts::Entity::update_many()
            .col_expr(accounts::Column::Name, Expr::value(name.map(str::to_owned)))
            .filter(accounts::Column::Id.eq(id.as_str()));
        self.write.update(update).await?;
        Ok(())
    }

    /// End every browser session and refresh-token family of an account ("sign out
    /// everywhere"), and forget its remembered browsers.
    pub async fn sign_out_everywhere(&self, id: &AccountId, now: i64) -> StoreResult<()> {
        let id = id.to_string();
        self.write
            .run(move |db| {
                Box::pin(async move {
                    sign_out_everywhere(db, &id, None, "signed out everywhere", now).await
                })
            })
            .await
    }

    /// Disable an account: it cannot sign in, and its sessions and grants end now. False if it
    /// was disabled already.
    pub async fn disable_account(&self, id: &AccountId, now: i64) -> StoreResult<bool> {
        let id = id.to_string();
        self.write
            .run(move |db| {
                Box::pin(async move {
                    let insert = super::entities::disabled_accounts::Entity::insert(
                        super::entities::disabled_accounts::ActiveModel {
                            account_id: sea_orm::ActiveValue::Set(id.clone()),
                            disabled_at: sea_orm::ActiveValue::Set(now),
                        },
                    )
                    .exec_without_returning(db)
                    .await;
                    match insert.map_err(super::conflict_or) {
                        Ok(_) => {}
                        Err(super::StoreError::Conflict) => return Ok(false),
                        Err(e) => return Err(e),
                    }
                    sign_out_everywhere(db, &id, None, "account disabled", now).await?;
                    Ok(true)
                })
            })
            .await
    }

    /// Let a disabled account sign in again (false: it was not disabled).
    pub async fn enable_account(&self, id: &AccountId) -> StoreResult<bool> {
        use super::entities::disabled_accounts as d;
        let delete = d::Entity::delete_many().filter(d::Column::AccountId.eq(id.as_str()));
        Ok(self.write.delete(delete).await? == 1)
    }

    pub async fn account_disabled(&self, id: &AccountId) -> StoreResult<bool> {
        use super::entities::disabled_accounts as d;
        Ok(self
            .first(d::Entity::find_by_id(id.to_string()))
            .await?
            .is_some())
    }

    /// Delete an account and everything that signs in as it (see the module contract).
    pub async fn delete_account(&self, id: &AccountId, now: i64) -> StoreResult<()> {
        let id = id.to_string();
        self.write
            .run(move |db| {
                Box::pin(async move {
                    sign_out_everywhere(db, &id, None, "account deleted", now).await?;
                    consents::Entity::delete_many()
                        .filter(consents::Column::AccountId.eq(id.as_str()))
                        .exec(db)
                        .await?;
                    upstream_identities::Entity::delete_many()
                        .filter(upstream_identities::Column::AccountId.eq(id.as_str()))
                        .exec(db)
                        .await?;
                    email_proofs::Entity::delete_many()
                        .filter(email_proofs::Column::AccountId.eq(id.as_str()))
                        .exec(db)
                        .await?;
                    super::factors::delete_factors(db, &id).await?;
                    super::entities::disabled_accounts::Entity::delete_many()
                        .filter(
                            super::entities::disabled_accounts::Column::AccountId.eq(id.as_str()),
                        )
                        .exec(db)
                        .await?;
                    super::entities::account_roles::Entity::delete_many()
                        .filter(super::entities::account_roles::Column::AccountId.eq(id.as_str()))
                        .exec(db)
                        .await?;
                    accounts::Entity::delete_many()
                        .filter(accounts::Column::Id.eq(id.as_str()))
                        .exec(db)
                        .await?;
                    Ok(())
                })
            })
            .await
    }
}
