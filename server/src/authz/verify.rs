//! The email-verification step of a sign-in: a password sign-in (or a sign-up) of an account
//! whose address is unverified waits at `Stage::AwaitingVerification` until the code sent to
//! that address is entered in the same browser (or its link confirmed the address meanwhile);
//! then `complete_sign_in` (`flow::complete`) goes on where it stopped. After a sign-up with a
//! taken address the stage has no subject: every code is wrong, and the page looks the same as
//! for a new account.

use std::sync::Arc;

use super::flow::{SignedIn, complete, stage_url};
use super::stage::{Pending, Stage};
use super::{AuthenticatedSubject, AuthorizeError};
use crate::accounts::email_proof::{self, CodeCheck, MAX_WRONG_CODES, Mail, Sent};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::error::PageError;
use crate::protocol::vocab::Amr;
use crate::state::AppState;
use crate::store::{Confirmed, ProofPurpose, SignInFacts, StoreError};
use url::Url;

/// What sending needs, from the application state.
pub fn mail(state: &AppState) -> Mail<'_> {
    Mail {
        store: &state.store,
        mailer: &state.mailer,
        base: state.settings.issuer_base(),
        now: state.now(),
    }
}

/// Only password sign-ins confirm their address, only when the configuration requires
/// verified addresses.
fn applies(state: &AppState, who: &AuthenticatedSubject) -> bool {
    state.settings.registration.require_verified_email && who.amr.contains(&Amr::Pwd)
}

/// The address a sign-in must confirm before it completes, if any (see `applies`).
pub async fn unverified_email(
    state: &AppState,
    who: &AuthenticatedSubject,
) -> Result<Option<String>, StoreError> {
    if !applies(state, who) {
        return Ok(None);
    }
    Ok(state
        .store
        .account(&who.account_id)
        .await?
        .filter(|a| !a.email_verified)
        .and_then(|a| a.email))
}

/// `unverified_email` from what the sign-in already read of the account.
pub(super) fn unconfirmed<'a>(
    state: &AppState,
    who: &AuthenticatedSubject,
    facts: &'a SignInFacts,
) -> Option<&'a str> {
    match applies(state, who) && !facts.email_verified {
        true => facts.email.as_deref(),
        false => None,
    }
}

/// Send a code (within the limits) and move the request to the verification step.
pub async fn start(
    state: &AppState,
    pending: Pending,
    who: Option<AuthenticatedSubject>,
    email: &str,
    browser: &str,
    origin: &Origin,
) -> Result<Url, AuthorizeError> {
    if let Some(w) = &who
        && let Some(account) = state.store.account(&w.account_id).await?
    {
        // A code sent a moment ago (at sign-up) still works: no second message then.
        let live = state
            .store
            .live_proof(&account.id, ProofPurpose::VerifyEmail, state.now())
            .await?;
        let fresh = live.is_some_and(|p| state.now() - p.created_at < email_proof::RESEND_AFTER);
        if !fresh && send(state, &account, Some(&pending.id)).await? == Sent::Sent {
            let event = AuditEvent::new(AuditKind::VerificationSent, state.now(), origin)
                .account(&account.id)
                .client(pending.client.id.as_str());
            state.store.audit(event).await?;
        }
    }
    let stage = Stage::AwaitingVerification {
        email: email.to_owned(),
        subject: who,
        browser: browser.to_owned(),
        decoys: 0,
    };
    let pending = pending.advance(state, stage).await?;
    Ok(stage_url(state, &pending)?)
}

/// A sign-up on the page of pending request `request_id` went through (`who`: the new
/// account's password sign-in) or hit a taken address (`None`): either way the next page is
/// the code step, so the two cannot be told apart.
pub async fn signed_up(
    state: &AppState,
    request_id: &str,
    who: Option<AuthenticatedSubject>,
    email: &str,
    browser: &str,
    origin: &Origin,
) -> Result<Url, AuthorizeError> {
    let pending = Pending::load(state, request_id).await?;
    start(state, pending, who, email, browser, origin).await
}

