//! SIGTERM while token requests pour in: the server stops taking connections, answers every
//! request it took in full, and exits 0.

use nix::sys::signal::Signal;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::running::{Running, SERVICE_ID, SERVICE_SECRET, http};

/// What became of one request, as its sender saw it.
struct Outcome {
    id: String,
    sent: Instant,
    done: Instant,
    /// A 200 with a whole token response; `Err` says what came back instead.
    answer: Result<(), String>,
}

async fn one(running: &Running, http: &reqwest::Client, id: &str) -> Result<(), String> {
    let res = http
        .post(format!("{}/token", running.base))
        .basic_auth(SERVICE_ID, Some(SERVICE_SECRET))
        .header("X-Request-Id", id)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .map_err(|e| format!("no answer: {e:?}"))?;
    let status = res.status();
    let body: serde_json::Value = res
        .json()
        .await
        .map_err(|e| format!("{status} with a cut body: {e}"))?;
    match (
        status.as_u16(),
        body["access_token"].as_str(),
        body["token_type"].as_str(),
    ) {
        (200, Some(token), Some("Bearer")) if token.split('.').count() == 3 => Ok(()),
        _ => Err(format!("{status}: {body}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_during_a_load_of_token_requests_answers_every_request_the_server_took_and_exits_0()
{
    let running = Arc::new(Running::start("").await);
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..16)
        .map(|task| {
            let (running, stop, answered) = (running.clone(), stop.clone(), answered.clone());
            tokio::spawn(async move {
                let http = http();
                let mut outcomes = Vec::new();
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("load-{task}-{n}");
                    let sent = Instant::now();
                    let answer = one(&running, &http, &id).await;
                    if answer.is_ok() {
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    let refused = answer.is_err();
                    outcomes.push(Outcome {
                        id,
                        sent,
                        done: Instant::now(),
                        answer,
                    });
                    if refused {
                        // The listener is closing: this sender's part is over.
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                outcomes
            })
        })
        .collect();
    while answered.load(Ordering::SeqCst) < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let signalled = Instant::now();
    running.signal(Signal::SIGTERM);

    let status = running.wait_for_exit().await;
    assert!(
        status.success(),
        "the process exits 0 after SIGTERM, not {status:?}"
    );
    stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for s in senders {
        outcomes.extend(s.await.unwrap());
    }

    // What the server logged as answered, by request id.
    let taken: HashMap<String, u64> = running
        .records()
        .iter()
        .filter(|r| r["target"] == "ostiary::http")
        .filter_map(|r| {
            let id = r["span"]["request_id"].as_str()?.to_owned();
            Some((id, r["status"].as_u64()?))
        })
        .collect();
    let whole: HashSet<&str> = outcomes
        .iter()
        .filter(|o| o.answer.is_ok())
        .map(|o| o.id.as_str())
        .collect();
    for (id, status) in &taken {
        assert_eq!(*status, 200, "the server answered {id} with {status}");
        assert!(
            whole.contains(id.as_str()),
            "the server took {id} but its sender got no whole answer: {:?}",
            outcomes.iter().find(|o| &o.id == id).map(|o| &o.answer)
        );
    }
    for o in &outcomes {
        if let Err(e) = &o.answer {
            assert!(
                !taken.contains_key(&o.id),
                "{} was taken by the server, yet its sender saw {e}",
                o.id
            );
            assert!(
                e.starts_with("no answer"),
                "a request after SIGTERM gets a whole answer or none, not {e}"
            );
        }
    }
    let refused = outcomes.iter().filter(|o| o.answer.is_err()).count();
    let across = outcomes
        .iter()
        .filter(|o| o.answer.is_ok() && o.sent < signalled && o.done > signalled)
        .count();
    eprintln!(
        "{} requests, {} taken by the server, {across} in flight at SIGTERM and answered, {refused} not taken",
        outcomes.len(),
        taken.len()
    );
    assert!(
        across > 0,
        "some requests were in flight when SIGTERM came, and were answered"
    );
    let lines = running.lines();
    assert!(
        running.count("stopped") == 1,
        "the process logs that it stopped: {}",
        lines.join("\n")
    );
}
