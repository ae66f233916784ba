//! The `ostiary` command line, run in-process: check-config's exit code, migrate, keys.

use clap::Parser;
use ostiary::cli::{Cli, run};

fn workspace() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ostiary-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_config(dir: &std::path::Path, extra: &str) -> String {
    let path = dir.join("ostiary.toml");
    let text = format!(
        "issuer = \"http://127.0.0.1:18080\"\n[server]\nbind = \"127.0.0.1:18080\"\ndata_dir = \"{d}\"\n[database]\nurl = \"sqlite://{d}/cli.db?mode=rwc\"\n{extra}",
        d = dir.display()
    );
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn ostiary(args: &[&str]) -> i32 {
    let mut argv = vec!["ostiary"];
    argv.extend_from_slice(args);
    run(Cli::parse_from(argv)).await.unwrap()
}

#[tokio::test]
async fn check_config_exits_0_on_a_valid_file_and_1_on_a_broken_one() {
    let dir = workspace();
    let good = write_config(
        &dir,
        "[[clients]]\nclient_id = \"svc\"\nclient_secret = \"a-long-enough-secret-0123456789\"\ngrant_types = [\"client_credentials\"]\nscope = \"api\"\n",
    );
    assert_eq!(ostiary(&["--config", &good, "check-config"]).await, 0);
    let bad = write_config(
        &dir,
        "[[clients]]\nclient_id = \"svc\"\ngrant_types = [\"password\"]\n",
    );
    assert_eq!(ostiary(&["--config", &bad, "check-config"]).await, 1);
    assert_eq!(
        ostiary(&["--config", "/nonexistent/ostiary.toml", "check-config"]).await,
        1
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn migrate_and_keys_rotate_work_from_the_command_line() {
    let dir = workspace();
    let cfg = write_config(&dir, "");
    assert_eq!(ostiary(&["--config", &cfg, "migrate"]).await, 0);
    assert_eq!(ostiary(&["--config", &cfg, "keys", "rotate"]).await, 0);
    assert_eq!(ostiary(&["--config", &cfg, "keys", "rotate"]).await, 0);
    assert_eq!(ostiary(&["--config", &cfg, "keys", "list"]).await, 0);
    let store = ostiary::store::Store::connect(&format!("sqlite://{}/cli.db", dir.display()), 1)
        .await
        .unwrap();
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys.iter().filter(|k| k.retired_at.is_none()).count(), 1);
    let now = chrono::Utc::now().timestamp();
    let next = keys.iter().find(|k| k.retired_at.is_none()).unwrap();
    assert!(
        next.active_from > now,
        "a rotated-in key waits until every instance publishes it"
    );
    assert_eq!(keys.iter().filter(|k| k.signs_at(now)).count(), 1);
    assert_eq!(
        ostiary(&["--config", &cfg, "keys", "rotate", "--now"]).await,
        0
    );
    let keys = store.signing_keys().await.unwrap();
    let next = keys.iter().find(|k| k.retired_at.is_none()).unwrap();
    assert!(
        next.signs_at(chrono::Utc::now().timestamp()),
        "--now signs at once"
    );
    assert_eq!(ostiary(&["--config", &cfg, "users", "list"]).await, 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn keys_revoke_unpublishes_a_key_and_a_new_one_signs_at_once() {
    let dir = workspace();
    let cfg = write_config(&dir, "");
    assert_eq!(ostiary(&["--config", &cfg, "keys", "rotate"]).await, 0);
    let store = ostiary::store::Store::connect(&format!("sqlite://{}/cli.db", dir.display()), 1)
        .await
        .unwrap();
    let signing = store.signing_keys().await.unwrap()[0].kid.clone();

    assert_eq!(
        ostiary(&["--config", &cfg, "keys", "revoke", &signing]).await,
        0
    );

    let keys = store.signing_keys().await.unwrap();
    let revoked = keys.iter().find(|k| k.kid == signing).unwrap();
    assert!(revoked.revoked_at.is_some());
    let now = chrono::Utc::now().timestamp();
    let signer: Vec<_> = keys.iter().filter(|k| k.signs_at(now)).collect();
    assert_eq!(signer.len(), 1, "exactly one key signs");
    assert_ne!(signer[0].kid, signing);
    assert_eq!(ostiary(&["--config", &cfg, "keys", "list"]).await, 0);
    // Revoking it again, or an unknown key, is an error.
    assert_eq!(
        ostiary(&["--config", &cfg, "keys", "revoke", &signing]).await,
        1
    );
    assert_eq!(
        ostiary(&["--config", &cfg, "keys", "revoke", "no-such-kid"]).await,
        1
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn users_add_applies_the_password_policy_and_marks_the_email_verified_unless_told_not_to() {
    let dir = workspace();
    let cfg = write_config(&dir, "");
    let weak = dir.join("weak.txt");
    std::fs::write(&weak, "password123\n").unwrap();
    let strong = dir.join("strong.txt");
    std::fs::write(&strong, "walrus cathedral pepper 9\n").unwrap();
    let add = |email: &'static str, file: &std::path::Path, extra: &'static [&'static str]| {
        let file = file.display().to_string();
        let cfg = cfg.clone();
        async move {
            let mut args = vec![
                "--config",
                &cfg,
                "users",
                "add",
                "--email",
                email,
                "--password-file",
                &file,
            ];
            args.extend_from_slice(extra);
            ostiary(&args).await
        }
    };
    assert_eq!(add("weak@example.com", &weak, &[]).await, 1);
    assert_eq!(
        add("weak@example.com", &weak, &["--allow-weak-password"]).await,
        0
    );
    assert_eq!(add("new@example.com", &strong, &["--unverified"]).await, 0);
    assert_eq!(add("admin@example.com", &strong, &[]).await, 0);
    let store = ostiary::store::Store::connect(&format!("sqlite://{}/cli.db", dir.display()), 1)
        .await
        .unwrap();
    let verified = |email: &'static str| {
        let store = store.clone();
        async move {
            store
                .account_by_email(email)
                .await
                .unwrap()
                .unwrap()
                .email_verified
        }
    };
    assert!(verified("weak@example.com").await);
    assert!(!verified("new@example.com").await);
    assert!(verified("admin@example.com").await);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn email_test_sends_a_message_through_the_configured_smtp_server_and_fails_without_one() {
    let inbox = crate::smtp::Inbox::start();
    let dir = workspace();
    let cfg = write_config(
        &dir,
        &format!(
            "[email]\nsmtp_url = \"{}\"\nfrom = \"Ostiary <id@example.com>\"\n",
            inbox.url()
        ),
    );
    assert_eq!(
        ostiary(&["--config", &cfg, "email", "test", "--to", "ops@example.com"]).await,
        0
    );
    let got = inbox.wait_for("ops@example.com", 1).await;
    assert_eq!(got.subject, "Test message from Ostiary");
    let none = write_config(&dir, "");
    assert_eq!(
        ostiary(&[
            "--config",
            &none,
            "email",
            "test",
            "--to",
            "ops@example.com"
        ])
        .await,
        1
    );
    let _ = std::fs::remove_dir_all(dir);
}
