//! POST /account/passkeys, /account/passkeys/finish, /account/passkeys/rename and
//! /account/passkeys/remove — a signed-in person's passkeys: add one (after the current
//! password, and a code when an authenticator app is on; the browser's WebAuthn ceremony
//! through static/passkey.js), name it, remove it (after the same proof; never the last
//! factor while `[mfa] required`). The first factor added also makes recovery codes, shown
//! once. Every change is audited and announced by email.

use actix_web::{HttpRequest, HttpResponse, web};

use super::account::{account_url, checked_form};
use super::factors::page;
use super::see_other;
use super::self_service::{audit, load, reauthenticated, refuse};
use crate::accounts::factors::passkeys::{Answer, PasskeyError};
use crate::accounts::factors::recovery;
use crate::audit::AuditKind;
use crate::authz::second_factor::notify;
use crate::error::PageError;
use crate::pages::{FactorMode, PasskeyCeremony};
use crate::state::{AppState, State};
use crate::store::Account;

fn unavailable() -> PageError {
    PageError::bad_request(
        "Passkeys are not available",
        "This provider's address is not a domain name, which passkeys need.",
    )
}

/// A new registration ceremony for the account, on its page.
async fn ceremony_page(
    state: &AppState,
    req: &HttpRequest,
    account: &Account,
    message: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let rp = state.passkeys.as_ref().ok_or_else(unavailable)?;
    let existing = state.store.passkeys_of(&account.id).await?;
    let label = account
        .email
        .clone()
        .unwrap_or_else(|| account.id.to_string());
    let display = account.name.clone().unwrap_or_else(|| label.clone());
    let started = rp
        .begin_registration(
            &state.factor_keys,
            &account.id,
            (&label, &display),
            &existing,
            state.now(),
        )
        .map_err(PageError::internal)?;
    let ceremony = PasskeyCeremony::from(started);
    let mode = FactorMode::AddPasskey(&ceremony);
    Ok(page(state, req, account, mode, message))
}

/// Start adding a passkey: the proof, then the page that runs the browser's ceremony.
#[tracing::instrument(skip_all)]
pub async fn begin(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    if let Some(why) = reauthenticated(&state, &req, &s, &account, &form, "add a passkey").await? {
        return refuse(&state, &req, &s, &why).await;
    }
    ceremony_page(&state, &req, &account, None).await
}

/// The browser's answer: the new passkey is saved (and, for a first factor, recovery codes).
#[tracing::instrument(skip_all)]
pub async fn finish(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    let rp = state.passkeys.as_ref().ok_or_else(unavailable)?;
    let field = |k: &str| form.get(k).ok().flatten().unwrap_or_default();
    let name = clean_name(field("name"));
    let codes_before = state.store.factor_summary(&account.id).await?;
    let added = rp
        .finish_registration(
            &state.store,
            &state.factor_keys,
            &account.id,
            Answer {
                sealed: field("ceremony"),
                credential: field("credential"),
            },
            &name,
            state.now(),
        )
        .await;
    match added {
        Ok(_) => {}
        Err(PasskeyError::Store(e)) => return Err(e.into()),
        Err(e @ PasskeyError::Internal(_)) => return Err(PageError::internal(e)),
        Err(e) => {
            let failed = audit(&state, &req, AuditKind::SecondFactorFailed, &account)
                .reason(format!("passkey registration: {e}"));
            state.store.audit(failed).await?;
            let message = match e {
                PasskeyError::Taken => "That passkey is registered already.",
                _ => "The passkey was not saved. Try again.",
            };
            return ceremony_page(&state, &req, &account, Some(message)).await;
        }
    }
    let event = audit(&state, &req, AuditKind::FactorAdded, &account).reason("passkey");
    state.store.audit(event).await?;
    notify(
        &state,
        &account.id,
        &format!("A passkey ({name}) was added"),
    )
    .await;
    if codes_before.recovery_codes_left == 0 {
        let codes = recovery::generate();
        let hashes = recovery::hashes(&state.factor_keys, &account.id, &codes);
        state
            .store
            .replace_recovery_codes(&account.id, &hashes, state.now())
            .await?;
        return Ok(page(
            &state,
            &req,
            &account,
            FactorMode::Codes(&codes),
            None,
        ));
    }
    Ok(see_other(&account_url(
        &state,
        Some(("done", "passkey-added")),
    )?))
}

fn clean_name(raw: &str) -> String {
    let name: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    if name.is_empty() {
        "Passkey".into()
    } else {
        name
    }
}

#[tracing::instrument(skip_all)]
pub async fn rename(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let field = |k: &str| form.get(k).ok().flatten().unwrap_or_default();
    let name = clean_name(field("name"));
    if !state
        .store
        .rename_passkey(&s.account_id, field("passkey"), &name)
        .await?
    {
        return refuse(&state, &req, &s, "That passkey is not on your account.").await;
    }
    Ok(see_other(&account_url(
        &state,
        Some(("done", "passkey-renamed")),
    )?))
}

/// Remove a passkey, after the proof; never the last factor while the provider requires one.
#[tracing::instrument(skip_all)]
pub async fn remove(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    let summary = state.store.factor_summary(&account.id).await?;
    let last = summary.totp_since.is_none() && summary.passkeys <= 1;
    if state.settings.mfa.required && last {
        let why = "This provider requires two-step sign-in: add another factor before you remove this one.";
        return refuse(&state, &req, &s, why).await;
    }
    if let Some(why) =
        reauthenticated(&state, &req, &s, &account, &form, "remove the passkey").await?
    {
        return refuse(&state, &req, &s, &why).await;
    }
    let id = form.get("passkey").ok().flatten().unwrap_or_default();
    if !state.store.remove_passkey(&account.id, id).await? {
        return refuse(&state, &req, &s, "That passkey is not on your account.").await;
    }
    if last {
        // Nothing left that recovery codes could stand in for.
        state
            .store
            .replace_recovery_codes(&account.id, &[], state.now())
            .await?;
    }
    let event = audit(&state, &req, AuditKind::FactorRemoved, &account).reason("passkey");
    state.store.audit(event).await?;
    notify(&state, &account.id, "A passkey was removed").await;
    Ok(see_other(&account_url(
        &state,
        Some(("done", "passkey-removed")),
    )?))
}
