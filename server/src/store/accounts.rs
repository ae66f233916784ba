//! Local accounts and the upstream identities linked to them. An upstream identity
//! (upstream id, subject) belongs to exactly one account: the pair is the primary key.
//!
//! Contracts:
//! - `create_account_with_identity` creates both or neither; `Conflict` if the email or the
//!   identity is taken (a concurrent first sign-in lost the race).
//! - `unlink_identity` never removes an account's last way to sign in.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseExecutor, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, sea_query::Expr,
};

use super::entities::{accounts, upstream_identities};
use super::{Store, StoreResult, conflict_or};
use crate::protocol::ids::{AccountId, UpstreamId};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    /// Lower-cased; `None` for an account that came from an upstream without email (X).
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub created_at: i64,
}

impl Account {
    /// What a person recognises the account by: its email, else its name.
    pub fn label(&self) -> &str {
        self.email
            .as_deref()
            .or(self.name.as_deref())
            .unwrap_or("your account")
    }
}

impl From<accounts::Model> for Account {
    fn from(m: accounts::Model) -> Self {
        Self {
            id: AccountId::new(m.id),
            email: m.email,
            email_verified: m.email_verified,
            name: m.name,
            password_hash: m.password_hash,
            created_at: m.created_at,
        }
    }
}

/// One upstream identity linked to an account.
#[derive(Debug, Clone)]
pub struct LinkedIdentity {
    pub upstream_id: UpstreamId,
    pub subject: String,
    pub account_id: AccountId,
    pub email: Option<String>,
    pub created_at: i64,
    pub last_login_at: i64,
}

impl From<upstream_identities::Model> for LinkedIdentity {
    fn from(m: upstream_identities::Model) -> Self {
        Self {
            upstream_id: UpstreamId::new(m.upstream_id),
            subject: m.subject,
            account_id: AccountId::new(m.account_id),
            email: m.email,
            created_at: m.created_at,
            last_login_at: m.last_login_at,
        }
    }
}

/// What `unlink_identity` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlink {
    Removed,
    NotLinked,
    /// Refused: it is the account's last way to sign in.
    LastWay,
}

pub(super) fn account_model(a: &Account) -> accounts::ActiveModel {
    accounts::ActiveModel {
        id: Set(a.id.to_string()),
        email: Set(a.email.clone()),
        email_verified: Set(a.email_verified),
        name: Set(a.name.clone()),
        password_hash: Set(a.password_hash.clone()),
        created_at: Set(a.created_at),
    }
}

fn identity_model(i: &LinkedIdentity) -> upstream_identities::ActiveModel {
    upstream_identities::ActiveModel {
        upstream_id: Set(i.upstream_id.to_string()),
        subject: Set(i.subject.clone()),
        account_id: Set(i.account_id.to_string()),
        email: Set(i.email.clone()),
        created_at: Set(i.created_at),
        last_login_at: Set(i.last_login_at),
    }
}

impl Store {
    /// Insert an account; `StoreError::Conflict` if the email is taken.
    pub async fn create_account(&self, a: &Account) -> StoreResult<()> {
        self.write
            .insert(accounts::Entity::insert(account_model(a)))
            .await
    }

