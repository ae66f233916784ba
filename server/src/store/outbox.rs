//! The email outbox: a message is a row written in the same transaction as what it announces
//! (a verification code, a reset link), and a background worker (`email::worker`) delivers it.
//!
//! Contracts:
//! - A worker leases a message (one conditional UPDATE) before it sends it: while the lease
//!   lasts no other worker, on this instance or another, sends it too.
//! - A message ends `sent` or `dropped` (past its `expires_at`: what it carried no longer
//!   works); either way its bodies are cleared, since they may carry a code.
//! - `held` messages (`[email] dev_outbox`) are never sent; /dev/outbox shows them.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseExecutor, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait as _},
};

use super::entities::email_outbox;
use super::{Store, StoreResult};

/// The columns of a delivery queue (this outbox, and the back-channel logouts').
pub(super) struct QueueColumns<C> {
    pub id: C,
    pub attempts: C,
    pub next_attempt_at: C,
    pub lease_until: C,
    pub last_error: C,
}

/// A failed delivery of queue row `id`: one more attempt counted, the error kept, the lease
/// given back, and the next attempt at `next_attempt_at`.
pub(super) fn retry_later<E: EntityTrait>(
    c: QueueColumns<E::Column>,
    id: &str,
    error: &str,
    next_attempt_at: i64,
) -> sea_orm::UpdateMany<E> {
    E::update_many()
        .col_expr(c.attempts, Expr::col(c.attempts).add(1))
        .col_expr(c.next_attempt_at, Expr::value(next_attempt_at))
        .col_expr(c.lease_until, Expr::value(None::<i64>))
        .col_expr(c.last_error, Expr::value(error.to_owned()))
        .filter(c.id.eq(id))
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxState {
    Pending,
    Sent,
    Dropped,
    Held,
}

impl OutboxState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Dropped => "dropped",
            Self::Held => "held",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "sent" => Self::Sent,
            "dropped" => Self::Dropped,
            "held" => Self::Held,
            _ => Self::Pending,
        }
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewEmail {
    /// What it is about (`verify_email`, `password_reset`, …), for logs and /dev/outbox.
    pub kind: &'static str,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Not delivered after this: the message is dropped (and recorded).
    pub expires_at: i64,
    /// Keep it for /dev/outbox instead of sending it.
    pub held: bool,
}

/// A queued message as stored.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub state: OutboxState,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl From<email_outbox::Model> for OutboxMessage {
    fn from(m: email_outbox::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            recipient: m.recipient,
            subject: m.subject,
            text: m.text_body,
            html: m.html_body,
            state: OutboxState::parse(&m.state),
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: m.created_at,
            expires_at: m.expires_at,
        }
    }
}

/// The row for a new message, due at once.
pub(super) fn email_model(e: &NewEmail, now: i64) -> email_outbox::ActiveModel {
    let state = if e.held {
        OutboxState::Held
    } else {
        OutboxState::Pending
    };
    email_outbox::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        kind: Set(e.kind.to_owned()),
        recipient: Set(e.recipient.clone()),
        subject: Set(e.subject.clone()),
        text_body: Set(Some(e.text.clone())),
        html_body: Set(Some(e.html.clone())),
        state: Set(state.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        expires_at: Set(e.expires_at),
        finished_at: Set(None),
    }
}

/// Queue messages inside a job that writes what they announce.
pub(super) async fn queue(
    db: &DatabaseExecutor<'_>,
    emails: Vec<email_outbox::ActiveModel>,
) -> StoreResult<()> {
    for e in emails {
        email_outbox::Entity::insert(e)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Queue a message on its own (a notice that announces nothing else written).
    pub async fn enqueue_email(&self, e: &NewEmail, now: i64) -> StoreResult<()> {
        self.write
            .insert(email_outbox::Entity::insert(email_model(e, now)))
            .await
    }

    /// Messages due for an attempt: pending, their time come, and no live lease on them.
    pub async fn due_emails(&self, now: i64, limit: u64) -> StoreResult<Vec<OutboxMessage>> {
        Ok(email_outbox::Entity::find()
            .filter(email_outbox::Column::State.eq(OutboxState::Pending.as_str()))
            .filter(email_outbox::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(email_outbox::Column::LeaseUntil.is_null())
                    .add(email_outbox::Column::LeaseUntil.lt(now)),
            )
            .order_by_asc(email_outbox::Column::NextAttemptAt)
            .limit(limit)
            .all(&self.read)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Take a message for one attempt until `until`; false if another worker has it.
    pub async fn lease_email(&self, id: &str, now: i64, until: i64) -> StoreResult<bool> {
        let lease = email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::LeaseUntil, Expr::value(until))
            .filter(email_outbox::Column::Id.eq(id))
            .filter(email_outbox::Column::State.eq(OutboxState::Pending.as_str()))
            .filter(
                Condition::any()
                    .add(email_outbox::Column::LeaseUntil.is_null())
                    .add(email_outbox::Column::LeaseUntil.lt(now)),
            );
        Ok(self.write.update(lease).await? == 1)
    }

    /// The message was delivered (or dropped): its bodies go, its record stays.
    pub async fn finish_email(
        &self,
        id: &str,
        state: OutboxState,
        error: Option<&str>,
        now: i64,
    ) -> StoreResult<()> {
        let mut update = email_outbox::Entity::update_many()
            .col_expr(email_outbox::Column::State, Expr::value(state.as_str()))
            .col_expr(email_outbox::Column::TextBody, Expr::value(None::<String>))
            .col_expr(email_outbox::Column::HtmlBody, Expr::value(None::<String>))
            .col_expr(email_outbox::Column::LeaseUntil, Expr::value(None::<i64>))
            .col_expr(email_outbox::Column::FinishedAt, Expr::value(now))
            .col_expr(
                email_outbox::Column::Attempts,
                Expr::col(email_outbox::Column::Attempts).add(1),
            );
        if let Some(e) = error {
            update = update.col_expr(email_outbox::Column::LastError, Expr::value(e.to_owned()));
        }
        self.write
            .update(update.filter(email_outbox::Column::Id.eq(id)))
            .await?;
        Ok(())
    }

    /// An attempt failed: try again at `next_attempt_at`.
    pub async fn retry_email(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: i64,
    ) -> StoreResult<()> {
        use email_outbox::Column as C;
        let columns = QueueColumns {
            id: C::Id,
            attempts: C::Attempts,
            next_attempt_at: C::NextAttemptAt,
            lease_until: C::LeaseUntil,
            last_error: C::LastError,
        };
        self.write
            .update(retry_later::<email_outbox::Entity>(
                columns,
                id,
                error,
                next_attempt_at,
            ))
            .await?;
        Ok(())
    }

    /// The newest messages, any state (for /dev/outbox and the tests' view of delivery).
    pub async fn recent_emails(&self, limit: u64) -> StoreResult<Vec<OutboxMessage>> {
        Ok(email_outbox::Entity::find()
            .order_by_desc(email_outbox::Column::CreatedAt)
            .order_by_desc(email_outbox::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
