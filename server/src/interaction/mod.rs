//! The human in the loop: the hosted login, consent and logout pages, browser sessions, CSRF,
//! and the flow that carries an authorization request through them.

pub mod account;
pub mod consent;
pub mod csrf;
pub mod flow;
pub mod login;
pub mod pages;
pub mod policy;
pub mod session;
pub mod upstream;

use actix_web::HttpRequest;

use crate::error::PageError;
use crate::state::AppState;
use crate::store::AuditEvent;

/// A cookie's value, if the browser sent it.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned())
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