    /// Emails are stored lower-cased; look up with a lower-cased address.
    pub async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        Ok(self
            .first(accounts::Entity::find().filter(accounts::Column::Email.eq(email)))
            .await?
            .map(Into::into))
    }

    pub async fn account(&self, id: &AccountId) -> StoreResult<Option<Account>> {
        Ok(self
            .first(accounts::Entity::find_by_id(id.to_string()))
            .await?
            .map(Into::into))
    }

    /// Mark an account's email verified (an administrator vouches for it).
    pub async fn set_email_verified(&self, id: &AccountId) -> StoreResult<bool> {
        let update = accounts::Entity::update_many()
            .col_expr(
                accounts::Column::EmailVerified,
                sea_orm::sea_query::Expr::value(true),
            )
            .filter(accounts::Column::Id.eq(id.as_str()));
        Ok(self.write.update(update).await? == 1)
    }

    pub async fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        Ok(accounts::Entity::find()
            .order_by_asc(accounts::Column::CreatedAt)
            .order_by_asc(accounts::Column::Email)
            .all(&self.read)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Set the display name of an account that has none yet (Apple sends it only once).
    pub async fn set_account_name_if_missing(&self, id: &AccountId, name: &str) -> StoreResult<()> {
        let update = accounts::Entity::update_many()
            .col_expr(accounts::Column::Name, Expr::value(name.to_owned()))
            .filter(accounts::Column::Id.eq(id.as_str()))
            .filter(accounts::Column::Name.is_null());
        self.write.update(update).await?;
        Ok(())
    }

    /// Clear an email that no one proved from the account holding it, so that a verified
    /// claimant can use it (an unverified upstream email never blocks the real owner).
    pub async fn release_unverified_email(&self, email: &str) -> StoreResult<()> {
        let update = accounts::Entity::update_many()
            .col_expr(accounts::Column::Email, Expr::value(Option::<String>::None))
            .filter(accounts::Column::Email.eq(email))
            .filter(accounts::Column::EmailVerified.eq(false));
        self.write.update(update).await?;
        Ok(())
    }

    /// The account an upstream identity belongs to.
    pub async fn linked_identity(
        &self,
        upstream_id: &UpstreamId,
        subject: &str,
    ) -> StoreResult<Option<LinkedIdentity>> {
        Ok(
            upstream_identities::Entity::find_by_id((upstream_id.to_string(), subject.to_owned()))
                .one(&self.read)
                .await?
                .map(Into::into),
        )
    }

    pub async fn identities_of(&self, account_id: &AccountId) -> StoreResult<Vec<LinkedIdentity>> {
        Ok(upstream_identities::Entity::find()
            .filter(upstream_identities::Column::AccountId.eq(account_id.as_str()))
            .order_by_asc(upstream_identities::Column::CreatedAt)
            .all(&self.read)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// A new account and its first upstream identity, atomically.
    pub async fn create_account_with_identity(
        &self,
        a: &Account,
        i: &LinkedIdentity,
    ) -> StoreResult<()> {
        let (account, identity) = (account_model(a), identity_model(i));
        self.write
            .run(move |db| {
                Box::pin(async move {
                    accounts::Entity::insert(account)
                        .exec(db)
                        .await
                        .map_err(conflict_or)?;
                    upstream_identities::Entity::insert(identity)
                        .exec(db)
                        .await
                        .map_err(conflict_or)?;
                    Ok(())
                })
            })
            .await
    }

    /// Link an upstream identity to an existing account; `Conflict` if it is linked already.
    pub async fn link_identity(&self, i: &LinkedIdentity) -> StoreResult<()> {
        self.write
            .insert(upstream_identities::Entity::insert(identity_model(i)))
            .await
    }

    /// Record a sign-in through an identity (and the email the upstream reported this time).
    pub async fn touch_identity(
        &self,
        upstream_id: &UpstreamId,
        subject: &str,
        email: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        let update = upstream_identities::Entity::update_many()
            .col_expr(upstream_identities::Column::LastLoginAt, Expr::value(now))
            .col_expr(
                upstream_identities::Column::Email,
                Expr::value(email.map(str::to_owned)),
            )
            .filter(upstream_identities::Column::UpstreamId.eq(upstream_id.as_str()))
            .filter(upstream_identities::Column::Subject.eq(subject));
        self.write.update(update).await?;
        Ok(())
    }

    /// Remove a link unless it is the account's last way to sign in (`password_counts`: the
    /// account has a password and password sign-in is enabled). Concurrent unlinks of one
    /// account are serialised: the transaction first writes the account row, which takes its
    /// row lock on PostgreSQL (the second unlink waits, then counts what the first left) and
    /// the write lock on SQLite (taken at the first statement, so no upgrade can fail busy).
    pub async fn unlink_identity(
        &self,
        account_id: &AccountId,
        upstream_id: &str,
        subject: &str,
        password_counts: bool,
    ) -> StoreResult<Unlink> {
        let (account_id, upstream_id, subject) = (
            account_id.to_string(),
            upstream_id.to_owned(),
            subject.to_owned(),
        );
        self.write
            .run(move |db| {
                Box::pin(async move {
                    unlink(db, &account_id, &upstream_id, &subject, password_counts).await
                })
            })
            .await
    }
}

async fn unlink(
    db: &DatabaseExecutor<'_>,
    account_id: &str,
    upstream_id: &str,
    subject: &str,
    password_counts: bool,
) -> StoreResult<Unlink> {
    accounts::Entity::update_many()
        .col_expr(accounts::Column::Id, Expr::col(accounts::Column::Id))
        .filter(accounts::Column::Id.eq(account_id))
        .exec(db)
        .await?;
    let others = upstream_identities::Entity::find()
        .filter(upstream_identities::Column::AccountId.eq(account_id))
        .count(db)
        .await?;
    let linked = upstream_identities::Entity::find()
        .filter(upstream_identities::Column::AccountId.eq(account_id))
        .filter(upstream_identities::Column::UpstreamId.eq(upstream_id))
        .filter(upstream_identities::Column::Subject.eq(subject))
        .count(db)
        .await?;
    if linked == 0 {
        return Ok(Unlink::NotLinked);
    }
    if others <= 1 && !password_counts {
        return Ok(Unlink::LastWay);
    }
    upstream_identities::Entity::delete_many()
        .filter(upstream_identities::Column::AccountId.eq(account_id))
        .filter(upstream_identities::Column::UpstreamId.eq(upstream_id))
        .filter(upstream_identities::Column::Subject.eq(subject))
        .exec(db)
        .await?;
    Ok(Unlink::Removed)
}
