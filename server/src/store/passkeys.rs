//! Passkeys of an account (the credential serialised by `accounts::factors::passkeys`) and the
//! WebAuthn challenges already answered.
//!
//! Contracts:
//! - A credential id belongs to one account (unique column): registering it twice is
//!   `Conflict`.
//! - A challenge is answered once: `claim_challenge` inserts its hash under a primary key, so a
//!   replayed ceremony fails on every instance.
//! - A use moves the signature counter forward only (a conditional UPDATE), so of two uses
//!   reporting the same counter at most one is recorded as the newer.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

use super::entities::{passkeys, used_challenges};
use super::{Store, StoreError, StoreResult};
use crate::protocol::ids::AccountId;

/// A registered passkey.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: String,
    pub account_id: AccountId,
    /// base64url of the credential id.
    pub credential_id: String,
    pub name: String,
    pub credential_json: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl From<passkeys::Model> for StoredPasskey {
    fn from(m: passkeys::Model) -> Self {
        Self {
            id: m.id,
            account_id: AccountId::new(m.account_id),
            credential_id: m.credential_id,
            name: m.name,
            credential_json: m.credential_json,
            sign_count: m.sign_count,
            backup_eligible: m.backup_eligible,
            backup_state: m.backup_state,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
        }
    }
}

/// What a use of a passkey changes.
pub struct PasskeyUse<'a> {
    pub id: &'a str,
    pub credential_json: &'a str,
    pub sign_count: i64,
    pub backup_state: bool,
}

impl Store {
    /// Register a passkey; `Conflict` if its credential id is registered already.
    pub async fn add_passkey(&self, p: &StoredPasskey) -> StoreResult<()> {
        self.write
            .insert(passkeys::Entity::insert(passkeys::ActiveModel {
                id: Set(p.id.clone()),
                account_id: Set(p.account_id.to_string()),
                credential_id: Set(p.credential_id.clone()),
                name: Set(p.name.clone()),
                credential_json: Set(p.credential_json.clone()),
                sign_count: Set(p.sign_count),
                backup_eligible: Set(p.backup_eligible),
                backup_state: Set(p.backup_state),
                created_at: Set(p.created_at),
                last_used_at: Set(None),
            }))
            .await
    }

    /// An account's passkeys, oldest first.
    pub async fn passkeys_of(&self, account_id: &AccountId) -> StoreResult<Vec<StoredPasskey>> {
        Ok(passkeys::Entity::find()
            .filter(passkeys::Column::AccountId.eq(account_id.as_str()))
            .order_by_asc(passkeys::Column::CreatedAt)
            .all(&self.read)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    pub async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> StoreResult<Option<StoredPasskey>> {
        Ok(passkeys::Entity::find()
            .filter(passkeys::Column::CredentialId.eq(credential_id))
            .one(&self.read)
            .await?
            .map(Into::into))
    }

    /// Record a use; the counter only moves forward (false: a use with a newer counter was
    /// recorded first).
    pub async fn record_passkey_use(&self, u: PasskeyUse<'_>, now: i64) -> StoreResult<bool> {
        let update = passkeys::Entity::update_many()
            .col_expr(
                passkeys::Column::CredentialJson,
                Expr::value(u.credential_json.to_owned()),
            )
            .col_expr(passkeys::Column::SignCount, Expr::value(u.sign_count))
            .col_expr(passkeys::Column::BackupState, Expr::value(u.backup_state))
            .col_expr(passkeys::Column::LastUsedAt, Expr::value(now))
            .filter(passkeys::Column::Id.eq(u.id))
            .filter(
                Condition::any()
                    .add(passkeys::Column::SignCount.lt(u.sign_count))
                    .add(passkeys::Column::SignCount.eq(0)),
            );
        Ok(self.write.update(update).await? == 1)
    }

    /// Rename one of an account's passkeys (false: not theirs).
    pub async fn rename_passkey(
        &self,
        account_id: &AccountId,
        id: &str,
        name: &str,
    ) -> StoreResult<bool> {
        let update = passkeys::Entity::update_many()
            .col_expr(passkeys::Column::Name, Expr::value(name.to_owned()))
            .filter(passkeys::Column::Id.eq(id))
            .filter(passkeys::Column::AccountId.eq(account_id.as_str()));
        Ok(self.write.update(update).await? == 1)
    }

    /// Remove one of an account's passkeys (false: not theirs).
    pub async fn remove_passkey(&self, account_id: &AccountId, id: &str) -> StoreResult<bool> {
        let delete = passkeys::Entity::delete_many()
            .filter(passkeys::Column::Id.eq(id))
            .filter(passkeys::Column::AccountId.eq(account_id.as_str()));
        Ok(self.write.delete(delete).await? == 1)
    }

    /// Mark a challenge answered, once: false if it was answered before.
    pub async fn claim_challenge(
        &self,
        challenge_hash: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        match self
            .write
            .insert(used_challenges::Entity::insert(
                used_challenges::ActiveModel {
                    challenge_hash: Set(challenge_hash.to_owned()),
                    expires_at: Set(expires_at),
                },
            ))
            .await
        {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
