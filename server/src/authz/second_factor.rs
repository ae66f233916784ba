//! The second-factor step of a sign-in (ASVS 6.5; RFC 8176 `otp`, `mfa`; OIDC Core §2 `acr`):
//! after the first factor, an account with an authenticator is asked for a code (or a
//! recovery code); one without is led through enrolment when the provider, the client or the
//! request (`acr_values`) requires a second factor. A session below the class a request needs
//! is stepped up here too. The step is bound to the browser that started it (or, for a
//! step-up, to its session), and `complete_sign_in` goes on when it is done.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use url::Url;

use super::flow::{SignedIn, complete, page_url, stage_url};
use super::policy;
use super::stage::{Pending, Stage};
use super::{AuthenticatedSubject, AuthorizeError};
use crate::accounts::factors::passkeys::Started;
use crate::accounts::factors::{self, FactorCheck, totp};
use crate::accounts::throttle::Throttle;
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::email::messages;
use crate::error::PageError;
use crate::protocol::vocab::{Acr, Amr};
use crate::state::AppState;
use crate::store::{FactorSummary, StoreError};
use crate::tokens::opaque;

/// Where a second-factor step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorStep {
    /// Type a code of the enrolled authenticator (or a recovery code).
    Ask,
    /// Set up an authenticator first (a second factor is required and there is none).
    Enrol,
    /// Done (the recovery codes are on screen); continue when the person says so.
    Proven,
}

/// The answer to the client when the class it asked for cannot be reached.
pub fn unmet() -> crate::protocol::error::OAuthError {
    crate::protocol::error::OAuthError::new(
        crate::protocol::error::ErrorCode::UnmetAuthenticationRequirements,
        "a passkey is required and the account has none",
    )
}

/// The class a pending request needs.
pub fn required(state: &AppState, client: &Client, req: &super::AuthorizationRequest) -> Acr {
    policy::required_acr(req, client.require_mfa, state.settings.mfa.required)
}

/// What a sign-in still needs before it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Nothing,
    Step(FactorStep),
    /// A passkey is required (phishing-resistant) and the account has none.
    Unmet,
}

/// Which step a sign-in by `who` needs before it completes: none once it reached the class
/// required and, with a factor enrolled, two factors; a code (or a passkey) when the account
/// has a factor (it is always asked then); enrolment when a second factor is required and
/// there is none.
pub fn needed(
    state: &AppState,
    pending: &Pending,
    who: &AuthenticatedSubject,
    factors: &FactorSummary,
) -> Need {
    let reached = Acr::of(&who.amr);
    let wanted = required(state, &pending.client, &pending.request);
    if reached >= Acr::MultiFactor && reached >= wanted {
        return Need::Nothing;
    }
    step_given(wanted, factors)
}

/// The step that takes an account to class `wanted` (or past one factor when it has one).
pub async fn step_for(
    state: &AppState,
    wanted: Acr,
    account_id: &crate::protocol::ids::AccountId,
) -> Result<Need, StoreError> {
    Ok(step_given(
        wanted,
        &state.store.factor_summary(account_id).await?,
    ))
}

/// `step_for` an account with `factors`.
fn step_given(wanted: Acr, factors: &FactorSummary) -> Need {
    if wanted >= Acr::PhishingResistant && factors.passkeys == 0 {
        return Need::Unmet;
    }
    if factors.any() {
        return Need::Step(FactorStep::Ask);
    }
    if wanted >= Acr::MultiFactor {
        return Need::Step(FactorStep::Enrol);
    }
    Need::Nothing
}

/// `who` after a second factor (`method`: `otp`, `hwk` or `swk`) just now.
pub(super) fn with_second_factor(
    who: &AuthenticatedSubject,
    method: Amr,
    now: i64,
) -> AuthenticatedSubject {
    let mut amr = who.amr.clone();
    for a in [method, Amr::Mfa] {
        if !amr.contains(&a) {
            amr.push(a);
        }
    }
    AuthenticatedSubject {
        amr,
        auth_time: now,
        ..who.clone()
    }
}

/// What a step-up of an existing session is bound to (its session, not a browser cookie).
pub fn session_binding(session_hash: &str) -> String {
    format!("session:{session_hash}")
}

fn bound(stored: &str, browser: &str, session_cookie: Option<&str>) -> bool {
    let ct = |a: &str, b: &str| crate::secret::ct_eq(a.as_bytes(), b.as_bytes());
    (!browser.is_empty() && ct(stored, browser))
        || session_cookie.is_some_and(|c| ct(stored, &session_binding(&opaque::hash(c))))
}

