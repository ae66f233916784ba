//! Second factors of an account: its TOTP authenticator (secret sealed by the caller) and its
//! recovery codes (only keyed hashes).
//!
//! Contracts:
//! - A TOTP time step is accepted once: `use_totp_step` is one conditional UPDATE that moves
//!   `last_used_step` forward, so a replayed code (or two concurrent submissions of one code)
//!   succeeds at most once, on every instance.
//! - A recovery code is used once (one conditional UPDATE).
//! - Confirming an authenticator and replacing the recovery codes happen together: the old set
//!   dies in the transaction that makes the new one.

use sea_orm::sea_query::{
    Asterisk, DynIden, Expr, Func, IntoIden, Query, SelectStatement, SubQueryStatement,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseExecutor, EntityTrait, QueryFilter,
};

use super::entities::{passkeys, recovery_codes, remembered_devices, totp_factors};
use super::live::unexpired;
use super::row::Cells;
use super::{Store, StoreError, StoreResult};
use crate::protocol::ids::AccountId;

/// An account's TOTP authenticator.
#[derive(Debug, Clone)]
pub struct TotpFactor {
    pub account_id: AccountId,
    /// Sealed with the second-factor key; opened only by `accounts::factors`.
    pub secret_sealed: String,
    /// `None` while the enrolment awaits its first code.
    pub confirmed_at: Option<i64>,
    pub last_used_step: Option<i64>,
    pub last_used_at: Option<i64>,
    pub created_at: i64,
}

impl From<totp_factors::Model> for TotpFactor {
    fn from(m: totp_factors::Model) -> Self {
        Self {
            account_id: AccountId::new(m.account_id),
            secret_sealed: m.secret_sealed,
            confirmed_at: m.confirmed_at,
            last_used_step: m.last_used_step,
            last_used_at: m.last_used_at,
            created_at: m.created_at,
        }
    }
}

/// What a person has enrolled, for pages and the CLI.
#[derive(Debug, Clone, Default)]
pub struct FactorSummary {
    /// When the authenticator was confirmed.
    pub totp_since: Option<i64>,
    pub totp_last_used: Option<i64>,
    pub recovery_codes_left: u64,
    pub passkeys: u64,
}

impl FactorSummary {
    /// The account has a second factor (an authenticator app or a passkey).
    pub fn any(&self) -> bool {
        self.totp_since.is_some() || self.passkeys > 0
    }
}

fn codes(account_id: &str, hashes: &[String], now: i64) -> Vec<recovery_codes::ActiveModel> {
    hashes
        .iter()
        .map(|h| recovery_codes::ActiveModel {
            code_hash: Set(h.clone()),
            account_id: Set(account_id.to_owned()),
            created_at: Set(now),
            used_at: Set(None),
        })
        .collect()
}

/// The four scalar subqueries of a `FactorSummary` of account `id`, in `summary_of`'s order.
pub(super) fn summary_columns(id: &str) -> [Expr; 4] {
    let scalar = |q: SelectStatement| Expr::from(SubQueryStatement::from(q));
    let totp = |column: totp_factors::Column| {
        Query::select()
            .column(column)
            .from(totp_factors::Entity)
            .and_where(totp_factors::Column::AccountId.eq(id))
            .and_where(totp_factors::Column::ConfirmedAt.is_not_null())
            .to_owned()
    };
    let count = |table: DynIden, filter: Condition| {
        Query::select()
            .expr(Func::count(Expr::col(Asterisk)))
            .from(table)
            .cond_where(filter)
            .to_owned()
    };
    [
        scalar(totp(totp_factors::Column::ConfirmedAt)),
        scalar(totp(totp_factors::Column::LastUsedAt)),
        scalar(count(
            recovery_codes::Entity.into_iden(),
            Condition::all()
                .add(recovery_codes::Column::AccountId.eq(id))
                .add(recovery_codes::Column::UsedAt.is_null()),
        )),
        scalar(count(
            passkeys::Entity.into_iden(),
            Condition::all().add(passkeys::Column::AccountId.eq(id)),
        )),
    ]
}

/// A `FactorSummary` from the values of `summary_columns`, the first in column `at`.
pub(super) fn summary_of(r: &dyn Cells, at: usize) -> StoreResult<FactorSummary> {
    Ok(FactorSummary {
        totp_since: r.opt_int(at)?,
        totp_last_used: r.opt_int(at + 1)?,
        recovery_codes_left: u64::try_from(r.int(at + 2)?).unwrap_or_default(),
        passkeys: u64::try_from(r.int(at + 3)?).unwrap_or_default(),
    })
}

