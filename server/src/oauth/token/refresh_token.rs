//! grant_type=refresh_token — RFC 6749 §6; RFC 9700 §4.14.2; OAuth 2.1 §4.3.1. Rotation on
//! every use; presenting a rotated token revokes the whole family (the grant: every refresh and
//! access token descended from that sign-in) and records it. With a grace window configured, a
//! replay inside it gets the same successor instead. Scope may narrow, never widen, and never
//! exceeds what the client may ask for now (a scope removed from the client in the config is
//! no longer minted from existing families).
//!
//! ```mermaid
//! stateDiagram-v2
//!     Active --> Rotated: used once (successor issued)
//!     Rotated --> Rotated: replay within grace window (same successor)
//!     Rotated --> FamilyRevoked: replay after the window
//!     Active --> FamilyRevoked: revoked (RFC 7009) or code reuse
//! ```

use super::{TokenResponse, UserTokens, grant_account, issue_user_tokens, live_grant};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::protocol::vocab::Scopes;
use crate::secret::Secret;
use crate::state::AppState;
use crate::store::{NewRefreshToken, RefreshRecord};
use crate::tokens::opaque;

pub async fn exchange(
    state: &AppState,
    client: &Client,
    p: &Params,
    origin: &Origin,
) -> Result<TokenResponse, OAuthError> {
    let presented = Secret::new(p.require("refresh_token")?);
    let now = state.now();
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
    if presented.expose().len() > 256 {
        return Err(invalid());
    }
    let record = state
        .store
        .refresh_token(&opaque::hash(presented.expose()))
        .await?
        .ok_or_else(invalid)?;
    if record.client_id != client.id.as_str() || record.expires_at <= now {
        return Err(invalid());
    }
    // The family's scope, less anything the client may no longer ask for.
    let granted = Scopes::parse(&record.scope)
        .ok_or_else(invalid)?
        .intersection(&client.scopes);
    let scope = match p.get("scope")? {
        None => granted.clone(),
        Some(raw) => {
            Scopes::parse(raw).ok_or_else(|| OAuthError::invalid_scope("scope is malformed"))?
        }
    };
    if scope.is_empty() || !scope.is_subset(&granted) {
        return Err(OAuthError::invalid_scope(
            "the requested scope exceeds the granted scope",
        ));
    }
    let grace = state.settings.tokens.refresh_token_reuse_grace_seconds;
    let successor = opaque::successor(&state.refresh_key, &presented);
    let fresh = record.rotated_at.is_none()
        && state
            .store
            .claim_refresh_token(&record.token_hash, now)
            .await?;
    let new_record = if fresh {
        Some(NewRefreshToken {
            token_hash: opaque::hash(successor.expose()),
            grant_id: record.grant_id.clone(),
            client_id: record.client_id.clone(),
            // RFC 6749 §6: the new refresh token keeps the granted scope (as the client's
            // scopes allow it now).
            scope: granted.to_string(),
            expires_at: record.expires_at,
        })
    } else {
        let rotated_at = match record.rotated_at {
            Some(t) => t,
            None => state
                .store
                .refresh_token(&record.token_hash)
                .await?
                .and_then(|r| r.rotated_at)
                .unwrap_or(now),
        };
        if grace == 0 || now - rotated_at > grace {
            revoke_family(state, &record, now, origin).await?;
            return Err(invalid());
        }
        None // inside the grace window: hand out the successor that already exists
    };
    let grant = live_grant(state, &record.grant_id).await?;
    let account = grant_account(state, &grant).await?;
    let refresh_token = new_record.map(|n| (successor.expose().to_owned(), n));
    let in_grace = refresh_token.is_none();
    let mut response = issue_user_tokens(
        state,
        client,
        UserTokens {
            grant: &grant,
            account: &account,
            scope: &scope,
            nonce: None,
            refresh_token,
        },
    )
    .await?;
    if in_grace {
        response.refresh_token = Some(successor.expose().to_owned());
    }
    Ok(response)
}

async fn revoke_family(
    state: &AppState,
    record: &RefreshRecord,
    now: i64,
    origin: &Origin,
) -> Result<(), OAuthError> {
    let revoked = state
        .store
        .revoke_grant(&record.grant_id, "refresh_token_reuse", now)
        .await?;
    if revoked {
        let event = AuditEvent::new(AuditKind::RefreshTokenReuse, now, origin)
            .client(&record.client_id)
            .grant(&record.grant_id)
            .reason("family revoked");
        state.store.audit(event).await?;
    }
    Ok(())
}
