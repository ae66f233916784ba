//! People and browsers for the tests: a second person (Bob), an ID token of one's own, a
//! browser signed in with remembered consent, and silent authorization.

use crate::helpers::*;
use ostiary::clock::Clock;
use serde_json::Value;

pub const BOB: &str = "bob@example.com";

pub async fn add_bob(app: &TestApp) -> String {
    ostiary::accounts::create(
        &app.app_state.store,
        BOB,
        None,
        &ostiary::secret::Secret::new(PASSWORD),
        app.clock.now(),
    )
    .await
    .unwrap()
    .id
    .into_string()
}

/// An ID token for `email` (signed in with a browser of its own) from `webapp`.
pub async fn id_token_of(app: &TestApp, email: &str) -> String {
    let b = browser();
    let p = AuthorizeParams::new("webapp", "openid");
    let back = app
        .interact(&b, app.authorize_url(&p), email, PASSWORD, Consent::Allow)
        .await;
    let code = query(&back, "code").unwrap();
    let body: Value = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await
        .json()
        .await
        .unwrap();
    body["id_token"].as_str().unwrap().to_owned()
}

pub fn authorize_with(app: &TestApp, extra: Vec<(&str, &str)>) -> url::Url {
    app.authorize_url(&AuthorizeParams {
        extra,
        ..AuthorizeParams::new("webapp", "openid")
    })
}

/// Alice signs in and consents once (her browser has a session and remembered consent).
pub async fn alice_signed_in(app: &TestApp) {
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
}

/// Whether the browser gets a code silently (prompt=none): it is still signed in.
pub async fn silent_code(app: &TestApp) -> bool {
    let res = app
        .browser
        .get(authorize_with(app, vec![("prompt", "none")]))
        .send()
        .await
        .unwrap();
    query(&location(&res), "code").is_some()
}

/// The error a silent request (prompt=none) from `browser` is answered with, if any
/// (`login_required` once that browser has no session).
pub async fn silent_error(app: &TestApp, browser: &reqwest::Client) -> Option<String> {
    let res = browser
        .get(authorize_with(app, vec![("prompt", "none")]))
        .send()
        .await
        .unwrap();
    query(&location(&res), "error")
}

/// GET /authorize as `webapp` with these extra parameters, in Alice's browser.
pub async fn authorize_as_alice(app: &TestApp, extra: Vec<(&str, &str)>) -> reqwest::Response {
    app.browser
        .get(authorize_with(app, extra))
        .send()
        .await
        .unwrap()
}

/// The consent page's URL for pending request `id`.
pub fn consent_url(app: &TestApp, id: &str) -> url::Url {
    let mut url = url::Url::parse(&app.url("/consent")).unwrap();
    url.query_pairs_mut().append_pair("req", id);
    url
}
