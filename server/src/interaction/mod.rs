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

/// A cookie's value, if the browser sent it.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.cookie(name).map(|c| c.value().to_owned())
}
