//! POST /introspect — RFC 7662. For authenticated confidential clients. A client learns about
//! the tokens issued to it; only a resource server declared with `introspect_any_token = true`
//! learns about other clients' access tokens (RFC 7662 §4: the server decides what to reveal
//! to whom). Refresh tokens are described only to their own client. Everything else is
//! `{"active": false}`.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde_json::{Value, json};

use super::bearer;
use super::client_auth::AuthenticatedClient;
use crate::clients::Client;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::state::{AppState, State};
use crate::tokens::opaque;

#[tracing::instrument(skip_all, fields(client_id))]
pub async fn introspect(
    state: State,
    auth: AuthenticatedClient,
) -> Result<HttpResponse, OAuthError> {
    let AuthenticatedClient { client, params, .. } = auth;
    tracing::Span::current().record("client_id", client.id.as_str());
    if client.is_public() {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "public clients cannot introspect tokens",
        ));
    }
    let token = params.require("token")?;
    let answer = describe(&state, &client, token).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

async fn describe(state: &AppState, client: &Client, token: &str) -> Result<Value, OAuthError> {
    let inactive = json!({ "active": false });
    if token.len() > 8192 {
        return Ok(inactive);
    }
    let now = state.now();
    if let Some(rt) = state.store.refresh_token(&opaque::hash(token)).await? {
        let grant = state.store.grant(&rt.grant_id).await?;
        let live = rt.client_id == client.id.as_str()
            && state.clients.get(&rt.client_id).is_some()
            && rt.rotated_at.is_none()
            && rt.expires_at > now
            && grant.as_ref().is_some_and(|g| g.revoked_at.is_none());
        return Ok(match (live, grant) {
            (true, Some(g)) => json!({
                "active": true, "token_type": "refresh_token", "scope": rt.scope, "client_id": rt.client_id,
                "sub": g.account_id, "exp": rt.expires_at, "iss": state.issuer(),
            }),
            _ => inactive,
        });
    }
    Ok(match bearer::check(state, token).await? {
        Some(at) if at.client_id == client.id.as_str() || client.introspect_any_token => {
            let mut m = at.claims;
            m.insert("active".into(), json!(true));
            m.insert("token_type".into(), json!("Bearer"));
            Value::Object(m)
        }
        _ => inactive,
    })
}
