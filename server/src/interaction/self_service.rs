//! POST /account/profile, /account/password, /account/email, /account/email/confirm and
//! /account/delete — what a signed-in person changes about their own account. Each form
//! carries the account page's CSRF token; changing the password, the email or deleting the
//! account asks for the current password (counted against the lockout like a sign-in), or, for
//! an account without one, a sign-in within the last 10 minutes. 303 to /account on success.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::account::{self, Shown, account_url, checked_form};
use super::forgot::notify_password_changed;
use super::see_other;
use crate::accounts::email_proof::{self, CodeCheck, Sent};
use crate::accounts::factors;
use crate::accounts::policy::PasswordPolicy;
use crate::accounts::throttle::Throttle;
use crate::accounts::{self as accts, PasswordCheck, normalise_email, password};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::authz::verify::mail;
use crate::authz::{second_factor, session};
use crate::email::messages;
use crate::error::PageError;
use crate::pages;
use crate::protocol::params::Params;
use crate::secret::Secret;
use crate::state::{AppState, State};
use crate::store::{Account, BrowserSession, Confirmed, PasswordChange, ProofPurpose};

/// How recent a sign-in must be to delete an account that has no password.
const RECENT_SIGN_IN: i64 = 10 * 60;

/// The notice for `/account?done=…`.
pub fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "profile" => "Your name is saved.",
        "password" => "Your password is changed. Every other sign-in of your account has ended.",
        "email-sent" => "We sent a code to the new address. Enter it below to make the change.",
        "email" => "Your email address is changed.",
        "mfa-off" => "Two-step sign-in is off.",
        "totp-off" => "The authenticator app is removed; your passkeys still work.",
        "passkey-added" => "Your passkey is saved.",
        "passkey-removed" => "The passkey is removed.",
        "passkey-renamed" => "The passkey is renamed.",
        "session-ended" => "That browser is signed out.",
        "app-revoked" => {
            "The app no longer has access to your account. It will ask again if you use it."
        }
        _ => return None,
    })
}

fn done(state: &AppState, what: &str) -> Result<HttpResponse, PageError> {
    Ok(see_other(&account_url(state, Some(("done", what)))?))
}

