//! GET|POST /login — the hosted sign-in page: a button per configured upstream, in config
//! order, and the local-account form unless `[login] password = false`. The same message, in
//! the same time, for an unknown email and a wrong password; a correct password is reported to
//! `authz::complete_sign_in`; 303 after the POST (RFC 9700 §4.12).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::csrf::{self, Purpose};
use super::{record, with_cookie};
use crate::accounts::throttle::Throttle;
use crate::accounts::{self, PasswordCheck, normalise_email};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::authz::{self, AuthenticatedSubject};
use crate::error::PageError;
use crate::pages;
use crate::protocol::params::Params;
use crate::protocol::vocab::Amr;
use crate::secret::Secret;
use crate::state::{AppState, State};

const FAILED: &str = "Incorrect email or password.";

/// What the form shows besides its fields.
#[derive(Default)]
struct Shown<'a> {
    email: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

fn login_page(
    state: &AppState,
    req: &HttpRequest,
    view: &authz::LoginView,
    shown: Shown<'_>,
    status: StatusCode,
) -> HttpResponse {
    let (token, new_cookie) = csrf::issue(state, req, Purpose::Login, &view.request_id);
    let passkey = state.passkeys.as_ref().and_then(|rp| {
        rp.begin_sign_in(&state.factor_keys, &view.request_id, state.now())
            .map_err(|e| tracing::warn!(error = %e, "a passkey sign-in could not be offered"))
            .ok()
            .map(pages::PasskeyCeremony::from)
    });
    let res = pages::render(
        status,
        &pages::LoginPage {
            client_name: &view.client.name,
            request_id: &view.request_id,
            csrf: &token,
            email: shown.email,
            error: shown.error,
            notice: shown.notice,
            password: state.settings.login.password,
            upstreams: state
                .upstreams
                .all()
                .iter()
                .map(|c| pages::UpstreamButton::of(c.as_ref()))
                .collect(),
            fakes: state.settings.dev.fake_upstreams,
            registration: state.settings.registration.enabled,
            reset: state.settings.email.configured(),
            passkey,
        },
    );
    with_cookie(res, new_cookie)
}

#[tracing::instrument(skip_all)]
pub async fn show(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let id = params
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let view = authz::login_view(&state, id).await?;
    // Only a configured upstream's name is shown (never the query's text).
    let cancelled = params
        .get("cancelled")
        .ok()
        .flatten()
        .and_then(|u| state.upstreams.get(u));
    // Social-only with a single upstream: no page to show, go straight to it.
    if let ([only], false, None) = (
        state.upstreams.all(),
        state.settings.login.password,
        &cancelled,
    ) {
        let only = only.clone();
        return super::upstream::begin(
            &state,
            &req,
            &only,
            super::upstream::Purpose::SignIn {
                request_id: view.request_id.clone(),
            },
        )
        .await;
    }
    let reset = params.get("reset").ok().flatten() == Some("1");
    let notice = match cancelled {
        Some(c) => Some(format!(
            "Signing in with {} was cancelled.",
            c.display_name()
        )),
        None if reset => Some("Your password was changed. Sign in with the new one.".into()),
        None => None,
    };
    let hint = view.login_hint.clone().unwrap_or_default();
    Ok(login_page(
        &state,
        &req,
        &view,
        Shown {
            email: &hint,
            error: None,
            notice: notice.as_deref(),
        },
        StatusCode::OK,
    ))
}

#[tracing::instrument(skip_all)]
pub async fn submit(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let id = form
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let view = authz::login_view(&state, id).await?;
    if !state.settings.login.password {
        return Err(PageError::bad_request(
            "Password sign-in is off",
            "This provider signs people in only through the providers on the sign-in page.",
        ));
    }
    csrf::check(&state, &req, Purpose::Login, &view.request_id, &form)?;
    let email = normalise_email(form.get("email").ok().flatten().unwrap_or_default());
    let password = Secret::new(form.get("password").ok().flatten().unwrap_or_default());
    let now = state.now();
    let throttle = Throttle::from_settings(&state.settings.login);
    let check = accounts::check_password(
        &state.store,
        &state.passwords,
        &throttle,
        &state.login_gate,
        &email,
        password,
        now,
    )
    .await
    .map_err(|e| match e {
        accounts::AccountError::Store(s) => PageError::from(s),
        other => PageError::internal(other),
    })?;
    let account = match check {
        PasswordCheck::Accepted(a) => a,
        // A disabled account gets the same answer as a wrong password.
        refused => return refused_page(&state, &req, &view, &email, refused).await,
    };
    let who = AuthenticatedSubject {
        account_id: account.id,
        auth_time: now,
        amr: vec![Amr::Pwd],
        idp: None,
    };
    super::finish_sign_in(&state, &req, view, who).await
}

/// POST /login/passkey — a passkey answered the login page's ceremony: a passwordless sign-in.
#[tracing::instrument(skip_all)]
pub async fn passkey(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let id = form
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let view = authz::login_view(&state, id).await?;
    csrf::check(&state, &req, Purpose::Login, &view.request_id, &form)?;
    let field = |k: &str| form.get(k).ok().flatten().unwrap_or_default();
    let origin = Origin::of(&req);
    let outcome = authz::passkey::sign_in(
        &state,
        &view.request_id,
        field("ceremony"),
        field("credential"),
        &origin,
    )
    .await?;
    match outcome {
        Ok(who) => super::finish_sign_in(&state, &req, view, who).await,
        Err(message) => Ok(login_page(
            &state,
            &req,
            &view,
            Shown {
                email: "",
                error: Some(message),
                notice: None,
            },
            StatusCode::UNAUTHORIZED,
        )),
    }
}

/// The same answer whether the email is unknown, the password wrong, or the email locked:
/// nothing to enumerate. The attempt goes to the audit log.
async fn refused_page(
    state: &AppState,
    req: &HttpRequest,
    view: &authz::LoginView,
    email: &str,
    refused: PasswordCheck,
) -> Result<HttpResponse, PageError> {
    let origin = Origin::of(req);
    let event = |kind| {
        AuditEvent::new(kind, state.now(), &origin)
            .client(view.client.id.0.as_str())
            .email(email)
    };
    let failed = match refused {
        PasswordCheck::Locked => event(AuditKind::LoginFailed).reason("locked"),
        _ => event(AuditKind::LoginFailed),
    };
    record(state, failed).await?;
    if let PasswordCheck::Refused { locked: true } = refused {
        record(state, event(AuditKind::LoginLocked)).await?;
    }
    Ok(login_page(
        state,
        req,
        view,
        Shown {
            email,
            error: Some(FAILED),
            notice: None,
        },
        StatusCode::UNAUTHORIZED,
    ))
}