/// Move the request to its second-factor step.
pub async fn start(
    state: &AppState,
    pending: Pending,
    who: AuthenticatedSubject,
    step: FactorStep,
    binding: String,
) -> Result<Url, AuthorizeError> {
    let stage = Stage::AwaitingSecondFactor {
        subject: who,
        browser: binding,
        step,
    };
    let pending = pending.advance(state, stage).await?;
    Ok(stage_url(state, &pending)?)
}

/// What the second-factor page shows.
pub struct FactorView {
    pub request_id: String,
    pub client: Arc<Client>,
}

/// The code form: and a passkey ceremony when the account has passkeys; only the passkey
/// when the request needs a phishing-resistant sign-in.
pub struct AskView {
    pub view: FactorView,
    pub passkey: Option<Started>,
    pub passkey_only: bool,
}

/// What happened on the second-factor page.
pub enum FactorPage {
    /// The code form, with a message when there is one.
    Ask(AskView, Option<String>),
    /// The enrolment form (QR code and secret), with a message when there is one.
    Enrol(FactorView, totp::Enrolment, Option<String>),
    /// Enrolment done: the recovery codes, shown once, and a Continue button.
    RecoveryCodes(FactorView, Vec<String>),
    /// A recovery code was used: how many are left, and a Continue button.
    RecoveryUsed(FactorView, u64),
    /// The sign-in went on.
    Continue(SignedIn),
    /// Not this browser's step: go there.
    GoTo(Url),
}

/// The browser calling: its binding id and its session cookie.
pub struct Caller<'a> {
    pub browser: &'a str,
    pub session_cookie: Option<&'a str>,
    /// The remembered-browser cookie, if the browser sent one.
    pub device_cookie: Option<&'a str>,
    /// The person ticked "remember this browser" on the form.
    pub remember: bool,
}

pub(super) struct Loaded {
    pub(super) pending: Pending,
    pub(super) subject: AuthenticatedSubject,
    pub(super) binding: String,
    pub(super) step: FactorStep,
}

pub(super) async fn load(
    state: &AppState,
    id: &str,
    caller: &Caller<'_>,
) -> Result<Result<Loaded, Url>, PageError> {
    let pending = Pending::load(state, id).await?;
    match pending.stage.clone() {
        Stage::AwaitingSecondFactor {
            subject,
            browser,
            step,
        } if bound(&browser, caller.browser, caller.session_cookie) => Ok(Ok(Loaded {
            pending,
            subject,
            binding: browser,
            step,
        })),
        _ => Ok(Err(page_url(state, "/login", &pending.id)?)),
    }
}

fn view(p: &Pending) -> FactorView {
    FactorView {
        request_id: p.id.clone(),
        client: p.client.clone(),
    }
}

/// The code page for `who` at request `p`, with a fresh passkey ceremony when it has passkeys.
pub(super) async fn ask(
    state: &AppState,
    p: &Pending,
    who: &AuthenticatedSubject,
    message: Option<String>,
) -> Result<FactorPage, PageError> {
    let passkey_only = required(state, &p.client, &p.request) >= Acr::PhishingResistant;
    let passkey = match &state.passkeys {
        Some(rp) => {
            let mine = state.store.passkeys_of(&who.account_id).await?;
            if mine.is_empty() {
                None
            } else {
                let started = rp
                    .begin_second_factor(
                        &state.factor_keys,
                        &p.id,
                        &who.account_id,
                        &mine,
                        state.now(),
                    )
                    .map_err(PageError::internal)?;
                Some(started)
            }
        }
        None => None,
    };
    let page = AskView {
        view: view(p),
        passkey,
        passkey_only,
    };
    Ok(FactorPage::Ask(page, message))
}

/// The labels an authenticator app shows: the provider and the account.
async fn labels(
    state: &AppState,
    who: &AuthenticatedSubject,
) -> Result<(String, String), PageError> {
    let account = state
        .store
        .account(&who.account_id)
        .await?
        .ok_or_else(PageError::expired)?;
    Ok((
        state.mailer.site().to_owned(),
        account.email.unwrap_or_else(|| account.id.to_string()),
    ))
}

async fn enrolment(
    state: &AppState,
    who: &AuthenticatedSubject,
) -> Result<Option<totp::Enrolment>, PageError> {
    let (site, account) = labels(state, who).await?;
    let l = (site.as_str(), account.as_str());
    let keys = &state.factor_keys;
    if let Some(e) = totp::pending(&state.store, keys, &who.account_id, l)
        .await
        .map_err(PageError::internal)?
    {
        return Ok(Some(e));
    }
    totp::begin(&state.store, keys, &who.account_id, l, state.now())
        .await
        .map_err(PageError::internal)
}

