//! GET|POST /authorize — RFC 6749 §3.1, §4.1.1, §4.1.2; OIDC Core §3.1.2; RFC 7636; RFC 9207.
//! Parses and validates the request with the checks in `checks` (in the order below), then
//! hands it to `authz`, which owns it from there.

mod checks;

use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::Arc;

use crate::authz::{self, AuthorizationRequest, AuthorizeError, issue, session};
use crate::clients::Client;
use crate::error::PageError;
use crate::interaction::{cookie, see_other};
use crate::protocol::params::Params;
use crate::state::{AppState, State};
use checks::*;

#[tracing::instrument(skip_all, fields(method = %req.method()))]
pub async fn authorize(state: State, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let raw: &[u8] = if req.method() == actix_web::http::Method::POST {
        &body
    } else {
        req.query_string().as_bytes()
    };
    let session = cookie(&req, session::cookie_name(&state));
    let outcome = match Params::parse(raw) {
        Ok(params) => match validate(&state, &params) {
            Ok((client, request)) => {
                authz::begin(&state, client, request, session.as_deref()).await
            }
            Err(e) => Err(e),
        },
        Err(_) => Err(AuthorizeError::Page(PageError::bad_request(
            "Invalid request",
            "The request is too large.",
        ))),
    };
    match outcome {
        Ok(url) | Err(AuthorizeError::Redirect(url)) => see_other(&url),
        Err(AuthorizeError::Page(p)) => actix_web::ResponseError::error_response(&p),
    }
}

/// The checks in order: errors before the client and redirect URI are trusted are pages;
/// later ones go back to the client with its `state` (RFC 6749 §4.1.2.1).
pub fn validate(
    state: &AppState,
    p: &Params,
) -> Result<(Arc<Client>, AuthorizationRequest), AuthorizeError> {
    let client = check_client(&state.clients, p)?;
    let redirect_uri = check_redirect_uri(&client, p)?;
    let client_state = p
        .get("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= 2048)
        .map(str::to_owned);
    let parsed = (|| {
        check_no_duplicates(p)?;
        check_response_type(&client, p)?;
        check_no_request_object(p)?;
        let scope = check_scope(&client, p)?;
        let code_challenge = check_pkce(&client, p)?;
        let prompt = check_prompt(p)?;
        let max_age = check_max_age(p)?;
        let hint_subject = check_id_token_hint(state, &client, p)?;
        let mut acr_values = check_acr_values(p)?;
        for a in check_claims_acr(p)? {
            if !acr_values.contains(&a) {
                acr_values.push(a);
            }
        }
        Ok(AuthorizationRequest {
            client_id: client.id.as_str().to_owned(),
            redirect_uri: redirect_uri.clone(),
            scope,
            state: check_text(p, "state", 2048)?,
            nonce: check_text(p, "nonce", 512)?,
            code_challenge,
            prompt,
            max_age,
            login_hint: check_text(p, "login_hint", 254)?,
            hint_subject,
            acr_values,
        })
    })()
    .map_err(|e| issue::error_response(state, &redirect_uri, client_state.as_deref(), &e))?;
    Ok((client, parsed))
}
