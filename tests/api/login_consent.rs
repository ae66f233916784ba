//! The hosted login and consent pages: generic failures, CSRF, cookies, headers, remembered
//! consent, deny, prompt=login, max_age, login_hint.

use crate::helpers::*;
use ostiary::clock::Clock;

async fn login_page(
    app: &TestApp,
    browser: &reqwest::Client,
    p: &AuthorizeParams<'_>,
) -> (url::Url, reqwest::Response) {
    let res = browser.get(app.authorize_url(p)).send().await.unwrap();
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    let page = browser.get(login.clone()).send().await.unwrap();
    (login, page)
}

#[tokio::test]
async fn the_login_page_carries_the_security_headers() {
    let app = spawn_app().await;
    let (_, page) = login_page(
        &app,
        &app.browser,
        &AuthorizeParams::new("webapp", "openid"),
    )
    .await;
    assert_eq!(page.status(), 200);
    let h = page.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let mut answers = Vec::new();
    for (email, password) in [("nobody@example.com", PASSWORD), (EMAIL, "wrong password!")] {
        let (_, page) = login_page(
            &app,
            &app.browser,
            &AuthorizeParams::new("webapp", "openid"),
        )
        .await;
        let html = page.text().await.unwrap();
        let res = app.submit_login(&app.browser, &html, email, password).await;
        let status = res.status();
        let body = res.text().await.unwrap();
        assert!(body.contains("Incorrect email or password."));
        answers.push(status);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], 401);
    assert_eq!(app.audit("login_failed").await, 2);
}