/// GET /mfa: the form for this step.
pub async fn show(
    state: &AppState,
    id: &str,
    caller: &Caller<'_>,
    origin: &Origin,
) -> Result<FactorPage, AuthorizeError> {
    let l = match load(state, id, caller).await? {
        Ok(l) => l,
        Err(url) => return Ok(FactorPage::GoTo(url)),
    };
    match l.step {
        FactorStep::Ask => {
            let wanted = required(state, &l.pending.client, &l.pending.request);
            // Not when the client asked for a fresh sign-in (prompt=login, max_age).
            let fresh_asked = l
                .pending
                .request
                .prompts(crate::protocol::vocab::Prompt::Login)
                || l.pending.request.max_age.is_some();
            if wanted < Acr::PhishingResistant
                && !fresh_asked
                && super::session::device_remembered(
                    state,
                    caller.device_cookie,
                    &l.subject.account_id,
                )
                .await?
            {
                // A browser remembered after a second factor stands in for it.
                let ok = AuditEvent::new(AuditKind::SecondFactorSucceeded, state.now(), origin)
                    .client(l.pending.client.id.as_str())
                    .account(&l.subject.account_id)
                    .reason("remembered browser");
                state.store.audit(ok).await?;
                let who = with_second_factor(&l.subject, Amr::Mfa, state.now());
                return proceed_with(state, Loaded { subject: who, ..l }, caller, origin).await;
            }
            Ok(ask(state, &l.pending, &l.subject, None).await?)
        }
        FactorStep::Enrol => match enrolment(state, &l.subject).await? {
            Some(e) => Ok(FactorPage::Enrol(view(&l.pending), e, None)),
            // Enrolled meanwhile (another tab): ask for a code of it.
            None => {
                let who = l.subject.clone();
                let stage = Stage::AwaitingSecondFactor {
                    subject: l.subject,
                    browser: l.binding,
                    step: FactorStep::Ask,
                };
                let pending = l.pending.advance(state, stage).await?;
                Ok(ask(state, &pending, &who, None).await?)
            }
        },
        FactorStep::Proven => proceed_with(state, l, caller, origin).await,
    }
}

/// Continue after a second factor typed just now, remembering the browser if asked.
pub(super) async fn remembering(
    state: &AppState,
    l: Loaded,
    caller: &Caller<'_>,
    origin: &Origin,
) -> Result<FactorPage, AuthorizeError> {
    let account = l.subject.account_id.clone();
    match proceed_with(state, l, caller, origin).await? {
        FactorPage::Continue(mut done) if caller.remember => {
            done.device = super::session::remember_device(state, &account)
                .await?
                .map(Box::new);
            Ok(FactorPage::Continue(done))
        }
        other => Ok(other),
    }
}

pub(super) async fn proceed_with(
    state: &AppState,
    l: Loaded,
    caller: &Caller<'_>,
    origin: &Origin,
) -> Result<FactorPage, AuthorizeError> {
    let done = complete(
        state,
        l.pending,
        l.subject,
        caller.session_cookie,
        caller.browser,
        origin,
    )
    .await?;
    Ok(FactorPage::Continue(done))
}

/// POST /mfa/continue: on from the recovery-codes page.
pub async fn proceed(
    state: &AppState,
    id: &str,
    caller: &Caller<'_>,
    origin: &Origin,
) -> Result<FactorPage, AuthorizeError> {
    match load(state, id, caller).await? {
        Ok(l) if l.step == FactorStep::Proven => proceed_with(state, l, caller, origin).await,
        Ok(l) => Ok(FactorPage::GoTo(stage_url(state, &l.pending)?)),
        Err(url) => Ok(FactorPage::GoTo(url)),
    }
}

/// Queue a notice to the account's address (best effort: the change stands anyway).
pub async fn notify(state: &AppState, account_id: &crate::protocol::ids::AccountId, change: &str) {
    let Ok(Some(account)) = state.store.account(account_id).await else {
        return;
    };
    let Some(email) = account.email else {
        return;
    };
    let result = match (messages::FactorChanged {
        site: state.mailer.site(),
        change,
    })
    .render()
    {
        Ok(r) => {
            let m = state.mailer.outgoing(&email, r, state.now() + 7 * 86_400);
            state
                .store
                .enqueue_email(&m, state.now())
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "queuing a second-factor notice failed");
    }
}

/// The checker for the person's typed codes.
pub fn checker(state: &AppState) -> factors::Checker<'_> {
    factors::Checker {
        store: &state.store,
        keys: &state.factor_keys,
        throttle: Throttle::from_settings(&state.settings.login),
        gate: &state.login_gate,
        now: state.now(),
    }
}

