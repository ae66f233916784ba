//! The outbox worker: every half second it takes the messages that are due, leases each (so no
//! other worker, here or on another instance, sends it meanwhile), hands it to SMTP, and marks
//! it sent; a failure is retried with exponential backoff (5 s, 10 s, … up to 10 minutes); a
//! message still undelivered when what it carries expires is dropped and recorded.

use std::time::Duration;

use super::{Outgoing, SmtpTransport};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clock::SharedClock;
use crate::store::{OutboxMessage, OutboxState, Store, StoreError};

/// How often the outbox is looked at.
pub const POLL: Duration = Duration::from_millis(500);
/// Messages taken per look.
const BATCH: u64 = 20;

/// Seconds to wait before attempt `attempts + 1`.
pub fn backoff(attempts: i32) -> i64 {
    (5i64 << attempts.clamp(0, 7)).min(600)
}

/// What the worker needs.
#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    pub clock: SharedClock,
    pub transport: SmtpTransport,
    /// `[email] timeout_seconds`: a lease outlasts an attempt.
    pub timeout_seconds: u64,
}

/// One pass over the due messages; how many were sent.
pub async fn deliver_due(w: &Worker) -> Result<usize, StoreError> {
    let (store, transport) = (&w.store, &w.transport);
    let now = w.clock.now();
    let lease = now + 3 * w.timeout_seconds as i64 + 5;
    let mut sent = 0;
    for m in store.due_emails(now, BATCH).await? {
        if !store.lease_email(&m.id, now, lease).await? {
            continue; // another worker has it
        }
        if m.expires_at <= now {
            drop_expired(store, &m, now).await?;
            continue;
        }
        let outgoing = Outgoing {
            to: &m.recipient,
            subject: &m.subject,
            text: m.text.as_deref().unwrap_or_default(),
            html: m.html.as_deref().unwrap_or_default(),
        };
        match transport.send(&outgoing).await {
            Ok(()) => {
                store
                    .finish_email(&m.id, OutboxState::Sent, None, w.clock.now())
                    .await?;
                tracing::info!(kind = %m.kind, id = %m.id, "email delivered");
                sent += 1;
            }
            Err(e) => {
                let error = e.to_string();
                let next = w.clock.now() + backoff(m.attempts);
                tracing::warn!(kind = %m.kind, id = %m.id, attempts = m.attempts + 1, error = %error, "email delivery failed; will retry");
                store.retry_email(&m.id, &error, next).await?;
            }
        }
    }
    Ok(sent)
}

async fn drop_expired(store: &Store, m: &OutboxMessage, now: i64) -> Result<(), StoreError> {
    let reason = format!(
        "{} not delivered before it expired ({} attempts{})",
        m.kind,
        m.attempts,
        m.last_error
            .as_deref()
            .map(|e| format!("; last error: {e}"))
            .unwrap_or_default()
    );
    // Recorded first: a message seen dropped always has its record (a crash in between
    // records it twice, on the next pass, rather than never).
    let event = AuditEvent::new(AuditKind::EmailDropped, now, &Origin::new(None, None))
        .email(m.recipient.clone())
        .reason(reason.clone());
    store.audit(event).await?;
    tracing::warn!(kind = %m.kind, id = %m.id, "email dropped: {reason}");
    store
        .finish_email(&m.id, OutboxState::Dropped, Some(&reason), now)
        .await
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn retries_back_off_exponentially_up_to_ten_minutes() {
        assert_eq!(
            (0..9).map(backoff).collect::<Vec<_>>(),
            [5, 10, 20, 40, 80, 160, 320, 600, 600]
        );
    }
}
