//! Ending browser sessions, and the back-channel logout queue it feeds (OpenID Connect
//! Back-Channel Logout 1.0 §2.5-§2.7): one row per app that was issued tokens in an ended
//! session, for `backchannel` to sign and deliver.
//!
//! Contracts:
//! - Sessions end only through `end_sessions`, which queues their logouts in the same job that
//!   deletes them: a crash never loses a logout, nor sends one for a session that did not end.
//!   (A session that runs out — its lifetime or idle timeout — is not "ended": nothing is sent.)
//! - A worker leases a row before delivery; while the lease lasts no other worker, on this
//!   instance or another, delivers it too. A row is deleted once delivered or given up on.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseExecutor, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};

use super::entities::{browser_sessions, grants, logout_outbox};
use super::{Store, StoreResult};

/// How long a logout is retried before it is given up.
pub const DELIVERY_WINDOW_SECONDS: i64 = 24 * 3600;

/// A logout token still to deliver: to `client_id`, about session `sid` of `subject`.
#[derive(Debug, Clone)]
pub struct PendingLogout {
    pub id: String,
    pub client_id: String,
    pub subject: String,
    pub sid: String,
    /// Why the session ended (`signed out`, `signed out everywhere`, `session limit`, …).
    pub reason: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl From<logout_outbox::Model> for PendingLogout {
    fn from(m: logout_outbox::Model) -> Self {
        Self {
            id: m.id,
            client_id: m.client_id,
            subject: m.subject,
            sid: m.sid,
            reason: m.reason,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at,
            expires_at: m.expires_at,
        }
    }
}

/// End the sessions `which` selects: queue a logout for every app issued tokens in one, then
/// delete them. How many ended.
pub(super) async fn end_sessions(
    db: &DatabaseExecutor<'_>,
    which: Condition,
    reason: &str,
    now: i64,
) -> StoreResult<u64> {
    let sids: Vec<Option<String>> = browser_sessions::Entity::find()
        .select_only()
        .column(browser_sessions::Column::Sid)
        .filter(which.clone())
        .into_tuple()
        .all(db)
        .await?;
    let sids: Vec<String> = sids.into_iter().flatten().collect();
    if !sids.is_empty() {
        let apps: Vec<(String, String, Option<String>)> = grants::Entity::find()
            .select_only()
            .column(grants::Column::ClientId)
            .column(grants::Column::AccountId)
            .column(grants::Column::Sid)
            .distinct()
            .filter(grants::Column::Sid.is_in(sids))
            .into_tuple()
            .all(db)
            .await?;
        for (client_id, subject, sid) in apps {
            if let Some(sid) = sid {
                queue(db, client_id, subject, sid, reason, now).await?;
            }
        }
    }
    let ended = browser_sessions::Entity::delete_many()
        .filter(which)
        .exec(db)
        .await?;
    Ok(ended.rows_affected)
}

/// Queue one logout token: to `client_id`, about session `sid` of `subject`.
pub(super) async fn queue(
    db: &DatabaseExecutor<'_>,
    client_id: String,
    subject: String,
    sid: String,
    reason: &str,
    now: i64,
) -> StoreResult<()> {
    logout_outbox::Entity::insert(logout_outbox::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        client_id: Set(client_id),
        subject: Set(subject),
        sid: Set(sid),
        reason: Set(reason.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        expires_at: Set(now + DELIVERY_WINDOW_SECONDS),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The sessions of an account but `keep`.
pub(super) fn of_account(account_id: &str, keep: Option<&str>) -> Condition {
    let mut c = Condition::all().add(browser_sessions::Column::AccountId.eq(account_id));
    if let Some(k) = keep {
        c = c.add(browser_sessions::Column::IdHash.ne(k));
    }
    c
}

fn unleased(now: i64) -> Condition {
    Condition::any()
        .add(logout_outbox::Column::LeaseUntil.is_null())
        .add(logout_outbox::Column::LeaseUntil.lt(now))
}

impl Store {
    /// Logouts due for an attempt: their time come, and no live lease on them.
    pub async fn due_logouts(&self, now: i64, limit: u64) -> StoreResult<Vec<PendingLogout>> {
        Ok(logout_outbox::Entity::find()
            .filter(logout_outbox::Column::NextAttemptAt.lte(now))
            .filter(unleased(now))
            .order_by_asc(logout_outbox::Column::NextAttemptAt)
            .limit(limit)
            .all(&self.read)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Every logout still queued (for `ostiary sessions` and the tests).
    pub async fn queued_logouts(&self) -> StoreResult<Vec<PendingLogout>> {
        Ok(logout_outbox::Entity::find()
            .order_by_asc(logout_outbox::Column::CreatedAt)
            .all(&self.read)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Take a logout for one attempt until `until`; false if another worker has it.
    pub async fn lease_logout(&self, id: &str, now: i64, until: i64) -> StoreResult<bool> {
        let lease = logout_outbox::Entity::update_many()
            .col_expr(logout_outbox::Column::LeaseUntil, Expr::value(until))
            .filter(logout_outbox::Column::Id.eq(id))
            .filter(unleased(now));
        Ok(self.write.update(lease).await? == 1)
    }

    /// The logout was delivered, or will never be: it leaves the queue.
    pub async fn finish_logout(&self, id: &str) -> StoreResult<()> {
        let delete = logout_outbox::Entity::delete_many().filter(logout_outbox::Column::Id.eq(id));
        self.write.delete(delete).await?;
        Ok(())
    }

    /// An attempt failed: try again at `next_attempt_at`.
    pub async fn retry_logout(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: i64,
    ) -> StoreResult<()> {
        use logout_outbox::Column as C;
        let columns = super::outbox::QueueColumns {
            id: C::Id,
            attempts: C::Attempts,
            next_attempt_at: C::NextAttemptAt,
            lease_until: C::LeaseUntil,
            last_error: C::LastError,
        };
        let update = super::outbox::retry_later::<logout_outbox::Entity>(
            columns,
            id,
            error,
            next_attempt_at,
        );
        self.write.update(update).await?;
        Ok(())
    }
}