#[tokio::test]
async fn a_login_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    let (_, page) = login_page(
        &app,
        &app.browser,
        &AuthorizeParams::new("webapp", "openid"),
    )
    .await;
    let html = page.text().await.unwrap();
    let form = [
        ("req", hidden(&html, "req")),
        ("csrf", "forged".into()),
        ("email", EMAIL.into()),
        ("password", PASSWORD.into()),
    ];
    let res = app
        .browser
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(!session_cookie_set(&res), "no session for a forged form");
    expect_error_page(res, 400, "Form expired").await;
    // A browser without the binding cookie cannot use a stolen form token either.
    let other = browser();
    let form = [
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("email", EMAIL.into()),
        ("password", PASSWORD.into()),
    ];
    let res = other
        .post(app.url("/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(!session_cookie_set(&res));
    expect_error_page(res, 400, "Form expired").await;
    assert_eq!(app.audit("login_succeeded").await, 0);
}

#[tokio::test]
// SameSite=Lax, not Strict: the session must reach /authorize on the top-level navigation from
// a relying party's site, or no one would ever stay signed in.
async fn a_sign_in_sets_an_http_only_lax_session_cookie_with_a_new_id_each_time() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let p = AuthorizeParams {
            extra: vec![("prompt", "login")],
            ..AuthorizeParams::new("webapp", "openid")
        };
        let (_, page) = login_page(&app, &app.browser, &p).await;
        let html = page.text().await.unwrap();
        let res = app.submit_login(&app.browser, &html, EMAIL, PASSWORD).await;
        assert_eq!(res.status(), 303);
        let cookie = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .find(|c| c.starts_with("ostiary_session="))
            .unwrap();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        ids.push(cookie.split(';').next().unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test]
async fn consent_is_remembered_per_user_client_and_scope_set() {
    let app = spawn_app().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid email"))
        .await;
    // Same scopes: straight back with a code.
    let res = app
        .browser
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&res), "code").is_some());
    // More scopes: the consent page again.
    let res = app
        .browser
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid profile")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res).path(), "/consent");
    // prompt=consent always asks.
    let p = AuthorizeParams {
        extra: vec![("prompt", "consent")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let res = app.browser.get(app.authorize_url(&p)).send().await.unwrap();
    assert_eq!(location(&res).path(), "/consent");
}

#[tokio::test]
async fn the_consent_page_names_the_client_and_the_scopes_in_plain_words() {
    let app = spawn_app().await;
    let start = app.authorize_url(&AuthorizeParams::new(
        "webapp",
        "openid email offline_access",
    ));
    let res = app.browser.get(start).send().await.unwrap();
    let login = location(&res);
    let html = app
        .browser
        .get(login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = app.submit_login(&app.browser, &html, EMAIL, PASSWORD).await;
    let consent = location(&res);
    assert_eq!(consent.path(), "/consent");
    let html = app
        .browser
        .get(consent)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Web app"));
    assert!(html.contains("See your email address"));
    assert!(html.contains("Stay signed in"));
}

#[tokio::test]
async fn a_first_party_client_skips_consent() {
    let app = spawn_app().await;
    let back = app
        .interact(
            &app.browser,
            app.authorize_url(&AuthorizeParams::new("first-party", "openid email")),
            EMAIL,
            PASSWORD,
            Consent::Deny,
        )
        .await;
    assert!(
        query(&back, "code").is_some(),
        "no consent page was shown, so no deny happened"
    );
}

#[tokio::test]
async fn denying_consent_returns_access_denied_with_state_and_iss() {
    let app = spawn_app().await;
    let back = app
        .interact(
            &app.browser,
            app.authorize_url(&AuthorizeParams::new("webapp", "openid")),
            EMAIL,
            PASSWORD,
            Consent::Deny,
        )
        .await;
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(query(&back, "iss").as_deref(), Some(app.address.as_str()));
}

#[tokio::test]
async fn max_age_forces_a_fresh_sign_in_and_auth_time_shows_it() {
    let app = spawn_app().await;
    let first = app.webapp_tokens().await;
    let (id1, _) = app.verify_jwt(first["id_token"].as_str().unwrap()).await;
    app.clock.advance(120);
    let p = AuthorizeParams {
        extra: vec![("max_age", "60")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let res = app.browser.get(app.authorize_url(&p)).send().await.unwrap();
    assert_eq!(
        location(&res).path(),
        "/login",
        "the session is older than max_age"
    );
    let back = app
        .interact(
            &app.browser,
            app.authorize_url(&p),
            EMAIL,
            PASSWORD,
            Consent::Allow,
        )
        .await;
    let code = query(&back, "code").unwrap();
    let body: serde_json::Value = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await
        .json()
        .await
        .unwrap();
    let (id2, _) = app.verify_jwt(body["id_token"].as_str().unwrap()).await;
    assert!(id2["auth_time"].as_i64().unwrap() >= id1["auth_time"].as_i64().unwrap() + 120);
}

#[tokio::test]
async fn prompt_login_asks_for_the_password_again() {
    let app = spawn_app().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let p = AuthorizeParams {
        extra: vec![("prompt", "login")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let res = app.browser.get(app.authorize_url(&p)).send().await.unwrap();
    assert_eq!(location(&res).path(), "/login");
}

#[tokio::test]
async fn login_hint_fills_in_the_email() {
    let app = spawn_app().await;
    let p = AuthorizeParams {
        extra: vec![("login_hint", "bob@example.com")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let (_, page) = login_page(&app, &app.browser, &p).await;
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("value=\"bob@example.com\"")
    );
}

#[tokio::test]
async fn an_unknown_or_expired_interaction_shows_a_page_not_an_error_500() {
    let app = spawn_app().await;
    let res = app
        .browser
        .get(app.url("/login?req=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (login, _) = login_page(
        &app,
        &app.browser,
        &AuthorizeParams::new("webapp", "openid"),
    )
    .await;
    app.clock.advance(31 * 60);
    let res = app.browser.get(login).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn emails_differing_by_a_unicode_case_fold_are_different_accounts() {
    let app = spawn_app().await;
    let store = &app.app_state.store;
    let now = app.clock.now();
    let secret = ostiary::secret::Secret::new("kelvin's own password");
    ostiary::accounts::create(store, "kelvin@example.com", None, &secret, now)
        .await
        .unwrap();
    // U+212A KELVIN SIGN: Unicode lower-cases it to "k".
    ostiary::accounts::create(store, "\u{212a}elvin@example.com", None, &secret, now)
        .await
        .expect("a different address, not a duplicate");
    assert!(
        store
            .account_by_email("kelvin@example.com")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_long_password_of_multibyte_characters_signs_in_as_it_was_created() {
    let app = spawn_app().await;
    // The limit is 1024 bytes, the same at creation and sign-in: 512 two-byte characters.
    let too_long: String = "é".repeat(513);
    assert!(
        ostiary::accounts::create(
            &app.app_state.store,
            "longer@example.com",
            None,
            &ostiary::secret::Secret::new(&too_long),
            app.clock.now(),
        )
        .await
        .is_err()
    );
    let long: String = "é".repeat(512);
    ostiary::accounts::create(
        &app.app_state.store,
        "long@example.com",
        None,
        &ostiary::secret::Secret::new(&long),
        app.clock.now(),
    )
    .await
    .unwrap();
    let b = browser();
    let back = app
        .interact(
            &b,
            app.authorize_url(&AuthorizeParams::new("first-party", "openid")),
            "long@example.com",
            &long,
            Consent::Allow,
        )
        .await;
    assert!(query(&back, "code").is_some(), "{back}");
}
