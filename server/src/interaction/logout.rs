//! GET|POST /logout — OpenID Connect RP-Initiated Logout 1.0 §2-§3. The session ends at once
//! only when a valid `id_token_hint` names the person signed in here (or nobody is signed in);
//! otherwise the person is asked to confirm on a CSRF-protected form (ASVS 10.6.2: no forced
//! logout). Either way the browser returns only to a `post_logout_redirect_uri` registered
//! exactly for the hint's (or `client_id`'s) client, with `state`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::csrf::{self, Purpose};
use super::{cookie, see_other, with_cookie};
use crate::authz::session;
use crate::error::PageError;
use crate::pages;
use crate::protocol::params::Params;
use crate::state::{AppState, State};
use crate::tokens::id_token;

/// What a logout request asks for, once checked.
struct LogoutRequest {
    /// The `sub` of a valid hint.
    hint_subject: Option<String>,
    client_id: Option<String>,
    /// The registered post-logout redirect URI, as given (without `state`).
    redirect_uri: Option<String>,
    state: Option<String>,
}

impl LogoutRequest {
    /// Where the browser goes once signed out: the registered URI with `state`.
    fn destination(&self) -> Option<url::Url> {
        let mut url = url::Url::parse(self.redirect_uri.as_deref()?).ok()?;
        if let Some(s) = &self.state {
            url.query_pairs_mut().append_pair("state", s);
        }
        Some(url)
    }
}

fn check(state: &AppState, p: &Params) -> Result<LogoutRequest, PageError> {
    let bad = |m: &str| PageError::bad_request("Cannot sign out", m.to_owned());
    let hint = p.get("id_token_hint").map_err(PageError::from)?;
    let client_param = p.get("client_id").map_err(PageError::from)?;
    let mut client_id = client_param.map(str::to_owned);
    let mut hint_subject = None;
    if let Some(h) = hint {
        let verified = id_token::verify_hint(&state.keys.current(), h, state.issuer())
            .ok()
            .filter(|v| v.audience.len() == 1)
            .ok_or_else(|| bad("The id_token_hint is not a valid ID token from this provider."))?;
        let aud = verified.audience[0].clone();
        if client_param.is_some_and(|c| c != aud) {
            return Err(bad("client_id does not match the id_token_hint."));
        }
        client_id = Some(aud);
        hint_subject = Some(verified.subject);
    }
    let redirect_uri = p.get("post_logout_redirect_uri").map_err(PageError::from)?;
    if let Some(uri) = redirect_uri {
        let client = client_id
            .as_deref()
            .and_then(|id| state.clients.get(id))
            .ok_or_else(|| bad("post_logout_redirect_uri needs an id_token_hint or client_id."))?;
        if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
            return Err(bad(
                "The post_logout_redirect_uri is not registered for this application.",
            ));
        }
        url::Url::parse(uri).map_err(|_| bad("The post_logout_redirect_uri is malformed."))?;
    }
    let st = p.get("state").map_err(PageError::from)?;
    if st.is_some_and(|s| s.len() > 2048) {
        return Err(bad("state is too long."));
    }
    Ok(LogoutRequest {
        hint_subject,
        client_id,
        redirect_uri: redirect_uri.map(str::to_owned),
        state: st.map(str::to_owned),
    })
}

/// End the browser's session and go where the request says (or show "signed out").
async fn sign_out(
    state: &AppState,
    req: &HttpRequest,
    logout: &LogoutRequest,
) -> Result<HttpResponse, PageError> {
    let current = cookie(req, session::cookie_name(state));
    let clear = session::end(state, current.as_deref()).await?;
    let res = match logout.destination() {
        Some(url) => see_other(&url),
        None => pages::render(StatusCode::OK, &pages::LoggedOutPage),
    };
    Ok(with_cookie(res, Some(clear)))
}

#[tracing::instrument(skip_all)]
pub async fn end_session(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let raw: &[u8] = if req.method() == actix_web::http::Method::POST {
        &body
    } else {
        req.query_string().as_bytes()
    };
    let params = Params::parse(raw).map_err(PageError::from)?;
    let logout = check(&state, &params)?;
    let current = cookie(&req, session::cookie_name(&state));
    let session = session::load(&state, current.as_deref()).await?;
    // The hint names the person signed in here (or nobody is): no one to ask.
    let confirmed = match (&session, &logout.hint_subject) {
        (None, _) => true,
        (Some(s), Some(sub)) => s.account_id.as_str() == sub,
        (Some(_), None) => false,
    };
    if confirmed {
        return sign_out(&state, &req, &logout).await;
    }
    let (token, new_cookie) = csrf::issue(&state, &req, Purpose::Logout, "");
    let page = pages::LogoutPage {
        csrf: &token,
        client_id: logout.client_id.as_deref().unwrap_or(""),
        post_logout_redirect_uri: logout.redirect_uri.as_deref().unwrap_or(""),
        state: logout.state.as_deref().unwrap_or(""),
    };
    Ok(with_cookie(
        pages::render(StatusCode::OK, &page),
        new_cookie,
    ))
}

/// POST /logout/confirm — the person confirmed on our page; the redirect is checked again.
#[tracing::instrument(skip_all)]
pub async fn confirm(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    csrf::check(&state, &req, Purpose::Logout, "", &form)?;
    let logout = check(&state, &form)?;
    sign_out(&state, &req, &logout).await
}
