//! Load generator for the flows wrk cannot drive: a full code exchange (authorize with a
//! session and remembered consent, then the token request) and complete password sign-ins
//! (login form, remembered consent, code exchange). Also measures the argon2id ceiling.
//!
//! `ostiary-bench exchange|signin|argon2 --base URL [--seconds N] [--connections N]`; prints
//! bare figures for bench/run.sh to lay out. `ostiary-bench soak … --every N --pid PID` runs
//! bench/soak.sh's mixed load (see `soak`).

mod raw;
mod soak;

use base64::Engine;

use anyhow::{Context, bail};
use reqwest::redirect::Policy;
use std::time::{Duration, Instant};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:4201/cb";
const CLIENT: &str = "bench-web";
const SECRET: &str = "bench-secret-0123456789abcdef0123";
/// Each worker signs in its own account, `bench{i}@example.com` (bench/run.sh creates them):
/// like real traffic, and below the per-email lockout that parallel sign-ins of one account
/// would reach.
fn email(worker: usize) -> String {
    format!("bench{worker}@example.com")
}
pub const PASSWORD: &str = "bench password 0123";

struct Args {
    mode: String,
    base: String,
    seconds: u64,
    connections: usize,
    every: u64,
    pid: u32,
}

fn args() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let mode = it
        .next()
        .context("mode: exchange | signin | soak | argon2")?;
    let mut a = Args {
        mode,
        base: "http://127.0.0.1:8080".into(),
        seconds: 10,
        connections: 64,
        every: 60,
        pid: 0,
    };
    while let Some(flag) = it.next() {
        let v = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--base" => a.base = v,
            "--seconds" => a.seconds = v.parse()?,
            "--connections" => a.connections = v.parse()?,
            "--every" => a.every = v.parse()?,
            "--pid" => a.pid = v.parse()?,
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(a)
}

/// One HTTP client per worker (connections are reused); cookies are kept per simulated
/// browser in a `Jar`, so a fresh browser costs no new client.
fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(Policy::none())
        .pool_max_idle_per_host(4)
        .build()?)
}

/// A browser's cookies (name → value), enough for Ostiary's host-only cookies.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    /// The `Cookie` header line a request from this browser carries (none without cookies).
    fn cookie_line(&self) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("Cookie: {}\r\n", pairs.join("; "))
    }

    /// Keep the cookie one `Set-Cookie` value sets (an empty value clears it).
    fn set(&mut self, text: &str) {
        let pair = text.split(';').next().unwrap_or_default();
        if let Some((k, v)) = pair.split_once('=') {
            self.0.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.0.push((k.to_owned(), v.to_owned()));
            }
        }
    }
}

fn authorize_url(base: &str) -> anyhow::Result<Url> {
    let mut u = Url::parse(&format!("{base}/authorize"))?;
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid email")
        .append_pair("state", "s")
        .append_pair("nonce", "n");
    Ok(u)
}

fn field(html: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .with_context(|| format!("no {name} field"))?
        + marker.len();
    let end = html[start..].find('"').context("unterminated field")? + start;
    Ok(html[start..end].to_owned())
}

