//! Client authentication at the back-channel endpoints (RFC 6749 §2.3.1, §3.2.1; OIDC Core §9):
//! client_secret_basic, client_secret_post, or none for public clients. Exactly one method per
//! request; the client must use the method it registered. `AuthenticatedClient` is the
//! extractor /token, /revoke and /introspect share: the capped form body and the client, or
//! the protocol's error before the handler runs.

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;

use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::protocol::error::{Challenge, ErrorCode, OAuthError};
use crate::protocol::params::Params;
use crate::protocol::vocab::TokenEndpointAuthMethod;
use crate::secret::Secret;
use crate::state::{AppState, State};

/// A back-channel request from an authenticated client: its form parameters, and who it is.
pub struct AuthenticatedClient {
    pub client: Arc<Client>,
    pub params: Params,
    /// Where the request came from (for audit records).
    pub origin: Origin,
}

impl FromRequest for AuthenticatedClient {
    type Error = OAuthError;
    type Future = LocalBoxFuture<'static, Result<Self, OAuthError>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Payload::from_request(&req, payload);
        Box::pin(async move {
            require_form(&req)?;
            let body = body
                .await
                .map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
            let params = Params::parse(&crate::protocol::params::read_body(body).await?)?;
            let state = State::of(&req)
                .ok_or_else(|| OAuthError::server_error(anyhow::anyhow!("no application state")))?;
            let state = &state;
            let auth = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|h| h.to_str().unwrap_or("\u{0}"));
            let basic = parse_basic(auth)?;
            let claimed = basic.as_ref().map(|b| b.client_id.clone());
            let origin = Origin::of(&req);
            match authenticate(state, basic, &params) {
                Ok(client) => Ok(Self {
                    client,
                    params,
                    origin,
                }),
                Err(e) if e.code == ErrorCode::InvalidClient => {
                    let claimed = claimed
                        .or_else(|| params.get("client_id").ok().flatten().map(str::to_owned));
                    record_failure(state, &req, claimed.as_deref(), &origin).await;
                    Err(e)
                }
                Err(e) => Err(e),
            }
        })
    }
}

/// Audit a failed client authentication: the client when it is registered (an unknown id is
/// the caller's text, not recorded). A failure to record is logged, and the answer stays
/// `invalid_client`.
async fn record_failure(
    state: &AppState,
    req: &HttpRequest,
    claimed: Option<&str>,
    origin: &Origin,
) {
    let mut event = AuditEvent::new(AuditKind::ClientAuthFailed, state.now(), origin)
        .reason(format!("{} {}", req.method(), req.path()));
    match claimed.and_then(|id| state.clients.get(id)) {
        Some(c) => event = event.client(c.id.as_str()),
        None => event = event.reason(format!("{} {}: unknown client", req.method(), req.path())),
    }
    if let Err(e) = state.store.audit(event).await {
        tracing::error!(error = %e, "could not record a failed client authentication");
    }
}

/// Back-channel requests are `application/x-www-form-urlencoded` (RFC 6749 §3.2).
fn require_form(req: &HttpRequest) -> Result<(), OAuthError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    Ok(())
}

/// Credentials from an `Authorization: Basic` header, form-urlencoded inside (RFC 6749 §2.3.1).
pub struct BasicCredentials {
    pub client_id: String,
    pub secret: Secret,
}

/// Parse an Authorization header value; `Err` if it is Basic but malformed.
pub fn parse_basic(header: Option<&str>) -> Result<Option<BasicCredentials>, OAuthError> {
    let Some(h) = header else { return Ok(None) };
    let Some((scheme, rest)) = h.split_once(' ') else {
        return Err(OAuthError::invalid_request(
            "malformed Authorization header",
        ));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::invalid_request(
            "only Basic authentication is accepted here",
        ));
    }
    let bad = || {
        OAuthError::invalid_client("malformed Basic credentials").with_challenge(Challenge::Basic)
    };
    let decoded = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    let id = decode(id).ok_or_else(bad)?;
    let secret = decode(secret).ok_or_else(bad)?;
    Ok(Some(BasicCredentials {
        client_id: id,
        secret: Secret::new(secret),
    }))
}

/// Authenticate the client of a back-channel request.
pub fn authenticate(
    state: &AppState,
    basic: Option<BasicCredentials>,
    p: &Params,
) -> Result<Arc<Client>, OAuthError> {
    let body_id = p.get("client_id")?;
    let body_secret = p.get("client_secret")?;
    if p.has("client_assertion") || p.has("client_assertion_type") {
        return Err(OAuthError::invalid_client(
            "client assertions are not supported",
        ));
    }
    let unknown =
        |c: Challenge| OAuthError::invalid_client("client authentication failed").with_challenge(c);
    match (basic, body_secret) {
        (Some(_), Some(_)) => Err(OAuthError::invalid_request(
            "use only one client authentication method",
        )),
        (Some(b), None) => {
            if body_id.is_some_and(|id| id != b.client_id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Basic credentials",
                ));
            }
            let client = state
                .clients
                .get(&b.client_id)
                .ok_or_else(|| unknown(Challenge::Basic))?;
            check_secret(
                &client,
                TokenEndpointAuthMethod::ClientSecretBasic,
                &b.secret,
                Challenge::Basic,
            )?;
            Ok(client)
        }
        (None, Some(secret)) => {
            let id = body_id.ok_or_else(|| OAuthError::invalid_request("client_id is missing"))?;
            let client = state
                .clients
                .get(id)
                .ok_or_else(|| unknown(Challenge::None))?;
            check_secret(
                &client,
                TokenEndpointAuthMethod::ClientSecretPost,
                &Secret::new(secret),
                Challenge::None,
            )?;
            Ok(client)
        }
        (None, None) => {
            let id = body_id
                .ok_or_else(|| OAuthError::invalid_client("client authentication is required"))?;
            let client = state
                .clients
                .get(id)
                .ok_or_else(|| unknown(Challenge::None))?;
            if !client.is_public() {
                return Err(unknown(Challenge::None));
            }
            Ok(client)
        }
    }
}

fn check_secret(
    client: &Client,
    used: TokenEndpointAuthMethod,
    presented: &Secret,
    challenge: Challenge,
) -> Result<(), OAuthError> {
    let matches = client.secret.as_ref().is_some_and(|h| h.matches(presented));
    if !matches || client.auth_method != used {
        return Err(
            OAuthError::invalid_client("client authentication failed").with_challenge(challenge)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let h = format!("Basic {}", STANDARD.encode("my%20app:p%3Ass"));
        let b = parse_basic(Some(&h)).unwrap().unwrap();
        assert_eq!(b.client_id, "my app");
        assert_eq!(b.secret.expose(), "p:ss");
    }

    #[test]
    fn malformed_basic_credentials_are_invalid_client_with_a_challenge() {
        let e = parse_basic(Some("Basic !!!")).err().unwrap();
        assert_eq!(e.status(), actix_web::http::StatusCode::UNAUTHORIZED);
    }
}
