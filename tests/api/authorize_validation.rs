//! /authorize checks: errors before the client and redirect URI are trusted are pages, later
//! ones redirect with error, state and iss (RFC 6749 §4.1.2.1, RFC 9207).

use crate::helpers::*;

async fn page_error(app: &TestApp, url: url::Url) -> String {
    let res = app.browser.get(url).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.headers().get("location").is_none(),
        "must never redirect"
    );
    res.text().await.unwrap()
}

async fn redirect_error(app: &TestApp, url: url::Url) -> url::Url {
    let res = app.browser.get(url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(loc.as_str().starts_with(REDIRECT), "{loc}");
    assert_eq!(query(&loc, "iss").as_deref(), Some(app.address.as_str()));
    assert_eq!(query(&loc, "state").as_deref(), Some("st-123"));
    assert!(query(&loc, "code").is_none());
    loc
}

fn with_redirect(app: &TestApp, redirect: &str) -> url::Url {
    let mut url = url::Url::parse(&app.url("/authorize")).unwrap();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "webapp")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid");
    url
}

#[tokio::test]
async fn an_unregistered_redirect_uri_shows_an_error_page_and_never_redirects() {
    let app = spawn_app().await;
    for bad in [
        "http://127.0.0.1:4201/cb/",
        "http://127.0.0.1:4201/cb?x=1",
        "http://evil.example/cb",
        "http://127.0.0.1:4202/cb",
        "not a url",
    ] {
        let html = page_error(&app, with_redirect(&app, bad)).await;
        assert!(html.contains("not registered"), "{bad}: {html}");
    }
}

#[tokio::test]
async fn a_missing_or_unknown_client_id_shows_an_error_page() {
    let app = spawn_app().await;
    let mut url = app.authorize_url(&AuthorizeParams::new("nobody", "openid"));
    page_error(&app, url.clone()).await;
    url.set_query(Some(
        "response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A4201%2Fcb&scope=openid",
    ));
    page_error(&app, url).await;
}

#[tokio::test]
async fn a_missing_redirect_uri_shows_an_error_page() {
    let app = spawn_app().await;
    let url =
        url::Url::parse(&app.url("/authorize?response_type=code&client_id=webapp&scope=openid"))
            .unwrap();
    page_error(&app, url).await;
}

#[tokio::test]
async fn a_public_client_without_pkce_is_sent_back_with_invalid_request() {
    let app = spawn_app().await;
    let loc = redirect_error(
        &app,
        app.authorize_url(&AuthorizeParams::new("spa", "openid")),
    )
    .await;
    assert_eq!(query(&loc, "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn the_plain_pkce_method_is_refused() {
    let app = spawn_app().await;
    let p = AuthorizeParams {
        extra: vec![
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "plain"),
        ],
        ..AuthorizeParams::new("spa", "openid")
    };
    let loc = redirect_error(&app, app.authorize_url(&p)).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn response_types_other_than_code_are_unsupported() {
    let app = spawn_app().await;
    for rt in ["token", "id_token", "code id_token"] {
        let mut url = app.authorize_url(&AuthorizeParams::new("webapp", "openid"));
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "response_type")
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(pairs)
            .append_pair("response_type", rt);
        let loc = redirect_error(&app, url).await;
        assert_eq!(
            query(&loc, "error").as_deref(),
            Some("unsupported_response_type"),
            "{rt}"
        );
    }
}

#[tokio::test]
async fn a_scope_the_client_may_not_ask_for_is_invalid_scope() {
    let app = spawn_app().await;
    let loc = redirect_error(
        &app,
        app.authorize_url(&AuthorizeParams::new("webapp", "openid admin")),
    )
    .await;
    assert_eq!(query(&loc, "error").as_deref(), Some("invalid_scope"));
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_request() {
    let app = spawn_app().await;
    let mut url = app.authorize_url(&AuthorizeParams::new("webapp", "openid"));
    url.query_pairs_mut().append_pair("nonce", "again");
    let loc = redirect_error(&app, url).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn prompt_none_without_a_session_returns_login_required() {
    let app = spawn_app().await;
    let p = AuthorizeParams {
        extra: vec![("prompt", "none")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let loc = redirect_error(&app, app.authorize_url(&p)).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn prompt_none_without_consent_returns_consent_required() {
    let app = spawn_app().await;
    // Sign in through a first-party client (no consent), then ask webapp silently.
    app.code_for(&AuthorizeParams::new("first-party", "openid"))
        .await;
    let p = AuthorizeParams {
        extra: vec![("prompt", "none")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let loc = redirect_error(&app, app.authorize_url(&p)).await;
    assert_eq!(query(&loc, "error").as_deref(), Some("consent_required"));
}

#[tokio::test]
async fn prompt_none_with_a_session_and_consent_returns_a_code_without_any_page() {
    let app = spawn_app().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let p = AuthorizeParams {
        extra: vec![("prompt", "none")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let res = app.browser.get(app.authorize_url(&p)).send().await.unwrap();
    let loc = location(&res);
    assert!(query(&loc, "code").is_some(), "{loc}");
}

#[tokio::test]
async fn request_objects_are_refused_with_request_not_supported() {
    let app = spawn_app().await;
    let p = AuthorizeParams {
        extra: vec![("request", "eyJhbGciOiJub25lIn0.e30.")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let loc = redirect_error(&app, app.authorize_url(&p)).await;
    assert_eq!(
        query(&loc, "error").as_deref(),
        Some("request_not_supported")
    );
}

#[tokio::test]
async fn authorize_accepts_post_like_get() {
    let app = spawn_app().await;
    let url = app.authorize_url(&AuthorizeParams::new("webapp", "openid"));
    let res = app
        .browser
        .post(app.url("/authorize"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(url.query().unwrap().to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/login");
}
