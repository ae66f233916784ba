//! `spawn_app()`: a real Ostiary on 127.0.0.1:0 with a fresh database (a SQLite file, or a new
//! PostgreSQL database when `TEST_DATABASE_URL` is set), a manual clock, and an HTTP client
//! that keeps cookies and does not follow redirects — a browser we can inspect.

use ostiary::clock::ManualClock;
use ostiary::config::Settings;
use ostiary::startup::Application;
use reqwest::redirect::Policy;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use url::Url;

pub const WEB_SECRET: &str = "webapp-secret-0123456789abcdef";
pub const REPORTS_SECRET: &str = "reports-secret-0123456789abcdef0123";
pub const OTHER_SECRET: &str = "other-secret-0123456789abcdef0123456";
pub const REDIRECT: &str = "http://127.0.0.1:4201/cb";
pub const EMAIL: &str = "alice@example.com";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub clock: ManualClock,
    pub app_state: ostiary::state::State,
    /// What a config reload swaps (`app_state` is the snapshot from the start).
    pub live: actix_web::web::Data<ostiary::state::Live>,
    pub dir: PathBuf,
    /// A browser: cookies kept, redirects not followed.
    pub browser: reqwest::Client,
    /// A back-channel client (no cookies).
    pub http: reqwest::Client,
    pub account_id: String,
    /// The database URL (shared by a `restart`).
    pub db_url: String,
    /// A PostgreSQL test database to drop when the test ends: (server URL, database name).
    drop_database: Option<(String, String)>,
    /// The HTTP server (`stop(true)` is what SIGTERM does), and its task.
    pub server: actix_web::dev::ServerHandle,
    pub serving: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// `http://127.0.0.1:PORT/metrics` when `[metrics] bind` is set.
    pub metrics_url: Option<String>,
}

/// The client list of the issue's example config, plus a first-party client and a second
/// confidential client for cross-client checks.
pub fn clients_toml(redirect: &str) -> String {
    format!(
        r#"
[[clients]]
client_id = "webapp"
client_name = "Web app"
client_secret = "{WEB_SECRET}"
redirect_uris = ["{redirect}"]
post_logout_redirect_uris = ["{redirect}"]
grant_types = ["authorization_code", "refresh_token"]
response_types = ["code"]
scope = "openid profile email offline_access"
token_endpoint_auth_method = "client_secret_basic"

[[clients]]
client_id = "spa"
client_name = "Single-page app"
redirect_uris = ["{redirect}"]
grant_types = ["authorization_code", "refresh_token"]
response_types = ["code"]
scope = "openid profile email offline_access"
token_endpoint_auth_method = "none"

[[clients]]
client_id = "reports-service"
client_name = "Reports service"
client_secret = "{REPORTS_SECRET}"
grant_types = ["client_credentials"]
scope = "api"
token_endpoint_auth_method = "client_secret_basic"

[[clients]]
client_id = "first-party"
client_name = "First-party app"
client_secret = "{OTHER_SECRET}"
redirect_uris = ["{redirect}"]
grant_types = ["authorization_code", "refresh_token"]
scope = "openid profile email offline_access"
token_endpoint_auth_method = "client_secret_post"
skip_consent = true
"#
    )
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawn with extra TOML appended to the sections (`tweak` edits the parsed settings).
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with_redirect(REDIRECT, tweak).await
}

pub async fn spawn_app_with_redirect(redirect: &str, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    spawn_app_on(listener, redirect, tweak).await
}

/// Spawn on a port chosen beforehand (a test that must know the issuer before it starts).
pub async fn spawn_app_on_port(port: u16, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the chosen port");
    spawn_app_on(listener, REDIRECT, tweak).await
}

