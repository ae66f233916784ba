//! The operations on an authorization request, one per transition of the diagram in
//! `authz`: `begin` (from /authorize), `complete_sign_in` (every way of signing in),
//! `decide_consent` (the consent page); `login_view` and `consent_view` tell the pages what to
//! show. Each consults the policy before it moves the request.

use actix_web::cookie::Cookie;
use std::sync::Arc;
use url::Url;

use super::policy::{self, Facts, Next, Refusal};
use super::second_factor::{self, FactorStep, Need};
use super::stage::{Pending, SignedInFor, Stage};
use super::{AuthenticatedSubject, AuthorizationRequest, AuthorizeError, issue, session};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::Client;
use crate::error::PageError;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::ids::AccountId;
use crate::protocol::vocab::{Prompt, Scopes};
use crate::state::AppState;
use crate::store::{BrowserSession, SignInWrites};

/// The hosted page for a stage: `/login?req=…` or `/consent?req=…`.
pub(super) fn page_url(state: &AppState, path: &str, id: &str) -> Result<Url, PageError> {
    let mut url = Url::parse(&state.endpoint(path)).map_err(PageError::internal)?;
    url.query_pairs_mut().append_pair("req", id);
    Ok(url)
}

pub(super) fn stage_url(state: &AppState, pending: &Pending) -> Result<Url, PageError> {
    match pending.stage {
        Stage::AwaitingLogin { .. } => page_url(state, "/login", &pending.id),
        Stage::AwaitingConsent { .. } => page_url(state, "/consent", &pending.id),
        Stage::AwaitingVerification { .. } => page_url(state, "/verify", &pending.id),
        Stage::AwaitingSecondFactor { .. } => page_url(state, "/mfa", &pending.id),
    }
}

async fn remembered(
    state: &AppState,
    account_id: &AccountId,
    client_id: &str,
) -> Result<Option<Scopes>, crate::store::StoreError> {
    Ok(state
        .store
        .consent(account_id, client_id)
        .await?
        .and_then(|s| Scopes::parse(&s)))
}

fn refusal(r: Refusal) -> OAuthError {
    match r {
        Refusal::NotTheHintedUser => OAuthError::new(
            ErrorCode::LoginRequired,
            "the signed-in user is not the user named by id_token_hint",
        ),
    }
}

/// A validated request arrives from /authorize: issue the code at once, refuse it
/// (prompt=none), or store it and send the person to the page the policy requires.
pub async fn begin(
    state: &AppState,
    client: Arc<Client>,
    req: AuthorizationRequest,
    session_cookie: Option<&str>,
) -> Result<Url, AuthorizeError> {
    let to_client = |e: OAuthError| issue::refuse(state, &req, e);
    let (session, granted) = match session::load_with_consent(state, session_cookie, &req.client_id)
        .await
        .map_err(|e| to_client(e.into()))?
    {
        Some((s, consent)) => (Some(s), consent.as_deref().and_then(Scopes::parse)),
        None => (None, None),
    };
    let subject = session.as_ref().map(AuthenticatedSubject::from);
    let next = policy::decide(&Facts {
        request: &req,
        skip_consent: client.skip_consent,
        subject: subject.as_ref(),
        fresh: false,
        remembered: granted.as_ref(),
        consented_now: false,
        required_acr: second_factor::required(state, &client, &req),
        now: state.now(),
    });
    // OIDC Core §3.1.2.6: prompt=none never shows a page.
    if req.prompts(Prompt::None) {
        match next {
            Next::Login(_) => {
                return Err(to_client(OAuthError::new(
                    ErrorCode::LoginRequired,
                    "the user is not signed in",
                )));
            }
            Next::Consent(_) => {
                return Err(to_client(OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "the user has not consented",
                )));
            }
            Next::StepUp => {
                return Err(to_client(OAuthError::new(
                    ErrorCode::InteractionRequired,
                    "a second factor is required",
                )));
            }
            Next::IssueCode | Next::Refuse(_) => {}
        }
    }
    let stage = match (next, session) {
        (Next::Refuse(r), _) => return Err(to_client(refusal(r))),
        (Next::IssueCode, Some(s)) => {
            return issue::issue_code(state, &req, &(&s).into(), s.sid.as_deref()).await;
        }
        (Next::Consent(reason), Some(s)) => Stage::AwaitingConsent {
            reason,
            signed_in: SignedInFor {
                subject: (&s).into(),
                session_hash: s.id_hash,
                fresh: false,
            },
        },
        (Next::StepUp, Some(s)) => {
            let wanted = second_factor::required(state, &client, &req);
            match step_up_stage(state, wanted, (&s).into(), &s.id_hash)
                .await
                .map_err(|e| to_client(e.into()))?
            {
                Some(stage) => stage,
                None => return Err(to_client(second_factor::unmet())),
            }
        }
        (Next::Login(reason), _) => Stage::AwaitingLogin { reason },
        // Without a session the policy asks for a login, never for a code or consent.
        (Next::IssueCode | Next::Consent(_) | Next::StepUp, None) => Stage::AwaitingLogin {
            reason: policy::PromptReason::NoSession,
        },
    };
    let pending = Pending::create(state, client, req.clone(), stage)
        .await
        .map_err(|e| to_client(e.into()))?;
    Ok(stage_url(state, &pending)?)
}

