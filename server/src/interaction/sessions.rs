//! POST /account/sessions/end and /account/sessions/end-all — the signed-in person's browser
//! sessions (ASVS 7.5.2: users can view and end their own sessions): end one, or sign out
//! everywhere (every browser session and every refresh-token family of the account, this
//! browser's included). The list itself is on /account.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::account::{account_url, checked_form};
use super::self_service::{audit, load};
use super::{see_other, time_label};
use crate::audit::AuditKind;
use crate::authz::session;
use crate::error::PageError;
use crate::pages;
use crate::state::{AppState, State};
use crate::store::BrowserSession;

/// "Firefox on Linux" from a user agent; "Unknown browser" when it says nothing usable.
pub fn device_label(user_agent: Option<&str>) -> String {
    let parsed = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua));
    let known = |v: &str| !v.is_empty() && v != "UNKNOWN";
    match parsed {
        Some(r) if known(r.name) && known(r.os) => format!("{} on {}", r.name, r.os),
        Some(r) if known(r.name) => r.name.to_owned(),
        _ => "Unknown browser".into(),
    }
}

/// The account's live browser sessions, most recently used first, `s` marked as this browser.
pub async fn rows(
    state: &AppState,
    s: &BrowserSession,
) -> Result<Vec<pages::SessionRow>, PageError> {
    let name_of = |id: &str| state.upstreams.get(id).map(|c| c.display_name().to_owned());
    let sessions = state.store.sessions_of(&s.account_id, state.now()).await?;
    Ok(sessions
        .into_iter()
        .map(|x| {
            let mut how: String = x
                .amr
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(" + ");
            if let Some(n) = x.idp.as_ref().and_then(|i| name_of(i.as_str())) {
                how = format!("{how} ({n})");
            }
            pages::SessionRow {
                this_device: x.id_hash == s.id_hash,
                device: device_label(x.user_agent.as_deref()),
                ip: x.ip.clone().unwrap_or_else(|| "-".into()),
                started: time_label(x.created_at),
                last_seen: time_label(x.last_seen_at),
                how,
                id: x.id_hash,
            }
        })
        .collect())
}

/// End one session of the account (another browser's, or this one's).
#[tracing::instrument(skip_all)]
pub async fn end(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    let which = form.get("session").ok().flatten().unwrap_or_default();
    if state
        .store
        .end_session_of(&account.id, which, "signed out on /account", state.now())
        .await?
    {
        let event = audit(&state, &req, AuditKind::SessionEnded, &account)
            .reason("signed out on the account page");
        state.store.audit(event).await?;
    }
    if which == s.id_hash {
        return Ok(signed_out_page(
            &state,
            "You are signed out in this browser.",
        ));
    }
    Ok(see_other(&account_url(
        &state,
        Some(("done", "session-ended")),
    )?))
}

/// Sign out everywhere: every session and refresh-token family of the account.
#[tracing::instrument(skip_all)]
pub async fn end_all(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, _) = checked_form(&state, &req, &body).await?;
    let account = load(&state, &s).await?;
    state
        .store
        .sign_out_everywhere(&account.id, state.now())
        .await?;
    let event = audit(&state, &req, AuditKind::SignedOutEverywhere, &account);
    state.store.audit(event).await?;
    Ok(signed_out_page(
        &state,
        "You are signed out everywhere: every browser, and every app that had access through a refresh token.",
    ))
}

fn signed_out_page(state: &AppState, message: &str) -> HttpResponse {
    let mut res = pages::render(
        StatusCode::OK,
        &pages::NoticePage {
            title: "Signed out",
            message,
            link: None,
        },
    );
    let mut gone = Cookie::build(session::cookie_name(state), "")
        .path("/")
        .finish();
    gone.make_removal();
    let _ = res.add_cookie(&gone);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_reads_as_a_browser_and_a_system() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device_label(Some(firefox)), "Firefox on Linux");
        assert_eq!(device_label(Some("curl/8.5.0")), "HTTP Library");
        assert_eq!(device_label(None), "Unknown browser");
    }
}
