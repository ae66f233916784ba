//! "Forgot password?": the same answer for every address, a single-use link, and a reset that
//! signs the account out everywhere without signing anyone in by itself.

use crate::helpers::*;
use crate::self_service::{login_page, spawn_with_mail};
use crate::smtp::Inbox;

const RESET_PASSWORD: &str = "quartz lantern harbour 1987";

/// Ask for a reset of `email` from the login page of a request; the answer's HTML.
async fn forgot(app: &TestApp, b: &reqwest::Client, req: &str, email: &str) -> String {
    let html = page_text(b, app.url(&format!("/forgot?req={req}"))).await;
    let form = [
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("email", email.to_owned()),
    ];
    let res = b.post(app.url("/forgot")).form(&form).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

async fn set_password(
    app: &TestApp,
    b: &reqwest::Client,
    link: &str,
    password: &str,
) -> reqwest::Response {
    let res = b.get(link).send().await.unwrap();
    assert_eq!(res.status(), 200, "{link}");
    let html = res.text().await.unwrap();
    let form = [
        ("token", hidden(&html, "token")),
        ("csrf", hidden(&html, "csrf")),
        ("password", password.to_owned()),
    ];
    b.post(app.url("/reset")).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_an_unknown_address_and_sends_it_nothing() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let known = forgot(&app, &b, &req, EMAIL).await;
    let unknown = forgot(&app, &b, &req, "nobody@example.com").await;
    assert!(known.contains("If an account exists for"));
    assert_eq!(
        known.replace(EMAIL, "X"),
        unknown.replace("nobody@example.com", "X"),
        "the two answers differ only by the address"
    );
    inbox.wait_for(EMAIL, 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(inbox.for_address("nobody@example.com").is_empty());
    assert_eq!(app.audit("reset_requested").await, 1);
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_ends_every_session_and_refresh_family_and_works_once() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    // Alice is signed in with a refresh token in one browser.
    let tokens = app.webapp_tokens().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    forgot(&app, &b, &req, EMAIL).await;
    let mail = inbox.wait_for(EMAIL, 1).await;
    assert_eq!(mail.subject, "Reset your password");
    let link = mail.link(&app.url("/reset?token="));

    // A weak new password is refused, and the link still works after that.
    let res = set_password(&app, &b, &link, "password").await;
    assert_eq!(res.status(), 422);
    let res = set_password(&app, &b, &link, RESET_PASSWORD).await;
    assert_eq!(res.status(), 303);
    assert!(!session_cookie_set(&res), "a reset signs no one in");
    let back = location(&res);
    assert_eq!(back.path(), "/login");
    assert!(
        page_text(&b, back.clone())
            .await
            .contains("Your password was changed")
    );
    // The link works once.
    let res = b.get(&link).send().await.unwrap();
    expect_error_page(res, 400, "This link no longer works").await;

    // The refresh family and the other browser's session are gone.
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = app
        .browser
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res).path(), "/login", "the old session ended");
    // The old password no longer works; the new one does, through the normal sign-in.
    let html = page_text(&b, back.clone()).await;
    let res = app.submit_login(&b, &html, EMAIL, PASSWORD).await;
    assert_eq!(res.status(), 401);
    let code = app
        .interact(&b, back, EMAIL, RESET_PASSWORD, Consent::Allow)
        .await;
    assert!(query(&code, "code").is_some());
    assert!(
        inbox
            .wait_for(EMAIL, 2)
            .await
            .subject
            .contains("password was changed")
    );
    assert_eq!(app.audit("reset_completed").await, 1);
}

#[tokio::test]
async fn a_reset_link_expires_after_thirty_minutes() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    forgot(&app, &b, &req, EMAIL).await;
    let link = inbox
        .wait_for(EMAIL, 1)
        .await
        .link(&app.url("/reset?token="));
    app.clock.advance(30 * 60 + 1);
    let res = b.get(&link).send().await.unwrap();
    expect_error_page(res, 400, "This link no longer works").await;
}

#[tokio::test]
async fn a_reset_clears_the_lockout_of_the_email() {
    let inbox = Inbox::start();
    let url = inbox.url();
    let app = spawn_app_with(move |s| {
        s.email.smtp_url = Some(url);
        s.email.from = Some("id@example.com".into());
        s.login.lockout_threshold = 2;
    })
    .await;
    let b = browser();
    let (login, html) = login_page(&app, &b).await;
    for _ in 0..2 {
        app.submit_login(&b, &html, EMAIL, "wrong password here")
            .await;
    }
    let html = page_text(&b, login.clone()).await;
    assert_eq!(
        app.submit_login(&b, &html, EMAIL, PASSWORD).await.status(),
        401,
        "locked"
    );
    let req = query(&login, "req").unwrap();
    forgot(&app, &b, &req, EMAIL).await;
    let link = inbox
        .wait_for(EMAIL, 1)
        .await
        .link(&app.url("/reset?token="));
    assert_eq!(
        set_password(&app, &b, &link, RESET_PASSWORD).await.status(),
        303
    );
    let back = app
        .interact(&b, login, EMAIL, RESET_PASSWORD, Consent::Allow)
        .await;
    assert!(query(&back, "code").is_some(), "the lockout is cleared");
}

#[tokio::test]
async fn reset_links_to_one_address_wait_a_minute_between_them() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    forgot(&app, &b, &req, EMAIL).await;
    inbox.wait_for(EMAIL, 1).await;
    forgot(&app, &b, &req, EMAIL).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        inbox.for_address(EMAIL).len(),
        1,
        "the second asks too soon"
    );
    app.clock.advance(61);
    forgot(&app, &b, &req, EMAIL).await;
    inbox.wait_for(EMAIL, 2).await;
}

#[tokio::test]
async fn an_account_without_a_password_can_set_one_by_reset_only_with_a_verified_email() {
    use ostiary::clock::Clock as _;
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    for (email, verified) in [
        ("fed-ok@example.com", true),
        ("fed-unverified@example.com", false),
    ] {
        let account = ostiary::store::Account {
            id: ostiary::protocol::ids::AccountId::new(uuid::Uuid::new_v4().to_string()),
            email: Some(email.into()),
            email_verified: verified,
            name: None,
            password_hash: None,
            created_at: app.clock.now(),
        };
        app.app_state.store.create_account(&account).await.unwrap();
    }
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    forgot(&app, &b, &req, "fed-unverified@example.com").await;
    forgot(&app, &b, &req, "fed-ok@example.com").await;
    let link = inbox
        .wait_for("fed-ok@example.com", 1)
        .await
        .link(&app.url("/reset?token="));
    assert_eq!(
        set_password(&app, &b, &link, RESET_PASSWORD).await.status(),
        303
    );
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(inbox.for_address("fed-unverified@example.com").is_empty());
    let back = app
        .interact(
            &b,
            login,
            "fed-ok@example.com",
            RESET_PASSWORD,
            Consent::Allow,
        )
        .await;
    assert!(query(&back, "code").is_some());
}

#[tokio::test]
async fn a_reset_form_with_a_forged_token_or_no_csrf_changes_nothing() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let b = browser();
    let res = b.get(app.url("/reset?token=forged")).send().await.unwrap();
    expect_error_page(res, 400, "This link no longer works").await;
    let res = b
        .post(app.url("/reset"))
        .form(&[("token", "forged"), ("password", RESET_PASSWORD)])
        .send()
        .await
        .unwrap();
    expect_error_page(res, 400, "Form expired").await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
}
