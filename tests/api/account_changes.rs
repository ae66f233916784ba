//! What a signed-in person changes on /account: name, password, email (with a code), and the
//! deletion of the account.

use crate::helpers::*;
use crate::self_service::spawn_with_mail;
use crate::smtp::Inbox;

const NEWER_PASSWORD: &str = "saffron glacier accordion 7";

/// Post a form of the account page with the signed-in `app.browser`.
async fn post(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let html = page_text(&app.browser, app.url("/account")).await;
    let mut form = vec![("csrf".to_owned(), hidden(&html, "csrf"))];
    form.extend(
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    app.browser
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions_but_this_one() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    // Another browser of Alice's holds a refresh token.
    let other = app.webapp_tokens().await;
    let refresh = other["refresh_token"].as_str().unwrap().to_owned();
    let res = post(
        &app,
        "/account/password",
        &[
            ("current_password", "not it at all"),
            ("new_password", NEWER_PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("current password is not right")
    );
    let res = post(
        &app,
        "/account/password",
        &[("current_password", PASSWORD), ("new_password", "abc")],
    )
    .await;
    assert_eq!(res.status(), 422);
    let res = post(
        &app,
        "/account/password",
        &[
            ("current_password", PASSWORD),
            ("new_password", NEWER_PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        page_text(&app.browser, location(&res))
            .await
            .contains("Your password is changed")
    );
    // This session stays; the refresh family does not.
    let res = app.browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(res.status(), 400);
    let b = browser();
    let back = app
        .interact(
            &b,
            app.authorize_url(&AuthorizeParams::new("webapp", "openid")),
            EMAIL,
            NEWER_PASSWORD,
            Consent::Allow,
        )
        .await;
    assert!(query(&back, "code").is_some());
    assert!(
        inbox
            .wait_for(EMAIL, 1)
            .await
            .subject
            .contains("password was changed")
    );
    assert_eq!(app.audit("password_changed").await, 1);
}

#[tokio::test]
async fn changing_the_email_takes_a_code_sent_to_the_new_address_and_tells_the_old_one() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let new = "alice.new@example.net";
    let res = post(
        &app,
        "/account/email",
        &[("email", new), ("current_password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 303);
    let page = page_text(&app.browser, location(&res)).await;
    assert!(page.contains(&format!("Code sent to {new}")), "{page}");
    let code = inbox.wait_for(new, 1).await.code();
    let res = post(&app, "/account/email/confirm", &[("code", "000000")]).await;
    if code != "000000" {
        assert_eq!(res.status(), 422);
    }
    let res = post(&app, "/account/email/confirm", &[("code", &code)]).await;
    assert_eq!(res.status(), 303);
    let account = app
        .app_state
        .store
        .account_by_email(new)
        .await
        .unwrap()
        .unwrap();
    assert!(account.email_verified);
    let told = inbox.wait_for(EMAIL, 1).await;
    assert_eq!(told.subject, "Your email address was changed");
    assert!(told.text.contains(new));
    // The ID token now carries the new address.
    let tokens = app.webapp_tokens().await;
    let (claims, _) = app.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["email"], new);
    assert_eq!(app.audit("email_changed").await, 1);
}

#[tokio::test]
async fn an_address_another_account_holds_is_never_revealed_and_never_taken() {
    let inbox = Inbox::start();
    let app = spawn_with_mail(&inbox).await;
    let taken = "carol@example.com";
    ostiary::accounts::create(
        &app.app_state.store,
        taken,
        None,
        &ostiary::secret::Secret::new("carol's own long passphrase"),
        0,
    )
    .await
    .unwrap();
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let res = post(
        &app,
        "/account/email",
        &[("email", taken), ("current_password", PASSWORD)],
    )
    .await;
    assert_eq!(res.status(), 303, "the same answer as for a free address");
    let page = page_text(&app.browser, location(&res)).await;
    assert!(page.contains(&format!("Code sent to {taken}")));
    let notice = inbox.wait_for(taken, 1).await;
    assert_eq!(notice.subject, "This address is already in use");
    assert!(!notice.text.contains("code"), "no code for a taken address");
    let res = post(&app, "/account/email/confirm", &[("code", "123456")]).await;
    assert_eq!(res.status(), 422);
    let alice = app.app_state.store.account_by_email(EMAIL).await.unwrap();
    assert!(alice.is_some(), "Alice keeps her address");
}

#[tokio::test]
async fn the_name_can_be_changed_and_reaches_the_id_token() {
    let app = spawn_app().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let res = post(&app, "/account/profile", &[("name", "  Alice Pleasance  ")]).await;
    assert_eq!(res.status(), 303);
    let tokens = app.webapp_tokens().await;
    let (claims, _) = app.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["name"], "Alice Pleasance");
    assert_eq!(app.audit("profile_updated").await, 1);
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_ends_its_sessions_tokens_and_consents() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let res = post(
        &app,
        "/account/delete",
        &[("current_password", "wrong wrong wrong")],
    )
    .await;
    assert_eq!(res.status(), 422);
    assert!(
        app.app_state
            .store
            .account_by_email(EMAIL)
            .await
            .unwrap()
            .is_some()
    );
    let res = post(&app, "/account/delete", &[("current_password", PASSWORD)]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("Account deleted"));
    assert!(
        app.app_state
            .store
            .account_by_email(EMAIL)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.userinfo(&access).await.status(), 401);
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = app.browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 400, "signed out");
    assert_eq!(app.audit("account_deleted").await, 1);
    assert!(
        app.audit("login_succeeded").await >= 1,
        "the audit records stay"
    );
}

#[tokio::test]
async fn account_forms_without_their_csrf_token_change_nothing() {
    let app = spawn_app().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    for (path, field, value) in [
        ("/account/profile", "name", "Mallory"),
        ("/account/delete", "current_password", PASSWORD),
        ("/account/password", "current_password", PASSWORD),
    ] {
        let res = app
            .browser
            .post(app.url(path))
            .form(&[(field, value), ("new_password", NEWER_PASSWORD)])
            .send()
            .await
            .unwrap();
        expect_error_page(res, 400, "Form expired").await;
    }
    let a = app
        .app_state
        .store
        .account_by_email(EMAIL)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.name.as_deref(), Some("Alice Liddell"));
}
