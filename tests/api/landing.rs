//! The landing page at `/` and the development demo app's config rules.

use crate::helpers::*;
use ostiary::config::{Settings, Severity};
use serde_json::json;

/// Settings that turn on the demo app with its two clients, for an app at `issuer`.
pub fn with_demo_app(s: &mut Settings) {
    let callback = format!("{}/dev/demo/callback", s.issuer);
    let back = format!("{}/dev/demo", s.issuer);
    s.dev.demo_app = true;
    for (id, extra) in [
        (
            "demo",
            json!({"client_secret": "demo-secret-0123456789abcdef", "token_endpoint_auth_method": "client_secret_basic"}),
        ),
        ("demo-spa", json!({"token_endpoint_auth_method": "none"})),
    ] {
        let mut entry = json!({
            "client_id": id,
            "client_name": "Demo app",
            "redirect_uris": [callback],
            "post_logout_redirect_uris": [back],
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile email offline_access",
        });
        if let (Some(e), Some(x)) = (entry.as_object_mut(), extra.as_object()) {
            e.extend(x.clone());
        }
        s.clients.push(serde_json::from_value(entry).unwrap());
    }
}

#[tokio::test]
async fn the_landing_page_names_the_issuer_and_links_the_public_documents() {
    let app = spawn_app().await;
    let res = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains(&app.address));
    assert!(html.contains("/.well-known/openid-configuration") && html.contains("/jwks.json"));
    // A production config: no dev links, no clients, and no demo app behind them.
    assert!(!html.contains("/dev/"), "{html}");
    assert!(!html.contains("webapp") && !html.contains("Web app"));
    let res = app.http.get(app.url("/dev/demo")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn with_the_demo_app_on_the_landing_page_links_it() {
    let app = spawn_app_with(with_demo_app).await;
    let html = page_text(&app.http, app.url("/")).await;
    assert!(html.contains("href=\"/dev/demo\""), "{html}");
    let demo = page_text(&app.http, app.url("/dev/demo")).await;
    assert!(demo.contains("id=\"scenario-sign-in\""), "{demo}");
}

fn errors(text: &str) -> Vec<String> {
    let s = Settings::parse(std::path::Path::new("x.toml"), text, std::iter::empty()).unwrap();
    ostiary::startup::check_config(&s, &|_| None)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect()
}

#[test]
fn check_config_refuses_the_demo_app_outside_a_development_config() {
    let prod = "issuer = \"https://id.example.com\"\n[database]\nurl = \"sqlite://x.db\"\n[dev]\ndemo_app = true\n";
    let e = errors(prod);
    assert!(e.iter().any(|e| e.starts_with("dev.demo_app")), "{e:?}");
    // On loopback, it needs its clients.
    let dev = "issuer = \"http://127.0.0.1:8080\"\n[database]\nurl = \"sqlite://x.db\"\n[dev]\ndemo_app = true\n";
    let e = errors(dev);
    assert!(
        e.iter().any(|e| e.contains("client_id = \"demo\"")),
        "{e:?}"
    );
}

#[test]
fn the_shipped_development_config_passes_with_the_demo_app_on() {
    let text = std::fs::read_to_string("../config/dev.toml").unwrap();
    let s = Settings::parse(std::path::Path::new("dev.toml"), &text, std::iter::empty()).unwrap();
    assert!(s.dev.demo_app);
    assert!(errors(&text).is_empty(), "{:?}", errors(&text));
}

/// Follow 303s inside the app until a page answers; its URL and body.
async fn follow(
    app: &TestApp,
    b: &reqwest::Client,
    mut res: reqwest::Response,
) -> (url::Url, String) {
    let mut url = res.url().clone();
    for _ in 0..10 {
        if res.status() != 303 {
            break;
        }
        url = location(&res);
        assert!(
            url.as_str().starts_with(&app.address),
            "left the app: {url}"
        );
        res = b.get(url.clone()).send().await.unwrap();
    }
    assert_eq!(res.status(), 200, "at {url}");
    (url, res.text().await.unwrap())
}

#[tokio::test]
async fn the_demo_app_signs_in_over_http_and_shows_verified_tokens_then_refreshes_revokes_and_logs_out()
 {
    let app = spawn_app_with(with_demo_app).await;
    let b = browser();
    let start = b
        .post(app.url("/dev/demo/start"))
        .form(&[("scenario", "sign-in")])
        .send()
        .await
        .unwrap();
    let (login, html) = follow(&app, &b, start).await;
    assert_eq!(login.path(), "/login");
    let res = app.submit_login(&b, &html, EMAIL, PASSWORD).await;
    let (consent, html) = follow(&app, &b, res).await;
    assert_eq!(consent.path(), "/consent");
    assert!(html.contains("Demo app"));
    let res = b
        .post(app.url("/consent"))
        .form(&[
            ("req", hidden(&html, "req")),
            ("csrf", hidden(&html, "csrf")),
            ("decision", "allow".into()),
        ])
        .send()
        .await
        .unwrap();
    let (demo, page) = follow(&app, &b, res).await;

    assert_eq!(demo.path(), "/dev/demo");
    assert!(!page.contains("class=\"fail"), "{page}");
    assert_eq!(
        page.matches("signature verified with key").count(),
        2,
        "{page}"
    );
    assert!(page.contains("nonce is the one this sign-in sent"));
    assert!(page.contains(EMAIL), "userinfo answered");
    for step in ["Discovery", "Token request", "JWKS", "Userinfo"] {
        assert!(
            page.contains(&format!("<summary>{step}</summary>")),
            "{step}"
        );
    }
    assert!(
        !page.contains("demo-secret-0123456789abcdef"),
        "the secret is masked"
    );

    let act = |what: &'static str| {
        b.post(app.url("/dev/demo/action"))
            .form(&[("do", what)])
            .send()
    };
    let (_, page) = follow(&app, &b, act("refresh").await.unwrap()).await;
    assert!(
        page.contains("The old refresh token is not active."),
        "{page}"
    );
    assert!(page.contains("The new refresh token is active."));
    let (_, page) = follow(&app, &b, act("revoke").await.unwrap()).await;
    assert!(page.contains("Revocation answered 200."), "{page}");
    assert!(page.contains("The access token of the same grant is not active."));
    let res = act("logout").await.unwrap();
    assert_eq!(location(&res).path(), "/logout");
    let (back, page) = follow(&app, &b, res).await;
    assert_eq!(back.path(), "/dev/demo");
    assert!(page.contains("id=\"signed-out\""), "{page}");
    // Ostiary's session is over too.
    let res = b
        .get(app.authorize_url(&AuthorizeParams {
            extra: vec![("prompt", "none")],
            ..AuthorizeParams::new("webapp", "openid")
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&res), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn a_code_the_demo_app_did_not_ask_for_is_shown_unredeemed_for_the_curl_walkthrough() {
    let app = spawn_app_with(with_demo_app).await;
    let b = browser();
    let res = b
        .get(app.url("/dev/demo/callback?code=hand-made-code-42&state=xyz"))
        .send()
        .await
        .unwrap();
    let (_, page) = follow(&app, &b, res).await;
    assert!(page.contains("hand-made-code-42"), "{page}");
    assert!(!page.contains("Token request"), "nothing was redeemed");
}
