//! Back-channel logout delivery (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8): every half
//! second the worker takes the logouts that are due, leases each (so no other worker, here or
//! on another instance, sends it meanwhile), signs a fresh logout token and POSTs it to the
//! client's `backchannel_logout_uri`. A 2xx answer delivers it; a network error, a 5xx, 408 or
//! 429 is retried with backoff (5 s, 10 s, … up to 10 minutes) for a day; any other answer is
//! the app refusing the token, recorded and not retried. Redirects are not followed (§2.8).

use std::time::Duration;

use openidconnect::reqwest;

use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::ClientRegistry;
use crate::clock::SharedClock;
use crate::email::worker::backoff;
use crate::keys::KeySet;
use crate::protocol::ids::AccountId;
use crate::store::{PendingLogout, Store, StoreError};
use crate::tokens::logout_token::{self, LogoutTokenInput};

/// How often the queue is looked at.
pub const POLL: Duration = Duration::from_millis(500);
/// Logouts taken per look.
const BATCH: u64 = 20;
/// How long an app has to answer one POST.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What the worker needs.
#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    pub clock: SharedClock,
    pub keys: KeySet,
    pub clients: ClientRegistry,
    pub issuer: String,
    http: reqwest::Client,
}

/// How one attempt went.
enum Outcome {
    Delivered,
    /// Worth another try later (the app is down or overloaded).
    Retry(String),
    /// The app answered and refused it: trying again will not help.
    Refused(String),
}

impl Worker {
    pub fn new(
        store: Store,
        clock: SharedClock,
        keys: KeySet,
        clients: ClientRegistry,
        issuer: String,
    ) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!("Ostiary/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            store,
            clock,
            keys,
            clients,
            issuer,
            http,
        })
    }
}

/// One pass over the due logouts; how many were delivered.
pub async fn deliver_due(w: &Worker) -> Result<usize, StoreError> {
    let now = w.clock.now();
    let lease = now + 3 * TIMEOUT.as_secs() as i64 + 5;
    let mut delivered = 0;
    for l in w.store.due_logouts(now, BATCH).await? {
        if !w.store.lease_logout(&l.id, now, lease).await? {
            continue; // another worker has it
        }
        let Some(uri) = w
            .clients
            .get(&l.client_id)
            .and_then(|c| c.backchannel_logout_uri.clone())
        else {
            w.store.finish_logout(&l.id).await?; // the app does not take logouts
            continue;
        };
        match attempt(w, &l, uri).await {
            Outcome::Delivered => {
                w.store.finish_logout(&l.id).await?;
                tracing::info!(client = %l.client_id, reason = %l.reason, "back-channel logout delivered");
                delivered += 1;
            }
            Outcome::Refused(why) => give_up(w, &l, format!("the app refused it: {why}")).await?,
            Outcome::Retry(why) if w.clock.now() + backoff(l.attempts) >= l.expires_at => {
                let why = format!("not delivered in time ({} attempts): {why}", l.attempts + 1);
                give_up(w, &l, why).await?;
            }
            Outcome::Retry(why) => {
                let next = w.clock.now() + backoff(l.attempts);
                tracing::warn!(client = %l.client_id, attempts = l.attempts + 1, error = %why, "back-channel logout failed; will retry");
                w.store.retry_logout(&l.id, &why, next).await?;
            }
        }
    }
    Ok(delivered)
}

async fn attempt(w: &Worker, l: &PendingLogout, uri: url::Url) -> Outcome {
    let token = logout_token::mint(
        &w.keys.current(),
        LogoutTokenInput {
            issuer: &w.issuer,
            client_id: &l.client_id,
            subject: &l.subject,
            sid: &l.sid,
            now: w.clock.now(),
        },
    );
    let token = match token {
        Ok(t) => t,
        Err(e) => return Outcome::Retry(format!("signing the logout token: {e}")),
    };
    let sent = w
        .http
        .post(uri)
        .header(reqwest::header::CACHE_CONTROL, "no-store")
        .form(&[("logout_token", token.as_str())])
        .send()
        .await;
    match sent {
        Err(e) => Outcome::Retry(e.without_url().to_string()),
        Ok(res) if res.status().is_success() => Outcome::Delivered,
        Ok(res) => {
            let status = res.status();
            let retry = status.is_server_error() || matches!(status.as_u16(), 408 | 429);
            let why = format!("HTTP {status}");
            if retry {
                Outcome::Retry(why)
            } else {
                Outcome::Refused(why)
            }
        }
    }
}

async fn give_up(w: &Worker, l: &PendingLogout, why: String) -> Result<(), StoreError> {
    w.store.finish_logout(&l.id).await?;
    tracing::warn!(client = %l.client_id, "back-channel logout given up: {why}");
    let event = AuditEvent::new(
        AuditKind::BackchannelLogoutFailed,
        w.clock.now(),
        &Origin::default(),
    )
    .account(&AccountId::new(l.subject.clone()))
    .client(l.client_id.clone())
    .reason(format!("{} ({})", why, l.reason));
    w.store.audit(event).await
}