async fn send(
    state: &AppState,
    account: &crate::store::Account,
    request_id: Option<&str>,
) -> Result<Sent, PageError> {
    email_proof::send_verification(&mail(state), account, request_id)
        .await
        .map_err(PageError::internal)
}

/// What the verification page shows.
pub struct VerifyView {
    pub request_id: String,
    pub client: Arc<Client>,
    pub email: String,
}

/// What happened on the verification page.
pub enum Verified {
    /// Show the page, with a message when there is one.
    Show(VerifyView, Option<String>),
    /// The address is confirmed: the sign-in went on.
    Continue(SignedIn),
    /// Not this browser's step (or no step at all): go there.
    GoTo(Url),
}

/// The pending request at its verification step in this browser.
async fn load(
    state: &AppState,
    id: &str,
    browser: &str,
) -> Result<Result<(Pending, String, Option<AuthenticatedSubject>, u8), Url>, PageError> {
    let pending = Pending::load(state, id).await?;
    match pending.stage.clone() {
        Stage::AwaitingVerification {
            email,
            subject,
            browser: b,
            decoys,
        } if crate::secret::ct_eq(b.as_bytes(), browser.as_bytes()) => {
            Ok(Ok((pending, email, subject, decoys)))
        }
        _ => Ok(Err(super::flow::page_url(state, "/login", &pending.id)?)),
    }
}

fn view(pending: &Pending, email: &str) -> VerifyView {
    VerifyView {
        request_id: pending.id.clone(),
        client: pending.client.clone(),
        email: email.to_owned(),
    }
}

/// GET /verify: the form, or the sign-in goes on when the link confirmed the address already.
pub async fn show(
    state: &AppState,
    id: &str,
    browser: &str,
    previous_session: Option<&str>,
    origin: &Origin,
) -> Result<Verified, AuthorizeError> {
    let (pending, email, subject, _) = match load(state, id, browser).await? {
        Ok(found) => found,
        Err(url) => return Ok(Verified::GoTo(url)),
    };
    if let Some(who) = subject
        && unverified_email(state, &who).await?.is_none()
    {
        let done = complete(state, pending, who, previous_session, browser, origin).await?;
        return Ok(Verified::Continue(done));
    }
    Ok(Verified::Show(view(&pending, &email), None))
}

/// POST /verify: a typed code.
pub async fn submit_code(
    state: &AppState,
    id: &str,
    browser: &str,
    code: &str,
    previous_session: Option<&str>,
    origin: &Origin,
) -> Result<Verified, AuthorizeError> {
    let (pending, email, subject, decoys) = match load(state, id, browser).await? {
        Ok(found) => found,
        Err(url) => return Ok(Verified::GoTo(url)),
    };
    let now = state.now();
    let failed = |reason: &str| {
        AuditEvent::new(AuditKind::VerificationFailed, now, origin)
            .client(pending.client.id.as_str())
            .email(email.clone())
            .reason(reason.to_owned())
    };
    let Some(who) = subject else {
        // No account to confirm: count the try like a real proof would.
        let tries = decoys.saturating_add(1);
        let stage = Stage::AwaitingVerification {
            email: email.clone(),
            subject: None,
            browser: browser.to_owned(),
            decoys: tries,
        };
        let pending = pending.advance(state, stage).await?;
        let left = MAX_WRONG_CODES - i32::from(tries);
        return Ok(Verified::Show(
            view(&pending, &email),
            Some(wrong_message(left)),
        ));
    };
    let check = email_proof::check_code(
        &state.store,
        &who.account_id,
        ProofPurpose::VerifyEmail,
        code,
        now,
    )
    .await?;
    let proof = match check {
        CodeCheck::Accepted(p) => p,
        CodeCheck::Wrong(left) => {
            state
                .store
                .audit(failed("wrong code").account(&who.account_id))
                .await?;
            return Ok(Verified::Show(
                view(&pending, &email),
                Some(wrong_message(left)),
            ));
        }
        CodeCheck::NeedNew => {
            state
                .store
                .audit(failed("no live code").account(&who.account_id))
                .await?;
            return Ok(Verified::Show(
                view(&pending, &email),
                Some(wrong_message(0)),
            ));
        }
    };
    match state
        .store
        .confirm_email(&proof.id, &who.account_id, &proof.email, &[], now)
        .await?
    {
        Confirmed::Done => {}
        Confirmed::Stale | Confirmed::Taken => {
            return Ok(Verified::Show(
                view(&pending, &email),
                Some(wrong_message(0)),
            ));
        }
    }
    let event = AuditEvent::new(AuditKind::EmailVerified, now, origin)
        .account(&who.account_id)
        .client(pending.client.id.as_str());
    state.store.audit(event).await?;
    let done = complete(state, pending, who, previous_session, browser, origin).await?;
    Ok(Verified::Continue(done))
}

