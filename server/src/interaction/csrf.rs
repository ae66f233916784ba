//! CSRF protection for every form (RFC 6749 §10.12, ASVS 3.5): a random binding cookie per
//! browser, and a form token that is an HMAC of that cookie, the form's purpose and the request
//! id. Checked in constant time; nothing stored on the server.

use actix_web::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::ct_eq;
use crate::state::AppState;
use crate::tokens::opaque;

pub fn cookie_name(state: &AppState) -> &'static str {
    if state.settings.secure_cookies() {
        "__Host-ostiary_csrf"
    } else {
        "ostiary_csrf"
    }
}

/// The browser's binding value, and a cookie to set when it had none.
pub fn binding(state: &AppState, existing: Option<&str>) -> (String, Option<Cookie<'static>>) {
    if let Some(v) = existing.filter(|v| v.len() == 43) {
        return (v.to_owned(), None);
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

pub fn token(state: &AppState, binding: &str, purpose: &str, request_id: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(&state.csrf_key).unwrap_or_else(|_| unreachable!());
    for part in [binding, purpose, request_id] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

pub fn verify(
    state: &AppState,
    binding: Option<&str>,
    purpose: &str,
    request_id: &str,
    presented: Option<&str>,
) -> bool {
    match (binding, presented) {
        (Some(b), Some(p)) => ct_eq(
            token(state, b, purpose, request_id).as_bytes(),
            p.as_bytes(),
        ),
        _ => false,
    }
}