/// The code a redirect to the app carries, if `url` is one.
fn code_of(url: &Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

/// Walk /authorize → (login) → (consent) → code, as a browser with `jar`'s cookies, on the
/// worker's bare connection.
pub(crate) async fn sign_in(
    conn: &mut raw::Conn,
    jar: &mut Jar,
    base: &str,
    email: &str,
) -> anyhow::Result<String> {
    let mut next = authorize_url(base)?;
    let base = Url::parse(base)?;
    for _ in 0..8 {
        if let Some(code) = code_of(&next) {
            return Ok(code);
        }
        let target = &next[url::Position::BeforePath..];
        let res = conn.send("GET", target, &jar.cookie_line(), b"").await?;
        jar.take_raw(&res);
        let location = |res: &raw::Response| -> anyhow::Result<Url> {
            let to = res
                .location
                .as_deref()
                .with_context(|| format!("no redirect (status {})", res.status))?;
            Ok(base.join(to)?)
        };
        if res.status == 303 {
            next = location(&res)?;
            continue;
        }
        let html = std::str::from_utf8(&res.body)?;
        let form: Vec<(&str, String)> = match next.path() {
            "/login" => vec![
                ("req", field(html, "req")?),
                ("csrf", field(html, "csrf")?),
                ("email", email.into()),
                ("password", PASSWORD.into()),
            ],
            "/consent" => vec![
                ("req", field(html, "req")?),
                ("csrf", field(html, "csrf")?),
                ("decision", "allow".into()),
            ],
            p => bail!("unexpected page {p}"),
        };
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let headers = format!(
            "{}Content-Type: application/x-www-form-urlencoded\r\n",
            jar.cookie_line()
        );
        let res = conn
            .send("POST", next.path(), &headers, body.as_bytes())
            .await?;
        jar.take_raw(&res);
        next = location(&res)?;
    }
    bail!("no code after 8 steps")
}

/// The code exchange; the token response.
async fn exchange_for_token(
    http: &reqwest::Client,
    base: &str,
    code: &str,
) -> anyhow::Result<serde_json::Value> {
    let res = http
        .post(format!("{base}/token"))
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await?;
    if res.status() != 200 {
        bail!("token endpoint answered {}", res.status());
    }
    Ok(res.json().await?)
}

/// A worker's own browser: its cookies and its bare connection.
struct Browser {
    jar: Jar,
    raw: raw::Conn,
    authorize: String,
    basic: String,
}

/// One iteration of a scenario, on a worker's own browser.
async fn iteration(mode: &str, b: &mut Browser, base: &str, email: &str) -> anyhow::Result<()> {
    let code = match mode {
        // The session and the consent exist: /authorize answers with the code at once.
        "exchange" => {
            let cookie = b.jar.cookie_line();
            let res = b.raw.send("GET", &b.authorize, &cookie, b"").await?;
            b.jar.take_raw(&res);
            let location = res
                .location
                .with_context(|| format!("no redirect (status {})", res.status))?;
            code_of(&Url::parse(&location)?).context("no code in the redirect")?
        }
        // A new browser: no session, so the password is checked every time.
        "signin" => sign_in(&mut b.raw, &mut Jar::default(), base, email).await?,
        m => bail!("unknown mode {m}"),
    };
    token(b, &code).await
}

/// The token request for `code` on the browser's bare connection; an error unless the
/// tokens come back.
async fn token(b: &mut Browser, code: &str) -> anyhow::Result<()> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", REDIRECT)
        .finish();
    let headers = format!(
        "Authorization: Basic {}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
        b.basic
    );
    let res = b
        .raw
        .send("POST", "/token", &headers, body.as_bytes())
        .await?;
    let tokens = std::str::from_utf8(&res.body).unwrap_or_default();
    if res.status != 200 || !tokens.contains("\"id_token\"") {
        bail!("token endpoint answered {}", res.status);
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn load(a: &Args) -> anyhow::Result<()> {
    // Every worker first signs in once (its consent is then remembered; in `exchange` mode its
    // session is kept), then all start together.
    let ready = std::sync::Arc::new(tokio::sync::Barrier::new(a.connections + 1));
    let mut tasks = Vec::new();
    for worker in 0..a.connections {
        let base = a.base.clone();
        let mode = a.mode.clone();
        let seconds = a.seconds;
        let ready = ready.clone();
        tasks.push(tokio::spawn(async move {
            let authorize = authorize_url(&base)?;
            let mut b = Browser {
                jar: Jar::default(),
                raw: raw::Conn::new(&base)?,
                authorize: authorize[url::Position::BeforePath..].to_owned(),
                basic: base64::engine::general_purpose::STANDARD
                    .encode(format!("{CLIENT}:{SECRET}")),
            };
            let email = email(worker);
            let warm = sign_in(&mut b.raw, &mut b.jar, &base, &email).await;
            ready.wait().await;
            warm.with_context(|| format!("warm-up sign-in of {email}"))?;
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                match iteration(&mode, &mut b, &base, &email).await {
                    Ok(()) => lat.push(t.elapsed()),
                    Err(_) => errors += 1,
                }
            }
            anyhow::Ok((lat, errors))
        }));
    }
    ready.wait().await;
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await??;
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    // For bench/run.sh: rate, p50 and p99 in ms, errors, slowest in ms.
    println!(
        "{:.1} {:.2} {:.2} {} {:.2}",
        all.len() as f64 / elapsed,
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        errors,
        all.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    Ok(())
}

/// argon2id (m=19456 KiB, t=2, p=1) hashes per second with every core hashing at once (what
/// the machine allows: concurrent hashes share memory bandwidth and caches), beside one core's
/// rate times the cores.
fn argon2_ceiling() -> anyhow::Result<()> {
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    let params = Params::new(19 * 1024, 2, 1, Some(32)).map_err(|e| anyhow::anyhow!("{e}"))?;
    // Each thread hashes into working memory allocated once, as the server's hashing threads
    // do (allocating it per hash costs page faults the server does not pay).
    let hash_n = |n: u32| -> anyhow::Result<Duration> {
        let a = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let mut blocks = vec![Block::default(); params.block_count()];
        let mut out = [0u8; 32];
        let t = Instant::now();
        for i in 0..n {
            a.hash_password_into_with_memory(
                format!("password {i}").as_bytes(),
                b"saltsaltsaltsalt",
                &mut out,
                &mut blocks,
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Ok(t.elapsed())
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let n = 30;
    let single = hash_n(n)?.as_secs_f64() / f64::from(n);
    // The median of five rounds: on a shared machine a neighbour can slow one round down (a
    // single round once measured 86/s where the machine does 140/s) and another can run
    // alone, while the sign-ins measured against it average over their whole run.
    let mut rounds = Vec::with_capacity(5);
    for _ in 0..5 {
        let t = Instant::now();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..cores).map(|_| s.spawn(|| hash_n(n))).collect();
            handles.into_iter().try_for_each(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("hash thread panicked"))?
                    .map(|_| ())
            })
        })?;
        rounds.push((cores as f64 * f64::from(n)) / t.elapsed().as_secs_f64());
    }
    rounds.sort_by(f64::total_cmp);
    let parallel = rounds[rounds.len() / 2];
    // For bench/run.sh: the ceiling per second, and one hash alone in ms.
    println!("{parallel:.1} {:.1}", single * 1e3);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    // The exchange's and the sign-ins' load is light enough for one thread, which then wakes
    // no other: the fewer cycles the load takes, the more the server gets of the cores the
    // limit counts.
    let rt = match a.mode.as_str() {
        "exchange" | "signin" => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()?;
    match a.mode.as_str() {
        "argon2" => argon2_ceiling(),
        "soak" => rt.block_on(soak::soak(
            &a.base,
            a.seconds,
            a.connections,
            a.every,
            a.pid,
        )),
        _ => rt.block_on(load(&a)),
    }
}
