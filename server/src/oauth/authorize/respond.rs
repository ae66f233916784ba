//! Authorization responses (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 `iss`): the code, or an error,
//! appended to the client's registered redirect URI with `url`, keeping its query.

use url::Url;

use super::AuthorizationRequest;
use crate::interaction::flow::AuthenticatedSubject;
use crate::oauth::error::OAuthError;
use crate::state::AppState;
use crate::store::{NewCode, NewGrant};
use crate::tokens::opaque;

fn redirect(redirect_uri: &str, pairs: &[(&str, &str)]) -> Result<Url, OAuthError> {
    let mut url = Url::parse(redirect_uri).map_err(OAuthError::server_error)?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Ok(url)
}

pub fn error_redirect(
    state: &AppState,
    redirect_uri: &str,
    st: Option<&str>,
    e: &OAuthError,
) -> Result<Url, OAuthError> {
    e.log();
    let mut pairs = vec![
        ("error", e.code.as_str()),
        ("error_description", e.description.as_ref()),
    ];
    if let Some(s) = st {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.issuer()));
    redirect(redirect_uri, &pairs)
}

/// Record a new grant and a single-use code for it; the redirect that carries the code.
pub async fn issue_code(
    state: &AppState,
    req: &AuthorizationRequest,
    who: &AuthenticatedSubject,
) -> Result<Url, OAuthError> {
    let now = state.now();
    let code = opaque::random_token();
    let grant = NewGrant {
        id: opaque::random_id(),
        client_id: req.client_id.clone(),
        account_id: who.account_id.clone(),
        scope: req.scope.to_string(),
        auth_time: who.auth_time,
        amr: who.amr.clone(),
        idp: who.idp.clone(),
        expires_at: now + state.settings.tokens.refresh_token_lifetime_seconds,
    };
    let new_code = NewCode {
        code_hash: opaque::hash(code.expose()),
        redirect_uri: req.redirect_uri.clone(),
        nonce: req.nonce.clone(),
        pkce_challenge: req.code_challenge.clone(),
        expires_at: now + state.settings.tokens.authorization_code_lifetime_seconds,
    };
    state
        .store
        .create_grant_with_code(&grant, &new_code, now)
        .await?;
    let mut pairs = vec![("code", code.expose())];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.issuer()));
    redirect(&req.redirect_uri, &pairs)
}
