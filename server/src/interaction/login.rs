//! GET|POST /login — the hosted sign-in page: a button per configured upstream, in config
//! order, and the local-account form unless `[login] password = false`. The same message, in
//! the same time, for an unknown email and a wrong password; a new session id at every
//! sign-in; 303 after the POST (RFC 9700 §4.12).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{audit, cookie, csrf, flow, pages, session};
use crate::accounts::throttle::Throttle;
use crate::accounts::{self, PasswordCheck, normalise_email};
use crate::error::PageError;
use crate::oauth::authorize::see_other;
use crate::oauth::params::Params;
use crate::secret::Secret;
use crate::state::AppState;

/// CSRF purpose of the login page's forms (password and upstream buttons).
pub const PURPOSE: &str = "login";
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
    id: &str,
    client_name: &str,
    shown: Shown<'_>,
    status: StatusCode,
) -> HttpResponse {
    let (binding, new_cookie) =
        csrf::binding(state, cookie(req, csrf::cookie_name(state)).as_deref());
    let token = csrf::token(state, &binding, PURPOSE, id);
    let mut res = pages::render(
        status,
        &pages::LoginPage {
            client_name,
            request_id: id,
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
        },
    );
    if let Some(c) = new_cookie {
        let _ = res.add_cookie(&c);
    }
    res
}

#[tracing::instrument(skip_all)]
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let id = params
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let (_, client, ar) = flow::pending(&state, id).await?;
    // Social-only with a single upstream: no page to show, go straight to it.
    if let ([only], false) = (state.upstreams.all(), state.settings.login.password)
        && !params.has("cancelled")
    {
        let only = only.clone();
        return super::upstream::begin(
            &state,
            &req,
            &only,
            super::upstream::Purpose::SignIn {
                request_id: id.to_owned(),
            },
        )
        .await;
    }
    let notice = params
        .get("cancelled")
        .ok()
        .flatten()
        .and_then(|u| state.upstreams.get(u))
        .map(|c| format!("Signing in with {} was cancelled.", c.display_name()));
    let hint = ar.login_hint.as_deref().unwrap_or("");
    Ok(login_page(
        &state,
        &req,
        id,
        &client.name,
        Shown {
            email: hint,
            error: None,
            notice: notice.as_deref(),
        },
        StatusCode::OK,
    ))
}

#[tracing::instrument(skip_all)]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let id = form
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default()
        .to_owned();
    let (_, client, _) = flow::pending(&state, &id).await?;
    if !state.settings.login.password {
        return Err(PageError::bad_request(
            "Password sign-in is off",
            "This provider signs people in only through the providers on the sign-in page.",
        ));
    }
    let binding = cookie(&req, csrf::cookie_name(&state));
    if !csrf::verify(
        &state,
        binding.as_deref(),
        PURPOSE,
        &id,
        form.get("csrf").ok().flatten(),
    ) {
        return Err(PageError::bad_request(
            "Form expired",
            "The form could not be verified. Go back and try again.",
        ));
    }
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
        refused => {
            let detail = match refused {
                PasswordCheck::Locked => format!("email={email:?} locked"),
                _ => format!("email={email:?}"),
            };
            audit(&state, "login_failed", None, Some(&client.id.0), detail).await?;
            if let PasswordCheck::Refused { locked: true } = refused {
                audit(
                    &state,
                    "login_locked",
                    None,
                    Some(&client.id.0),
                    format!("email={email:?}"),
                )
                .await?;
            }
            // The same answer whether the email is unknown, the password wrong, or the email
            // locked: nothing to enumerate.
            return Ok(login_page(
                &state,
                &req,
                &id,
                &client.name,
                Shown {
                    email: &email,
                    error: Some(FAILED),
                    notice: None,
                },
                StatusCode::UNAUTHORIZED,
            ));
        }
    };
    let old = cookie(&req, session::cookie_name(&state));
    let session_cookie = session::start(&state, &account.id, "pwd", None, old.as_deref()).await?;
    state
        .store
        .mark_auth_request_authenticated(&id, &crate::tokens::opaque::hash(session_cookie.value()))
        .await?;
    audit(
        &state,
        "login_succeeded",
        Some(&account.id),
        Some(&client.id.0),
        "amr=pwd".into(),
    )
    .await?;
    let mut next =
        url::Url::parse(&state.endpoint("/authorize/resume")).map_err(PageError::internal)?;
    next.query_pairs_mut().append_pair("req", &id);
    let mut res = see_other(&next);
    let _ = res.add_cookie(&session_cookie);
    Ok(res)
}

/// GET /authorize/resume — continue a pending request after sign-in.
#[tracing::instrument(skip_all)]
pub async fn resume(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let id = Params::parse(req.query_string().as_bytes())
        .ok()
        .and_then(|p| p.get("req").ok().flatten().map(str::to_owned))
        .unwrap_or_default();
    let session_cookie = cookie(&req, session::cookie_name(&state));
    match flow::resume(&state, &id, session_cookie.as_deref()).await {
        Ok(step) => step.into_response(&state),
        Err(e) => e.into_response(&state),
    }
}