/// The second-factor stage that steps a session up to `wanted`: a code or passkey of the
/// account, or enrolment when it has none; bound to that session. `None` when the class
/// cannot be reached (a passkey is needed and there is none).
async fn step_up_stage(
    state: &AppState,
    wanted: crate::protocol::vocab::Acr,
    subject: AuthenticatedSubject,
    session_hash: &str,
) -> Result<Option<Stage>, crate::store::StoreError> {
    let step = match second_factor::step_for(state, wanted, &subject.account_id).await? {
        Need::Unmet => return Ok(None),
        Need::Step(step) => step,
        Need::Nothing => FactorStep::Enrol,
    };
    Ok(Some(Stage::AwaitingSecondFactor {
        subject,
        browser: second_factor::session_binding(session_hash),
        step,
    }))
}

/// End the request with `e` sent to the client.
async fn refuse_pending(
    state: &AppState,
    pending: Pending,
    e: OAuthError,
) -> Result<Url, AuthorizeError> {
    let req = pending.finish(state).await?;
    match issue::refuse(state, &req, e) {
        AuthorizeError::Redirect(url) => Ok(url),
        e => Err(e),
    }
}

/// What the login page shows for a pending request, and the request itself (read once: the
/// sign-in the page submits goes on with it).
pub struct LoginView {
    pub request_id: String,
    pub client: Arc<Client>,
    pub login_hint: Option<String>,
    pending: Pending,
}

/// The pending request a login page (or an upstream button) is for. Signing in is allowed at
/// every stage: a person may sign in again, or as someone else.
pub async fn login_view(state: &AppState, id: &str) -> Result<LoginView, PageError> {
    let pending = Pending::load(state, id).await?;
    Ok(LoginView {
        request_id: pending.id.clone(),
        client: pending.client.clone(),
        login_hint: pending.request.login_hint.clone(),
        pending,
    })
}

/// A sign-in finished: a new session (none while the email awaits its code) and where the
/// browser goes next.
pub struct SignedIn {
    pub cookie: Option<Cookie<'static>>,
    /// The remembered-browser cookie, when the person asked to skip the second factor here.
    pub device: Option<Box<Cookie<'static>>>,
    pub next: Url,
}

/// The one end of every way of signing in from a login page: the person proved they are
/// `who` (at `auth_time`, by `amr`) for the request `view` was read for. See `complete`.
pub async fn complete_sign_in(
    state: &AppState,
    view: LoginView,
    who: AuthenticatedSubject,
    previous_session: Option<&str>,
    browser: &str,
    origin: &Origin,
) -> Result<SignedIn, AuthorizeError> {
    complete(state, view.pending, who, previous_session, browser, origin).await
}