fn wrong_message(left: i32) -> String {
    if left > 0 {
        format!(
            "That code is not right. {left} {} left.",
            if left == 1 { "try" } else { "tries" }
        )
    } else {
        "That code no longer works. Ask for a new one.".into()
    }
}

/// POST /verify/resend: another code, within the sending limits.
pub async fn resend(
    state: &AppState,
    id: &str,
    browser: &str,
    origin: &Origin,
) -> Result<Verified, AuthorizeError> {
    let (pending, email, subject, _) = match load(state, id, browser).await? {
        Ok(found) => found,
        Err(url) => return Ok(Verified::GoTo(url)),
    };
    let sent = match &subject {
        Some(who) => match state.store.account(&who.account_id).await? {
            Some(account) => send(state, &account, Some(&pending.id)).await?,
            None => Sent::TooMany,
        },
        // A taken address: its owner is told again, within the same limits as a code.
        None => crate::accounts::registration::tell_owner(&mail(state), &email)
            .await
            .map_err(PageError::internal)?,
    };
    let message = match sent {
        Sent::Sent => {
            if let Some(who) = &subject {
                let event = AuditEvent::new(AuditKind::VerificationSent, state.now(), origin)
                    .account(&who.account_id)
                    .client(pending.client.id.as_str());
                state.store.audit(event).await?;
            }
            "We sent a new code.".to_owned()
        }
        Sent::TooSoon(s) => format!("Please wait {s} seconds before asking for another code."),
        Sent::TooMany => "Too many codes were sent to this address. Try again in an hour.".into(),
    };
    Ok(Verified::Show(view(&pending, &email), Some(message)))
}

/// What a verification link did.
pub enum LinkOutcome {
    /// The address is confirmed; the sign-in it belongs to, if any, can go on.
    Confirmed { request_id: Option<String> },
    /// Used, expired or unknown.
    Invalid,
}

/// GET /verify/link: the link in the message confirms the address it was sent to.
pub async fn confirm_link(
    state: &AppState,
    token: &str,
    origin: &Origin,
) -> Result<LinkOutcome, PageError> {
    let now = state.now();
    let proof =
        match email_proof::check_link(&state.store, token, ProofPurpose::VerifyEmail, now).await? {
            email_proof::LinkCheck::Valid(p) if p.code_hash.is_some() => p,
            _ => {
                let event = AuditEvent::new(AuditKind::VerificationFailed, now, origin)
                    .reason("invalid verification link");
                state.store.audit(event).await?;
                return Ok(LinkOutcome::Invalid);
            }
        };
    match state
        .store
        .confirm_email(&proof.id, &proof.account_id, &proof.email, &[], now)
        .await?
    {
        Confirmed::Done => {
            let event = AuditEvent::new(AuditKind::EmailVerified, now, origin)
                .account(&proof.account_id)
                .reason("link");
            state.store.audit(event).await?;
            Ok(LinkOutcome::Confirmed {
                request_id: proof.request_id,
            })
        }
        Confirmed::Stale | Confirmed::Taken => Ok(LinkOutcome::Invalid),
    }
}
