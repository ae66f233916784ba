//! grant_type=client_credentials — RFC 6749 §4.4: confidential clients only, an access token
//! for the client itself (RFC 9068 §2.2: `sub` is the client id). No refresh token, no ID
//! token, nothing written to the store.

use super::TokenResponse;
use crate::clients::Client;
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::protocol::vocab::{OFFLINE_ACCESS, OPENID, Scopes};
use crate::state::AppState;
use crate::tokens::access_token;

pub async fn exchange(
    state: &AppState,
    client: &Client,
    p: &Params,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::new(
            crate::protocol::error::ErrorCode::UnauthorizedClient,
            "public clients cannot use client_credentials",
        ));
    }
    let allowed = client.scopes.without(OPENID).without(OFFLINE_ACCESS);
    let scope = match p.get("scope")? {
        None => allowed.clone(),
        Some(raw) => {
            Scopes::parse(raw).ok_or_else(|| OAuthError::invalid_scope("scope is malformed"))?
        }
    };
    if !scope.is_subset(&allowed) {
        return Err(OAuthError::invalid_scope(
            "a requested scope is not allowed for this client",
        ));
    }
    let s = &state.settings;
    let at = access_token::mint(
        &state.keys.signer(),
        access_token::AccessTokenInput {
            issuer: &s.issuer,
            audience: s.access_token_audience(),
            subject: client.id.as_str(),
            client_id: client.id.as_str(),
            scope: &scope,
            now: state.now(),
            lifetime: s.tokens.access_token_lifetime_seconds,
            auth_time: None,
            grant: None,
            roles: (!client.roles.is_empty()).then_some(client.roles.as_slice()),
        },
    )
    .await
    .map_err(OAuthError::server_error)?;
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: s.tokens.access_token_lifetime_seconds,
        refresh_token: None,
        id_token: None,
        scope: scope.to_string(),
    })
}
