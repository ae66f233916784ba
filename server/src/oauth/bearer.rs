//! Bearer access tokens presented to our own resource endpoints (RFC 6750 §2.1, §3): verified
//! as RFC 9068 JWTs, then checked against the store for revocation.

use crate::protocol::error::{Challenge, OAuthError};
use crate::state::AppState;
use crate::tokens::access_token::{self, VerifiedAccessToken};

/// The token from `Authorization: Bearer …`.
pub fn from_header(header: Option<&str>) -> Result<&str, OAuthError> {
    let h = header.ok_or_else(|| {
        OAuthError::invalid_token("an access token is required")
            .with_challenge(Challenge::BearerMissing)
    })?;
    match h.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(OAuthError::invalid_token("use the Bearer scheme")),
    }
}

/// A valid, unrevoked access token; `None` if it is not one.
pub async fn check(
    state: &AppState,
    token: &str,
) -> Result<Option<VerifiedAccessToken>, OAuthError> {
    let s = &state.settings;
    let Ok(at) = access_token::verify(
        &state.keys.current(),
        token,
        &s.issuer,
        s.access_token_audience(),
        state.now(),
    ) else {
        return Ok(None);
    };
    // A client removed from the configuration (a reload) takes its tokens with it.
    if state.clients.get(&at.client_id).is_none() {
        return Ok(None);
    }
    let revoked = state
        .store
        .access_token_revoked(&at.jti, at.grant().as_ref())
        .await?;
    Ok((!revoked).then_some(at))
}
