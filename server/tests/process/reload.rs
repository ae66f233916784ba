//! SIGHUP: the config file is read again; a good edit is applied whole (a new client works at
//! once, a restart-only key is reported and kept), a bad one is refused with its key in the
//! log, the running configuration stays, and `/metrics` counts both.

use nix::sys::signal::Signal;

use crate::running::{Running, SERVICE_ID, SERVICE_SECRET, http};

const BATCH: &str = r#"
[[clients]]
client_id = "nightly-batch"
client_secret = "nightly-secret-0123456789abcdef0123"
grant_types = ["client_credentials"]
scope = "api"
"#;
const BATCH_SECRET: &str = "nightly-secret-0123456789abcdef0123";

async fn status(running: &Running, client: &str, secret: &str) -> u16 {
    running
        .token(&http(), client, secret)
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn reloads(running: &Running, outcome: &str) -> String {
    let text = http()
        .get(running.metrics.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let series = format!("ostiary_config_reloads_total{{outcome=\"{outcome}\"}}");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .unwrap_or(" 0")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn sighup_applies_a_good_edit_of_the_config_file_and_refuses_a_bad_one_keeping_the_running_config()
 {
    let running = Running::start("").await;
    assert_eq!(status(&running, "nightly-batch", BATCH_SECRET).await, 401);

    // A good edit: a new client, and a key only a restart can change.
    running.rewrite_config(&format!("{BATCH}\n"));
    let text = std::fs::read_to_string(&running.config).unwrap().replace(
        "shutdown_timeout_seconds = 20",
        "shutdown_timeout_seconds = 5",
    );
    std::fs::write(&running.config, text).unwrap();
    running.signal(Signal::SIGHUP);
    running.wait_for_message("configuration reloaded").await;
    assert_eq!(status(&running, "nightly-batch", BATCH_SECRET).await, 200);
    assert_eq!(status(&running, SERVICE_ID, SERVICE_SECRET).await, 200);
    let restart = running
        .wait_for_message("changed in the config file, but applies only after a restart")
        .await;
    assert_eq!(restart["key"], "server.shutdown_timeout_seconds");
    assert_eq!(reloads(&running, "applied").await, "1");

    // A bad edit: the new client is dropped and a key nobody knows is added. Nothing of it
    // applies: the client removed in the file keeps working until a good file comes.
    running.rewrite_config("[[clients]]\nclient_id = \"broken\"\ncolour = \"red\"\n");
    running.signal(Signal::SIGHUP);
    let problem = running
        .wait_for("a refused reload", 1, |r| {
            r["level"] == "ERROR"
                && r["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("reload refused"))
        })
        .await;
    assert!(
        problem["message"].as_str().unwrap().contains("colour"),
        "the refusal names the key: {problem}"
    );
    assert_eq!(status(&running, "nightly-batch", BATCH_SECRET).await, 200);
    assert_eq!(reloads(&running, "refused").await, "1");
    assert_eq!(reloads(&running, "applied").await, "1");

    // Fixed again and reloaded: the file's clients are the running ones.
    running.rewrite_config("");
    running.signal(Signal::SIGHUP);
    running.wait_for_nth("configuration reloaded", 2).await;
    assert_eq!(status(&running, "nightly-batch", BATCH_SECRET).await, 401);
    assert_eq!(status(&running, SERVICE_ID, SERVICE_SECRET).await, 200);

    running.signal(Signal::SIGTERM);
    assert!(running.wait_for_exit().await.success());
}
