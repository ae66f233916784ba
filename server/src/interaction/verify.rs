//! GET|POST /verify, POST /verify/resend, GET /verify/link — the email-verification step of a
//! sign-in or sign-up: the 6-digit code from the message (or its link), in the browser that
//! started the sign-in; then `authz` continues the sign-in. 303 after every POST.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::csrf::{self, Purpose};
use super::{cookie, follow, see_other, signed_in, with_cookie};
use crate::audit::Origin;
use crate::authz::session;
use crate::authz::verify::{self, LinkOutcome, Verified, VerifyView};
use crate::error::PageError;
use crate::pages;
use crate::protocol::params::Params;
use crate::state::{AppState, State};

fn page(
    state: &AppState,
    req: &HttpRequest,
    view: &VerifyView,
    message: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let (token, new_cookie) = csrf::issue(state, req, Purpose::Verify, &view.request_id);
    let res = pages::render(
        status,
        &pages::VerifyPage {
            client_name: &view.client.name,
            request_id: &view.request_id,
            csrf: &token,
            email: &view.email,
            message,
            dev_outbox: state.mailer.holds_messages(),
        },
    );
    with_cookie(res, new_cookie)
}

fn answer(
    state: &AppState,
    req: &HttpRequest,
    result: Result<Verified, crate::authz::AuthorizeError>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(Verified::Show(view, message)) => {
            Ok(page(state, req, &view, message.as_deref(), status))
        }
        Ok(Verified::Continue(done)) => Ok(signed_in(done)),
        Ok(Verified::GoTo(url)) => Ok(see_other(&url)),
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
    let browser = csrf::browser_id(&state, &req);
    let previous = cookie(&req, session::cookie_name(&state));
    let result = verify::show(&state, id, &browser, previous.as_deref(), &Origin::of(&req)).await;
    answer(&state, &req, result, StatusCode::OK)
}

#[tracing::instrument(skip_all)]
pub async fn submit(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (form, id) = csrf::request_form(&state, &req, Purpose::Verify, &body)?;
    let code = form.get("code").ok().flatten().unwrap_or_default();
    let browser = csrf::browser_id(&state, &req);
    let previous = cookie(&req, session::cookie_name(&state));
    let origin = Origin::of(&req);
    let result =
        verify::submit_code(&state, &id, &browser, code, previous.as_deref(), &origin).await;
    answer(&state, &req, result, StatusCode::UNPROCESSABLE_ENTITY)
}

#[tracing::instrument(skip_all)]
pub async fn resend(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (_, id) = csrf::request_form(&state, &req, Purpose::Verify, &body)?;
    let browser = csrf::browser_id(&state, &req);
    let result = verify::resend(&state, &id, &browser, &Origin::of(&req)).await;
    answer(&state, &req, result, StatusCode::OK)
}

/// The link in the message: confirms the address, then back to the sign-in it belongs to.
#[tracing::instrument(skip_all)]
pub async fn link(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let token = params
        .get("token")
        .map_err(PageError::from)?
        .unwrap_or_default();
    match verify::confirm_link(&state, token, &Origin::of(&req)).await? {
        LinkOutcome::Confirmed {
            request_id: Some(id),
        } => {
            let mut url =
                url::Url::parse(&state.endpoint("/verify")).map_err(PageError::internal)?;
            url.query_pairs_mut().append_pair("req", &id);
            Ok(see_other(&url))
        }
        LinkOutcome::Confirmed { request_id: None } => Ok(pages::render(
            StatusCode::OK,
            &pages::NoticePage {
                title: "Email confirmed",
                message: "Your email address is confirmed. You can close this window.",
                link: None,
            },
        )),
        LinkOutcome::Invalid => Err(PageError::bad_request(
            "This link no longer works",
            "It was used already or has expired. Sign in again to get a new code.",
        )),
    }
}