/// The end of every sign-in, for `pending` as read at the sign-in's start (a transition
/// names the revision it read: had the request moved meanwhile, it ends as expired). Starts a
/// new session (ending the browser's previous one), records the sign-in, and asks the policy
/// what comes next. A password sign-in of an account whose email is unverified stops first
/// for the emailed code (`[registration] require_verified_email`), in the browser `browser`
/// names. What it must know of the account is one read (`SignInFacts`).
pub(super) async fn complete(
    state: &AppState,
    pending: Pending,
    who: AuthenticatedSubject,
    previous_session: Option<&str>,
    browser: &str,
    origin: &Origin,
) -> Result<SignedIn, AuthorizeError> {
    let facts = state
        .store
        .sign_in_facts(&who.account_id, &pending.request.client_id)
        .await?;
    let Some(facts) = facts.filter(|f| !f.disabled) else {
        return Err(AuthorizeError::Page(PageError {
            status: actix_web::http::StatusCode::FORBIDDEN,
            title: "Sign-in failed",
            message: "This account cannot sign in. Contact the administrator.".into(),
            cause: None,
        }));
    };
    if let Some(email) = super::verify::unconfirmed(state, &who, &facts) {
        let email = email.to_owned();
        let next = super::verify::start(state, pending, Some(who), &email, browser, origin).await?;
        return Ok(SignedIn {
            cookie: None,
            device: None,
            next,
        });
    }
    match second_factor::needed(state, &pending, &who, &facts.factors) {
        Need::Nothing => {}
        Need::Step(step) => {
            let next = second_factor::start(state, pending, who, step, browser.to_owned()).await?;
            return Ok(SignedIn {
                cookie: None,
                device: None,
                next,
            });
        }
        Need::Unmet => {
            let next = refuse_pending(state, pending, second_factor::unmet()).await?;
            return Ok(SignedIn {
                cookie: None,
                device: None,
                next,
            });
        }
    }
    let started = session::start(state, &who, previous_session, origin).await?;
    let mut record = AuditEvent::new(AuditKind::LoginSucceeded, state.now(), origin)
        .account(&who.account_id)
        .client(pending.client.id.as_str());
    if let Some(idp) = &who.idp {
        record = record.upstream(idp);
    }
    let granted = facts.consent.as_deref().and_then(Scopes::parse);
    let next = policy::decide(&Facts {
        request: &pending.request,
        skip_consent: pending.client.skip_consent,
        subject: Some(&who),
        fresh: true,
        remembered: granted.as_ref(),
        consented_now: false,
        required_acr: second_factor::required(state, &pending.client, &pending.request),
        now: state.now(),
    });
    // The session (when it is one INSERT), the record and, when a code is issued at once, the
    // request taken with its grant and code: one transaction.
    let issued = matches!(next, Next::IssueCode)
        .then(|| issue::prepare(state, &pending.request, &who, started.sid.as_deref()));
    let writes = SignInWrites {
        session: started.to_write.as_ref(),
        record,
        code: issued.as_ref().map(|i| pending.ended_by(i)),
        now: issued.as_ref().map_or_else(|| state.now(), |i| i.at),
    };
    let request_ended = match state.store.record_sign_in(writes).await {
        Ok(ended) => ended,
        // RFC 6749 §4.1.2.1: a request that was to end with a code ends with `server_error`
        // at the client when that cannot be written (nothing of the sign-in was).
        Err(e) if issued.is_some() => {
            return Err(issue::refuse(state, &pending.request, e.into()));
        }
        Err(e) => return Err(e.into()),
    };
    let signed_in = SignedInFor {
        session_hash: started.id_hash,
        subject: who,
        fresh: true,
    };
    let next = match (next, issued) {
        (Next::IssueCode, Some(issued)) if request_ended => {
            match issued.redirect(state, &pending.request) {
                Ok(url) | Err(AuthorizeError::Redirect(url)) => url,
                Err(e) => return Err(e),
            }
        }
        // The request moved on or expired while the password was checked.
        (Next::IssueCode, _) => return Err(PageError::expired().into()),
        (Next::Refuse(r), _) => {
            let req = pending.finish(state).await?;
            match issue::refuse(state, &req, refusal(r)) {
                AuthorizeError::Redirect(url) => url,
                e => return Err(e),
            }
        }
        (Next::Consent(reason), _) => {
            let stage = Stage::AwaitingConsent { reason, signed_in };
            stage_url(state, &pending.advance(state, stage).await?)?
        }
        (Next::Login(reason), _) => {
            let stage = Stage::AwaitingLogin { reason };
            stage_url(state, &pending.advance(state, stage).await?)?
        }
        // `needed` above asked for every factor the class needs; should it not have, the
        // second factor is asked of the session just started.
        (Next::StepUp, _) => {
            let wanted = second_factor::required(state, &pending.client, &pending.request);
            match step_up_stage(state, wanted, signed_in.subject, &signed_in.session_hash).await? {
                Some(stage) => stage_url(state, &pending.advance(state, stage).await?)?,
                None => refuse_pending(state, pending, second_factor::unmet()).await?,
            }
        }
    };
    Ok(SignedIn {
        cookie: Some(started.cookie),
        device: None,
        next,
    })
}

