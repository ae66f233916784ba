//! grant_type=authorization_code — RFC 6749 §4.1.3, §10.5; RFC 7636 §4.6; OIDC Core §3.1.3.2;
//! RFC 9700 §4.2.4. A code issued to this client for this redirect_uri and verifier, unused and
//! unexpired, is claimed and read in one step. Otherwise, in the spec's order: look up by hash,
//! check the client and redirect_uri, verify PKCE; a code used before is then a valid second
//! redemption, which revokes every token issued from it, even after the code's expiry (codes
//! are kept an hour for that); only then expiry, and the atomic claim, and minting.

use super::{TokenResponse, UserTokens, issue_user_tokens};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::oauth::pkce;
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::protocol::vocab::{GrantType, OFFLINE_ACCESS, Scopes};
use crate::state::AppState;
use crate::store::{CodeRecord, NewRefreshToken, RedeemTerms, Redeemable};
use crate::tokens::opaque;

fn invalid() -> OAuthError {
    OAuthError::invalid_grant("the authorization code is invalid, expired or already used")
}

pub async fn exchange(
    state: &AppState,
    client: &Client,
    p: &Params,
    origin: &Origin,
) -> Result<TokenResponse, OAuthError> {
    let code = p.require("code")?;
    let redirect_uri = p.require("redirect_uri")?;
    let verifier = p.get("code_verifier")?;
    let now = state.now();
    if code.len() > 256 {
        return Err(invalid());
    }
    let code_hash = opaque::hash(code);
    // The common case in one step: a code issued to this client, for this redirect_uri and
    // this verifier's challenge, unused and unexpired, is claimed and read at once. Anything
    // else is found out below, in the spec's order, with the code left as it was.
    if let Some(pkce_challenge) = pkce::expected(verifier) {
        let terms = RedeemTerms {
            client_id: client.id.0.clone(),
            redirect_uri: redirect_uri.to_owned(),
            pkce_challenge,
        };
        if let Some(found) = state.store.redeem_code(&code_hash, &terms, now).await? {
            return mint(state, client, found).await;
        }
    }
    let found = state
        .store
        .code_to_redeem(&code_hash)
        .await?
        .ok_or_else(invalid)?;
    let record = &found.code;
    if record.client_id != client.id.as_str() {
        return Err(invalid());
    }
    if record.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    pkce::verify(record.pkce_challenge.as_deref(), verifier)?;
    // Everything checks out: a code used before is a valid second redemption.
    if record.consumed_at.is_some() {
        revoke_for_reuse(state, record, now, origin).await?;
        return Err(invalid());
    }
    if record.expires_at <= now {
        return Err(invalid());
    }
    if !state.store.claim_code(&record.code_hash, now).await? {
        revoke_for_reuse(state, record, now, origin).await?;
        return Err(invalid());
    }
    mint(state, client, found).await
}

/// The tokens for a code this request claimed. Its grant was read with it: a concurrent replay
/// may revoke it right now; the tokens then reference a revoked grant and never work, while
/// exactly one redemption still answers 200.
async fn mint(
    state: &AppState,
    client: &Client,
    found: Redeemable,
) -> Result<TokenResponse, OAuthError> {
    let record = found.code;
    let grant = found.grant.ok_or_else(invalid)?;
    let account = found
        .account
        .ok_or_else(|| OAuthError::invalid_grant("the account no longer exists"))?;
    let scope = Scopes::parse(&record.scope).ok_or_else(invalid)?;
    let refresh_token =
        if scope.contains(OFFLINE_ACCESS) && client.allows_grant(GrantType::RefreshToken) {
            let rt = opaque::random_token();
            let new = NewRefreshToken {
                token_hash: opaque::hash(rt.expose()),
                grant_id: grant.id.clone(),
                client_id: client.id.0.clone(),
                scope: record.scope.clone(),
                expires_at: grant.expires_at,
            };
            Some((rt.expose().to_owned(), new))
        } else {
            None
        };
    let tokens = UserTokens {
        grant: &grant,
        account: &account,
        scope: &scope,
        nonce: record.nonce.as_deref(),
        refresh_token,
    };
    issue_user_tokens(state, client, tokens).await
}

async fn revoke_for_reuse(
    state: &AppState,
    record: &CodeRecord,
    now: i64,
    origin: &Origin,
) -> Result<(), OAuthError> {
    if state
        .store
        .revoke_grant(&record.grant_id, "authorization_code_reuse", now)
        .await?
    {
        let event = AuditEvent::new(AuditKind::AuthorizationCodeReuse, now, origin)
            .account(&record.account_id)
            .client(&record.client_id)
            .grant(&record.grant_id)
            .reason("grant revoked");
        state.store.audit(event).await?;
    }
    Ok(())
}
