//! Per-address rate limits (`[limits]`): 429 with `Retry-After`, an HTML page for the browser
//! forms and an OAuth JSON error for the token endpoint, one audit record per address and
//! minute; password spraying from one address is slowed while the accounts it tries stay usable.

use crate::helpers::*;
use ostiary::config::LimitSettings;

#[tokio::test]
async fn sign_in_posts_over_the_limit_get_429_and_spraying_leaves_the_accounts_usable() {
    let app = spawn_app_with(|s| {
        s.limits = LimitSettings {
            sign_in_per_minute: 3,
            ..LimitSettings::off()
        }
    })
    .await;
    let b = browser();
    let res = b
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    let html = page_text(&b, location(&res)).await;
    // One address tries one password against many emails.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let res = app
            .submit_login(&b, &html, &format!("victim{i}@example.com"), "Summer2026!")
            .await;
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            let retry: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
            assert!(res.text().await.unwrap().contains("Too many attempts"));
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
    assert_eq!(
        app.audit("rate_limited").await,
        1,
        "one record a minute per address"
    );
    assert_eq!(
        app.audit("login_failed").await,
        3,
        "refused before any password check"
    );
    // The accounts it tried are not locked: each saw one failure at most.
    let locked = app
        .app_state
        .store
        .login_failures(&ostiary::accounts::lockout_key("victim0@example.com"))
        .await
        .unwrap();
    assert_eq!(locked.locked_until, None);
    assert_eq!(locked.failures, 1);
}

#[tokio::test]
async fn the_token_endpoint_over_its_limit_answers_oauth_json_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.limits = LimitSettings {
            token_per_minute: 2,
            ..LimitSettings::off()
        }
    })
    .await;
    let ask = || {
        app.token(
            ("reports-service", Some(REPORTS_SECRET)),
            &[("grant_type", "client_credentials")],
        )
    };
    assert_eq!(ask().await.status(), 200);
    assert_eq!(ask().await.status(), 200);
    let res = ask().await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    // Other endpoints have their own buckets.
    let res = app.http.get(app.url("/jwks.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[test]
fn the_defaults_limit_every_bucket_and_a_bucket_of_zero_is_off() {
    let d = LimitSettings::default();
    for n in [
        d.sign_in_per_minute,
        d.sign_up_per_minute,
        d.password_reset_per_minute,
        d.email_codes_per_minute,
        d.token_per_minute,
        d.introspection_per_minute,
        d.revocation_per_minute,
    ] {
        assert!(n > 0);
    }
}

#[tokio::test]
async fn a_clients_own_rate_limit_and_allowed_ips_apply_to_its_token_requests() {
    let app = spawn_app_with(|s| {
        for c in &mut s.clients {
            if c.client_id == "reports-service" {
                c.rate_limit_per_minute = Some(2);
            }
            if c.client_id == "webapp" {
                c.allowed_ips = vec!["10.0.0.0/8".into()];
            }
        }
    })
    .await;
    let cc = || {
        app.token(
            ("reports-service", Some(REPORTS_SECRET)),
            &[("grant_type", "client_credentials")],
        )
    };
    assert_eq!(cc().await.status(), 200);
    assert_eq!(cc().await.status(), 200);
    let res = cc().await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(cc().await.status(), 429);
    assert_eq!(app.audit("rate_limited").await, 1, "audited once a minute");

    // webapp may call /token only from 10.0.0.0/8; this test runs on 127.0.0.1.
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), "some-code", None)
        .await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(app.audit("client_refused").await, 1);
}

#[test]
fn check_config_refuses_allowed_ips_on_a_public_client_and_a_zero_rate_limit() {
    let text = format!(
        "issuer = \"https://id.example.com\"\n{}\n",
        clients_toml("https://app.example.com/cb")
    );
    let mut s =
        ostiary::config::Settings::parse(std::path::Path::new("t.toml"), &text, std::iter::empty())
            .unwrap();
    for c in &mut s.clients {
        if c.client_id == "spa" {
            c.allowed_ips = vec!["10.0.0.0/8".into()];
        }
        if c.client_id == "webapp" {
            c.rate_limit_per_minute = Some(0);
            c.allowed_ips = vec!["not-an-address".into()];
        }
    }
    let keys: Vec<String> = ostiary::startup::check_config(&s, &|_| None)
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert!(
        keys.contains(&"clients[1].allowed_ips".to_owned()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"clients[0].allowed_ips[0]".to_owned()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"clients[0].rate_limit_per_minute".to_owned()),
        "{keys:?}"
    );
}
