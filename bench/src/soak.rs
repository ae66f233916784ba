//! The soak load (bench/soak.sh): every worker mixes what a deployment sees, one request or
//! flow at a time: a code exchange on its browser's session (then userinfo with the access
//! token), a complete password sign-in in a new browser, a service's client_credentials
//! token, and the discovery document with the JWKS. Every `--every` seconds one line: the
//! minute, what was done, the rate, p50/p99 latency, errors, and the server's RSS (read from
//! /proc for `--pid`). At the end, one verdict line: errors, and RSS growth from the end of
//! the first interval (the warm-up) to the end.

use anyhow::{Context, bail};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{Jar, exchange_for_token, http_client, percentile, raw, sign_in};

const SERVICE: &str = "reports-service";
const SERVICE_SECRET: &str = "reports-secret-0123456789abcdef0123";

#[derive(Default)]
struct Window {
    latencies: Mutex<Vec<Duration>>,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Window {
    fn record(&self, took: Duration, outcome: anyhow::Result<()>) {
        match outcome {
            Ok(()) => self
                .latencies
                .lock()
                .map(|mut l| l.push(took))
                .unwrap_or(()),
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut first) = self.first_error.lock() {
                    first.get_or_insert_with(|| format!("{e:#}"));
                }
            }
        }
    }

    /// Take this interval's figures and start the next.
    fn drain(&self) -> (Vec<Duration>, u64, Option<String>) {
        let mut lat = self
            .latencies
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        lat.sort();
        let first = self.first_error.lock().ok().and_then(|mut f| f.take());
        (lat, self.errors.swap(0, Ordering::Relaxed), first)
    }
}

fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("no VmRSS")?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kib / 1024.0)
}

async fn ok(res: reqwest::Response) -> anyhow::Result<serde_json::Value> {
    let status = res.status();
    let body = res.bytes().await?;
    if status != 200 {
        bail!("{status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(serde_json::from_slice(&body)?)
}

/// One step of the mix, chosen by `n`, on a worker's own client and browser (whose pages are
/// walked on its bare connection).
async fn step(
    n: u64,
    http: &reqwest::Client,
    conn: &mut raw::Conn,
    jar: &mut Jar,
    base: &str,
    email: &str,
) -> anyhow::Result<()> {
    match n % 10 {
        // A sign-in redirect on a live session and the code exchange, then userinfo: most of
        // what an app does.
        0..=3 => {
            let code = sign_in(conn, jar, base, email).await?;
            let tokens = exchange_for_token(http, base, &code).await?;
            let access = tokens["access_token"].as_str().context("no access token")?;
            ok(http
                .get(format!("{base}/userinfo"))
                .bearer_auth(access)
                .send()
                .await?)
            .await
            .map(drop)
        }
        // A complete password sign-in in a new browser.
        4 => {
            let code = sign_in(conn, &mut Jar::default(), base, email).await?;
            exchange_for_token(http, base, &code).await.map(drop)
        }
        // A service's token.
        5..=7 => ok(http
            .post(format!("{base}/token"))
            .basic_auth(SERVICE, Some(SERVICE_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?)
        .await
        .map(drop),
        // An API refreshing its view of the keys.
        _ => {
            ok(http
                .get(format!("{base}/.well-known/openid-configuration"))
                .send()
                .await?)
            .await?;
            ok(http.get(format!("{base}/jwks.json")).send().await?)
                .await
                .map(drop)
        }
    }
}

pub async fn soak(
    base: &str,
    seconds: u64,
    connections: usize,
    every: u64,
    pid: u32,
) -> anyhow::Result<()> {
    let window = Arc::new(Window::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for worker in 0..connections {
        let (base, window) = (base.to_owned(), window.clone());
        workers.push(tokio::spawn(async move {
            let http = http_client()?;
            let email = crate::email(worker);
            let mut conn = raw::Conn::new(&base)?;
            let mut jar = Jar::default();
            sign_in(&mut conn, &mut jar, &base, &email)
                .await
                .with_context(|| format!("warm-up sign-in of {email}"))?;
            let mut n = worker as u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let outcome = step(n, &http, &mut conn, &mut jar, &base, &email).await;
                window.record(t.elapsed(), outcome);
                n += 1;
            }
            anyhow::Ok(())
        }));
    }
    println!(
        "{:>6} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9}",
        "minute", "done", "per s", "p50 ms", "p99 ms", "errors", "RSS MiB"
    );
    let started = Instant::now();
    let (mut total_errors, mut warm_rss, mut last_rss) = (0, None, 0.0);
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(every),
        Duration::from_secs(every),
    );
    while Instant::now() < deadline {
        tick.tick().await;
        let (lat, errors, first) = window.drain();
        let rss = rss_mib(pid)?;
        warm_rss.get_or_insert(rss);
        last_rss = rss;
        total_errors += errors;
        println!(
            "{:>6.1} {:>9} {:>8.1} {:>8.2} {:>8.2} {:>7} {:>9.1}",
            started.elapsed().as_secs_f64() / 60.0,
            lat.len(),
            lat.len() as f64 / every as f64,
            percentile(&lat, 0.50).as_secs_f64() * 1e3,
            percentile(&lat, 0.99).as_secs_f64() * 1e3,
            errors,
            rss
        );
        if let Some(e) = first {
            eprintln!("       first error of this interval: {e}");
        }
    }
    for w in workers {
        w.await??;
    }
    let warm = warm_rss.unwrap_or(last_rss);
    println!(
        "verdict: {total_errors} errors; RSS {warm:.1} MiB after the first interval, {last_rss:.1} MiB at the end ({:+.1} MiB)",
        last_rss - warm
    );
    if total_errors > 0 {
        bail!("{total_errors} requests failed");
    }
    Ok(())
}
