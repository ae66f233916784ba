//! Authorization responses (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 `iss`): the code, or an
//! error, appended to the client's registered redirect URI with `url`, keeping its query.

use url::Url;

use super::{AuthenticatedSubject, AuthorizationRequest, AuthorizeError};
use crate::error::PageError;
use crate::protocol::error::OAuthError;
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

/// The error response for a trusted redirect URI (RFC 6749 §4.1.2.1), with `state` and `iss`.
pub fn error_response(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    e: &OAuthError,
) -> AuthorizeError {
    e.log();
    let description = e.public_description();
    let mut pairs = vec![
        ("error", e.code.as_str()),
        ("error_description", description.as_ref()),
    ];
    if let Some(s) = client_state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.issuer()));
    match redirect(redirect_uri, &pairs) {
        Ok(url) => AuthorizeError::Redirect(url),
        Err(e) => AuthorizeError::Page(PageError::from(e)),
    }
}

/// The error response for this request.
pub fn refuse(state: &AppState, req: &AuthorizationRequest, e: OAuthError) -> AuthorizeError {
    error_response(state, &req.redirect_uri, req.state.as_deref(), &e)
}

/// A code about to be issued: its grant and its stored form, and the code itself (which only
/// the redirect carries).
pub struct Issued {
    code: crate::secret::Secret,
    pub grant: NewGrant,
    pub stored: NewCode,
    /// When it was made (the grant's and code's creation time).
    pub at: i64,
}

impl Issued {
    /// The redirect that carries the code to the client (with `state` and `iss`).
    pub fn redirect(
        &self,
        state: &AppState,
        req: &AuthorizationRequest,
    ) -> Result<Url, AuthorizeError> {
        let mut pairs = vec![("code", self.code.expose())];
        if let Some(s) = &req.state {
            pairs.push(("state", s));
        }
        pairs.push(("iss", state.issuer()));
        redirect(&req.redirect_uri, &pairs).map_err(|e| refuse(state, req, e))
    }
}

/// A new grant (in browser session `sid`) and a single-use code for it, not yet stored.
pub fn prepare(
    state: &AppState,
    req: &AuthorizationRequest,
    who: &AuthenticatedSubject,
    sid: Option<&str>,
) -> Issued {
    let now = state.now();
    let code = opaque::random_token();
    let grant = NewGrant {
        id: crate::protocol::ids::GrantId::new(opaque::random_id()),
        client_id: req.client_id.clone(),
        account_id: who.account_id.clone(),
        scope: req.scope.to_string(),
        auth_time: who.auth_time,
        amr: who.amr.clone(),
        idp: who.idp.clone(),
        acr: Some(
            req.acr_for(crate::protocol::vocab::Acr::of(&who.amr))
                .as_str()
                .to_owned(),
        ),
        sid: sid.map(str::to_owned),
        expires_at: now + state.settings.tokens.refresh_token_lifetime_seconds,
    };
    let stored = NewCode {
        code_hash: opaque::hash(code.expose()),
        redirect_uri: req.redirect_uri.clone(),
        nonce: req.nonce.clone(),
        pkce_challenge: req.code_challenge.clone(),
        expires_at: now + state.settings.tokens.authorization_code_lifetime_seconds,
    };
    Issued {
        code,
        grant,
        stored,
        at: now,
    }
}

/// Record a new grant (in browser session `sid`) and a single-use code for it; the redirect
/// that carries the code.
pub async fn issue_code(
    state: &AppState,
    req: &AuthorizationRequest,
    who: &AuthenticatedSubject,
    sid: Option<&str>,
) -> Result<Url, AuthorizeError> {
    let issued = prepare(state, req, who, sid);
    state
        .store
        .create_grant_with_code(&issued.grant, &issued.stored, issued.at)
        .await
        .map_err(|e| refuse(state, req, e.into()))?;
    issued.redirect(state, req)
}