/// Record what a typed code did; the message for a refused one.
pub async fn record_check(
    state: &AppState,
    who: &crate::protocol::ids::AccountId,
    check: FactorCheck,
    event: impl Fn(AuditKind) -> AuditEvent,
) -> Result<Option<&'static str>, StoreError> {
    let (kind, reason, message) = match check {
        FactorCheck::Totp => (AuditKind::SecondFactorSucceeded, None, None),
        FactorCheck::Recovery { left } => {
            notify(
                state,
                who,
                &format!("A recovery code was used to sign in ({left} left)"),
            )
            .await;
            (AuditKind::RecoveryCodeUsed, None, None)
        }
        FactorCheck::Refused { replayed, locked } => {
            if locked {
                state
                    .store
                    .audit(event(AuditKind::SecondFactorLocked))
                    .await?;
            }
            let reason = if replayed {
                "code used already"
            } else {
                "wrong code"
            };
            (
                AuditKind::SecondFactorFailed,
                Some(reason),
                Some(if replayed {
                    "That code was used already. Wait for the next one."
                } else {
                    "That code is not right."
                }),
            )
        }
        FactorCheck::Locked => (
            AuditKind::SecondFactorFailed,
            Some("locked"),
            Some("Too many wrong codes. Try again later."),
        ),
    };
    let mut e = event(kind).account(who);
    if let Some(r) = reason {
        e = e.reason(r);
    }
    state.store.audit(e).await?;
    Ok(message)
}

/// POST /mfa: a typed code (the authenticator's, or a recovery code), or the first code of a
/// new authenticator at enrolment.
pub async fn submit(
    state: &AppState,
    id: &str,
    caller: &Caller<'_>,
    code: &str,
    origin: &Origin,
) -> Result<FactorPage, AuthorizeError> {
    let l = match load(state, id, caller).await? {
        Ok(l) => l,
        Err(url) => return Ok(FactorPage::GoTo(url)),
    };
    let now = state.now();
    let client_id = l.pending.client.id.as_str().to_owned();
    let event = |kind| AuditEvent::new(kind, now, origin).client(client_id.clone());
    match l.step {
        FactorStep::Proven => proceed_with(state, l, caller, origin).await,
        FactorStep::Ask => {
            let check = factors::check(&checker(state), &l.subject.account_id, code)
                .await
                .map_err(PageError::internal)?;
            if required(state, &l.pending.client, &l.pending.request) >= Acr::PhishingResistant {
                let message = Some("This app asks for a passkey: use one of yours.".into());
                return Ok(ask(state, &l.pending, &l.subject, message).await?);
            }
            if let Some(message) = record_check(state, &l.subject.account_id, check, event).await? {
                return Ok(ask(state, &l.pending, &l.subject, Some(message.into())).await?);
            }
            let who = with_second_factor(&l.subject, Amr::Otp, now);
            if let FactorCheck::Recovery { left } = check {
                let stage = Stage::AwaitingSecondFactor {
                    subject: who,
                    browser: l.binding,
                    step: FactorStep::Proven,
                };
                let pending = l.pending.advance(state, stage).await?;
                return Ok(FactorPage::RecoveryUsed(view(&pending), left));
            }
            let l = Loaded { subject: who, ..l };
            remembering(state, l, caller, origin).await
        }
        FactorStep::Enrol => {
            let confirmed = totp::confirm(
                &state.store,
                &state.factor_keys,
                &l.subject.account_id,
                code,
                now,
            )
            .await
            .map_err(PageError::internal)?;
            let Some(codes) = confirmed else {
                let e = enrolment(state, &l.subject).await?;
                let message =
                    Some("That code is not right. Check the app's clock and try again.".into());
                return Ok(match e {
                    Some(e) => FactorPage::Enrol(view(&l.pending), e, message),
                    None => ask(state, &l.pending, &l.subject, message).await?,
                });
            };
            let added = event(AuditKind::FactorAdded)
                .account(&l.subject.account_id)
                .reason("authenticator app");
            state.store.audit(added).await?;
            notify(
                state,
                &l.subject.account_id,
                "An authenticator app was added",
            )
            .await;
            let stage = Stage::AwaitingSecondFactor {
                subject: with_second_factor(&l.subject, Amr::Otp, now),
                browser: l.binding,
                step: FactorStep::Proven,
            };
            let pending = l.pending.advance(state, stage).await?;
            Ok(FactorPage::RecoveryCodes(view(&pending), codes))
        }
    }
}
