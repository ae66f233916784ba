//! The connected apps on /account (ASVS 8.4: users can see and revoke what they granted): each
//! client with a remembered consent or a live refresh-token family, its scopes and when it was
//! first and last used; POST /account/apps/revoke forgets the consent, revokes the app's
//! families and tells it by back-channel logout (the person stays signed in here).

use actix_web::{HttpRequest, HttpResponse, web};

use super::account::{account_url, checked_form};
use super::self_service::{audit, load};
use super::{see_other, time_label};
use crate::audit::AuditKind;
use crate::error::PageError;
use crate::pages;
use crate::protocol::ids::AccountId;
use crate::state::{AppState, State};

/// The account's connected apps, most recently used first.
pub async fn rows(state: &AppState, account: &AccountId) -> Result<Vec<pages::AppRow>, PageError> {
    let apps = state.store.connected_apps(account, state.now()).await?;
    Ok(apps
        .into_iter()
        .map(|a| {
            let name = state
                .clients
                .get(&a.client_id)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| a.client_id.clone());
            pages::AppRow {
                name,
                scopes: a
                    .scopes
                    .iter()
                    .map(|s| pages::describe_scope(s).description)
                    .collect(),
                remembered: a.remembered,
                families: a.live_families,
                first_used: time_label(a.first_used),
                last_used: time_label(a.last_used),
                id: a.client_id,
            }
        })
        .collect())
}

/// Take one app's access back.
#[tracing::instrument(skip_all)]
pub async fn revoke(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    let client = form.get("client").ok().flatten().unwrap_or_default();
    if state
        .store
        .revoke_app(&account.id, client, state.now())
        .await?
    {
        let event = audit(&state, &req, AuditKind::ConsentRevoked, &account).client(client);
        state.store.audit(event).await?;
    }
    Ok(see_other(&account_url(
        &state,
        Some(("done", "app-revoked")),
    )?))
}
