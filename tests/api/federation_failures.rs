//! Failure paths of an upstream sign-in: each ends on a clear page (or back on the login page
//! for a cancel), creates no account, and leaves an audit record.

use crate::federation_harness::*;
use crate::helpers::*;
use ostiary::devfakes::Misbehaviour;
use serde_json::json;

/// Sign in through the fake Google misbehaving as told; the callback's response.
async fn google_callback_with(
    m: Misbehaviour,
    timeout: u64,
) -> (TestApp, Fakes, reqwest::Response) {
    let fakes = start_fakes().await;
    let app = app_with(
        &fakes,
        &[("google", "google", json!({"timeout_seconds": timeout}))],
    )
    .await;
    let browser = browser();
    let authorize = press_button(&app, &browser, "google").await;
    fakes.providers.set_misbehaviour(m);
    let cb = at_provider(
        &app,
        &browser,
        &authorize,
        &person("g-f", Some("f@g.example"), true),
        "allow",
    )
    .await;
    let res = browser.get(cb).send().await.unwrap();
    (app, fakes, res)
}

async fn assert_refused(app: &TestApp, res: reqwest::Response, status: u16, audit_kind: &str) {
    assert_eq!(res.status(), status);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>"), "a page, not a bare error");
    assert_eq!(account_count(app).await, 1, "no account created");
    assert_eq!(app.audit(audit_kind).await, 1, "audited as {audit_kind}");
    assert_eq!(app.audit("login_succeeded").await, 0);
}

#[tokio::test]
async fn a_person_who_cancels_at_the_upstream_is_back_on_the_login_page_with_a_message() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let browser = browser();

    let authorize = press_button(&app, &browser, "google").await;
    let cb = at_provider(&app, &browser, &authorize, &[], "cancel").await;
    assert_eq!(query(&cb, "error").as_deref(), Some("access_denied"));
    let res = browser.get(cb).send().await.unwrap();

    assert_eq!(res.status(), 303);
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    let html = page_text(&browser, login).await;
    assert!(
        html.contains("Signing in with Google was cancelled."),
        "{html}"
    );
    assert_eq!(account_count(&app).await, 1);
    assert_eq!(app.audit("upstream_cancelled").await, 1);
}

#[tokio::test]
async fn a_callback_with_an_unknown_state_is_refused() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let browser = browser();
    let authorize = press_button(&app, &browser, "google").await;
    let mut cb = at_provider(
        &app,
        &browser,
        &authorize,
        &person("g-s", Some("s@g.example"), true),
        "allow",
    )
    .await;
    let code = query(&cb, "code").unwrap();
    cb.query_pairs_mut()
        .clear()
        .append_pair("code", &code)
        .append_pair("state", "forged");

    let res = browser.get(cb).send().await.unwrap();

    assert_refused(&app, res, 400, "upstream_state_mismatch").await;
}

#[tokio::test]
async fn a_callback_in_another_browser_than_the_one_that_started_is_refused() {
    // Login CSRF: an attacker's callback URL opened in the victim's browser.
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let attacker = browser();
    let authorize = press_button(&app, &attacker, "google").await;
    let cb = at_provider(
        &app,
        &attacker,
        &authorize,
        &person("mallory", Some("m@g.example"), true),
        "allow",
    )
    .await;

    let victim = browser();
    let res = victim.get(cb).send().await.unwrap();

    assert_refused(&app, res, 400, "upstream_state_mismatch").await;
}

#[tokio::test]
async fn an_id_token_with_the_wrong_nonce_is_refused() {
    let (app, _f, res) = google_callback_with(Misbehaviour::WrongNonce, 5).await;
    assert_refused(&app, res, 502, "upstream_nonce_mismatch").await;
}

#[tokio::test]
async fn an_id_token_with_a_bad_signature_is_refused() {
    let (app, _f, res) = google_callback_with(Misbehaviour::BadSignature, 5).await;
    assert_refused(&app, res, 502, "upstream_bad_signature").await;
}

#[tokio::test]
async fn an_id_token_for_another_audience_is_refused() {
    let (app, _f, res) = google_callback_with(Misbehaviour::WrongAudience, 5).await;
    assert_refused(&app, res, 502, "upstream_wrong_audience").await;
}

#[tokio::test]
async fn an_id_token_authorized_for_another_client_is_refused() {
    let (app, _f, res) = google_callback_with(Misbehaviour::ForeignAzp, 5).await;
    assert_refused(&app, res, 502, "upstream_wrong_audience").await;
}

#[tokio::test]
async fn an_expired_id_token_is_refused() {
    let (app, _f, res) = google_callback_with(Misbehaviour::Expired, 5).await;
    assert_refused(&app, res, 502, "upstream_token_expired").await;
}

#[tokio::test]
async fn a_slow_upstream_hits_the_bounded_timeout() {
    let (app, _f, res) = google_callback_with(Misbehaviour::SlowTokenEndpoint(4), 1).await;
    assert_refused(&app, res, 502, "upstream_unavailable").await;
}

