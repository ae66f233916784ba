//! Malformed, oversized, repeated or missing input gets the protocol's error: never a 500.

use crate::helpers::*;

async fn expect_error(res: reqwest::Response, status: u16, error: &str) {
    assert_eq!(res.status().as_u16(), status);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], error);
}

#[tokio::test]
async fn the_token_endpoint_answers_bad_requests_with_json_errors() {
    let app = spawn_app().await;
    let post = |body: String| {
        app.http
            .post(app.url("/token"))
            .basic_auth("webapp", Some(WEB_SECRET))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    expect_error(post(String::new()).await.unwrap(), 400, "invalid_request").await;
    expect_error(
        post("grant_type=authorization_code".into()).await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        post("grant_type=authorization_code&grant_type=refresh_token".into())
            .await
            .unwrap(),
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        post("grant_type=magic".into()).await.unwrap(),
        400,
        "unsupported_grant_type",
    )
    .await;
    expect_error(
        post(format!(
            "grant_type=authorization_code&code={}",
            "a".repeat(100_000)
        ))
        .await
        .unwrap(),
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        post("%%%%=%%&&==".into()).await.unwrap(),
        400,
        "invalid_request",
    )
    .await;
    expect_error(
        post("grant_type=authorization_code&code=abc&redirect_uri=x".into())
            .await
            .unwrap(),
        400,
        "invalid_grant",
    )
    .await;
    let json = app
        .http
        .post(app.url("/token"))
        .basic_auth("webapp", Some(WEB_SECRET))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    expect_error(json, 400, "invalid_request").await;
    let res = app
        .http
        .post(app.url("/token"))
        .header("authorization", "Basic %%%")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    expect_error(res, 401, "invalid_client").await;
}

#[tokio::test]
async fn nothing_is_written_when_a_token_request_is_refused() {
    let app = spawn_app().await;
    let code = app
        .code_for(&AuthorizeParams {
            challenge: Some(CHALLENGE),
            ..AuthorizeParams::new("webapp", "openid offline_access")
        })
        .await;
    let bad = app
        .exchange(
            ("webapp", Some(WEB_SECRET)),
            &code,
            Some("x".repeat(50).as_str()),
        )
        .await;
    assert_eq!(bad.status(), 400);
    // The code is still unused: it was not claimed by the bad request.
    assert_eq!(
        app.exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
            .await
            .status(),
        200
    );
    assert_eq!(app.audit("authorization_code_reuse").await, 0);
}

#[tokio::test]
async fn an_oversized_authorization_request_gets_an_error_page() {
    let app = spawn_app().await;
    let url = format!(
        "{}&pad={}",
        app.authorize_url(&AuthorizeParams::new("webapp", "openid")),
        "x".repeat(20_000)
    );
    let res = app.browser.get(url).send().await.unwrap();
    expect_error_page(res, 400, "Invalid request").await;
}

#[tokio::test]
async fn oversized_and_malformed_forms_on_the_pages_are_refused_cleanly() {
    let app = spawn_app().await;
    let res = app
        .browser
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("x".repeat(40_000))
        .send()
        .await
        .unwrap();
    expect_error_page(res, 400, "Invalid request").await;
    let res = app
        .browser
        .post(app.url("/consent"))
        .form(&[("req", "a"), ("req", "b")])
        .send()
        .await
        .unwrap();
    expect_error_page(res, 400, "Invalid request").await;
    let res = app
        .http
        .post(app.url("/introspect"))
        .basic_auth("webapp", Some(WEB_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("token=a&token=b")
        .send()
        .await
        .unwrap();
    expect_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_database_that_is_down_gives_503_temporarily_unavailable() {
    let app = spawn_app().await;
    let code = app
        .code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    app.app_state.store.close().await;
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;
    expect_error(res, 503, "temporarily_unavailable").await;
}
