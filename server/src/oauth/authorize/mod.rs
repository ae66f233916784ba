//! GET|POST /authorize — RFC 6749 §3.1, §4.1.1, §4.1.2; OIDC Core §3.1.2; RFC 7636; RFC 9207.
//! Runs the checks in `request`, then hands the validated request to the interaction flow.

mod checks;
mod request;
pub mod respond;

pub use request::{AuthorizationRequest, validate};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use url::Url;

use crate::error::PageError;
use crate::interaction::{flow, session};
use crate::oauth::error::OAuthError;
use crate::oauth::params::Params;
use crate::state::AppState;

/// Where an authorization error goes (RFC 6749 §4.1.2.1).
pub enum AuthorizeError {
    /// Client or redirect URI not trusted: our own page, never a redirect.
    Page(PageError),
    /// Safe to send back to the client's registered redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

impl From<PageError> for AuthorizeError {
    fn from(e: PageError) -> Self {
        Self::Page(e)
    }
}

impl AuthorizeError {
    pub fn into_response(self, state: &AppState) -> HttpResponse {
        match self {
            AuthorizeError::Page(p) => actix_web::ResponseError::error_response(&p),
            AuthorizeError::Redirect {
                redirect_uri,
                state: st,
                error,
            } => match respond::error_redirect(state, &redirect_uri, st.as_deref(), &error) {
                Ok(url) => see_other(&url),
                Err(e) => actix_web::ResponseError::error_response(&PageError::from(e)),
            },
        }
    }
}

/// 303, never 307, so a POSTed form is not replayed (RFC 9700 §4.12).
pub fn see_other(url: &Url) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[tracing::instrument(skip_all, fields(method = %req.method()))]
pub async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let raw: &[u8] = if req.method() == actix_web::http::Method::POST {
        &body
    } else {
        req.query_string().as_bytes()
    };
    let params = match Params::parse(raw) {
        Ok(p) => p,
        Err(_) => {
            return AuthorizeError::Page(PageError::bad_request(
                "Invalid request",
                "The request is too large.",
            ))
            .into_response(&state);
        }
    };
    let cookie = req.cookie(session::cookie_name(&state));
    match flow::start(&state, &params, cookie.as_ref().map(|c| c.value())).await {
        Ok(step) => step.into_response(&state),
        Err(e) => e.into_response(&state),
    }
}