/// The account page again, with what was wrong.
pub(super) async fn refuse(
    state: &AppState,
    req: &HttpRequest,
    s: &BrowserSession,
    error: &str,
) -> Result<HttpResponse, PageError> {
    let shown = Shown {
        notice: None,
        error: Some(error),
    };
    account::page(state, req, s, shown, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The account a session signs in to.
pub(super) async fn load(state: &AppState, s: &BrowserSession) -> Result<Account, PageError> {
    state
        .store
        .account(&s.account_id)
        .await?
        .ok_or_else(PageError::expired)
}

pub(super) fn audit(
    state: &AppState,
    req: &HttpRequest,
    kind: AuditKind,
    a: &Account,
) -> AuditEvent {
    AuditEvent::new(kind, state.now(), &Origin::of(req)).account(&a.id)
}

/// Why a re-authentication failed, in words for the person.
fn not_reauthenticated(account: &Account, doing: &str) -> String {
    if account.password_hash.is_some() {
        "The current password is not right.".into()
    } else {
        format!("Sign in again, then {doing} within 10 minutes.")
    }
}

const STALE_CODE: &str = "That code no longer works. Ask for a new one.";

/// The person proved it is them again before `doing` something sensitive: the current
/// password (or a recent sign-in for an account that has none), and a code of the second
/// factor when there is one (ASVS 6.4.3, OWASP MFA cheat sheet). `None` when they did, else
/// what to tell them.
pub(super) async fn reauthenticated(
    state: &AppState,
    req: &HttpRequest,
    s: &BrowserSession,
    account: &Account,
    form: &Params,
    doing: &str,
) -> Result<Option<String>, PageError> {
    if !first_factor_again(state, req, s, account, form).await? {
        return Ok(Some(not_reauthenticated(account, doing)));
    }
    if !second_factor_needed(state, s).await? {
        return Ok(None);
    }
    let typed = form.get("mfa_code").ok().flatten().unwrap_or_default();
    let check = factors::check(&second_factor::checker(state), &account.id, typed)
        .await
        .map_err(PageError::internal)?;
    let origin = Origin::of(req);
    let event = |kind| AuditEvent::new(kind, state.now(), &origin);
    Ok(
        second_factor::record_check(state, &account.id, check, event)
            .await?
            .map(str::to_owned),
    )
}

/// Whether a sensitive change must also show a code of the second factor: when the account
/// has one, unless this session signed in with a passkey in the last 10 minutes.
pub(super) async fn second_factor_needed(
    state: &AppState,
    s: &BrowserSession,
) -> Result<bool, PageError> {
    use crate::protocol::vocab::Amr;
    let passkey = s.amr.contains(&Amr::Hwk) || s.amr.contains(&Amr::Swk);
    if passkey && state.now() - s.auth_time <= RECENT_SIGN_IN {
        return Ok(false);
    }
    Ok(state.store.factor_summary(&s.account_id).await?.any())
}

async fn first_factor_again(
    state: &AppState,
    req: &HttpRequest,
    s: &BrowserSession,
    account: &Account,
    form: &Params,
) -> Result<bool, PageError> {
    let (Some(email), Some(_)) = (&account.email, &account.password_hash) else {
        return Ok(state.now() - s.auth_time <= RECENT_SIGN_IN);
    };
    let given = Secret::new(
        form.get("current_password")
            .ok()
            .flatten()
            .unwrap_or_default(),
    );
    let throttle = Throttle::from_settings(&state.settings.login);
    let check = accts::check_password(
        &state.store,
        &state.passwords,
        &throttle,
        &state.login_gate,
        email,
        given,
        state.now(),
    )
    .await
    .map_err(PageError::internal)?;
    let ok = matches!(&check, PasswordCheck::Accepted(a) if a.id == account.id);
    if !ok {
        let event = audit(state, req, AuditKind::LoginFailed, account)
            .email(email.clone())
            .reason("re-authentication on the account page");
        state.store.audit(event).await?;
    }
    Ok(ok)
}

#[tracing::instrument(skip_all)]
pub async fn profile(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    let name: String = form
        .get("name")
        .ok()
        .flatten()
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect();
    let name = Some(name.as_str()).filter(|n| !n.is_empty());
    state.store.set_account_name(&account.id, name).await?;
    state
        .store
        .audit(audit(&state, &req, AuditKind::ProfileUpdated, &account))
        .await?;
    done(&state, "profile")
}

#[tracing::instrument(skip_all)]
pub async fn password(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    if account.password_hash.is_none() || !state.settings.login.password {
        return refuse(&state, &req, &s, "This account has no password to change.").await;
    }
    if let Some(why) = reauthenticated(&state, &req, &s, &account, &form, "change it").await? {
        return refuse(&state, &req, &s, &why).await;
    }
    let new = Secret::new(form.get("new_password").ok().flatten().unwrap_or_default());
    let policy = PasswordPolicy::new(&state.settings.passwords);
    if let Err(w) = policy.check_for(&new, account.email.as_deref(), account.name.as_deref()) {
        return refuse(&state, &req, &s, &w.to_string()).await;
    }
    let hash = password::hash_blocking(new)
        .await
        .map_err(PageError::internal)?;
    let change = PasswordChange {
        account_id: &account.id,
        hash,
        proof_id: None,
        keep_session: Some(&s.id_hash),
        lockout_key: account.email.as_deref().map(accts::lockout_key),
        reason: "password changed",
    };
    state.store.set_password(change, state.now()).await?;
    state
        .store
        .audit(audit(&state, &req, AuditKind::PasswordChanged, &account))
        .await?;
    if let Some(email) = &account.email {
        notify_password_changed(&state, email).await;
    }
    done(&state, "password")
}

#[tracing::instrument(skip_all)]
pub async fn email(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    if !state.settings.email.configured() {
        return Err(PageError::bad_request(
            "Email is not configured",
            "This provider cannot send email.",
        ));
    }
    let account = load(&state, &s).await?;
    let new_email = normalise_email(form.get("email").ok().flatten().unwrap_or_default());
    if !accts::valid_email(&new_email) {
        return refuse(&state, &req, &s, "Enter a valid email address.").await;
    }
    if account.email.as_deref() == Some(new_email.as_str()) {
        return refuse(&state, &req, &s, "That is your current address.").await;
    }
    if let Some(why) =
        reauthenticated(&state, &req, &s, &account, &form, "change the address").await?
    {
        return refuse(&state, &req, &s, &why).await;
    }
    match email_proof::send_email_change(&mail(&state), &account, &new_email)
        .await
        .map_err(PageError::internal)?
    {
        Sent::Sent => {
            let event =
                audit(&state, &req, AuditKind::EmailChangeRequested, &account).email(new_email);
            state.store.audit(event).await?;
            done(&state, "email-sent")
        }
        Sent::TooSoon(secs) => {
            let why = format!("Please wait {secs} seconds before asking for another code.");
            refuse(&state, &req, &s, &why).await
        }
        Sent::TooMany => {
            refuse(
                &state,
                &req,
                &s,
                "Too many codes were sent to that address. Try again in an hour.",
            )
            .await
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn email_confirm(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    let code = form.get("code").ok().flatten().unwrap_or_default();
    let now = state.now();
    let failed = |reason: &str| {
        audit(&state, &req, AuditKind::VerificationFailed, &account).reason(reason.to_owned())
    };
    let check = email_proof::check_code(
        &state.store,
        &account.id,
        ProofPurpose::ChangeEmail,
        code,
        now,
    )
    .await?;
    let proof = match check {
        CodeCheck::Accepted(p) => p,
        CodeCheck::Wrong(left) => {
            state.store.audit(failed("wrong code")).await?;
            let why = format!("That code is not right. {left} tries left.");
            return refuse(&state, &req, &s, &why).await;
        }
        CodeCheck::NeedNew => {
            state.store.audit(failed("no live code")).await?;
            return refuse(&state, &req, &s, STALE_CODE).await;
        }
    };
    // The old address hears of the change.
    let mut notices = Vec::new();
    if let Some(old) = &account.email {
        let rendered = messages::EmailChanged {
            site: state.mailer.site(),
            new_address: &proof.email,
        }
        .render()
        .map_err(PageError::internal)?;
        notices.push(state.mailer.outgoing(old, rendered, now + 7 * 86_400));
    }
    match state
        .store
        .confirm_email(&proof.id, &account.id, &proof.email, &notices, now)
        .await?
    {
        Confirmed::Done => {
            let event = audit(&state, &req, AuditKind::EmailChanged, &account).email(proof.email);
            state.store.audit(event).await?;
            done(&state, "email")
        }
        Confirmed::Stale | Confirmed::Taken => refuse(&state, &req, &s, STALE_CODE).await,
    }
}

#[tracing::instrument(skip_all)]
pub async fn delete(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    if let Some(why) =
        reauthenticated(&state, &req, &s, &account, &form, "delete the account").await?
    {
        return refuse(&state, &req, &s, &why).await;
    }
    state.store.delete_account(&account.id, state.now()).await?;
    let mut event = audit(&state, &req, AuditKind::AccountDeleted, &account);
    if let Some(e) = &account.email {
        event = event.email(e.clone());
    }
    state.store.audit(event).await?;
    let mut res = pages::render(
        StatusCode::OK,
        &pages::NoticePage {
            title: "Account deleted",
            message: "Your account and everything that signed in with it are gone.",
            link: None,
        },
    );
    let mut gone = Cookie::build(session::cookie_name(&state), "")
        .path("/")
        .finish();
    gone.make_removal();
    let _ = res.add_cookie(&gone);
    Ok(res)
}
