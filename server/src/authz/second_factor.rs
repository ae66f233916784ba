//! The second-factor step of a sign-in (ASVS 6.5; RFC 8176 `otp`, `mfa`; OIDC Core §2 `acr`):
//! after the first factor, an account with an authenticator is asked for a code (or a
//! recovery code); one without is led through enrolment when the provider, the client or the
//! request (`acr_values`) requires a second factor. A session below the class a request needs
//! is stepped up here too. The step is bound to the browser that started it (or, for a
//! step-up, to its session), and `complete_sign_in` goes on when it is done.

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use url::Url;

use super::flow::{SignedIn, complete_sign_in, page_url, stage_url};
use super::policy;
use super::stage::{Pending, Stage};
use super::{AuthenticatedSubject, AuthorizeError};
use crate::accounts::factors::{self, FactorCheck, totp};
use crate::accounts::throttle::Throttle;
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::email::messages;
use crate::error::PageError;
use crate::protocol::vocab::{Acr, Amr};
use crate::state::AppState;
use crate::store::StoreError;
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

/// The class a pending request needs.
pub fn required(state: &AppState, client: &Client, req: &super::AuthorizationRequest) -> Acr {
    policy::required_acr(req, client.require_mfa, state.settings.mfa.required)
}

/// Which step a sign-in by `who` needs before it completes: none once it has two factors;
/// a code when the account has an authenticator (it is always asked then); enrolment when a
/// second factor is required and there is none.
pub async fn needed(
    state: &AppState,
    pending: &Pending,
    who: &AuthenticatedSubject,
) -> Result<Option<FactorStep>, StoreError> {
    if Acr::of(&who.amr) >= Acr::MultiFactor {
        return Ok(None);
    }
    if state.store.factor_summary(&who.account_id).await?.any() {
        return Ok(Some(FactorStep::Ask));
    }
    let needs = required(state, &pending.client, &pending.request) >= Acr::MultiFactor;
    Ok(needs.then_some(FactorStep::Enrol))
}

/// `who` after a second factor just now.
fn with_second_factor(who: &AuthenticatedSubject, now: i64) -> AuthenticatedSubject {
    let mut amr = who.amr.clone();
    for a in [Amr::Otp, Amr::Mfa] {
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

/// What happened on the second-factor page.
pub enum FactorPage {
    /// The code form, with a message when there is one.
    Ask(FactorView, Option<String>),
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
}

struct Loaded {
    pending: Pending,
    subject: AuthenticatedSubject,
    binding: String,
    step: FactorStep,
}

async fn load(
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
        FactorStep::Ask => Ok(FactorPage::Ask(view(&l.pending), None)),
        FactorStep::Enrol => match enrolment(state, &l.subject).await? {
            Some(e) => Ok(FactorPage::Enrol(view(&l.pending), e, None)),
            // Enrolled meanwhile (another tab): ask for a code of it.
            None => {
                let stage = Stage::AwaitingSecondFactor {
                    subject: l.subject,
                    browser: l.binding,
                    step: FactorStep::Ask,
                };
                let pending = l.pending.advance(state, stage).await?;
                Ok(FactorPage::Ask(view(&pending), None))
            }
        },
        FactorStep::Proven => proceed_with(state, l, caller, origin).await,
    }
}

async fn proceed_with(
    state: &AppState,
    l: Loaded,
    caller: &Caller<'_>,
    origin: &Origin,
) -> Result<FactorPage, AuthorizeError> {
    let done = complete_sign_in(
        state,
        &l.pending.id,
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
            if let Some(message) = record_check(state, &l.subject.account_id, check, event).await? {
                return Ok(FactorPage::Ask(view(&l.pending), Some(message.into())));
            }
            let who = with_second_factor(&l.subject, now);
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
            proceed_with(state, l, caller, origin).await
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
                    None => FactorPage::Ask(view(&l.pending), message),
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
                subject: with_second_factor(&l.subject, now),
                browser: l.binding,
                step: FactorStep::Proven,
            };
            let pending = l.pending.advance(state, stage).await?;
            Ok(FactorPage::RecoveryCodes(view(&pending), codes))
        }
    }
}
