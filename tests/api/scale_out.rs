//! Several instances on one database are interchangeable: every step of a flow can go to a
//! different one (as a load balancer would send them), single-use artefacts stay single-use
//! across instances under concurrency, the lockout is counted across them, and a key rotated
//! from the command line is published by every instance before any signs with it.

use crate::federation_harness::*;
use crate::helpers::*;
use ostiary::clock::Clock;
use url::Url;

/// The same URL, sent to another instance (the load balancer's choice).
fn on(app: &TestApp, url: &Url) -> Url {
    let mut u = url.clone();
    let port = Url::parse(&app.address).unwrap().port();
    u.set_port(port).unwrap();
    u
}

async fn form_post(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, String)],
) -> reqwest::Response {
    b.post(app.url(path)).form(form).send().await.unwrap()
}

#[tokio::test]
async fn each_step_of_a_sign_in_and_its_tokens_can_go_to_another_instance() {
    let apps = spawn_cluster(3, |_| {}).await;
    let (a, b, c) = (&apps[0], &apps[1], &apps[2]);
    let browser = browser();
    let p = AuthorizeParams {
        challenge: Some(CHALLENGE),
        ..AuthorizeParams::new("webapp", "openid profile offline_access")
    };
    // Authorize on A, the login page and the password on B, consent on C.
    let res = browser.get(a.authorize_url(&p)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let login = on(b, &location(&res));
    let html = page_text(&browser, login.clone()).await;
    let res = b.submit_login(&browser, &html, EMAIL, PASSWORD).await;
    assert_eq!(res.status(), 303);
    let consent = on(c, &location(&res));
    assert_eq!(consent.path(), "/consent");
    let html = page_text(&browser, consent).await;
    let res = form_post(
        &browser,
        c,
        "/consent",
        &[
            ("req", hidden(&html, "req")),
            ("csrf", hidden(&html, "csrf")),
            ("decision", "allow".into()),
        ],
    )
    .await;
    let back = location(&res);
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(query(&back, "iss").as_deref(), Some(a.address.as_str()));
    let code = query(&back, "code").unwrap();

    // The token on B, the refresh on A, and the old refresh token's reuse caught on C.
    let res = b
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    assert_eq!(res.status(), 200);
    let tokens: serde_json::Value = res.json().await.unwrap();
    let (claims, _) = c.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["iss"], a.address.as_str(), "one issuer for all");
    let first = tokens["refresh_token"].as_str().unwrap();
    let res = a
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", first)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let rotated: serde_json::Value = res.json().await.unwrap();
    let access = rotated["access_token"].as_str().unwrap().to_owned();
    assert_eq!(c.userinfo(&access).await.status(), 200);

    // Revoke on B, introspect on A: inactive everywhere.
    let res = b
        .http
        .post(b.url("/revoke"))
        .basic_auth("webapp", Some(WEB_SECRET))
        .form(&[("token", rotated["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = a
        .http
        .post(a.url("/introspect"))
        .basic_auth("webapp", Some(WEB_SECRET))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["active"], false);

    // Logout on B, then prompt=none on A: the session is gone everywhere.
    let none = AuthorizeParams {
        extra: vec![("prompt", "none")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let res = browser.get(c.authorize_url(&none)).send().await.unwrap();
    assert!(
        query(&location(&res), "code").is_some(),
        "signed in on C too"
    );
    let mut logout = Url::parse(&b.url("/logout")).unwrap();
    logout
        .query_pairs_mut()
        .append_pair("id_token_hint", tokens["id_token"].as_str().unwrap())
        .append_pair("post_logout_redirect_uri", REDIRECT);
    let res = browser.get(logout).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let res = browser.get(a.authorize_url(&none)).send().await.unwrap();
    assert_eq!(
        query(&location(&res), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn one_code_redeemed_twenty_times_at_once_across_instances_succeeds_once() {
    let apps = spawn_cluster(3, |_| {}).await;
    let code = apps[0]
        .code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let attempts = (0..20).map(|i| {
        let app = &apps[i % apps.len()];
        let code = code.clone();
        async move {
            app.exchange(("webapp", Some(WEB_SECRET)), &code, None)
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_lockout_counts_failures_on_every_instance() {
    let apps = spawn_cluster(2, |_| {}).await;
    for i in 0..10 {
        let app = &apps[i % 2];
        let b = browser();
        let res = b
            .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
            .send()
            .await
            .unwrap();
        let html = page_text(&b, on(app, &location(&res))).await;
        let res = app.submit_login(&b, &html, EMAIL, "wrong password 1").await;
        assert_eq!(res.status(), 401);
    }
    assert_eq!(apps[0].audit("login_locked").await, 1);
    // Locked on both: the right password is refused everywhere.
    for app in &apps {
        let b = browser();
        let res = b
            .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
            .send()
            .await
            .unwrap();
        let html = page_text(&b, on(app, &location(&res))).await;
        let res = app.submit_login(&b, &html, EMAIL, PASSWORD).await;
        assert_eq!(res.status(), 401, "locked on {}", app.address);
    }
}

#[tokio::test]
async fn an_upstream_sign_in_started_on_one_instance_finishes_on_another() {
    let fakes = start_fakes().await;
    let google = fakes.upstream("google", "google", serde_json::json!({"trust_email": true}));
    let apps = spawn_cluster(2, move |s| s.upstreams.push(google.clone())).await;
    let (a, b) = (&apps[0], &apps[1]);
    let browser = browser();
    let authorize = press_button(a, &browser, "google").await;
    let callback = at_provider(
        a,
        &browser,
        &authorize,
        &person("g-ada", Some("ada@example.com"), true),
        "allow",
    )
    .await;
    let res = browser.get(on(b, &callback)).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let next = location(&res);
    assert_eq!(next.path(), "/consent", "{next}");
}

#[tokio::test]
async fn a_key_rotated_on_the_command_line_is_published_by_every_instance_before_it_signs() {
    let apps = spawn_cluster(2, |_| {}).await;
    let old = kid_of(apps[0].webapp_tokens().await["id_token"].as_str().unwrap());
    assert_eq!(ostiary_cli(&apps[0], &["keys", "rotate"]).await, 0);
    // Each instance reloads its keys every 30 seconds; the new key signs only after 60.
    for app in &apps {
        app.clock.advance(1);
        let s = &app.app_state;
        s.keys.reload(&s.store, app.clock.now()).await.unwrap();
    }
    let published: Vec<usize> = {
        let mut v = Vec::new();
        for app in &apps {
            v.push(app.jwks().await.keys().len());
        }
        v
    };
    assert_eq!(published, [2, 2], "the next key is on every JWKS");
    for app in &apps {
        assert_eq!(service_token_kid(app).await, old, "not signing yet");
    }
    for app in &apps {
        // (The command line stamps the real time; the instances' clocks started a little earlier.)
        app.clock
            .advance(ostiary::keys::ROTATION_DELAY_SECONDS + 30);
        let s = &app.app_state;
        s.keys.reload(&s.store, app.clock.now()).await.unwrap();
        assert_ne!(service_token_kid(app).await, old, "the new key signs");
    }
}
