//! The human in the loop: the hosted login, consent, account and logout pages. Each page
//! verifies one thing (a password, an upstream's answer, a consent) and reports it to `authz`,
//! which decides what comes next; pages never issue codes or start sessions themselves.

pub mod account;
pub mod activity;
pub mod apps;
pub mod consent;
pub mod csrf;
pub mod dev_outbox;
pub mod factors;
pub mod forgot;
pub mod home;
pub mod login;
pub mod logout;
pub mod passkeys;
pub mod register;
pub mod second_factor;
pub mod self_service;
pub mod sessions;
pub mod upstream;
pub mod verify;

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use url::Url;

use crate::audit::{AuditEvent, Origin};
use crate::authz::{self, AuthenticatedSubject, AuthorizeError, session};
use crate::error::PageError;
use crate::state::AppState;

/// A cookie's value, if the browser sent it.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned())
}

/// 303, never 307, so a POSTed form is not replayed (RFC 9700 §4.12).
pub fn see_other(url: &Url) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Add a cookie to a response, if there is one to set.
pub fn with_cookie(mut res: HttpResponse, c: Option<Cookie<'static>>) -> HttpResponse {
    if let Some(c) = c {
        let _ = res.add_cookie(&c);
    }
    res
}

/// Follow a finished sign-in: its session cookie (if it started one) and a 303 onwards.
pub fn signed_in(done: authz::SignedIn) -> HttpResponse {
    with_cookie(
        with_cookie(see_other(&done.next), done.cookie),
        done.device.map(|c| *c),
    )
}

/// Follow an `authz` answer that is a redirect or a page.
pub fn follow(e: AuthorizeError) -> Result<HttpResponse, PageError> {
    match e {
        AuthorizeError::Redirect(url) => Ok(see_other(&url)),
        AuthorizeError::Page(p) => Err(p),
    }
}

/// Record an audit event for something a person did on the pages.
pub async fn record(state: &AppState, event: AuditEvent) -> Result<(), PageError> {
    state.store.audit(event).await?;
    Ok(())
}

/// Hand a verified sign-in to `authz::complete_sign_in` and follow its answer: the new
/// session's cookie and a 303 to the next step (the client, or the consent page).
pub async fn finish_sign_in(
    state: &AppState,
    req: &HttpRequest,
    view: authz::LoginView,
    who: AuthenticatedSubject,
) -> Result<HttpResponse, PageError> {
    let previous = cookie(req, session::cookie_name(state));
    let origin = Origin::of(req);
    let browser = csrf::browser_id(state, req);
    match authz::complete_sign_in(state, view, who, previous.as_deref(), &browser, &origin).await {
        Ok(done) => Ok(signed_in(done)),
        Err(AuthorizeError::Redirect(url)) => Ok(see_other(&url)),
        Err(AuthorizeError::Page(p)) => Err(p),
    }
}

/// A time as the account pages show it ("2026-12-03 05:40 UTC").
pub fn time_label(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}
