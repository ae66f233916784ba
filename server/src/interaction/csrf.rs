//! CSRF protection for every form (RFC 6749 §10.12, ASVS 3.5): a random binding cookie per
//! browser, and a form token that is an HMAC of that cookie, the form's typed purpose and what
//! the form is bound to (the request id, or the account). Checked in constant time, in one
//! place; nothing stored on the server.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::cookie;
use crate::error::PageError;
use crate::protocol::params::Params;
use crate::secret::ct_eq;
use crate::state::AppState;
use crate::tokens::opaque;

/// What a form does: a token made for one purpose is refused by every other form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The login page: the password form and the upstream buttons.
    Login,
    Consent,
    /// The account page: link and unlink, profile, password, email, deletion.
    Account,
    Logout,
    /// The sign-up form (bound to the request).
    SignUp,
    /// The code form of the email-verification step (bound to the request).
    Verify,
    /// "Forgot password?" (bound to the request, or to nothing).
    Forgot,
    /// The new-password form of a reset link (bound to the link).
    Reset,
    /// The second-factor step of a sign-in (bound to the request).
    SecondFactor,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Consent => "consent",
            Self::Account => "account",
            Self::Logout => "logout",
            Self::SignUp => "sign-up",
            Self::Verify => "verify",
            Self::Forgot => "forgot",
            Self::Reset => "reset",
            Self::SecondFactor => "second-factor",
        }
    }
}

pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-ostiary_csrf"
    } else {
        "ostiary_csrf"
    }
}

/// The browser's binding value, and a cookie to set when it had none.
pub fn binding(state: &AppState, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    if let Some(v) = cookie(req, cookie_name(state)).filter(|v| v.len() == 43) {
        return (v, None);
    }
    let v = opaque::random_token().expose().to_owned();
    let cookie = Cookie::build(cookie_name(state), v.clone())
        .path("/")
        .http_only(true)
        .secure(state.settings.secure_cookies())
        .same_site(SameSite::Lax)
        .finish();
    (v, Some(cookie))
}

/// A stable name for this browser (a hash of its binding cookie; empty without one), to bind a
/// step of a sign-in to the browser that started it.
pub fn browser_id(state: &AppState, req: &HttpRequest) -> String {
    cookie(req, cookie_name(state))
        .map(|v| opaque::hash(&format!("browser:{v}")))
        .unwrap_or_default()
}

fn token_for(state: &AppState, binding: &str, purpose: Purpose, bound_to: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&state.csrf_key).unwrap_or_else(|_| unreachable!());
    for part in [binding, purpose.label(), bound_to] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// A token for a form about to be shown, and the binding cookie to set if the browser has none.
pub fn issue(
    state: &AppState,
    req: &HttpRequest,
    purpose: Purpose,
    bound_to: &str,
) -> (String, Option<Cookie<'static>>) {
    let (b, new_cookie) = binding(state, req);
    (token_for(state, &b, purpose, bound_to), new_cookie)
}

/// A form of a step of pending authorization request `req` (its hidden `req` field), its CSRF
/// token checked for `purpose`: the form and the request id.
pub fn request_form(
    state: &AppState,
    req: &HttpRequest,
    purpose: Purpose,
    body: &[u8],
) -> Result<(Params, String), PageError> {
    let form = Params::parse(body).map_err(PageError::from)?;
    let id = form
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default()
        .to_owned();
    check(state, req, purpose, &id, &form)?;
    Ok((form, id))
}

/// Check the `csrf` field of a submitted form; the same page for every failure.
pub fn check(
    state: &AppState,
    req: &HttpRequest,
    purpose: Purpose,
    bound_to: &str,
    form: &Params,
) -> Result<(), PageError> {
    let binding = cookie(req, cookie_name(state));
    let ok = match (binding, form.get("csrf").ok().flatten()) {
        (Some(b), Some(p)) => ct_eq(
            token_for(state, &b, purpose, bound_to).as_bytes(),
            p.as_bytes(),
        ),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(PageError::bad_request(
            "Form expired",
            "The form could not be verified. Go back and try again.",
        ))
    }
}
