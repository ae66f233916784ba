//! The authorization request's life between /authorize and the code (architecture guide C11):
//!
//! ```mermaid
//! stateDiagram-v2
//!     [*] --> Validated: /authorize checks pass
//!     Validated --> AwaitingLogin: no session, prompt=login, max_age
//!     Validated --> AwaitingConsent: scopes not yet granted, prompt=consent
//!     Validated --> CodeIssued: session and consent already there
//!     AwaitingLogin --> Authenticated: POST /login
//!     Authenticated --> AwaitingConsent
//!     Authenticated --> CodeIssued
//!     AwaitingConsent --> CodeIssued: allow
//!     AwaitingConsent --> Failed: deny (access_denied)
//!     Validated --> Failed: prompt=none needs a page
//! ```
//!
//! A pending request is stored (`auth_requests`) so any instance can continue it; it is taken
//! (deleted) exactly once when the code is issued or the user denies.

use actix_web::HttpResponse;
use std::sync::Arc;
use url::Url;

use super::policy::{self, Next};
use super::session;
use crate::clients::Client;
use crate::error::PageError;
use crate::oauth::authorize::{AuthorizationRequest, AuthorizeError, respond, see_other};
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::params::Params;
use crate::oauth::vocab::{Prompt, Scopes};
use crate::state::AppState;
use crate::store::{BrowserSession, StoredAuthRequest};
use crate::tokens::opaque;

/// Who signed in, and how: what password login (and later upstream login) yields.
#[derive(Debug, Clone)]
pub struct AuthenticatedSubject {
    pub account_id: String,
    pub auth_time: i64,
    /// Space-separated `amr` values (RFC 8176), e.g. `pwd`.
    pub amr: String,
    /// The upstream (its configured id) that vouched for the user; `None` for a local password.
    pub idp: Option<String>,
}

impl From<&BrowserSession> for AuthenticatedSubject {
    fn from(s: &BrowserSession) -> Self {
        Self {
            account_id: s.account_id.clone(),
            auth_time: s.auth_time,
            amr: s.amr.clone(),
            idp: s.idp.clone(),
        }
    }
}

/// Where the browser goes next.
pub struct Step(pub Url);

impl Step {
    pub fn into_response(self, _state: &AppState) -> HttpResponse {
        see_other(&self.0)
    }
}

/// Lifetime of a pending authorization request.
const PENDING_LIFETIME: i64 = 30 * 60;

/// GET|POST /authorize after parsing: validate, then issue a code or send the user to a page.
pub async fn start(
    state: &AppState,
    params: &Params,
    session_cookie: Option<&str>,
) -> Result<Step, AuthorizeError> {
    let (client, req) = crate::oauth::authorize::validate(state, params)?;
    let on_client = |error: OAuthError| AuthorizeError::Redirect {
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        error,
    };
    let now = state.now();
    let session = session::load(state, session_cookie)
        .await
        .map_err(|e| on_client(e.into()))?;
    let next = next_step(state, &client, &req, session.as_ref(), false)
        .await
        .map_err(on_client)?;
    if req.prompt.contains(&Prompt::None) {
        match next {
            Next::Login(_) => {
                return Err(on_client(OAuthError::new(
                    ErrorCode::LoginRequired,
                    "the user is not signed in",
                )));
            }
            Next::Consent(_) => {
                return Err(on_client(OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "the user has not consented",
                )));
            }
            Next::IssueCode => {}
        }
    }
    if let (Next::IssueCode, Some(s)) = (&next, &session) {
        return respond::issue_code(state, &req, &s.into())
            .await
            .map(Step)
            .map_err(on_client);
    }
    let id = opaque::random_token().expose().to_owned();
    let json = serde_json::to_string(&req).map_err(|e| on_client(OAuthError::server_error(e)))?;
    let stored = StoredAuthRequest {
        id: id.clone(),
        client_id: req.client_id.clone(),
        request_json: json,
        created_at: now,
        authenticated_session: None,
    };
    state
        .store
        .save_auth_request(&stored, now + PENDING_LIFETIME)
        .await
        .map_err(|e| on_client(e.into()))?;
    Ok(Step(page_url(state, &next, &id)?))
}