async fn spawn_app_on(
    listener: TcpListener,
    redirect: &str,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let dir = std::env::temp_dir().join(format!("ostiary-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (db, drop_database) = crate::databases::database_url(&dir).await;
    let mut app = start(listener, redirect, &db, &dir, tweak).await;
    let account = ostiary::accounts::create(
        &app.app_state.store,
        EMAIL,
        Some("Alice Liddell".into()),
        &ostiary::secret::Secret::new(PASSWORD),
        clock_now(&app.clock),
    )
    .await
    .expect("test account");
    app.account_id = account.id.into_string();
    app.drop_database = drop_database;
    app
}

/// Another Ostiary on the same database and data folder (same keys), with other settings: a
/// restart after a config change.
pub async fn restart(app: &TestApp, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    let mut again = start(listener, REDIRECT, &app.db_url, &app.dir, tweak).await;
    again.account_id = app.account_id.clone();
    again
}

/// `n` instances on one fresh database, as behind a load balancer: one issuer (the first's
/// address) and the same keys; started at the same time, so they migrate together. The test
/// account exists; the first instance drops the database at the end.
pub async fn spawn_cluster(n: usize, tweak: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let dir = std::env::temp_dir().join(format!("ostiary-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (db, drop_database) = crate::databases::database_url(&dir).await;
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind port 0"))
        .collect();
    let issuer = format!(
        "http://127.0.0.1:{}",
        listeners[0].local_addr().unwrap().port()
    );
    let starts = listeners.into_iter().map(|l| {
        let (db, dir, issuer, tweak) = (&db, &dir, issuer.clone(), &tweak);
        async move {
            start(l, REDIRECT, db, dir, |s| {
                s.issuer = issuer;
                tweak(s);
            })
            .await
        }
    });
    let mut apps = futures_util::future::join_all(starts).await;
    let account = ostiary::accounts::create(
        &apps[0].app_state.store,
        EMAIL,
        Some("Alice Liddell".into()),
        &ostiary::secret::Secret::new(PASSWORD),
        clock_now(&apps[0].clock),
    )
    .await
    .expect("test account");
    for app in &mut apps {
        app.account_id = account.id.to_string();
    }
    apps[0].drop_database = drop_database;
    apps
}

async fn start(
    listener: TcpListener,
    redirect: &str,
    db: &str,
    dir: &std::path::Path,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let port = listener.local_addr().unwrap().port();
    let address = format!("http://127.0.0.1:{port}");
    let text = format!(
        "issuer = \"{address}\"\n[server]\nbind = \"127.0.0.1:{port}\"\nworkers = 2\ndata_dir = \"{}\"\n[database]\nurl = \"{db}\"\nmax_connections = 8\n{}",
        dir.display(),
        clients_toml(redirect)
    );
    let mut settings =
        Settings::parse(std::path::Path::new("test.toml"), &text, std::iter::empty())
            .expect("test config parses");
    settings.keys.encryption_key_env = "OSTIARY_TEST_NO_SUCH_VARIABLE".into();
    // One address drives every test: the per-address limits are tested on their own.
    settings.limits = ostiary::config::LimitSettings::off();
    tweak(&mut settings);
    let clock = ManualClock::starting_now();
    let app = Application::build_on(settings, Arc::new(clock.clone()), listener)
        .await
        .expect("app builds");
    let app_state = app.state();
    let live = app.live();
    let server = app.handle();
    let metrics_url = app
        .metrics_port()
        .map(|p| format!("http://127.0.0.1:{p}/metrics"));
    let serving = Some(tokio::spawn(app.run_until_stopped()));
    TestApp {
        address,
        clock,
        app_state,
        live,
        dir: dir.to_owned(),
        browser: browser(),
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
        account_id: String::new(),
        db_url: db.to_owned(),
        drop_database: None,
        server,
        serving,
        metrics_url,
    }
}

fn clock_now(c: &ManualClock) -> i64 {
    use ostiary::clock::Clock;
    c.now()
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of a hidden form field.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in page:\n{html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

pub fn location(res: &reqwest::Response) -> Url {
    let loc = res
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location, status {}", res.status()));
    Url::parse(loc.to_str().unwrap()).unwrap()
}

pub fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Allow,
    Deny,
}

pub struct AuthorizeParams<'a> {
    pub client_id: &'a str,
    pub scope: &'a str,
    pub challenge: Option<&'a str>,
    pub extra: Vec<(&'a str, &'a str)>,
}

impl<'a> AuthorizeParams<'a> {
    pub fn new(client_id: &'a str, scope: &'a str) -> Self {
        Self {
            client_id,
            scope,
            challenge: None,
            extra: Vec::new(),
        }
    }
}

pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn authorize_url(&self, p: &AuthorizeParams<'_>) -> Url {
        let mut url = Url::parse(&self.url("/authorize")).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", p.client_id)
                .append_pair("redirect_uri", REDIRECT)
                .append_pair("scope", p.scope)
                .append_pair("state", "st-123")
                .append_pair("nonce", "n-456");
            if let Some(c) = p.challenge {
                q.append_pair("code_challenge", c)
                    .append_pair("code_challenge_method", "S256");
            }
            for (k, v) in &p.extra {
                q.append_pair(k, v);
            }
        }
        url
    }

    /// Drive the hosted pages like a person: sign in when asked, answer consent, and return the
    /// final redirect to the client.
    pub async fn interact(
        &self,
        browser: &reqwest::Client,
        start: Url,
        email: &str,
        password: &str,
        consent: Consent,
    ) -> Url {
        let mut next = start;
        for _ in 0..10 {
            if !next.as_str().starts_with(&self.address) {
                return next;
            }
            let res = browser.get(next.clone()).send().await.unwrap();
            if res.status() == 303 {
                next = location(&res);
                continue;
            }
            assert_eq!(res.status(), 200, "unexpected page at {next}");
            let html = res.text().await.unwrap();
            let form = if next.path() == "/login" {
                vec![
                    ("req", hidden(&html, "req")),
                    ("csrf", hidden(&html, "csrf")),
                    ("email", email.into()),
                    ("password", password.into()),
                ]
            } else if next.path() == "/consent" {
                let decision = if consent == Consent::Allow {
                    "allow"
                } else {
                    "deny"
                };
                vec![
                    ("req", hidden(&html, "req")),
                    ("csrf", hidden(&html, "csrf")),
                    ("decision", decision.into()),
                ]
            } else {
                panic!("unexpected page {next}:\n{html}");
            };
            let res = browser
                .post(self.url(next.path()))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                303,
                "form at {next} did not redirect: {}",
                res.text().await.unwrap()
            );
            next = location(&res);
        }
        panic!("too many steps");
    }

    /// The code from a full sign-in with consent, as `webapp` (or another client).
    pub async fn code_for(&self, p: &AuthorizeParams<'_>) -> String {
        let back = self
            .interact(
                &self.browser,
                self.authorize_url(p),
                EMAIL,
                PASSWORD,
                Consent::Allow,
            )
            .await;
        query(&back, "code").unwrap_or_else(|| panic!("no code in {back}"))
    }

    pub async fn token(
        &self,
        client: (&str, Option<&str>),
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self.http.post(self.url("/token"));
        let mut form: Vec<(&str, &str)> = form.to_vec();
        match client {
            (id, Some(secret)) if id == "first-party" => {
                form.push(("client_id", id));
                form.push(("client_secret", secret));
            }
            (id, Some(secret)) => req = req.basic_auth(id, Some(secret)),
            (id, None) => form.push(("client_id", id)),
        }
        req.form(&form).send().await.unwrap()
    }

    pub async fn exchange(
        &self,
        client: (&str, Option<&str>),
        code: &str,
        verifier: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ];
        if let Some(v) = verifier {
            form.push(("code_verifier", v));
        }
        self.token(client, &form).await
    }

    /// Sign in as webapp with offline_access and return the token response JSON.
    pub async fn webapp_tokens(&self) -> serde_json::Value {
        let p = AuthorizeParams {
            challenge: Some(CHALLENGE),
            ..AuthorizeParams::new("webapp", "openid profile email offline_access")
        };
        let code = self.code_for(&p).await;
        let res = self
            .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
            .await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    pub async fn userinfo(&self, access_token: &str) -> reqwest::Response {
        self.http
            .get(self.url("/userinfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }

    pub async fn jwks(&self) -> josekit::jwk::JwkSet {
        let body = self
            .http
            .get(self.url("/jwks.json"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        josekit::jwk::JwkSet::from_bytes(&body).unwrap()
    }

    /// Verify a JWT as an API would: RS256 only, key chosen by kid from the published JWKS.
    pub async fn verify_jwt(
        &self,
        token: &str,
    ) -> (
        serde_json::Map<String, serde_json::Value>,
        josekit::jws::JwsHeader,
    ) {
        let set = self.jwks().await;
        let header = josekit::jwt::decode_header(token).unwrap();
        let kid = header
            .claim("kid")
            .and_then(|v| v.as_str())
            .expect("kid")
            .to_owned();
        let jwk = set.get(&kid).into_iter().next().expect("kid is published");
        assert_eq!(header.claim("alg").and_then(|v| v.as_str()), Some("RS256"));
        let verifier = josekit::jws::RS256.verifier_from_jwk(jwk).unwrap();
        let (payload, header) = josekit::jwt::decode_with_verifier(token, &verifier).unwrap();
        (payload.claims_set().clone(), header)
    }

    /// Submit the password form of a login page (`html`) with this browser.
    pub async fn submit_login(
        &self,
        browser: &reqwest::Client,
        html: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let form = [
            ("req", hidden(html, "req")),
            ("csrf", hidden(html, "csrf")),
            ("email", email.to_owned()),
            ("password", password.to_owned()),
        ];
        browser
            .post(self.url("/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn audit(&self, kind: &str) -> usize {
        let kind = ostiary::audit::AuditKind::parse(kind).expect("a known audit kind");
        self.app_state.store.audit_events(kind).await.unwrap().len()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((base, name)) = self.drop_database.take() {
            crate::databases::drop_database(base, name, &self.db_url);
        }
    }
}

/// GET a page with this browser and return its body.
pub async fn page_text(browser: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    browser.get(url).send().await.unwrap().text().await.unwrap()
}

/// Assert that a response is Ostiary's own HTML error page with this status and title: no
/// redirect, no framework default.
pub async fn expect_error_page(res: reqwest::Response, status: u16, title: &str) -> String {
    assert_eq!(res.status().as_u16(), status);
    assert!(res.headers().get("location").is_none());
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("<title>{title} — Ostiary</title>"))
            && html.contains("class=\"error\" role=\"alert\""),
        "not our error page titled {title:?}:\n{html}"
    );
    html
}

/// The session cookie a response sets, if any.
pub fn session_cookie_set(res: &reqwest::Response) -> bool {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap_or("").contains("ostiary_session="))
}

/// The `kid` in a JWT's header.
pub fn kid_of(token: &str) -> String {
    josekit::jwt::decode_header(token)
        .unwrap()
        .claim("kid")
        .and_then(|v| v.as_str())
        .expect("a kid")
        .to_owned()
}

/// A client_credentials access token for `reports-service`.
pub async fn service_access_token(app: &TestApp) -> String {
    let res = app
        .token(
            ("reports-service", Some(REPORTS_SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The `kid` that signs a client_credentials token for `reports-service` right now.
pub async fn service_token_kid(app: &TestApp) -> String {
    kid_of(&service_access_token(app).await)
}

/// Run the `ostiary` command line on this app's database and data folder (its key-encryption
/// key); the exit code.
pub async fn ostiary_cli(app: &TestApp, args: &[&str]) -> i32 {
    use clap::Parser;
    let config = app.dir.join("cli.toml");
    std::fs::write(
        &config,
        format!(
            "issuer = \"{}\"\n[server]\ndata_dir = \"{}\"\n[database]\nurl = \"{}\"\n",
            app.address,
            app.dir.display(),
            app.db_url
        ),
    )
    .unwrap();
    let mut argv = vec!["ostiary", "--config", config.to_str().unwrap()];
    argv.extend_from_slice(args);
    ostiary::cli::run(ostiary::cli::Cli::parse_from(argv))
        .await
        .unwrap()
}
