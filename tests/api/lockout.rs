//! Password sign-in lockout: failures counted per email (known or not), never per IP; the
//! locked email gets the same answer as a wrong password; the lock ends by itself (injected
//! clock) or with `ostiary users unlock`; concurrent guesses cannot exceed the threshold.

use crate::helpers::*;
use clap::Parser;

/// One password attempt from a fresh browser: the status of the login POST, and its page.
async fn attempt(app: &TestApp, email: &str, password: &str) -> (u16, String) {
    let browser = browser();
    let res = browser
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    let html = page_text(&browser, location(&res)).await;
    let res = app.submit_login(&browser, &html, email, password).await;
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

async fn fail_times(app: &TestApp, email: &str, n: usize) {
    for _ in 0..n {
        let (status, page) = attempt(app, email, "wrong password 123").await;
        assert_eq!(status, 401);
        assert!(page.contains("Incorrect email or password."));
    }
}

#[tokio::test]
async fn ten_wrong_passwords_lock_the_email_and_then_even_the_right_one_gets_the_same_answer() {
    let app = spawn_app().await;

    fail_times(&app, EMAIL, 10).await;
    let (status, page) = attempt(&app, EMAIL, PASSWORD).await;

    assert_eq!(status, 401);
    assert!(page.contains("Incorrect email or password."));
    assert_eq!(app.audit("login_locked").await, 1);
    assert_eq!(app.audit("login_succeeded").await, 0);

    // The first lockout lasts a minute (injected clock): then the right password works.
    app.clock.advance(61);
    let (status, _) = attempt(&app, EMAIL, PASSWORD).await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn consecutive_lockouts_last_longer() {
    let app = spawn_app().await;
    fail_times(&app, EMAIL, 10).await;
    app.clock.advance(61);
    fail_times(&app, EMAIL, 10).await;

    app.clock.advance(61);
    assert_eq!(
        attempt(&app, EMAIL, PASSWORD).await.0,
        401,
        "the second lasts two minutes"
    );
    app.clock.advance(60);
    assert_eq!(attempt(&app, EMAIL, PASSWORD).await.0, 303);
}

#[tokio::test]
async fn an_unknown_email_is_locked_the_same_way_so_nothing_is_enumerated() {
    let app = spawn_app().await;

    fail_times(&app, "nobody@example.com", 11).await;

    assert_eq!(app.audit("login_locked").await, 1);
    // Another email is not affected.
    assert_eq!(attempt(&app, EMAIL, PASSWORD).await.0, 303);
}

#[tokio::test]
async fn concurrent_guesses_cannot_exceed_the_threshold() {
    let app = std::sync::Arc::new(spawn_app().await);
    let guesses: Vec<_> = (0..30)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { attempt(&app, EMAIL, "wrong password 123").await.0 })
        })
        .collect();
    for g in guesses {
        assert_eq!(g.await.unwrap(), 401);
    }

    let checked = app
        .app_state
        .store
        .audit_events(ostiary::audit::AuditKind::LoginFailed)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.reason.as_deref() != Some("locked"))
        .count();
    assert_eq!(
        checked, 10,
        "only the threshold's worth of guesses reached the password check"
    );
}

#[tokio::test]
async fn ostiary_users_unlock_ends_a_lockout() {
    let app = spawn_app().await;
    fail_times(&app, EMAIL, 10).await;
    let cfg = app.dir.join("unlock.toml");
    std::fs::write(
        &cfg,
        format!(
            "issuer = \"{}\"\n[database]\nurl = \"{}\"\n",
            app.address, app.app_state.settings.database.url
        ),
    )
    .unwrap();

    let code = ostiary::cli::run(ostiary::cli::Cli::parse_from([
        "ostiary",
        "--config",
        cfg.to_str().unwrap(),
        "users",
        "unlock",
        "--email",
        "Alice@Example.com",
    ]))
    .await
    .unwrap();

    assert_eq!(code, 0);
    assert_eq!(attempt(&app, EMAIL, PASSWORD).await.0, 303);
}
