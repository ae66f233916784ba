//! Failed password sign-ins per account key (see `accounts::throttle`), shared by instances.
//!
//! Contract: `record_login_attempt` applies the caller's transition as a compare-and-swap on
//! the stored state (retried when another attempt changed it first), so concurrent attempts are
//! each counted once, on SQLite and PostgreSQL alike.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::entities::login_failures;
use super::{Store, StoreError, StoreResult};

/// The stored failure state of one key (the lockout policy lives in `accounts::throttle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureState {
    pub failures: i32,
    pub window_start: i64,
    /// Consecutive lockouts so far (the next lasts twice as long).
    pub lockouts: i32,
    pub locked_until: Option<i64>,
}

fn state(m: &login_failures::Model) -> FailureState {
    FailureState {
        failures: m.failures,
        window_start: m.window_start,
        lockouts: m.lockouts,
        locked_until: m.locked_until,
    }
}

impl Store {
    pub async fn login_failures(&self, key_hash: &str) -> StoreResult<FailureState> {
        Ok(self
            .first(login_failures::Entity::find_by_id(key_hash.to_owned()))
            .await?
            .map(|m| state(&m))
            .unwrap_or_default())
    }

    /// Apply `next` to the key's state atomically and store the result; returns what `next`
    /// returned for the state it was applied to.
    pub async fn record_login_attempt<T>(
        &self,
        key_hash: &str,
        now: i64,
        next: impl Fn(&FailureState) -> (FailureState, T),
    ) -> StoreResult<T> {
        for _ in 0..20 {
            let found = self
                .first(login_failures::Entity::find_by_id(key_hash.to_owned()))
                .await?;
            let current = found.as_ref().map(state).unwrap_or_default();
            let (s, out) = next(&current);
            let stored = match found {
                Some(m) => {
                    let update = login_failures::Entity::update_many()
                        .col_expr(login_failures::Column::Failures, Expr::value(s.failures))
                        .col_expr(
                            login_failures::Column::WindowStart,
                            Expr::value(s.window_start),
                        )
                        .col_expr(login_failures::Column::Lockouts, Expr::value(s.lockouts))
                        .col_expr(
                            login_failures::Column::LockedUntil,
                            Expr::value(s.locked_until),
                        )
                        .col_expr(login_failures::Column::UpdatedAt, Expr::value(now))
                        .filter(login_failures::Column::KeyHash.eq(key_hash))
                        .filter(login_failures::Column::Failures.eq(m.failures))
                        .filter(login_failures::Column::WindowStart.eq(m.window_start))
                        .filter(login_failures::Column::Lockouts.eq(m.lockouts))
                        .filter(login_failures::Column::UpdatedAt.eq(m.updated_at));
                    self.write.update(update).await? == 1
                }
                None => match self
                    .write
                    .insert(login_failures::Entity::insert(
                        login_failures::ActiveModel {
                            key_hash: Set(key_hash.to_owned()),
                            failures: Set(s.failures),
                            window_start: Set(s.window_start),
                            lockouts: Set(s.lockouts),
                            locked_until: Set(s.locked_until),
                            updated_at: Set(now),
                        },
                    ))
                    .await
                {
                    Ok(()) => true,
                    Err(StoreError::Conflict) => false,
                    Err(e) => return Err(e),
                },
            };
            if stored {
                return Ok(out);
            }
        }
        Err(StoreError::Conflict)
    }

    /// Forget a key's failures (a successful sign-in, or `ostiary users unlock`).
    pub async fn clear_login_failures(&self, key_hash: &str) -> StoreResult<()> {
        let delete = login_failures::Entity::delete_many()
            .filter(login_failures::Column::KeyHash.eq(key_hash));
        self.write.delete(delete).await?;
        Ok(())
    }
}
