//! Browser sessions at Ostiary: a random cookie value (256 bits), stored only as a hash; a new
//! id at every sign-in (no fixation); HttpOnly, SameSite=Lax (so the session reaches /authorize
//! on the top-level navigation from a relying party), and Secure with the `__Host-` prefix when
//! the issuer is https (ASVS 3.3, 7.2.4).

use actix_web::cookie::{Cookie, SameSite, time::Duration};

use super::AuthenticatedSubject;
use crate::audit::{AuditEvent, AuditKind};
use crate::state::AppState;
use crate::store::{BrowserSession, StoreResult};
use crate::tokens::opaque;

pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-ostiary_session"
    } else {
        "ostiary_session"
    }
}

/// The hash a session is stored under, for a cookie value that could be one.
fn id_hash(cookie_value: Option<&str>) -> Option<String> {
    cookie_value
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(opaque::hash)
}

pub async fn load(
    state: &AppState,
    cookie_value: Option<&str>,
) -> StoreResult<Option<BrowserSession>> {
    let found = match id_hash(cookie_value) {
        Some(h) => state.store.session(&h, state.now()).await?,
        None => None,
    };
    let Some(s) = found else { return Ok(None) };
    if idle(state, &s).await? {
        return Ok(None);
    }
    state.store.touch_session(&s, state.now()).await?;
    Ok(Some(s))
}

/// Whether `s` went unused past `[session] idle_timeout_seconds` (then it is ended).
async fn idle(state: &AppState, s: &BrowserSession) -> StoreResult<bool> {
    let timeout = state.settings.session.idle_timeout_seconds;
    if timeout <= 0 || state.now() - s.last_seen_at <= timeout {
        return Ok(false);
    }
    state.store.delete_session(&s.id_hash).await?;
    Ok(true)
}

/// The live session behind a cookie and the scopes its account already granted `client_id`.
pub async fn load_with_consent(
    state: &AppState,
    cookie_value: Option<&str>,
    client_id: &str,
) -> StoreResult<Option<(BrowserSession, Option<String>)>> {
    let found = match id_hash(cookie_value) {
        Some(h) => {
            state
                .store
                .session_with_consent(&h, client_id, state.now())
                .await?
        }
        None => None,
    };
    let Some((s, consent)) = found else {
        return Ok(None);
    };
    if idle(state, &s).await? {
        return Ok(None);
    }
    state.store.touch_session(&s, state.now()).await?;
    Ok(Some((s, consent)))
}

/// A session just started: the cookie to set, and its id hash.
pub struct Started {
    pub cookie: Cookie<'static>,
    pub id_hash: String,
    /// Its public id, for ID tokens and back-channel logout.
    pub sid: Option<String>,
    /// The session's row, when starting it is one INSERT that the caller writes with the rest
    /// of the sign-in's end (`Store::record_sign_in`); `None` when it is stored already.
    pub to_write: Option<BrowserSession>,
}

/// End any previous session and start a new one for `who`. When there is nothing to end (the
/// browser had no session and no per-account limit applies) the session is one INSERT, left
/// to the caller in `Started::to_write`.
pub async fn start(
    state: &AppState,
    who: &AuthenticatedSubject,
    previous: Option<&str>,
    origin: &crate::audit::Origin,
) -> StoreResult<Started> {
    let now = state.now();
    let value = opaque::random_token();
    let lifetime = state.settings.session.lifetime_seconds;
    let session = BrowserSession {
        id_hash: opaque::hash(value.expose()),
        account_id: who.account_id.clone(),
        auth_time: who.auth_time,
        amr: who.amr.clone(),
        idp: who.idp.clone(),
        expires_at: now + lifetime,
        ip: origin.ip.map(|ip| ip.to_string()),
        user_agent: origin.user_agent.clone(),
        created_at: now,
        last_seen_at: now,
        sid: Some(opaque::random_id()),
    };
    let cookie = build_cookie(
        state,
        value.expose().to_owned(),
        Duration::seconds(lifetime),
    );
    let max = state.settings.session.max_per_account;
    if previous.is_none() && max == 0 {
        return Ok(Started {
            cookie,
            id_hash: session.id_hash.clone(),
            sid: session.sid.clone(),
            to_write: Some(session),
        });
    }
    let previous = previous.map(opaque::hash);
    let done = state
        .store
        .start_session(previous.as_deref(), &session, max, now)
        .await?;
    if done.ended_by_limit > 0 {
        let event = AuditEvent::new(AuditKind::SessionEnded, now, origin)
            .account(&who.account_id)
            .reason(format!(
                "session limit: {} older session(s) ended",
                done.ended_by_limit
            ));
        state.store.audit(event).await?;
    }
    Ok(Started {
        cookie,
        id_hash: session.id_hash,
        sid: done.sid,
        to_write: None,
    })
}

/// End the session (if any) and return a cookie that clears it.
pub async fn end(state: &AppState, cookie_value: Option<&str>) -> StoreResult<Cookie<'static>> {
    if let Some(v) = cookie_value {
        let now = state.now();
        state
            .store
            .end_session(&opaque::hash(v), "signed out", now)
            .await?;
    }
    Ok(build_cookie(state, String::new(), Duration::ZERO))
}

pub fn device_cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-ostiary_device"
    } else {
        "ostiary_device"
    }
}

/// Remember this browser for `account_id` (`[mfa] remember_device_days`; `None` when off):
/// the cookie to set. Only its hash is stored.
pub async fn remember_device(
    state: &AppState,
    account_id: &crate::protocol::ids::AccountId,
) -> StoreResult<Option<Cookie<'static>>> {
    let days = i64::from(state.settings.mfa.remember_device_days);
    if days == 0 {
        return Ok(None);
    }
    let now = state.now();
    let value = opaque::random_token();
    let lifetime = days * 86_400;
    state
        .store
        .remember_device(
            &opaque::hash(value.expose()),
            account_id,
            now,
            now + lifetime,
        )
        .await?;
    let mut c = build_cookie(
        state,
        value.expose().to_owned(),
        Duration::seconds(lifetime),
    );
    c.set_name(device_cookie_name(state));
    Ok(Some(c))
}

/// Whether the browser's device cookie is remembered for `account_id`.
pub async fn device_remembered(
    state: &AppState,
    cookie_value: Option<&str>,
    account_id: &crate::protocol::ids::AccountId,
) -> StoreResult<bool> {
    if state.settings.mfa.remember_device_days == 0 {
        return Ok(false);
    }
    match id_hash(cookie_value) {
        Some(h) => {
            state
                .store
                .device_remembered(&h, account_id, state.now())
                .await
        }
        None => Ok(false),
    }
}

fn build_cookie(state: &AppState, value: String, max_age: Duration) -> Cookie<'static> {
    Cookie::build(cookie_name(state), value)
        .path("/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .finish()
}