impl Store {
    pub async fn totp_factor(&self, account_id: &AccountId) -> StoreResult<Option<TotpFactor>> {
        Ok(self
            .first(totp_factors::Entity::find_by_id(account_id.to_string()))
            .await?
            .map(Into::into))
    }

    /// An account's second factors, in one read: a confirmed authenticator's dates and how
    /// many recovery codes and passkeys it has.
    pub async fn factor_summary(&self, account_id: &AccountId) -> StoreResult<FactorSummary> {
        let mut select = Query::select();
        for column in summary_columns(account_id.as_str()) {
            select.expr(column);
        }
        let summary = self.read_one(&select, |r| summary_of(r, 0)).await?;
        Ok(summary.unwrap_or_default())
    }

    /// Start (or restart) an enrolment: an unconfirmed authenticator replaces an unconfirmed
    /// one; `Conflict` when a confirmed one exists (remove it first).
    pub async fn begin_totp(
        &self,
        account_id: &AccountId,
        secret_sealed: &str,
        now: i64,
    ) -> StoreResult<()> {
        let id = account_id.to_string();
        let sealed = secret_sealed.to_owned();
        self.write
            .run(move |db| {
                Box::pin(async move {
                    totp_factors::Entity::delete_many()
                        .filter(totp_factors::Column::AccountId.eq(id.as_str()))
                        .filter(totp_factors::Column::ConfirmedAt.is_null())
                        .exec(db)
                        .await?;
                    totp_factors::Entity::insert(totp_factors::ActiveModel {
                        account_id: Set(id),
                        secret_sealed: Set(sealed),
                        confirmed_at: Set(None),
                        last_used_step: Set(None),
                        last_used_at: Set(None),
                        created_at: Set(now),
                    })
                    .exec(db)
                    .await
                    .map_err(super::conflict_or)?;
                    Ok(())
                })
            })
            .await
    }

    /// Confirm an enrolment with the step its first code used, and replace the recovery codes;
    /// false if no unconfirmed authenticator was waiting.
    pub async fn confirm_totp(
        &self,
        account_id: &AccountId,
        step: i64,
        recovery_hashes: &[String],
        now: i64,
    ) -> StoreResult<bool> {
        let id = account_id.to_string();
        let new_codes = codes(&id, recovery_hashes, now);
        self.write
            .run(move |db| {
                Box::pin(async move {
                    let confirmed = totp_factors::Entity::update_many()
                        .col_expr(totp_factors::Column::ConfirmedAt, Expr::value(now))
                        .col_expr(totp_factors::Column::LastUsedStep, Expr::value(step))
                        .col_expr(totp_factors::Column::LastUsedAt, Expr::value(now))
                        .filter(totp_factors::Column::AccountId.eq(id.as_str()))
                        .filter(totp_factors::Column::ConfirmedAt.is_null())
                        .exec(db)
                        .await?
                        .rows_affected;
                    if confirmed != 1 {
                        return Err(StoreError::Conflict);
                    }
                    replace_codes(db, &id, new_codes).await
                })
            })
            .await
            .map(|()| true)
            .or_else(|e| match e {
                StoreError::Conflict => Ok(false),
                e => Err(e),
            })
    }

    /// Accept time step `step` of a confirmed authenticator, once: false if it (or a later
    /// step) was used already.
    pub async fn use_totp_step(
        &self,
        account_id: &AccountId,
        step: i64,
        now: i64,
    ) -> StoreResult<bool> {
        let update = totp_factors::Entity::update_many()
            .col_expr(totp_factors::Column::LastUsedStep, Expr::value(step))
            .col_expr(totp_factors::Column::LastUsedAt, Expr::value(now))
            .filter(totp_factors::Column::AccountId.eq(account_id.as_str()))
            .filter(totp_factors::Column::ConfirmedAt.is_not_null())
            .filter(
                Condition::any()
                    .add(totp_factors::Column::LastUsedStep.is_null())
                    .add(totp_factors::Column::LastUsedStep.lt(step)),
            );
        Ok(self.write.update(update).await? == 1)
    }

