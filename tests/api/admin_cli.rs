//! The administrator's commands: `users show`, `users disable|enable` (a disabled account's
//! sessions and refresh tokens end, and its password gets the usual refusal), `users delete`,
//! `users set-password`, `users verify-email`, `sessions list|revoke`.

use crate::helpers::*;

async fn password_sign_in(app: &TestApp, password: &str) -> reqwest::Response {
    let b = browser();
    let res = b
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    let html = page_text(&b, location(&res)).await;
    app.submit_login(&b, &html, EMAIL, password).await
}

#[tokio::test]
async fn a_disabled_account_is_signed_out_everywhere_and_refused_until_enabled() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        ostiary_cli(&app, &["users", "show", "--email", EMAIL]).await,
        0
    );
    assert_eq!(
        ostiary_cli(&app, &["users", "disable", "--email", EMAIL]).await,
        0
    );
    assert_eq!(
        app.browser
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = password_sign_in(&app, PASSWORD).await;
    assert_eq!(res.status(), 401);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Incorrect email or password.")
    );
    assert_eq!(
        ostiary_cli(&app, &["users", "enable", "--email", EMAIL]).await,
        0
    );
    assert_eq!(password_sign_in(&app, PASSWORD).await.status(), 303);
    assert_eq!(app.audit("account_disabled").await, 1);
    assert_eq!(app.audit("account_enabled").await, 1);
    assert_eq!(
        ostiary_cli(&app, &["users", "show", "--email", "nobody@example.com"]).await,
        1
    );
}

#[tokio::test]
async fn set_password_verify_email_and_delete_work_from_the_command_line() {
    let app = spawn_app().await;
    let file = app.dir.join("new-password.txt");
    std::fs::write(&file, "an entirely new walrus cathedral\n").unwrap();
    let weak = app.dir.join("weak.txt");
    std::fs::write(&weak, "password1\n").unwrap();
    let (weak, file) = (weak.display().to_string(), file.display().to_string());
    let set_pw = ["users", "set-password", "--email", EMAIL, "--password-file"];
    let mut args = set_pw.to_vec();
    args.push(&weak);
    assert_eq!(ostiary_cli(&app, &args).await, 1, "the policy applies");
    let mut args = set_pw.to_vec();
    args.push(&file);
    assert_eq!(ostiary_cli(&app, &args).await, 0);
    assert_eq!(password_sign_in(&app, PASSWORD).await.status(), 401);
    assert_eq!(
        password_sign_in(&app, "an entirely new walrus cathedral")
            .await
            .status(),
        303
    );

    let other = ostiary::accounts::NewAccount {
        email: "unverified@example.com",
        name: None,
        password: &ostiary::secret::Secret::new("some other long password"),
        email_verified: false,
        policy: None,
    };
    let now = ostiary::clock::Clock::now(&app.clock);
    ostiary::accounts::create_local(&app.app_state.store, other, now)
        .await
        .unwrap();
    assert_eq!(
        ostiary_cli(
            &app,
            &["users", "verify-email", "--email", "unverified@example.com"]
        )
        .await,
        0
    );
    let store = &app.app_state.store;
    let a = store
        .account_by_email("unverified@example.com")
        .await
        .unwrap()
        .unwrap();
    assert!(a.email_verified);
    assert_eq!(
        ostiary_cli(
            &app,
            &["users", "delete", "--email", "unverified@example.com"]
        )
        .await,
        0
    );
    assert!(
        store
            .account_by_email("unverified@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_account_or_by_id() {
    let app = spawn_app().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    assert_eq!(ostiary_cli(&app, &["sessions", "list"]).await, 0);
    assert_eq!(
        ostiary_cli(&app, &["sessions", "list", "--email", EMAIL]).await,
        0
    );
    assert_eq!(
        ostiary_cli(&app, &["sessions", "revoke", "--id", "nope"]).await,
        1
    );
    let account = ostiary::protocol::ids::AccountId::new(app.account_id.clone());
    let now = ostiary::clock::Clock::now(&app.clock);
    let id = app
        .app_state
        .store
        .sessions_of(&account, now)
        .await
        .unwrap()[0]
        .id_hash
        .clone();
    assert_eq!(
        ostiary_cli(&app, &["sessions", "revoke", "--id", &id]).await,
        0
    );
    assert_eq!(
        app.browser
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    assert_eq!(
        ostiary_cli(&app, &["sessions", "revoke", "--email", EMAIL]).await,
        0
    );
    assert_eq!(
        app.browser
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
}
