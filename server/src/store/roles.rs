//! Roles an account holds: given by an administrator (`ostiary users roles`) or by an upstream
//! (`roles_from_claim`, synced at each sign-in through it). The role names are checked by the
//! caller.
//!
//! Contract: a sync replaces the roles that upstream gave, in one job, and never touches an
//! administrator's or another upstream's (a role held already stays with its first source).

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseExecutor, EntityTrait, QueryFilter, QueryOrder,
    sea_query::OnConflict,
};

use super::entities::account_roles;
use super::{Store, StoreError, StoreResult};
use crate::protocol::ids::{AccountId, UpstreamId};

/// What a sync changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolesSynced {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl Store {
    /// Give an account a role; false if it held it already.
    pub async fn add_role(
        &self,
        account_id: &AccountId,
        role: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let insert = account_roles::Entity::insert(account_roles::ActiveModel {
            account_id: Set(account_id.to_string()),
            role: Set(role.to_owned()),
            created_at: Set(now),
            source: Set(None),
        });
        match self.write.insert(insert).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Take a role away; false if the account did not hold it.
    pub async fn remove_role(&self, account_id: &AccountId, role: &str) -> StoreResult<bool> {
        let delete = account_roles::Entity::delete_many()
            .filter(account_roles::Column::AccountId.eq(account_id.as_str()))
            .filter(account_roles::Column::Role.eq(role));
        Ok(self.write.delete(delete).await? == 1)
    }

    /// An account's roles, sorted.
    pub async fn roles_of(&self, account_id: &AccountId) -> StoreResult<Vec<String>> {
        Ok(account_roles::Entity::find()
            .filter(account_roles::Column::AccountId.eq(account_id.as_str()))
            .order_by_asc(account_roles::Column::Role)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|m| m.role)
            .collect())
    }

    /// Make the roles `upstream` gives this account exactly `roles` (see the module contract).
    pub async fn sync_upstream_roles(
        &self,
        account_id: &AccountId,
        upstream: &UpstreamId,
        roles: &[String],
        now: i64,
    ) -> StoreResult<RolesSynced> {
        let (account, source, roles) =
            (account_id.to_string(), upstream.to_string(), roles.to_vec());
        self.write
            .run(move |db| Box::pin(sync(db, account, source, roles, now)))
            .await
    }
}

async fn sync(
    db: &DatabaseExecutor<'_>,
    account: String,
    source: String,
    roles: Vec<String>,
    now: i64,
) -> StoreResult<RolesSynced> {
    let held: Vec<String> = account_roles::Entity::find()
        .filter(account_roles::Column::AccountId.eq(account.as_str()))
        .filter(account_roles::Column::Source.eq(source.as_str()))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.role)
        .collect();
    let removed: Vec<String> = held
        .iter()
        .filter(|r| !roles.contains(r))
        .cloned()
        .collect();
    if !removed.is_empty() {
        account_roles::Entity::delete_many()
            .filter(account_roles::Column::AccountId.eq(account.as_str()))
            .filter(account_roles::Column::Source.eq(source.as_str()))
            .filter(account_roles::Column::Role.is_in(removed.clone()))
            .exec(db)
            .await?;
    }
    let mut added = Vec::new();
    for role in roles.iter().filter(|r| !held.contains(r)) {
        let inserted = account_roles::Entity::insert(account_roles::ActiveModel {
            account_id: Set(account.clone()),
            role: Set(role.clone()),
            created_at: Set(now),
            source: Set(Some(source.clone())),
        })
        .on_conflict(
            OnConflict::columns([
                account_roles::Column::AccountId,
                account_roles::Column::Role,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
        if inserted == 1 {
            added.push(role.clone());
        }
    }
    Ok(RolesSynced { added, removed })
}
