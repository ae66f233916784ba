//! What an operator watches: Prometheus metrics on their own listener, moving with traffic;
//! a request id on every response (the caller's when it is usable, else a new one).

use crate::helpers::*;

async fn scrape(app: &TestApp) -> String {
    let url = app.metrics_url.as_deref().expect("[metrics] bind is set");
    let res = app.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    res.text().await.unwrap()
}

/// The value of the sample `name{labels}` (labels in the exposition's order), or 0.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_on_their_own_listener_move_with_sign_ins_tokens_and_requests() {
    let app = spawn_app_with(|s| s.metrics.bind = Some("127.0.0.1:0".into())).await;
    let before = scrape(&app).await;
    assert_eq!(
        sample(
            &before,
            r#"ostiary_sign_ins_total{method="password",outcome="succeeded"}"#
        ),
        0.0
    );
    app.webapp_tokens().await;
    // One wrong password.
    let b = browser();
    let res = b
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    let html = page_text(&b, location(&res)).await;
    app.submit_login(&b, &html, EMAIL, "not it").await;

    let after = scrape(&app).await;
    let has = |series: &str, v: f64| {
        assert_eq!(sample(&after, series), v, "{series} in:\n{after}");
    };
    has(
        r#"ostiary_sign_ins_total{method="password",outcome="succeeded"}"#,
        1.0,
    );
    has(
        r#"ostiary_sign_ins_total{method="password",outcome="failed"}"#,
        1.0,
    );
    has(
        r#"ostiary_tokens_issued_total{client="webapp",grant="authorization_code"}"#,
        1.0,
    );
    has(r#"ostiary_audit_events_total{kind="consent_granted"}"#, 1.0);
    has(
        r#"ostiary_http_requests_total{method="POST",route="/token",status="200"}"#,
        1.0,
    );
    assert!(
        sample(
            &after,
            r#"ostiary_http_request_duration_seconds_count{route="/token"}"#
        ) >= 1.0
    );
    has(r#"ostiary_queue_depth{queue="logout"}"#, 0.0);
    has("ostiary_published_signing_keys", 1.0);
    assert!(after.contains("ostiary_signing_key_age_seconds "));
    assert!(after.contains(r#"ostiary_database_pool_connections{state="idle"}"#));
    // Not on the public listener.
    let public = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
}

#[tokio::test]
async fn metrics_are_off_unless_a_listener_is_configured() {
    let app = spawn_app().await;
    assert!(app.metrics_url.is_none());
}

#[tokio::test]
async fn every_response_carries_a_request_id_the_callers_when_usable() {
    let app = spawn_app().await;
    let id_of = |res: &reqwest::Response| {
        res.headers()
            .get("x-request-id")
            .expect("a request id")
            .to_str()
            .unwrap()
            .to_owned()
    };
    let res = app.http.get(app.url("/healthz")).send().await.unwrap();
    let generated = id_of(&res);
    assert_eq!(generated.len(), 32);
    let res = app
        .http
        .get(app.url("/jwks.json"))
        .header("x-request-id", "lb-7f3c.42")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&res), "lb-7f3c.42");
    let res = app
        .http
        .get(app.url("/nope"))
        .header("x-request-id", "two words")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_ne!(id_of(&res), "two words", "an unusable id is replaced");
    let res = app
        .http
        .post(app.url("/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(id_of(&res).len(), 32, "errors carry one too");
}
