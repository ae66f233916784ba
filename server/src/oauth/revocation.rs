//! POST /revoke — RFC 7009. The client authenticates; a token issued to another client is
//! refused; an unknown token still gets 200. Revoking a refresh token revokes its grant, so the
//! access tokens of the same grant stop working too (§2.1).

use actix_web::HttpResponse;
use actix_web::http::header;

use super::client_auth::AuthenticatedClient;
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::state::{AppState, State};
use crate::tokens::{access_token, opaque};

#[tracing::instrument(skip_all, fields(client_id))]
pub async fn revoke(state: State, auth: AuthenticatedClient) -> Result<HttpResponse, OAuthError> {
    let AuthenticatedClient {
        client,
        params,
        origin,
    } = auth;
    tracing::Span::current().record("client_id", client.id.as_str());
    let token = params.require("token")?;
    match params.get("token_type_hint")? {
        None | Some("access_token") | Some("refresh_token") => {}
        Some(_) => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedTokenType,
                "unsupported token_type_hint",
            ));
        }
    }
    revoke_token(&state, &client, token, &origin).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

fn not_yours() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnauthorizedClient,
        "the token was not issued to this client",
    )
}

async fn revoke_token(
    state: &AppState,
    client: &Client,
    token: &str,
    origin: &Origin,
) -> Result<(), OAuthError> {
    let now = state.now();
    if token.len() > 8192 {
        return Ok(());
    }
    if let Some(rt) = state.store.refresh_token(&opaque::hash(token)).await? {
        if rt.client_id != client.id.as_str() {
            return Err(not_yours());
        }
        if state
            .store
            .revoke_grant(&rt.grant_id, "revoked_by_client", now)
            .await?
        {
            let event = AuditEvent::new(AuditKind::TokenRevoked, now, origin)
                .client(&rt.client_id)
                .grant(&rt.grant_id)
                .reason("refresh token revoked: grant revoked");
            state.store.audit(event).await?;
        }
        return Ok(());
    }
    let s = &state.settings;
    // An expired token needs no revocation; one we cannot verify is unknown to us.
    let Ok(at) = access_token::verify(
        &state.keys.current(),
        token,
        &s.issuer,
        s.access_token_audience(),
        now,
    ) else {
        return Ok(());
    };
    if at.client_id != client.id.as_str() {
        return Err(not_yours());
    }
    state
        .store
        .revoke_access_token(&at.jti, &at.client_id, at.expires_at, now)
        .await?;
    Ok(())
}
