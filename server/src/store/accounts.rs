//! Local accounts.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::accounts;
use super::{Store, StoreResult, conflict_or};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: i64,
}

impl From<accounts::Model> for Account {
    fn from(m: accounts::Model) -> Self {
        Self {
            id: m.id,
            email: m.email,
            name: m.name,
            password_hash: m.password_hash,
            created_at: m.created_at,
        }
    }
}

impl Store {
    /// Insert an account; `StoreError::Conflict` if the email is taken.
    pub async fn create_account(&self, a: &Account) -> StoreResult<()> {
        let am = accounts::ActiveModel {
            id: Set(a.id.clone()),
            email: Set(a.email.clone()),
            name: Set(a.name.clone()),
            password_hash: Set(a.password_hash.clone()),
            created_at: Set(a.created_at),
        };
        accounts::Entity::insert(am)
            .exec(&self.db)
            .await
            .map_err(conflict_or)?;
        Ok(())
    }

    /// Emails are stored lower-cased; look up with a lower-cased address.
    pub async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        Ok(accounts::Entity::find()
            .filter(accounts::Column::Email.eq(email))
            .one(&self.db)
            .await?
            .map(Into::into))
    }

    pub async fn account(&self, id: &str) -> StoreResult<Option<Account>> {
        Ok(accounts::Entity::find_by_id(id.to_owned())
            .one(&self.db)
            .await?
            .map(Into::into))
    }

    pub async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        Ok(accounts::Entity::find()
            .order_by_asc(accounts::Column::CreatedAt)
            .order_by_asc(accounts::Column::Email)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
