//! GET|POST /logout — OpenID Connect RP-Initiated Logout 1.0 §2-§3. With a valid
//! `id_token_hint` the session ends at once and the browser returns to a
//! `post_logout_redirect_uri` registered exactly for that client, with `state`. Without one the
//! user is asked to confirm (ASVS 10.6.2: no forced logout).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::PageError;
use crate::interaction::{cookie, csrf, pages, session};
use crate::oauth::authorize::see_other;
use crate::oauth::params::Params;
use crate::state::AppState;
use crate::tokens::id_token;

const PURPOSE: &str = "logout";

/// What a logout request asks for, once checked.
struct LogoutRequest {
    /// The hint was valid: no confirmation needed.
    confirmed: bool,
    redirect: Option<url::Url>,
}

fn check(state: &AppState, p: &Params) -> Result<LogoutRequest, PageError> {
    let bad = |m: &str| PageError::bad_request("Cannot sign out", m.to_owned());
    let hint = p.get("id_token_hint").map_err(PageError::from)?;
    let client_param = p.get("client_id").map_err(PageError::from)?;
    let mut client_id = client_param.map(str::to_owned);
    if let Some(h) = hint {
        let (_, aud) = id_token::verify_hint(&state.keys.current(), h, state.issuer())
            .map_err(|_| bad("The id_token_hint is not a valid ID token from this provider."))?;
        if client_param.is_some_and(|c| c != aud) {
            return Err(bad("client_id does not match the id_token_hint."));
        }
        client_id = Some(aud);
    }
    let mut redirect = None;
    if let Some(uri) = p.get("post_logout_redirect_uri").map_err(PageError::from)? {
        let client = client_id
            .as_deref()
            .and_then(|id| state.clients.get(id))
            .ok_or_else(|| bad("post_logout_redirect_uri needs an id_token_hint or client_id."))?;
        if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
            return Err(bad(
                "The post_logout_redirect_uri is not registered for this application.",
            ));
        }
        let mut url =
            url::Url::parse(uri).map_err(|_| bad("The post_logout_redirect_uri is malformed."))?;
        if let Some(s) = p.get("state").map_err(PageError::from)? {
            url.query_pairs_mut().append_pair("state", s);
        }
        redirect = Some(url);
    }
    Ok(LogoutRequest {
        confirmed: hint.is_some(),
        redirect,
    })
}

#[tracing::instrument(skip_all)]
pub async fn end_session(
    state: web::Data<AppState>,
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
    if logout.confirmed {
        let clear = session::end(&state, current.as_deref()).await?;
        let mut res = match &logout.redirect {
            Some(url) => see_other(url),
            None => pages::render(StatusCode::OK, &pages::LoggedOutPage),
        };
        let _ = res.add_cookie(&clear);
        return Ok(res);
    }
    let signed_in = session::load(&state, current.as_deref()).await?.is_some();
    let (binding, new_cookie) =
        csrf::binding(&state, cookie(&req, csrf::cookie_name(&state)).as_deref());
    let token = csrf::token(&state, &binding, PURPOSE, "");
    let mut res = pages::render(
        StatusCode::OK,
        &pages::LogoutPage {
            csrf: &token,
            signed_in,
        },
    );
    if let Some(c) = new_cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

/// POST /logout/confirm — the user confirmed on our page.
#[tracing::instrument(skip_all)]
pub async fn confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let binding = cookie(&req, csrf::cookie_name(&state));
    if !csrf::verify(
        &state,
        binding.as_deref(),
        PURPOSE,
        "",
        form.get("csrf").ok().flatten(),
    ) {
        return Err(PageError::bad_request(
            "Form expired",
            "The form could not be verified. Go back and try again.",
        ));
    }
    let clear = session::end(
        &state,
        cookie(&req, session::cookie_name(&state)).as_deref(),
    )
    .await?;
    let mut res = pages::render(StatusCode::OK, &pages::LoggedOutPage);
    let _ = res.add_cookie(&clear);
    Ok(res)
}