async fn next_step(
    state: &AppState,
    client: &Client,
    req: &AuthorizationRequest,
    session: Option<&BrowserSession>,
    signed_in_for_this_request: bool,
) -> Result<Next, OAuthError> {
    let remembered = match session {
        Some(s) => state
            .store
            .consent(&s.account_id, &req.client_id)
            .await?
            .and_then(|s| Scopes::parse(&s)),
        None => None,
    };
    Ok(policy::decide(
        req,
        client,
        session,
        remembered.as_ref(),
        signed_in_for_this_request,
        state.now(),
    ))
}

fn page_url(state: &AppState, next: &Next, id: &str) -> Result<Url, PageError> {
    let path = match next {
        Next::Login(_) => "/login",
        _ => "/consent",
    };
    let mut url = Url::parse(&state.endpoint(path)).map_err(PageError::internal)?;
    url.query_pairs_mut().append_pair("req", id);
    Ok(url)
}

/// A pending request, with its client; a page error if it expired or is unknown.
pub async fn pending(
    state: &AppState,
    id: &str,
) -> Result<(StoredAuthRequest, Arc<Client>, AuthorizationRequest), PageError> {
    if id.is_empty() || id.len() > 64 {
        return Err(PageError::expired());
    }
    let stored = state
        .store
        .auth_request(id, state.now())
        .await?
        .ok_or_else(PageError::expired)?;
    let req: AuthorizationRequest =
        serde_json::from_str(&stored.request_json).map_err(PageError::internal)?;
    let client = state
        .clients
        .get(&req.client_id)
        .ok_or_else(PageError::expired)?;
    Ok((stored, client, req))
}

/// After sign-in: evaluate the request again and continue.
pub async fn resume(
    state: &AppState,
    id: &str,
    session_cookie: Option<&str>,
) -> Result<Step, AuthorizeError> {
    let (stored, client, req) = pending(state, id).await?;
    let session = session::load(state, session_cookie)
        .await
        .map_err(PageError::from)?;
    let fresh = session
        .as_ref()
        .is_some_and(|s| stored.authenticated_session.as_deref() == Some(s.id_hash.as_str()));
    let next = next_step(state, &client, &req, session.as_ref(), fresh)
        .await
        .map_err(PageError::from)?;
    match (next, session) {
        (Next::IssueCode, Some(s)) => finish(state, &stored, &req, &(&s).into()).await,
        (next, _) => Ok(Step(page_url(state, &next, id)?)),
    }
}

/// Take the pending request (once) and issue its code.
pub async fn finish(
    state: &AppState,
    stored: &StoredAuthRequest,
    req: &AuthorizationRequest,
    who: &AuthenticatedSubject,
) -> Result<Step, AuthorizeError> {
    if !state
        .store
        .take_auth_request(&stored.id)
        .await
        .map_err(PageError::from)?
    {
        return Err(PageError::expired().into());
    }
    respond::issue_code(state, req, who)
        .await
        .map(Step)
        .map_err(|error| AuthorizeError::Redirect {
            redirect_uri: req.redirect_uri.clone(),
            state: req.state.clone(),
            error,
        })
}

/// The user refused: take the request and tell the client (access_denied).
pub async fn deny(
    state: &AppState,
    stored: &StoredAuthRequest,
    req: &AuthorizationRequest,
) -> Result<Step, AuthorizeError> {
    if !state
        .store
        .take_auth_request(&stored.id)
        .await
        .map_err(PageError::from)?
    {
        return Err(PageError::expired().into());
    }
    Err(AuthorizeError::Redirect {
        redirect_uri: req.redirect_uri.clone(),
        state: req.state.clone(),
        error: OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"),
    })
}
