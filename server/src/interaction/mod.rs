//! The human in the loop: the hosted login, consent, account and logout pages. Each page
//! verifies one thing (a password, an upstream's answer, a consent) and reports it to `authz`,
//! which decides what comes next; pages never issue codes or start sessions themselves.

pub mod account;
pub mod consent;
pub mod csrf;
pub mod login;
pub mod logout;
pub mod upstream;

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use url::Url;

use crate::error::PageError;
use crate::state::AppState;
use crate::store::AuditEvent;

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

/// Record an audit event for something a person did on the pages.
pub async fn audit(
    state: &AppState,
    kind: &str,
    account_id: Option<&str>,
    client_id: Option<&str>,
    detail: String,
) -> Result<(), PageError> {
    state
        .store
        .audit(AuditEvent {
            at: state.now(),
            kind: kind.into(),
            account_id: account_id.map(str::to_owned),
            client_id: client_id.map(str::to_owned),
            detail,
        })
        .await?;
    Ok(())
}
