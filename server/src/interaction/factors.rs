//! POST /account/mfa/totp, /account/mfa/totp/confirm, /account/mfa/recovery and
//! /account/mfa/remove — a signed-in person manages their second factor: adds an
//! authenticator app (after the current password, or a recent sign-in; confirmed only by a
//! correct code), makes new recovery codes or turns the factor off (each after a fresh code of
//! the factor or a recovery code; never off while `[mfa] required`). Every change is audited
//! and announced by email.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::account::{account_url, checked_form};
use super::csrf::{self, Purpose};
use super::self_service::{audit, load, refuse};
use super::{see_other, with_cookie};
use crate::accounts::factors::{self, recovery, totp};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::authz::second_factor::{self, notify};
use crate::error::PageError;
use crate::pages::{self, FactorMode};
use crate::protocol::params::Params;
use crate::state::{AppState, State};
use crate::store::Account;

/// An account-page step of managing a factor (enrolment, recovery codes, a passkey).
pub(super) fn page(
    state: &AppState,
    req: &HttpRequest,
    account: &Account,
    mode: FactorMode<'_>,
    message: Option<&str>,
) -> HttpResponse {
    let (token, new_cookie) = csrf::issue(state, req, Purpose::Account, account.id.as_str());
    let status = if message.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let res = pages::render(
        status,
        &pages::SecondFactorPage {
            client_name: "",
            request_id: "",
            csrf: &token,
            mode,
            message,
            account: true,
            remember_days: 0,
        },
    );
    with_cookie(res, new_cookie)
}

fn labels(state: &AppState, account: &Account) -> (String, String) {
    (
        state.mailer.site().to_owned(),
        account
            .email
            .clone()
            .unwrap_or_else(|| account.id.to_string()),
    )
}

/// What a form that needs a fresh code found: the account, or the answer to give.
enum Proven {
    Yes(Account),
    Answer(HttpResponse),
}

/// The account form `body` after a fresh code of its factor; back to /account when the
/// account has no factor.
async fn with_fresh_code(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Proven, PageError> {
    let (s, form) = checked_form(state, req, body).await?;
    let account = load(state, &s).await?;
    if !state.store.factor_summary(&account.id).await?.any() {
        return Ok(Proven::Answer(see_other(&account_url(state, None)?)));
    }
    if let Some(why) = fresh_code(state, req, &account, &form).await? {
        return Ok(Proven::Answer(refuse(state, req, &s, why).await?));
    }
    Ok(Proven::Yes(account))
}

/// A fresh code of the factor (or a recovery code); what to tell the person if not.
async fn fresh_code(
    state: &AppState,
    req: &HttpRequest,
    account: &Account,
    form: &Params,
) -> Result<Option<&'static str>, PageError> {
    let typed = form.get("mfa_code").ok().flatten().unwrap_or_default();
    let check = factors::check(&second_factor::checker(state), &account.id, typed)
        .await
        .map_err(PageError::internal)?;
    let origin = Origin::of(req);
    let audit = |kind| AuditEvent::new(kind, state.now(), &origin);
    Ok(second_factor::record_check(state, &account.id, check, audit).await?)
}

/// Start adding an authenticator app: the QR code and the secret.
#[tracing::instrument(skip_all)]
pub async fn begin(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    if let Some(why) =
        super::self_service::reauthenticated(&state, &req, &s, &account, &form, "set up the app")
            .await?
    {
        return refuse(&state, &req, &s, &why).await;
    }
    let (site, label) = labels(&state, &account);
    let started = totp::begin(
        &state.store,
        &state.factor_keys,
        &account.id,
        (&site, &label),
        state.now(),
    )
    .await
    .map_err(PageError::internal)?;
    let Some(e) = started else {
        return refuse(&state, &req, &s, "An authenticator app is on already.").await;
    };
    let mode = FactorMode::Enrol {
        qr_svg: &e.qr_svg,
        secret: &e.secret,
    };
    Ok(page(&state, &req, &account, mode, None))
}

/// The first code of the new app: it is on, and the recovery codes are shown once.
#[tracing::instrument(skip_all)]
pub async fn confirm(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    let code = form.get("code").ok().flatten().unwrap_or_default();
    let keys = &state.factor_keys;
    let confirmed = totp::confirm(&state.store, keys, &account.id, code, state.now())
        .await
        .map_err(PageError::internal)?;
    let Some(codes) = confirmed else {
        let (site, label) = labels(&state, &account);
        let pending = totp::pending(&state.store, keys, &account.id, (&site, &label))
            .await
            .map_err(PageError::internal)?;
        let Some(e) = pending else {
            return Ok(see_other(&account_url(&state, None)?));
        };
        let mode = FactorMode::Enrol {
            qr_svg: &e.qr_svg,
            secret: &e.secret,
        };
        let message = "That code is not right. Check the app's clock and try again.";
        return Ok(page(&state, &req, &account, mode, Some(message)));
    };
    let added = audit(&state, &req, AuditKind::FactorAdded, &account).reason("authenticator app");
    state.store.audit(added).await?;
    notify(&state, &account.id, "An authenticator app was added").await;
    Ok(page(
        &state,
        &req,
        &account,
        FactorMode::Codes(&codes),
        None,
    ))
}

/// A new set of recovery codes (the old set stops working), after a fresh code.
#[tracing::instrument(skip_all)]
pub async fn regenerate(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let account = match with_fresh_code(&state, &req, &body).await? {
        Proven::Yes(a) => a,
        Proven::Answer(res) => return Ok(res),
    };
    let codes = recovery::generate();
    let hashes = recovery::hashes(&state.factor_keys, &account.id, &codes);
    state
        .store
        .replace_recovery_codes(&account.id, &hashes, state.now())
        .await?;
    let made = audit(&state, &req, AuditKind::RecoveryCodesRegenerated, &account);
    state.store.audit(made).await?;
    notify(
        &state,
        &account.id,
        "New recovery codes were made (the old ones no longer work)",
    )
    .await;
    Ok(page(
        &state,
        &req,
        &account,
        FactorMode::Codes(&codes),
        None,
    ))
}

/// Remove the authenticator app, after a fresh code; refused when it is the last factor and
/// the provider requires one.
#[tracing::instrument(skip_all)]
pub async fn remove(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, _) = checked_form(&state, &req, &body).await?;
    let passkeys = state.store.factor_summary(&s.account_id).await?.passkeys;
    if state.settings.mfa.required && passkeys == 0 {
        let why = "This provider requires two-step sign-in: it cannot be turned off.";
        return refuse(&state, &req, &s, why).await;
    }
    let account = match with_fresh_code(&state, &req, &body).await? {
        Proven::Yes(a) => a,
        Proven::Answer(res) => return Ok(res),
    };
    state.store.remove_totp(&account.id, passkeys > 0).await?;
    let removed =
        audit(&state, &req, AuditKind::FactorRemoved, &account).reason("authenticator app");
    state.store.audit(removed).await?;
    notify(&state, &account.id, "The authenticator app was removed").await;
    let done = if passkeys > 0 { "totp-off" } else { "mfa-off" };
    Ok(see_other(&account_url(&state, Some(("done", done)))?))
}
