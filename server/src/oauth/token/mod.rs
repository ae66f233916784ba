//! POST /token — RFC 6749 §3.2, §4.1.3, §4.4, §5, §6; OIDC Core §3.1.3. Shared phases for every
//! grant (client authentication, grant allowed for the client, `Cache-Control: no-store`,
//! errors), then an exhaustive dispatch on the grant type.

mod authorization_code;
mod client_credentials;
mod refresh_token;

use actix_web::HttpResponse;
use actix_web::http::header;
use serde::Serialize;

use super::client_auth::AuthenticatedClient;
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::ids::GrantId;
use crate::protocol::params::Params;
use crate::protocol::vocab::{GrantType, OPENID, Scopes};
use crate::state::{AppState, State};
use crate::store::{Account, Grant, NewRefreshToken};
use crate::tokens::{access_token, claims, id_token};

#[derive(Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

#[tracing::instrument(skip_all, fields(grant_type, client_id))]
pub async fn token(state: State, auth: AuthenticatedClient) -> Result<HttpResponse, OAuthError> {
    let AuthenticatedClient {
        client,
        params,
        origin,
    } = auth;
    tracing::Span::current().record("client_id", client.id.as_str());
    if !client.allows_address(origin.ip) {
        let event = AuditEvent::new(AuditKind::ClientRefused, state.now(), &origin)
            .client(client.id.as_str())
            .reason("token request from an address outside allowed_ips");
        state.store.audit(event).await?;
        // Authenticated, but not allowed from here (RFC 6749 §5.2 unauthorized_client).
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "token requests for this client are not accepted from this address",
        ));
    }
    if let Some((wait, first)) = state.limiters.check_client(client.id.as_str()) {
        if first {
            let event = AuditEvent::new(AuditKind::RateLimited, state.now(), &origin)
                .client(client.id.as_str())
                .reason("client rate_limit_per_minute");
            state.store.audit(event).await?;
        }
        return Ok(crate::limits::too_many(crate::limits::Bucket::Token, wait));
    }
    let response = exchange(&state, &client, &params, &origin).await?;
    let grant = params.get("grant_type").ok().flatten().unwrap_or_default();
    state
        .metrics
        .tokens_issued
        .with_label_values(&[grant, client.id.as_str()])
        .inc();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

pub async fn exchange(
    state: &AppState,
    client: &Client,
    p: &Params,
    origin: &Origin,
) -> Result<TokenResponse, OAuthError> {
    let raw = p.require("grant_type")?;
    let grant_type = GrantType::parse(raw).ok_or_else(|| {
        OAuthError::new(ErrorCode::UnsupportedGrantType, "unsupported grant_type")
    })?;
    tracing::Span::current().record("grant_type", grant_type.as_str());
    if !client.allows_grant(grant_type) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use this grant type",
        ));
    }
    match grant_type {
        GrantType::AuthorizationCode => {
            authorization_code::exchange(state, client, p, origin).await
        }
        GrantType::RefreshToken => refresh_token::exchange(state, client, p, origin).await,
        GrantType::ClientCredentials => client_credentials::exchange(state, client, p).await,
    }
}

/// What a user grant yields: the tokens for `scope` under `grant`, recorded in the store.
pub(super) struct UserTokens<'a> {
    pub grant: &'a Grant,
    pub account: &'a Account,
    pub scope: &'a Scopes,
    pub nonce: Option<&'a str>,
    /// The refresh token to hand out (already chosen by the grant), if any.
    pub refresh_token: Option<(String, NewRefreshToken)>,
}

pub(super) async fn issue_user_tokens(
    state: &AppState,
    client: &Client,
    t: UserTokens<'_>,
) -> Result<TokenResponse, OAuthError> {
    let now = state.now();
    let s = &state.settings;
    let roles = if t.scope.contains(crate::protocol::vocab::ROLES) {
        Some(state.store.roles_of(&t.account.id).await?)
    } else {
        None
    };
    let signer = state.keys.signer();
    let at_input = access_token::AccessTokenInput {
        issuer: &s.issuer,
        audience: s.access_token_audience(),
        subject: t.account.id.as_str(),
        client_id: client.id.as_str(),
        scope: t.scope,
        now,
        lifetime: s.tokens.access_token_lifetime_seconds,
        auth_time: Some(t.grant.auth_time),
        grant: Some(&t.grant.id),
        roles: roles.as_deref(),
    };
    let (at, id_token) = if t.scope.contains(OPENID) {
        let id = id_token::IdTokenInput {
            issuer: &s.issuer,
            subject: t.account.id.as_str(),
            client_id: client.id.as_str(),
            now,
            lifetime: s.tokens.id_token_lifetime_seconds,
            auth_time: t.grant.auth_time,
            nonce: t.nonce,
            amr: &t.grant.amr,
            acr: t.grant.acr.as_deref(),
            idp: t.grant.idp.as_ref().map(|i| i.as_str()),
            sid: t.grant.sid.as_deref(),
            user_claims: claims::user_claims(t.account, t.scope, roles.as_deref()),
        };
        let (at, id_token) = id_token::mint_with_access_token(&signer, at_input, id)
            .await
            .map_err(OAuthError::server_error)?;
        (at, Some(id_token))
    } else {
        let at = access_token::mint(&signer, at_input)
            .await
            .map_err(OAuthError::server_error)?;
        (at, None)
    };
    // The access token needs no row: its jti names the grant, which the resource endpoints
    // check. Only a new refresh token is recorded.
    let rt_plain = match t.refresh_token {
        Some((plain, new)) => {
            state.store.record_refresh_token(&new, now).await?;
            Some(plain)
        }
        None => None,
    };
    Ok(TokenResponse {
        access_token: at.token,
        token_type: "Bearer",
        expires_in: s.tokens.access_token_lifetime_seconds,
        refresh_token: rt_plain,
        id_token,
        scope: t.scope.to_string(),
    })
}

/// A grant that is live: not revoked, not past its absolute lifetime.
pub(super) async fn live_grant(state: &AppState, id: &GrantId) -> Result<Grant, OAuthError> {
    match state.store.grant(id).await? {
        Some(g) if g.revoked_at.is_none() && g.expires_at > state.now() => Ok(g),
        _ => Err(OAuthError::invalid_grant(
            "the grant has been revoked or has expired",
        )),
    }
}

pub(super) async fn grant_account(state: &AppState, g: &Grant) -> Result<Account, OAuthError> {
    state
        .store
        .account(&g.account_id)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the account no longer exists"))
}
