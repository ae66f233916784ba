//! `AuthorizeQuery` → `AuthorizationRequest`: parsed once, here (RFC 6749 §4.1.1; OIDC Core
//! §3.1.2.1). Errors before the client and redirect URI are trusted become pages; later ones
//! are redirected back to the client.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::AuthorizeError;
use super::checks::*;
use crate::clients::Client;
use crate::oauth::params::Params;
use crate::oauth::vocab::{Prompt, Scopes};
use crate::state::AppState;

/// A validated authorization request; stored as JSON while the user signs in and consents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The PKCE challenge in oxide-auth's encoded form.
    pub code_challenge: Option<String>,
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
}

pub fn validate(
    state: &AppState,
    p: &Params,
) -> Result<(Arc<Client>, AuthorizationRequest), AuthorizeError> {
    let client = check_client(&state.clients, p)?;
    let redirect_uri = check_redirect_uri(&client, p)?;
    // From here on errors go back to the client, with its state if that parses.
    let st = p
        .get("state")
        .ok()
        .flatten()
        .filter(|s| s.len() <= 2048)
        .map(str::to_owned);
    let redirect = |error| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: st.clone(),
        error,
    };
    let parsed = (|| {
        check_no_duplicates(p)?;
        check_response_type(&client, p)?;
        check_no_request_object(p)?;
        let scope = check_scope(&client, p)?;
        let code_challenge = check_pkce(&client, p)?;
        let prompt = check_prompt(p)?;
        let max_age = check_max_age(p)?;
        let state_param = check_text(p, "state", 2048)?;
        let nonce = check_text(p, "nonce", 512)?;
        let login_hint = check_text(p, "login_hint", 254)?;
        Ok(AuthorizationRequest {
            client_id: client.id.as_str().to_owned(),
            redirect_uri: redirect_uri.clone(),
            scope,
            state: state_param,
            nonce,
            code_challenge,
            prompt,
            max_age,
            login_hint,
        })
    })()
    .map_err(redirect)?;
    Ok((client, parsed))
}
