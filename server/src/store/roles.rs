//! Roles an account holds (`ostiary users roles`). The role names are checked by the caller.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::account_roles;
use super::{Store, StoreError, StoreResult};
use crate::protocol::ids::AccountId;

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
}