/// What the consent page shows, or where the browser must go instead.
pub enum ConsentView {
    Show {
        request_id: String,
        client: Arc<Client>,
        account_id: AccountId,
        scopes: Scopes,
    },
    /// The request is not awaiting this browser's consent: the login page.
    GoTo(Url),
}

/// The sign-in an awaiting-consent stage relies on, if the browser still holds that session.
fn consent_subject(pending: &Pending, session: Option<&BrowserSession>) -> Option<SignedInFor> {
    match (&pending.stage, session) {
        (Stage::AwaitingConsent { signed_in, .. }, Some(s))
            if s.id_hash == signed_in.session_hash =>
        {
            Some(signed_in.clone())
        }
        _ => None,
    }
}

pub async fn consent_view(
    state: &AppState,
    id: &str,
    session_cookie: Option<&str>,
) -> Result<ConsentView, PageError> {
    let pending = Pending::load(state, id).await?;
    let session = session::load(state, session_cookie).await?;
    match consent_subject(&pending, session.as_ref()) {
        Some(s) => Ok(ConsentView::Show {
            request_id: pending.id,
            client: pending.client,
            account_id: s.subject.account_id,
            scopes: pending.request.scope,
        }),
        None => Ok(ConsentView::GoTo(page_url(state, "/login", &pending.id)?)),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentDecision {
    Allow,
    Deny,
}

/// The person answered the consent page. The answer counts only while the request awaits
/// consent from this browser's session, and Allow issues a code only if the policy has
/// nothing else left to require.
pub async fn decide_consent(
    state: &AppState,
    id: &str,
    session_cookie: Option<&str>,
    decision: ConsentDecision,
    origin: &Origin,
) -> Result<Url, AuthorizeError> {
    let pending = Pending::load(state, id).await?;
    let session = session::load(state, session_cookie).await?;
    let Some(signed_in) = consent_subject(&pending, session.as_ref()) else {
        return Ok(page_url(state, "/login", &pending.id)?);
    };
    if decision == ConsentDecision::Deny {
        let req = pending.finish(state).await?;
        return Err(issue::refuse(
            state,
            &req,
            OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"),
        ));
    }
    let who = &signed_in.subject;
    let next = policy::decide(&Facts {
        request: &pending.request,
        skip_consent: pending.client.skip_consent,
        subject: Some(who),
        fresh: signed_in.fresh,
        remembered: None,
        consented_now: true,
        required_acr: second_factor::required(state, &pending.client, &pending.request),
        now: state.now(),
    });
    match next {
        Next::IssueCode => {
            let client_id = pending.request.client_id.clone();
            let req = pending.finish(state).await?;
            let previous = remembered(state, &who.account_id, &client_id)
                .await?
                .unwrap_or_default();
            let granted = previous.union(&req.scope);
            state
                .store
                .save_consent(
                    &who.account_id,
                    &client_id,
                    &granted.to_string(),
                    state.now(),
                )
                .await?;
            let event = AuditEvent::new(AuditKind::ConsentGranted, state.now(), origin)
                .account(&who.account_id)
                .client(client_id.as_str())
                .reason(granted.to_string());
            state.store.audit(event).await?;
            let sid = session.as_ref().and_then(|s| s.sid.as_deref());
            issue::issue_code(state, &req, who, sid).await
        }
        Next::Refuse(r) => {
            let req = pending.finish(state).await?;
            Err(issue::refuse(state, &req, refusal(r)))
        }
        Next::Login(reason) => {
            let stage = Stage::AwaitingLogin { reason };
            Ok(stage_url(state, &pending.advance(state, stage).await?)?)
        }
        Next::Consent(_) => Ok(stage_url(state, &pending)?),
        Next::StepUp => {
            let wanted = second_factor::required(state, &pending.client, &pending.request);
            match step_up_stage(state, wanted, who.clone(), &signed_in.session_hash).await? {
                Some(stage) => Ok(stage_url(state, &pending.advance(state, stage).await?)?),
                None => refuse_pending(state, pending, second_factor::unmet()).await,
            }
        }
    }
}
