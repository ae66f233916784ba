//! Self-service accounts over HTTP with a real SMTP server receiving the messages: sign-up from
//! an authorization request, the emailed code, its limits, and what a taken address looks like.

use crate::helpers::*;
use crate::smtp::Inbox;
use ostiary::clock::Clock as _;
use url::Url;

pub const NEW_EMAIL: &str = "bob@example.org";
pub const NEW_PASSWORD: &str = "pelican marmalade tugboat 42";

/// An Ostiary with sign-up on and email going to `inbox`.
pub async fn spawn_with_mail(inbox: &Inbox) -> TestApp {
    let url = inbox.url();
    spawn_app_with(move |s| {
        s.registration.enabled = true;
        s.email.smtp_url = Some(url);
        s.email.from = Some("Ostiary <id@example.com>".into());
    })
    .await
}

/// Start an authorization request as `webapp` in `browser`; the login page's URL and HTML.
pub async fn login_page(app: &TestApp, browser: &reqwest::Client) -> (Url, String) {
    let p = AuthorizeParams {
        challenge: Some(CHALLENGE),
        ..AuthorizeParams::new("webapp", "openid profile email")
    };
    let res = browser.get(app.authorize_url(&p)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    let html = page_text(browser, login.clone()).await;
    (login, html)
}

/// Fill in the sign-up form of the request `req`; the response to the POST.
pub async fn sign_up(
    app: &TestApp,
    browser: &reqwest::Client,
    req: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let html = page_text(browser, app.url(&format!("/register?req={req}"))).await;
    let form = [
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("email", email.to_owned()),
        ("name", "Bob Example".to_owned()),
        ("password", password.to_owned()),
    ];
    browser
        .post(app.url("/register"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

/// Submit a code on the verification page at `verify`.
pub async fn enter_code(
    app: &TestApp,
    browser: &reqwest::Client,
    verify: &Url,
    code: &str,
) -> reqwest::Response {
    let html = page_text(browser, verify.clone()).await;
    let form = [
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("code", code.to_owned()),
    ];
    browser
        .post(app.url("/verify"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn account_count(app: &TestApp) -> usize {
    app.app_state.store.list_accounts().await.unwrap().len()
}

#[tokio::test]
async fn a_person_signs_up_from_an_app_confirms_the_emailed_code_and_lands_at_the_app_with_a_verified_email()
 {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, html) = login_page(&app, &b).await;
    assert!(html.contains("Create account") && html.contains("Forgot password?"));
    let req = query(&login, "req").unwrap();
    let res = sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(!session_cookie_set(&res), "no session before the code");
    let verify = location(&res);
    assert_eq!(verify.path(), "/verify");
    let page = page_text(&b, verify.clone()).await;
    assert!(page.contains(NEW_EMAIL), "{page}");

    let mail = inbox.wait_for(NEW_EMAIL, 1).await;
    assert_eq!(mail.subject, "Confirm your email address");
    let code = mail.code();
    assert!(
        mail.html.contains(&code),
        "the HTML part carries the code too"
    );
    let res = enter_code(&app, &b, &verify, &code).await;
    assert_eq!(res.status(), 303);
    assert!(session_cookie_set(&res));
    let back = app
        .interact(&b, location(&res), NEW_EMAIL, NEW_PASSWORD, Consent::Allow)
        .await;
    let code = query(&back, "code").expect("a code at the app");
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    assert_eq!(res.status(), 200);
    let tokens: serde_json::Value = res.json().await.unwrap();
    let (claims, _) = app.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["email"], NEW_EMAIL);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Bob Example");
    assert_eq!(app.audit("signed_up").await, 1);
    assert_eq!(app.audit("email_verified").await, 1);
}

#[tokio::test]
async fn the_code_is_stored_only_as_a_hash_and_the_delivered_message_body_is_cleared() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await;
    let code = inbox.wait_for(NEW_EMAIL, 1).await.code();
    // The worker marks it sent right after the server accepted it.
    for _ in 0..100 {
        let m = app.app_state.store.recent_emails(10).await.unwrap();
        if m.iter().all(|m| m.text.is_none()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let messages = app.app_state.store.recent_emails(10).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].text.is_none() && messages[0].html.is_none());
    let account = app
        .app_state
        .store
        .account_by_email(NEW_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let proof = app
        .app_state
        .store
        .live_proof(
            &account.id,
            ostiary::store::ProofPurpose::VerifyEmail,
            app.clock.now(),
        )
        .await
        .unwrap()
        .unwrap();
    let stored = proof.code_hash.unwrap();
    assert!(!stored.contains(&code) && stored.len() >= 43);
}

#[tokio::test]
async fn a_weak_password_is_refused_on_the_sign_up_page_with_the_reason_and_nothing_is_written() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let before = account_count(&app).await;
    for (password, reason) in [
        ("short one", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("bob.example.org", "too easy to guess"),
    ] {
        let res = sign_up(&app, &b, &req, NEW_EMAIL, password).await;
        assert_eq!(res.status(), 422, "{password}");
        let html = res.text().await.unwrap();
        assert!(html.contains(reason), "{password}: {html}");
        assert!(html.contains(NEW_EMAIL), "the form keeps the email");
    }
    let res = sign_up(&app, &b, &req, "not an email", NEW_PASSWORD).await;
    assert_eq!(res.status(), 422);
    assert_eq!(account_count(&app).await, before);
    assert!(
        app.app_state
            .store
            .recent_emails(10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn signing_up_with_a_taken_email_looks_the_same_on_the_page_and_tells_the_owner_by_email() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let res = sign_up(&app, &b, &req, EMAIL, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
    let verify = location(&res);
    assert_eq!(verify.path(), "/verify");
    let page = page_text(&b, verify.clone()).await;
    assert!(page.contains("We sent a 6-digit code to") && page.contains(EMAIL));
    let mail = inbox.wait_for(EMAIL, 1).await;
    assert_eq!(mail.subject, "You already have an account");
    assert!(
        mail.link(&app.url("/forgot"))
            .starts_with(&app.url("/forgot"))
    );
    // No code works, and the password of the existing account did not change.
    let res = enter_code(&app, &b, &verify, "123456").await;
    assert_eq!(res.status(), 422);
    assert!(!session_cookie_set(&res));
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("That code is not right. 4 tries left.")
    );
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
}

#[tokio::test]
async fn five_wrong_codes_use_up_the_code_and_the_right_one_is_refused_after() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let verify = location(&sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await);
    let code = inbox.wait_for(NEW_EMAIL, 1).await.code();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let res = enter_code(&app, &b, &verify, wrong).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        if left > 0 {
            assert!(html.contains(&format!("{left} tr")), "{left}: {html}");
        } else {
            assert!(html.contains("Ask for a new one"), "{html}");
        }
    }
    let res = enter_code(&app, &b, &verify, &code).await;
    assert_eq!(res.status(), 422);
    assert!(!session_cookie_set(&res));
    assert!(res.text().await.unwrap().contains("Ask for a new one"));
    assert!(app.audit("verification_failed").await >= 6);
}

#[tokio::test]
async fn a_code_expires_after_fifteen_minutes() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let verify = location(&sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await);
    let code = inbox.wait_for(NEW_EMAIL, 1).await.code();
    app.clock.advance(15 * 60 + 1);
    let res = enter_code(&app, &b, &verify, &code).await;
    assert_eq!(res.status(), 422);
    assert!(!session_cookie_set(&res));
}

#[tokio::test]
async fn a_new_code_waits_a_minute_and_an_address_gets_five_an_hour_at_most() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let verify = location(&sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await);
    inbox.wait_for(NEW_EMAIL, 1).await;
    let resend = || async {
        let html = page_text(&b, verify.clone()).await;
        let form = [
            ("req", hidden(&html, "req")),
            ("csrf", hidden(&html, "csrf")),
        ];
        let res = b
            .post(app.url("/verify/resend"))
            .form(&form)
            .send()
            .await
            .unwrap();
        res.text().await.unwrap()
    };
    assert!(resend().await.contains("Please wait"), "too soon");
    for n in 2..=5 {
        app.clock.advance(61);
        assert!(resend().await.contains("We sent a new code."), "#{n}");
        inbox.wait_for(NEW_EMAIL, n).await;
    }
    app.clock.advance(61);
    assert!(resend().await.contains("Too many codes"));
    // The newest code works; older ones do not.
    let newest = inbox.wait_for(NEW_EMAIL, 5).await.code();
    let res = enter_code(&app, &b, &verify, &newest).await;
    assert_eq!(res.status(), 303);
    assert!(session_cookie_set(&res));
}

#[tokio::test]
async fn the_link_in_the_message_confirms_the_address_and_the_sign_in_goes_on_in_that_browser() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await;
    let link = inbox
        .wait_for(NEW_EMAIL, 1)
        .await
        .link(&app.url("/verify/link"));
    // Another browser (the mail app's) confirms, but cannot continue the sign-in.
    let other = browser();
    let res = other.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let res = other.get(location(&res)).send().await.unwrap();
    assert!(!session_cookie_set(&res));
    assert_eq!(location(&res).path(), "/login");
    // The link works once.
    let res = other.get(&link).send().await.unwrap();
    expect_error_page(res, 400, "This link no longer works").await;
    // The browser that signed up goes on.
    let res = b
        .get(app.url(&format!("/verify?req={req}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(session_cookie_set(&res));
}

#[tokio::test]
async fn an_unverified_account_stops_for_the_code_at_sign_in_and_goes_on_after_it() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let password = ostiary::secret::Secret::new(NEW_PASSWORD);
    let new = ostiary::accounts::NewAccount {
        email: NEW_EMAIL,
        name: None,
        password: &password,
        email_verified: false,
        policy: None,
    };
    ostiary::accounts::create_local(&app.app_state.store, new, app.clock.now())
        .await
        .unwrap();
    let b = browser();
    let (_, html) = login_page(&app, &b).await;
    let res = app.submit_login(&b, &html, NEW_EMAIL, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(!session_cookie_set(&res));
    let verify = location(&res);
    assert_eq!(verify.path(), "/verify");
    let code = inbox.wait_for(NEW_EMAIL, 1).await.code();
    let res = enter_code(&app, &b, &verify, &code).await;
    assert_eq!(res.status(), 303);
    assert!(session_cookie_set(&res));
    let account = app
        .app_state
        .store
        .account_by_email(NEW_EMAIL)
        .await
        .unwrap()
        .unwrap();
    assert!(account.email_verified);
}

#[tokio::test]
async fn sign_up_is_closed_unless_enabled_and_only_for_allowed_domains() {
    let app = spawn_app().await;
    let b = browser();
    let (login, html) = login_page(&app, &b).await;
    assert!(!html.contains("Create account"));
    let req = query(&login, "req").unwrap();
    let res = b
        .get(app.url(&format!("/register?req={req}")))
        .send()
        .await
        .unwrap();
    expect_error_page(res, 404, "Sign-up is closed").await;
    let form = [
        ("req", req.as_str()),
        ("email", NEW_EMAIL),
        ("password", NEW_PASSWORD),
    ];
    let res = b
        .post(app.url("/register"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let inbox = Inbox::start();
    let url = inbox.url();
    let app = spawn_app_with(move |s| {
        s.registration.enabled = true;
        s.registration.allowed_email_domains = vec!["example.com".into()];
        s.email.smtp_url = Some(url);
        s.email.from = Some("id@example.com".into());
    })
    .await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let res = sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("not open to addresses at this domain")
    );
    let res = sign_up(&app, &b, &req, "carol@EXAMPLE.com", NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn a_sign_up_form_without_its_csrf_token_is_refused_and_creates_nothing() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let before = account_count(&app).await;
    let form = [
        ("req", req.as_str()),
        ("email", NEW_EMAIL),
        ("password", NEW_PASSWORD),
    ];
    let res = b
        .post(app.url("/register"))
        .form(&form)
        .send()
        .await
        .unwrap();
    expect_error_page(res, 400, "Form expired").await;
    assert_eq!(account_count(&app).await, before);
}

#[tokio::test]
async fn a_social_only_deployment_shows_no_sign_up_or_reset_even_with_registration_on() {
    let app = spawn_app_with(|s| {
        s.login.password = false;
        s.dev.fake_upstreams = true;
        s.registration.enabled = true;
        s.email.dev_outbox = true;
    })
    .await;
    let b = browser();
    let (login, html) = login_page(&app, &b).await;
    assert!(html.contains("Continue with"));
    assert!(!html.contains("Create account") && !html.contains("Forgot password?"));
    let req = query(&login, "req").unwrap();
    let res = b
        .get(app.url(&format!("/register?req={req}")))
        .send()
        .await
        .unwrap();
    expect_error_page(res, 404, "Sign-up is closed").await;
    let res = b.get(app.url("/forgot")).send().await.unwrap();
    expect_error_page(res, 404, "Password reset is not available").await;
}
