//! Removal of expired rows, run on a timer from `startup`. Deletes go in small batches, each its
//! own statement on the writer, with a rest as long as the batch between them, so requests
//! waiting to write are served between batches: a day of expired rows never holds the database
//! for more than a few milliseconds at a time, nor more than half of it over time.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};

use super::entities::{
    access_tokens, auth_codes, auth_requests, browser_sessions, email_outbox, email_proofs, grants,
    login_failures, refresh_tokens, remembered_devices, upstream_logins, used_challenges,
};
use super::{Store, StoreResult};

/// Rows deleted per statement: small enough that a batch holds the writer for milliseconds
/// even when its rows are scattered over a large database.
const BATCH: u64 = 100;

/// How long a login failure counter is kept after its window started (the longest window or
/// lockout the config allows, and `accounts::throttle`'s time to forget earlier lockouts).
pub const LOGIN_FAILURES_KEPT: i64 = 86_400;

/// What one collection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Collected {
    pub rows: u64,
    /// The longest single batch, timed on the writer: the longest it kept other writes waiting.
    pub longest_batch: std::time::Duration,
}

impl std::ops::AddAssign for Collected {
    fn add_assign(&mut self, other: Self) {
        self.rows += other.rows;
        self.longest_batch = self.longest_batch.max(other.longest_batch);
    }
}

impl Store {
    /// Delete what expired before `now` (codes are kept a while longer for reuse detection).
    pub async fn collect_garbage(&self, now: i64) -> StoreResult<Collected> {
        use access_tokens as at;
        use auth_codes as ac;
        use auth_requests as ar;
        use browser_sessions as bs;
        use email_outbox as eo;
        use email_proofs as ep;
        use refresh_tokens as rt;
        use remembered_devices as rd;
        use upstream_logins as ul;
        use used_challenges as uc;
        let mut n = Collected::default();
        n += self
            .delete_expired::<rd::Entity>(rd::Column::TokenHash, rd::Column::ExpiresAt, now)
            .await?;
        n += self
            .delete_expired::<uc::Entity>(uc::Column::ChallengeHash, uc::Column::ExpiresAt, now)
            .await?;
        n += self
            .delete_expired::<ar::Entity>(ar::Column::Id, ar::Column::ExpiresAt, now)
            .await?;
        n += self
            .delete_expired::<ul::Entity>(ul::Column::StateHash, ul::Column::ExpiresAt, now)
            .await?;
        n += self
            .delete_expired::<bs::Entity>(bs::Column::IdHash, bs::Column::ExpiresAt, now)
            .await?;
        n += self
            .delete_expired::<ac::Entity>(ac::Column::CodeHash, ac::Column::ExpiresAt, now - 3600)
            .await?;
        n += self
            .delete_expired::<rt::Entity>(rt::Column::TokenHash, rt::Column::ExpiresAt, now)
            .await?;
        n += self
            .delete_expired::<at::Entity>(at::Column::Jti, at::Column::ExpiresAt, now)
            .await?;
        n += self
            .delete_expired::<grants::Entity>(grants::Column::Id, grants::Column::ExpiresAt, now)
            .await?;
        // A failure counter whose window started a day ago is spent: windows and lockouts last
        // at most a day (config validation), and a day without failures forgets earlier
        // lockouts (`accounts::throttle`); its next failure would start from nothing anyway.
        n += self
            .delete_expired::<login_failures::Entity>(
                login_failures::Column::KeyHash,
                login_failures::Column::WindowStart,
                now - LOGIN_FAILURES_KEPT,
            )
            .await?;
        // Kept a day past expiry: the sending limits look back an hour.
        n += self
            .delete_expired::<ep::Entity>(ep::Column::Id, ep::Column::ExpiresAt, now - 86_400)
            .await?;
        // Kept a week past expiry: by then the worker has sent or dropped (and recorded) each.
        n += self
            .delete_expired::<eo::Entity>(eo::Column::Id, eo::Column::ExpiresAt, now - 7 * 86_400)
            .await?;
        Ok(n)
    }

    /// `DELETE FROM t WHERE key IN (SELECT key FROM t WHERE expires < before LIMIT BATCH)`,
    /// repeated until a batch comes back short.
    async fn delete_expired<E: EntityTrait>(
        &self,
        key: E::Column,
        expires: E::Column,
        before: i64,
    ) -> StoreResult<Collected> {
        let mut total = Collected::default();
        loop {
            let batch = E::find()
                .select_only()
                .column(key)
                .filter(expires.lt(before))
                .limit(BATCH)
                .into_query();
            let delete = E::delete_many().filter(key.in_subquery(batch));
            // Timed on the writer: how long this batch kept the writes queued behind it waiting.
            let (deleted, took) = self
                .write
                .run_statement(move |db| {
                    Box::pin(async move {
                        let started = std::time::Instant::now();
                        let deleted = delete.exec(db).await?.rows_affected;
                        Ok((deleted, started.elapsed()))
                    })
                })
                .await?;
            total += Collected {
                rows: deleted,
                longest_batch: took,
            };
            if deleted < BATCH {
                return Ok(total);
            }
            // Rest as long as the batch took: the collector never has more than half the
            // writer's time, however many rows are due.
            tokio::time::sleep(took).await;
        }
    }
}
