//! GET|POST /forgot and GET|POST /reset — password reset by email. /forgot answers the same
//! way, in the same time, whether or not the address has an account (the lookup and the
//! message happen after the answer, in the background); the link it sends works once, for 30
//! minutes. A reset revokes every session and refresh-token family of the account and clears
//! its lockout; the person then signs in through the normal pipeline (so a second factor is
//! still asked: a reset never signs anyone in by itself). 303 after every successful POST.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::csrf::{self, Purpose};
use super::{see_other, with_cookie};
use crate::accounts::email_proof::{self, LinkCheck};
use crate::accounts::policy::PasswordPolicy;
use crate::accounts::{lockout_key, normalise_email, password};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::authz::verify::mail;
use crate::email::messages;
use crate::error::PageError;
use crate::pages;
use crate::protocol::params::Params;
use crate::secret::Secret;
use crate::state::{AppState, State};
use crate::store::{PasswordChange, Proof, ProofPurpose};
use crate::tokens::opaque;

fn available(state: &AppState) -> Result<(), PageError> {
    if state.settings.login.password && state.settings.email.configured() {
        Ok(())
    } else {
        Err(PageError {
            status: StatusCode::NOT_FOUND,
            title: "Password reset is not available",
            message: "Ask the administrator of this service to reset your password.".into(),
            cause: None,
        })
    }
}

/// The pending request a reset started from: kept only if it is live.
async fn request_id(state: &AppState, raw: &str) -> String {
    match crate::authz::login_view(state, raw).await {
        Ok(v) => v.request_id,
        Err(_) => String::new(),
    }
}

fn forgot_page(
    state: &AppState,
    req: &HttpRequest,
    id: &str,
    email: &str,
    sent: bool,
) -> HttpResponse {
    let (token, new_cookie) = csrf::issue(state, req, Purpose::Forgot, id);
    let page = pages::ForgotPage {
        request_id: id,
        csrf: &token,
        email,
        sent,
        dev_outbox: state.mailer.holds_messages(),
    };
    with_cookie(pages::render(StatusCode::OK, &page), new_cookie)
}

#[tracing::instrument(skip_all)]
pub async fn show(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    available(&state)?;
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let id = request_id(&state, params.get("req").ok().flatten().unwrap_or_default()).await;
    Ok(forgot_page(&state, &req, &id, "", false))
}

#[tracing::instrument(skip_all)]
pub async fn submit(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    available(&state)?;
    let form = Params::parse(&body).map_err(PageError::from)?;
    let raw_id = form.get("req").ok().flatten().unwrap_or_default();
    csrf::check(&state, &req, Purpose::Forgot, raw_id, &form)?;
    let id = request_id(&state, raw_id).await;
    let email = normalise_email(form.get("email").ok().flatten().unwrap_or_default());
    let origin = Origin::of(&req);
    // After the answer: the page takes the same time whatever the address.
    if crate::accounts::valid_email(&email) {
        let (state, email, id) = (state.clone(), email.clone(), id.clone());
        tokio::spawn(async move {
            let request = Some(id.as_str()).filter(|i| !i.is_empty());
            match email_proof::send_reset(&mail(&state), &email, request).await {
                Ok(Some(account)) => {
                    let event = AuditEvent::new(AuditKind::ResetRequested, state.now(), &origin)
                        .account(&account.id);
                    if let Err(e) = state.store.audit(event).await {
                        tracing::warn!(error = %e, "recording a reset request failed");
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "queuing a reset link failed"),
            }
        });
    }
    Ok(forgot_page(&state, &req, &id, &email, true))
}

fn link_broken() -> PageError {
    PageError::bad_request(
        "This link no longer works",
        "It was used already or has expired. Ask for a new one from the sign-in page.",
    )
}

async fn proof_of(state: &AppState, token: &str) -> Result<Proof, PageError> {
    match email_proof::check_link(
        &state.store,
        token,
        ProofPurpose::ResetPassword,
        state.now(),
    )
    .await?
    {
        LinkCheck::Valid(p) => Ok(p),
        LinkCheck::Invalid => Err(link_broken()),
    }
}

fn reset_page(
    state: &AppState,
    req: &HttpRequest,
    token: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let (csrf, new_cookie) = csrf::issue(state, req, Purpose::Reset, &opaque::hash(token));
    let page = pages::ResetPage {
        token,
        csrf: &csrf,
        email,
        error,
        min_length: state.settings.passwords.min_length,
    };
    with_cookie(pages::render(status, &page), new_cookie)
}

#[tracing::instrument(skip_all)]
pub async fn show_reset(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    available(&state)?;
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let token = params.get("token").ok().flatten().unwrap_or_default();
    let proof = proof_of(&state, token).await?;
    let mut res = reset_page(&state, &req, token, &proof.email, None, StatusCode::OK);
    // The link's token must not leak onwards through the Referer header.
    res.headers_mut().insert(
        actix_web::http::header::REFERRER_POLICY,
        actix_web::http::header::HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

#[tracing::instrument(skip_all)]
pub async fn submit_reset(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    available(&state)?;
    let form = Params::parse(&body).map_err(PageError::from)?;
    let token = form.get("token").ok().flatten().unwrap_or_default();
    csrf::check(&state, &req, Purpose::Reset, &opaque::hash(token), &form)?;
    let proof = proof_of(&state, token).await?;
    let account = state
        .store
        .account(&proof.account_id)
        .await?
        .ok_or_else(link_broken)?;
    let new = Secret::new(form.get("password").ok().flatten().unwrap_or_default());
    let policy = PasswordPolicy::new(&state.settings.passwords);
    if let Err(w) = policy.check_for(&new, Some(&proof.email), account.name.as_deref()) {
        let message = w.to_string();
        return Ok(reset_page(
            &state,
            &req,
            token,
            &proof.email,
            Some(&message),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    let hash = password::hash_blocking(new)
        .await
        .map_err(PageError::internal)?;
    let change = PasswordChange {
        account_id: &account.id,
        hash,
        proof_id: Some(&proof.id),
        keep_session: None,
        lockout_key: Some(lockout_key(&proof.email)),
        reason: "password reset",
    };
    if !state.store.set_password(change, state.now()).await? {
        return Err(link_broken());
    }
    let origin = Origin::of(&req);
    let event =
        AuditEvent::new(AuditKind::ResetCompleted, state.now(), &origin).account(&account.id);
    state.store.audit(event).await?;
    notify_password_changed(&state, &proof.email).await;
    // Back to the sign-in it started from, to sign in with the new password.
    if let Some(id) = proof.request_id.as_deref()
        && crate::authz::login_view(&state, id).await.is_ok()
    {
        let mut url = url::Url::parse(&state.endpoint("/login")).map_err(PageError::internal)?;
        url.query_pairs_mut()
            .append_pair("req", id)
            .append_pair("reset", "1");
        return Ok(see_other(&url));
    }
    Ok(pages::render(
        StatusCode::OK,
        &pages::NoticePage {
            title: "Password changed",
            message: "Your new password is saved, and every other sign-in of your account has ended. Sign in again from the app you were using.",
            link: None,
        },
    ))
}

/// Tell the account's address its password changed (best effort: the change stands anyway).
pub async fn notify_password_changed(state: &AppState, email: &str) {
    let rendered = messages::PasswordChanged {
        site: state.mailer.site(),
    }
    .render();
    let result = match rendered {
        Ok(r) => {
            let m = state.mailer.outgoing(email, r, state.now() + 7 * 86_400);
            state
                .store
                .enqueue_email(&m, state.now())
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "queuing the password-changed notice failed");
    }
}
