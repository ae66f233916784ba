//! Email delivery through the outbox: an SMTP server that is down loses nothing, a message
//! outliving its code is dropped and recorded, the development outbox keeps messages, and the
//! configuration is checked.

use crate::helpers::*;
use crate::self_service::{NEW_EMAIL, NEW_PASSWORD, login_page, sign_up, spawn_with_mail};
use crate::smtp::{Inbox, free_port};
use ostiary::store::OutboxState;

async fn first_message(app: &TestApp) -> ostiary::store::OutboxMessage {
    app.app_state
        .store
        .recent_emails(1)
        .await
        .unwrap()
        .remove(0)
}

/// Wait until the worker has tried the first message at least `n` times.
async fn attempted(app: &TestApp, n: i32) {
    for _ in 0..200 {
        if first_message(app).await.attempts >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no delivery attempt #{n}");
}

/// An Ostiary whose SMTP server (on the port returned) is not running yet.
async fn spawn_with_smtp_down() -> (u16, TestApp) {
    let port = free_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(move |s| {
        s.registration.enabled = true;
        s.email.smtp_url = Some(url);
        s.email.from = Some("id@example.com".into());
        s.email.timeout_seconds = 2;
    })
    .await;
    (port, app)
}

#[tokio::test]
async fn a_message_queued_while_the_smtp_server_is_down_arrives_once_it_is_up() {
    let (port, app) = spawn_with_smtp_down().await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    // The page does not wait for, or fail with, the mail server.
    let res = sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await;
    assert_eq!(res.status(), 303);
    attempted(&app, 1).await;
    let m = first_message(&app).await;
    assert_eq!(m.state, OutboxState::Pending);
    assert!(m.last_error.unwrap().contains("SMTP"));
    let inbox = Inbox::start_on_port(port);
    // The retry comes after its backoff (5 s after the first failure).
    app.clock.advance(6);
    let mail = inbox.wait_for(NEW_EMAIL, 1).await;
    assert_eq!(mail.subject, "Confirm your email address");
    for _ in 0..100 {
        if first_message(&app).await.state == OutboxState::Sent {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(first_message(&app).await.state, OutboxState::Sent);
    // Sent once: later passes of the worker do not send it again.
    app.clock.advance(600);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(inbox.for_address(NEW_EMAIL).len(), 1);
}

#[tokio::test]
async fn a_message_undelivered_when_its_code_expires_is_dropped_and_recorded() {
    let (port, app) = spawn_with_smtp_down().await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await;
    attempted(&app, 1).await;
    app.clock.advance(15 * 60 + 1);
    for _ in 0..100 {
        if first_message(&app).await.state == OutboxState::Dropped {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let m = first_message(&app).await;
    assert_eq!(m.state, OutboxState::Dropped);
    assert!(m.text.is_none(), "a dropped message keeps no code");
    assert_eq!(app.audit("email_dropped").await, 1);
    // A server that comes up later gets nothing.
    let inbox = Inbox::start_on_port(port);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(inbox.for_address(NEW_EMAIL).is_empty());
}

#[tokio::test]
async fn the_development_outbox_keeps_messages_and_shows_their_codes_and_links() {
    let app = spawn_app_with(|s| {
        s.registration.enabled = true;
        s.email.dev_outbox = true;
    })
    .await;
    let b = browser();
    let (login, _) = login_page(&app, &b).await;
    let req = query(&login, "req").unwrap();
    let verify = location(&sign_up(&app, &b, &req, NEW_EMAIL, NEW_PASSWORD).await);
    assert!(page_text(&b, verify.clone()).await.contains("/dev/outbox"));
    let outbox = page_text(&b, app.url("/dev/outbox")).await;
    assert!(outbox.contains("Confirm your email address") && outbox.contains(NEW_EMAIL));
    assert!(outbox.contains(&app.url("/verify/link?token=")));
    assert_eq!(first_message(&app).await.state, OutboxState::Held);
    // Without dev_outbox there is no such page.
    let plain = spawn_app().await;
    let res = plain
        .http
        .get(plain.url("/dev/outbox"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn check_config_refuses_bad_email_settings() {
    let inbox = Inbox::start();
    let _ = spawn_with_mail(&inbox).await; // a valid one starts
    let base = "issuer = \"https://id.example.com\"\n";
    for (extra, key) in [
        ("[email]\ndev_outbox = true\n", "email.dev_outbox"),
        (
            "[email]\nsmtp_url = \"http://smtp.example.com\"\nfrom = \"id@example.com\"\n",
            "email.smtp_url",
        ),
        (
            "[email]\nsmtp_url = \"smtps://smtp.example.com\"\n",
            "email.from",
        ),
        (
            "[email]\nsmtp_url = \"smtps://smtp.example.com\"\nfrom = \"not an address\"\n",
            "email.from",
        ),
        ("[registration]\nenabled = true\n", "registration.enabled"),
        ("[passwords]\nmin_length = 4\n", "passwords.min_length"),
    ] {
        let text = format!("{base}{extra}");
        let s = ostiary::config::Settings::parse(
            std::path::Path::new("t.toml"),
            &text,
            std::iter::empty(),
        )
        .unwrap();
        let problems = ostiary::config::validate(&s, &|_| None);
        assert!(
            problems
                .iter()
                .any(|p| p.key == key && p.severity == ostiary::config::Severity::Error),
            "{extra}: {problems:?}"
        );
    }
}

#[tokio::test]
async fn two_instances_on_one_database_deliver_each_queued_message_exactly_once() {
    let inbox = Inbox::start();
    let first = spawn_with_mail(&inbox).await;
    let url = inbox.url();
    let second = restart(&first, move |s| {
        s.email.smtp_url = Some(url);
        s.email.from = Some("id@example.com".into());
    })
    .await;
    use ostiary::clock::Clock as _;
    for i in 0..30 {
        let m = ostiary::store::NewEmail {
            kind: "test",
            recipient: "many@example.com".into(),
            subject: format!("message {i}"),
            text: format!("body {i}"),
            html: format!("<p>body {i}</p>"),
            expires_at: first.clock.now() + 600,
            held: false,
        };
        first
            .app_state
            .store
            .enqueue_email(&m, first.clock.now())
            .await
            .unwrap();
    }
    inbox.wait_for("many@example.com", 30).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let got = inbox.for_address("many@example.com");
    let mut subjects: Vec<_> = got.iter().map(|m| m.subject.clone()).collect();
    subjects.sort();
    subjects.dedup();
    assert_eq!((got.len(), subjects.len()), (30, 30), "each once");
    drop(second);
}
