//! GET|POST /userinfo — OIDC Core §5.3; RFC 6750. Claims by granted scope; an invalid, expired
//! or revoked token gets 401 with `WWW-Authenticate: Bearer error="invalid_token"`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::bearer;
use crate::protocol::error::{Challenge, ErrorCode, OAuthError};
use crate::protocol::vocab::OPENID;
use crate::state::State;
use crate::tokens::claims;

#[tracing::instrument(skip_all)]
pub async fn userinfo(state: State, req: HttpRequest) -> Result<HttpResponse, OAuthError> {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let token = bearer::from_header(auth)?;
    let at = bearer::check(&state, token).await?.ok_or_else(|| {
        OAuthError::invalid_token("the access token is invalid, expired or revoked")
    })?;
    if !at.scope.contains(OPENID) {
        return Err(
            OAuthError::new(ErrorCode::InsufficientScope, "the openid scope is required")
                .with_challenge(Challenge::Bearer),
        );
    }
    let subject = crate::protocol::ids::AccountId::new(at.subject.clone());
    let account = state.store.account(&subject).await?.ok_or_else(|| {
        OAuthError::invalid_token("the access token is invalid, expired or revoked")
    })?;
    let roles = if at.scope.contains(crate::protocol::vocab::ROLES) {
        Some(state.store.roles_of(&account.id).await?)
    } else {
        None
    };
    let mut body = claims::user_claims(&account, &at.scope, roles.as_deref());
    body.insert("sub".into(), json!(account.id));
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body))
}
