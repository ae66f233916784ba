//! GET|POST /register — the sign-up page (`[registration] enabled`), reached from the login
//! page with the pending authorization request kept. A new account starts unverified; the
//! next page asks for the code emailed to it, then the sign-in goes on to the app. A taken
//! address looks the same on the page (its owner gets an email instead). 303 after the POST.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::csrf::{self, Purpose};
use super::{follow, see_other, with_cookie};
use crate::accounts::policy::PasswordPolicy;
use crate::accounts::registration::{self, SignUp, SignedUp};
use crate::accounts::{AccountError, normalise_email};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::authz::{self, AuthenticatedSubject};
use crate::error::PageError;
use crate::pages;
use crate::protocol::params::Params;
use crate::protocol::vocab::Amr;
use crate::secret::Secret;
use crate::state::{AppState, State};

fn open(state: &AppState) -> Result<(), PageError> {
    if state.settings.registration.enabled && state.settings.login.password {
        Ok(())
    } else {
        Err(PageError {
            status: StatusCode::NOT_FOUND,
            title: "Sign-up is closed",
            message: "Accounts here are created by an administrator.".into(),
            cause: None,
        })
    }
}

struct Shown<'a> {
    email: &'a str,
    name: &'a str,
    error: Option<&'a str>,
}

fn page(
    state: &AppState,
    req: &HttpRequest,
    view: &authz::LoginView,
    shown: Shown<'_>,
    status: StatusCode,
) -> HttpResponse {
    let (token, new_cookie) = csrf::issue(state, req, Purpose::SignUp, &view.request_id);
    let res = pages::render(
        status,
        &pages::RegisterPage {
            client_name: &view.client.name,
            request_id: &view.request_id,
            csrf: &token,
            email: shown.email,
            name: shown.name,
            error: shown.error,
            min_length: state.settings.passwords.min_length,
        },
    );
    with_cookie(res, new_cookie)
}

#[tracing::instrument(skip_all)]
pub async fn show(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    open(&state)?;
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let id = params
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let view = authz::login_view(&state, id).await?;
    let hint = view.login_hint.clone().unwrap_or_default();
    let shown = Shown {
        email: &hint,
        name: "",
        error: None,
    };
    Ok(page(&state, &req, &view, shown, StatusCode::OK))
}

#[tracing::instrument(skip_all)]
pub async fn submit(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    open(&state)?;
    let form = Params::parse(&body).map_err(PageError::from)?;
    let id = form
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let view = authz::login_view(&state, id).await?;
    csrf::check(&state, &req, Purpose::SignUp, &view.request_id, &form)?;
    let field = |k: &str| form.get(k).ok().flatten().unwrap_or_default();
    let email = normalise_email(field("email"));
    let name = field("name").trim().chars().take(200).collect::<String>();
    let password = Secret::new(field("password"));
    let policy = PasswordPolicy::new(&state.settings.passwords);
    let mail = authz::verify::mail(&state);
    let sign_up = SignUp {
        email: &email,
        name: Some(name.clone()),
        password: &password,
    };
    let outcome = registration::sign_up(
        &mail,
        &state.settings.registration,
        &policy,
        sign_up,
        Some(&view.request_id),
    )
    .await;
    let refused = |message: String| {
        let shown = Shown {
            email: &email,
            name: &name,
            error: Some(&message),
        };
        Ok(page(
            &state,
            &req,
            &view,
            shown,
            StatusCode::UNPROCESSABLE_ENTITY,
        ))
    };
    let origin = Origin::of(&req);
    let who = match outcome {
        Ok(SignedUp::Created(account)) => {
            let event = AuditEvent::new(AuditKind::SignedUp, state.now(), &origin)
                .account(&account.id)
                .client(view.client.id.as_str());
            state.store.audit(event).await?;
            let sent = AuditEvent::new(AuditKind::VerificationSent, state.now(), &origin)
                .account(&account.id)
                .client(view.client.id.as_str());
            state.store.audit(sent).await?;
            Some(AuthenticatedSubject {
                account_id: account.id,
                auth_time: state.now(),
                amr: vec![Amr::Pwd],
                idp: None,
            })
        }
        Ok(SignedUp::Taken { .. }) => None,
        Err(AccountError::BadEmail(_)) => return refused("Enter a valid email address.".into()),
        Err(AccountError::WeakPassword(w)) => return refused(w.to_string()),
        Err(AccountError::DomainNotAllowed) => {
            return refused("Sign-up is not open to addresses at this domain.".into());
        }
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(PageError::internal(e)),
    };
    let browser = csrf::browser_id(&state, &req);
    match authz::verify::signed_up(&state, &view.request_id, who, &email, &browser, &origin).await {
        Ok(next) => Ok(see_other(&next)),
        Err(e) => follow(e),
    }
}
