//! `[log] format = "json"`: every line the process writes is one JSON object; a request's
//! lines carry its request id (the caller's `X-Request-Id`, or one made up and returned); no
//! secret, token or query string reaches the log.

use nix::sys::signal::Signal;

use crate::running::{Running, SERVICE_ID, SERVICE_SECRET, http};

#[tokio::test]
async fn json_logs_are_one_object_per_line_with_the_request_id_and_no_secret() {
    let running = Running::start("").await;
    let http = http();
    let res = http
        .get(format!(
            "{}/.well-known/openid-configuration?probe=query-secret",
            running.base
        ))
        .header("X-Request-Id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "trace-me-42");
    let res = running
        .token(&http, SERVICE_ID, SERVICE_SECRET)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let made_up = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made_up.len(), 32, "a request id is made when none is sent");
    let token: serde_json::Value = res.json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();

    running.signal(Signal::SIGTERM);
    assert!(running.wait_for_exit().await.success());
    let lines = running.lines();
    assert!(lines.len() > 5, "the process logged: {lines:?}");
    for line in &lines {
        let record: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
        for key in ["timestamp", "level", "target", "message"] {
            assert!(record.get(key).is_some(), "{key} missing from {line}");
        }
        for secret in [SERVICE_SECRET, token.as_str(), "query-secret"] {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
    }
    let records = running.records();
    let access = |id: &str| {
        records
            .iter()
            .find(|r| r["target"] == "ostiary::http" && r["span"]["request_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no access line for {id}: {lines:?}"))
    };
    let discovery = access("trace-me-42");
    assert_eq!(discovery["path"], "/.well-known/openid-configuration");
    assert_eq!(discovery["status"], 200);
    assert!(discovery["ms"].as_f64().is_some());
    assert_eq!(access(&made_up)["path"], "/token");
}