#[tokio::test]
async fn an_upstream_that_is_down_gives_a_clear_page() {
    // Nothing listens on the issuer's port: discovery fails when the button is pressed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let app = spawn_app_with(|s| {
        s.upstreams.push(
            serde_json::from_value(json!({
                "id": "down", "kind": "oidc", "display_name": "Down IdP", "issuer": issuer,
                "client_id": "c", "client_secret": "s", "timeout_seconds": 2,
            }))
            .unwrap(),
        )
    })
    .await;
    let res = press_button_response(&app, &browser(), "down").await;

    assert_eq!(res.status(), 502);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Down IdP did not answer")
    );
    assert_eq!(app.audit("upstream_unavailable").await, 1);
}

#[tokio::test]
async fn a_new_upstream_signing_key_is_fetched_on_an_unknown_kid() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    federated_id_token(&app, "google", &person("g-k", Some("k@g.example"), true)).await;

    fakes.providers.rotate_keys().unwrap();
    let claims =
        federated_id_token(&app, "google", &person("g-k", Some("k@g.example"), true)).await;

    assert_eq!(claims["idp"], json!("google"));
}

#[tokio::test]
async fn upstream_codes_and_secrets_never_reach_the_audit_log() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let browser = browser();
    let authorize = press_button(&app, &browser, "google").await;
    fakes
        .providers
        .set_misbehaviour(Misbehaviour::WrongAudience);
    let cb = at_provider(
        &app,
        &browser,
        &authorize,
        &person("g-l", Some("l@g.example"), true),
        "allow",
    )
    .await;
    let code = query(&cb, "code").unwrap();
    let state = query(&cb, "state").unwrap();
    browser.get(cb).send().await.unwrap();

    let kind = ostiary::audit::AuditKind::UpstreamWrongAudience;
    let events = app.app_state.store.audit_events(kind).await.unwrap();
    assert!(!events.is_empty());
    for e in events {
        let all = format!("{e:?}");
        assert!(!all.contains(&code) && !all.contains(&state));
        assert!(!all.contains(&fakes.providers.client_secret));
    }
}

#[tokio::test]
async fn a_callback_naming_another_issuer_is_refused_as_a_mix_up() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let browser = browser();
    let authorize = press_button(&app, &browser, "google").await;
    let mut cb = at_provider(
        &app,
        &browser,
        &authorize,
        &person("g-m", Some("m@g.example"), true),
        "allow",
    )
    .await;
    cb.query_pairs_mut()
        .append_pair("iss", "https://attacker.example");

    let res = browser.get(cb).send().await.unwrap();

    assert_refused(&app, res, 400, "upstream_issuer_mismatch").await;
}

#[tokio::test]
async fn malformed_upstream_requests_get_a_page_never_a_500_and_write_nothing() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let browser = browser();
    let (_, html) = login_page(&app, &browser).await;
    let long = "a".repeat(20_000);
    let gets = [
        "/upstream/nope/callback?code=x&state=y".to_owned(),
        "/upstream/google/callback".to_owned(),
        "/upstream/google/callback?state=&code=".to_owned(),
        "/upstream/google/callback?state=a&state=b&code=c".to_owned(),
        format!("/upstream/google/callback?state={long}"),
        "/upstream/google/callback?state=%FF%FE&code=%00".to_owned(),
        "/account".to_owned(),
    ];
    for path in &gets {
        let res = browser.get(app.url(path)).send().await.unwrap();
        assert!(
            (400..500).contains(&res.status().as_u16()),
            "{path}: {}",
            res.status()
        );
    }
    let posts: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "/upstream/google/callback",
            vec![("state", "unknown".into()), ("code", "c".into())],
        ),
        ("/upstream/google/callback", vec![("code", "c".into())]),
        (
            "/login/upstream",
            vec![("req", hidden(&html, "req")), ("upstream", "google".into())],
        ),
        (
            "/login/upstream",
            vec![
                ("req", hidden(&html, "req")),
                ("csrf", hidden(&html, "csrf")),
                ("upstream", "nope".into()),
            ],
        ),
        (
            "/login/upstream",
            vec![
                ("req", "expired".into()),
                ("csrf", hidden(&html, "csrf")),
                ("upstream", "google".into()),
            ],
        ),
        ("/account/link", vec![("upstream", "google".into())]),
        (
            "/account/unlink",
            vec![("upstream", "google".into()), ("subject", "x".into())],
        ),
    ];
    for (path, form) in &posts {
        let res = browser.post(app.url(path)).form(form).send().await.unwrap();
        assert!(
            (400..500).contains(&res.status().as_u16()),
            "{path} {form:?}: {}",
            res.status()
        );
    }
    let res = browser
        .post(app.url("/upstream/google/callback"))
        .body(vec![b'a'; 100_000])
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert!(
        (400..500).contains(&res.status().as_u16()),
        "{}",
        res.status()
    );

    assert_eq!(account_count(&app).await, 1);
    assert_eq!(app.audit("login_succeeded").await, 0);
    assert_eq!(app.audit("account_created").await, 0);
}
