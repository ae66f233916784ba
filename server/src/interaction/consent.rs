//! GET|POST /consent — the consent page: the client's name and the requested scopes in plain
//! words. Shown only while the request awaits this browser's consent (otherwise the login
//! page); the answer goes to `authz::decide_consent`, which remembers an Allow per user, client
//! and scope set, or returns access_denied for a Deny (RFC 6749 §4.1.2.1).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::csrf::{self, Purpose};
use super::{cookie, see_other, with_cookie};
use crate::audit::Origin;
use crate::authz::{self, AuthorizeError, ConsentDecision, ConsentView, session};
use crate::error::PageError;
use crate::pages;
use crate::protocol::params::Params;
use crate::state::State;

#[tracing::instrument(skip_all)]
pub async fn show(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let id = params
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let current = cookie(&req, session::cookie_name(&state));
    let (request_id, client, account_id, scopes) =
        match authz::consent_view(&state, id, current.as_deref()).await? {
            ConsentView::Show {
                request_id,
                client,
                account_id,
                scopes,
            } => (request_id, client, account_id, scopes),
            ConsentView::GoTo(url) => return Ok(see_other(&url)),
        };
    let account = state
        .store
        .account(&account_id)
        .await?
        .ok_or_else(PageError::expired)?;
    let (token, new_cookie) = csrf::issue(&state, &req, Purpose::Consent, &request_id);
    let page = pages::ConsentPage {
        client_name: &client.name,
        account_email: account.label(),
        request_id: &request_id,
        csrf: &token,
        scopes: scopes.iter().map(pages::describe_scope).collect(),
    };
    Ok(with_cookie(
        pages::render(StatusCode::OK, &page),
        new_cookie,
    ))
}

#[tracing::instrument(skip_all)]
pub async fn submit(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let id = form
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    csrf::check(&state, &req, Purpose::Consent, id, &form)?;
    let decision = match form.get("decision").map_err(PageError::from)? {
        Some("allow") => ConsentDecision::Allow,
        Some("deny") => ConsentDecision::Deny,
        _ => {
            return Err(PageError::bad_request(
                "Invalid request",
                "Choose Allow or Deny.",
            ));
        }
    };
    let current = cookie(&req, session::cookie_name(&state));
    match authz::decide_consent(&state, id, current.as_deref(), decision, &Origin::of(&req)).await {
        Ok(url) | Err(AuthorizeError::Redirect(url)) => Ok(see_other(&url)),
        Err(AuthorizeError::Page(p)) => Err(p),
    }
}
