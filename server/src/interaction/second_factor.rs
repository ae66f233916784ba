//! GET|POST /mfa, POST /mfa/continue — the second-factor step of a sign-in: a code of the
//! account's authenticator app or a recovery code; or, when a second factor is required and
//! there is none, enrolment (QR code, first code, recovery codes shown once). `authz` decides
//! when the step is needed and continues the sign-in after it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::csrf::{self, Purpose};
use super::{cookie, follow, see_other, signed_in, with_cookie};
use crate::audit::Origin;
use crate::authz::second_factor::{self, Caller, FactorPage, FactorView};
use crate::authz::session;
use crate::error::PageError;
use crate::pages::{self, FactorMode, PasskeyCeremony};
use crate::protocol::params::Params;
use crate::state::{AppState, State};

/// What names the calling browser, read once from the request: its binding cookie's id, its
/// session cookie and its remembered-browser cookie.
struct FromBrowser {
    browser: String,
    session: Option<String>,
    device: Option<String>,
}

impl FromBrowser {
    fn of(state: &AppState, req: &HttpRequest) -> Self {
        Self {
            browser: csrf::browser_id(state, req),
            session: cookie(req, session::cookie_name(state)),
            device: cookie(req, session::device_cookie_name(state)),
        }
    }

    fn caller(&self, remember: bool) -> Caller<'_> {
        Caller {
            browser: &self.browser,
            session_cookie: self.session.as_deref(),
            device_cookie: self.device.as_deref(),
            remember,
        }
    }
}

fn page(
    state: &AppState,
    req: &HttpRequest,
    view: &FactorView,
    mode: FactorMode<'_>,
    message: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let (token, new_cookie) = csrf::issue(state, req, Purpose::SecondFactor, &view.request_id);
    let res = pages::render(
        status,
        &pages::SecondFactorPage {
            client_name: &view.client.name,
            request_id: &view.request_id,
            csrf: &token,
            mode,
            message,
            account: false,
            remember_days: state.settings.mfa.remember_device_days,
        },
    );
    with_cookie(res, new_cookie)
}

fn answer(
    state: &AppState,
    req: &HttpRequest,
    result: Result<FactorPage, crate::authz::AuthorizeError>,
) -> Result<HttpResponse, PageError> {
    let refused = StatusCode::UNPROCESSABLE_ENTITY;
    match result {
        Ok(FactorPage::Ask(ask, message)) => {
            let status = if message.is_some() {
                refused
            } else {
                StatusCode::OK
            };
            let ceremony = ask.passkey.map(PasskeyCeremony::from);
            let mode = FactorMode::Ask {
                passkey: ceremony.as_ref(),
                passkey_only: ask.passkey_only,
            };
            Ok(page(
                state,
                req,
                &ask.view,
                mode,
                message.as_deref(),
                status,
            ))
        }
        Ok(FactorPage::Enrol(view, e, message)) => {
            let status = if message.is_some() {
                refused
            } else {
                StatusCode::OK
            };
            let mode = FactorMode::Enrol {
                qr_svg: &e.qr_svg,
                secret: &e.secret,
            };
            Ok(page(state, req, &view, mode, message.as_deref(), status))
        }
        Ok(FactorPage::RecoveryCodes(view, codes)) => {
            let mode = FactorMode::Codes(&codes);
            Ok(page(state, req, &view, mode, None, StatusCode::OK))
        }
        Ok(FactorPage::RecoveryUsed(view, left)) => {
            let mode = FactorMode::RecoveryUsed(left);
            Ok(page(state, req, &view, mode, None, StatusCode::OK))
        }
        Ok(FactorPage::Continue(done)) => Ok(signed_in(done)),
        Ok(FactorPage::GoTo(url)) => Ok(see_other(&url)),
        Err(e) => follow(e),
    }
}

#[tracing::instrument(skip_all)]
pub async fn show(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let id = params
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let from = FromBrowser::of(&state, &req);
    let caller = from.caller(false);
    let result = second_factor::show(&state, id, &caller, &Origin::of(&req)).await;
    answer(&state, &req, result)
}

#[tracing::instrument(skip_all)]
pub async fn submit(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (form, id) = csrf::request_form(&state, &req, Purpose::SecondFactor, &body)?;
    let code = form.get("code").ok().flatten().unwrap_or_default();
    let from = FromBrowser::of(&state, &req);
    let caller = from.caller(form.get("remember").ok().flatten() == Some("1"));
    let result = second_factor::submit(&state, &id, &caller, code, &Origin::of(&req)).await;
    answer(&state, &req, result)
}

#[tracing::instrument(skip_all)]
pub async fn proceed(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (_, id) = csrf::request_form(&state, &req, Purpose::SecondFactor, &body)?;
    let from = FromBrowser::of(&state, &req);
    let caller = from.caller(false);
    let result = second_factor::proceed(&state, &id, &caller, &Origin::of(&req)).await;
    answer(&state, &req, result)
}

#[tracing::instrument(skip_all)]
pub async fn passkey(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (form, id) = csrf::request_form(&state, &req, Purpose::SecondFactor, &body)?;
    let field = |k: &str| form.get(k).ok().flatten().unwrap_or_default().to_owned();
    let from = FromBrowser::of(&state, &req);
    let caller = from.caller(form.get("remember").ok().flatten() == Some("1"));
    let result = crate::authz::passkey::second_factor(
        &state,
        &id,
        &caller,
        &field("ceremony"),
        &field("credential"),
        &Origin::of(&req),
    )
    .await;
    answer(&state, &req, result)
}