    /// Use one recovery code (by its hash): false if unknown or used.
    pub async fn use_recovery_code(
        &self,
        account_id: &AccountId,
        code_hash: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let update = recovery_codes::Entity::update_many()
            .col_expr(recovery_codes::Column::UsedAt, Expr::value(now))
            .filter(recovery_codes::Column::CodeHash.eq(code_hash))
            .filter(recovery_codes::Column::AccountId.eq(account_id.as_str()))
            .filter(recovery_codes::Column::UsedAt.is_null());
        Ok(self.write.update(update).await? == 1)
    }

    /// A new set of recovery codes; the old set stops working.
    pub async fn replace_recovery_codes(
        &self,
        account_id: &AccountId,
        hashes: &[String],
        now: i64,
    ) -> StoreResult<()> {
        let id = account_id.to_string();
        let new_codes = codes(&id, hashes, now);
        self.write
            .run(move |db| Box::pin(async move { replace_codes(db, &id, new_codes).await }))
            .await
    }

    /// Remove the authenticator app of an account, and its recovery codes unless
    /// `keep_codes` (passkeys stay, and the codes stand in for them).
    pub async fn remove_totp(&self, account_id: &AccountId, keep_codes: bool) -> StoreResult<()> {
        let id = account_id.to_string();
        self.write
            .run(move |db| {
                Box::pin(async move {
                    totp_factors::Entity::delete_many()
                        .filter(totp_factors::Column::AccountId.eq(id.as_str()))
                        .exec(db)
                        .await?;
                    if !keep_codes {
                        recovery_codes::Entity::delete_many()
                            .filter(recovery_codes::Column::AccountId.eq(id.as_str()))
                            .exec(db)
                            .await?;
                    }
                    Ok(())
                })
            })
            .await
    }

    /// Remember a browser for an account until `expires_at` (the cookie's hash only).
    pub async fn remember_device(
        &self,
        token_hash: &str,
        account_id: &AccountId,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        self.write
            .insert(remembered_devices::Entity::insert(
                remembered_devices::ActiveModel {
                    token_hash: Set(token_hash.to_owned()),
                    account_id: Set(account_id.to_string()),
                    created_at: Set(now),
                    expires_at: Set(expires_at),
                },
            ))
            .await
    }

    /// Whether the browser whose cookie hashes to `token_hash` is remembered for this account.
    pub async fn device_remembered(
        &self,
        token_hash: &str,
        account_id: &AccountId,
        now: i64,
    ) -> StoreResult<bool> {
        Ok(self
            .first(
                remembered_devices::Entity::find_by_id(token_hash.to_owned())
                    .filter(remembered_devices::Column::AccountId.eq(account_id.as_str()))
                    .filter(unexpired(remembered_devices::Column::ExpiresAt, now)),
            )
            .await?
            .is_some())
    }

    /// Remove every second factor of an account (an admin's reset).
    /// With `end_sessions`, every browser session and grant of the account ends too.
    pub async fn remove_factors(
        &self,
        account_id: &AccountId,
        end_sessions: bool,
        now: i64,
    ) -> StoreResult<()> {
        let id = account_id.to_string();
        self.write
            .run(move |db| {
                Box::pin(async move {
                    delete_factors(db, &id).await?;
                    if end_sessions {
                        super::account_changes::sign_out_everywhere(
                            db,
                            &id,
                            None,
                            "second factors reset",
                            now,
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .await
    }
}

async fn replace_codes(
    db: &DatabaseExecutor<'_>,
    account_id: &str,
    new_codes: Vec<recovery_codes::ActiveModel>,
) -> StoreResult<()> {
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    if !new_codes.is_empty() {
        recovery_codes::Entity::insert_many(new_codes)
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Delete an account's authenticator and recovery codes (inside the caller's transaction).
pub(super) async fn delete_factors(db: &DatabaseExecutor<'_>, account_id: &str) -> StoreResult<()> {
    totp_factors::Entity::delete_many()
        .filter(totp_factors::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    passkeys::Entity::delete_many()
        .filter(passkeys::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    forget_devices(db, account_id).await
}

/// Forget every remembered browser of an account (inside the caller's transaction).
pub(super) async fn forget_devices(db: &DatabaseExecutor<'_>, account_id: &str) -> StoreResult<()> {
    remembered_devices::Entity::delete_many()
        .filter(remembered_devices::Column::AccountId.eq(account_id))
        .exec(db)
        .await?;
    Ok(())
}
