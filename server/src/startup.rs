//! Composition root (architecture guide C9): connect the database, migrate, load keys and
//! clients, bind the listener (port 0 in tests), start the HTTP server and background jobs.

use actix_web::dev::Server;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use crate::accounts::{self, password::PasswordVerifierPool};
use crate::clients::ClientRegistry;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::keys::{KeyEncryptionKey, KeySet};
use crate::oauth::discovery;
use crate::routes;
use crate::secret::Secret;
use crate::state::{AppState, Live, State};
use crate::store::Store;

pub struct Application {
    port: u16,
    server: Server,
    live: web::Data<Live>,
    jobs: crate::jobs::Jobs,
    /// The `/metrics` listener (`[metrics] bind`), and its port.
    metrics: Option<(Server, u16)>,
    /// The task that reloads a renewed TLS certificate.
    certificate_watch: Option<tokio::task::JoinHandle<()>>,
}

/// Create the directory an embedded SQLite file lives in.
fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let path = rest.split('?').next().unwrap_or("");
        if let Some(parent) = std::path::Path::new(path).parent()
            && !parent.as_os_str().is_empty()
            && !path.starts_with(":memory:")
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    Ok(())
}

/// Open the store named by the settings (creating the SQLite directory if needed).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    ensure_sqlite_dir(&settings.database.url)?;
    Store::connect(&settings.database.url, settings.database.max_connections)
        .await
        .context("connecting to the database")
}

/// The signing keys and every key derived from the key-encryption key.
pub struct LoadedKeys {
    pub keys: KeySet,
    pub csrf: [u8; 32],
    pub refresh: [u8; 32],
    pub factors: crate::accounts::factors::FactorKeys,
}

pub async fn load_keys(settings: &Settings, store: &Store, now: i64) -> anyhow::Result<LoadedKeys> {
    let (kek, source) = KeyEncryptionKey::from_settings(settings)?;
    tracing::info!(source = ?source, "key-encryption key loaded");
    let csrf = kek.derive("ostiary csrf v1");
    let refresh = kek.derive("ostiary refresh successor v1");
    let factors = crate::accounts::factors::FactorKeys::from_kek(&kek);
    store.set_audit_key(kek.derive(crate::audit::chain::KEY_LABEL));
    let t = &settings.tokens;
    let window = t
        .access_token_lifetime_seconds
        .max(t.id_token_lifetime_seconds)
        + 300;
    // On PostgreSQL the hot statements are batched across the requests waiting for them
    // (`store::combine`), and signing on the HTTP workers releases requests in bursts that
    // batch well: with signing threads the batches shrank from about twenty to three and the
    // database server's CPU per code exchange tripled.
    let signing_threads = settings
        .server
        .signing_threads
        .unwrap_or(if store.is_postgres() {
            0
        } else {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        });
    let keys = KeySet::load_or_init(store, kek, window, signing_threads, now).await?;
    Ok(LoadedKeys {
        keys,
        csrf,
        refresh,
        factors,
    })
}

/// Every problem with the settings: config's own sections, then each owner's (clients,
/// upstreams). Errors stop `serve`; `ostiary check-config` prints them all.
pub fn check_config(
    settings: &crate::config::Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<crate::config::Problem> {
    let mut problems = crate::config::validate(settings, env);
    problems.extend(crate::clients::validate(&settings.clients, env));
    problems.extend(crate::upstream::registry::validate(
        &settings.upstreams,
        settings.dev.fake_upstreams,
        env,
    ));
    problems
}

impl Application {
    /// Bind `server.bind` and build.
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("binding {}", settings.server.bind))?;
        Self::build_on(settings, clock, listener).await
    }

    /// Build on a listener the caller bound (tests bind port 0 first to learn the issuer URL).
    pub async fn build_on(
        settings: Settings,
        clock: SharedClock,
        listener: TcpListener,
    ) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let env = |k: &str| std::env::var(k).ok();
        let problems = check_config(&settings, &env);
        for p in &problems {
            match p.severity {
                crate::config::Severity::Warning => tracing::warn!("{p}"),
                crate::config::Severity::Error => tracing::error!("{p}"),
            }
        }
        if problems
            .iter()
            .any(|p| p.severity == crate::config::Severity::Error)
        {
            anyhow::bail!("the configuration has errors (run `ostiary check-config`)");
        }
        let store = open_store(&settings).await?;
        if settings.server.migrate_on_start {
            store.migrate().await.context("running migrations")?;
        }
        let now = clock.now();
        let LoadedKeys {
            keys,
            csrf: csrf_key,
            refresh: refresh_key,
            factors: factor_keys,
        } = load_keys(&settings, &store, now).await?;
        let clients = ClientRegistry::from_config(&settings.clients, &env)?;
        let mailer = crate::email::Mailer::new(&settings.email, &settings.issuer, &env)?;
        let mut upstreams = crate::upstream::Registry::from_config(&settings.upstreams, &env)
            .map_err(anyhow::Error::msg)?;
        // Offline dev mode: this server plays fake providers under /dev/fake (check-config
        // refuses it outside a loopback http issuer).
        let fakes = if settings.dev.fake_upstreams {
            let fakes = crate::devfakes::FakeProviders::new(
                &format!("{}/dev/fake", settings.issuer_base()),
                clock.clone(),
            )?;
            let mut all = upstreams.all().to_vec();
            all.extend(fakes.connectors()?);
            upstreams = crate::upstream::Registry::new(all);
            tracing::warn!("dev.fake_upstreams: fake Google, Apple, Facebook and X are on");
            Some(fakes)
        } else {
            None
        };
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let passwords = PasswordVerifierPool::new(
            settings
                .login
                .max_concurrent_password_checks
                .unwrap_or(cores),
        )?;
        // The demo relying party under /dev/demo (check-config refuses it off loopback).
        let demo = if settings.dev.demo_app {
            tracing::warn!("dev.demo_app: the demo relying party is on at /dev/demo");
            Some(Arc::new(crate::devdemo::DemoApp::new(&settings)?))
        } else {
            None
        };
        if settings.dev.demo_account {
            create_demo_account(&store, now).await?;
        }
        let discovery = discovery_document(&settings);
        let passkeys = crate::accounts::factors::passkeys::Passkeys::for_issuer(
            &settings.issuer,
            mailer.site(),
        );
        if passkeys.is_none() {
            tracing::info!("passkeys are off: the issuer's host is not a domain name");
        }
        let port = listener.local_addr()?.port();
        let certificate = match &settings.server.tls {
            Some(t) => Some(crate::tls::ReloadingCert::new(&t.cert, &t.key)?),
            None => None,
        };
        let tls = certificate
            .as_ref()
            .map(|c| crate::tls::server_config(c.clone()));
        let workers = settings.server.workers.unwrap_or(cores);
        let hsts = tls.is_some();
        let metrics = Arc::new(crate::metrics::Metrics::new().context("setting up the metrics")?);
        let observer = metrics.clone();
        store.observe_audit(Arc::new(move |e| observer.observe_audit(e)));
        let limiters = Arc::new(crate::limits::Limiters::new(&settings.limits, &clients));
        let live = web::Data::new(Live::new(AppState {
            settings: Arc::new(settings),
            store,
            keys,
            clients,
            upstreams,
            clock,
            passwords,
            login_gate: Default::default(),
            csrf_key,
            refresh_key,
            factor_keys: Arc::new(factor_keys),
            passkeys: passkeys.map(Arc::new),
            discovery,
            mailer,
            metrics,
            limiters,
        }));
        let state = live.current();
        let data = live.clone();
        let proxies = actix_web::web::Data::new(crate::audit::TrustedProxies::new(
            &state.settings.server.trusted_proxies,
        ));
        let dev_outbox = state.mailer.holds_messages();
        let http = HttpServer::new(move || {
            let mut headers = DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("X-Frame-Options", "DENY"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("Content-Security-Policy", "frame-ancestors 'none'"));
            if hsts {
                headers = headers.add((
                    "Strict-Transport-Security",
                    "max-age=31536000; includeSubDomains",
                ));
            }
            let fakes = fakes.clone();
            let demo = demo.clone();
            App::new()
                .app_data(data.clone())
                .app_data(proxies.clone())
                .wrap(actix_web::middleware::from_fn(
                    crate::ops::rate_limit::limit,
                ))
                .wrap(headers)
                .wrap(actix_web::middleware::from_fn(
                    crate::ops::requests::observe,
                ))
                .configure(|cfg| {
                    if let Some(f) = fakes {
                        cfg.service(
                            web::scope("/dev/fake").configure(|c| crate::devfakes::configure(c, f)),
                        );
                    }
                    if dev_outbox {
                        cfg.route(
                            "/dev/outbox",
                            web::get().to(crate::interaction::dev_outbox::show),
                        );
                    }
                    if let Some(d) = demo {
                        cfg.service(
                            web::scope("/dev/demo").configure(|c| crate::devdemo::configure(c, d)),
                        );
                    }
                    routes::configure(cfg, &data)
                })
        })
        .workers(workers)
        // SIGTERM and SIGINT are ours (`stop_on_signals`), installed before `serve` says it
        // listens; actix would install its handlers only once the server is first polled.
        .disable_signals()
        .shutdown_timeout(state.settings.server.shutdown_timeout_seconds);
        let server = match tls {
            Some(cfg) => http.listen_rustls_0_23(listener, cfg)?,
            None => http.listen(listener)?,
        }
        .run();
        let jobs = crate::jobs::Jobs::start(live.clone());
        let metrics = match &state.settings.metrics.bind {
            Some(bind) => Some(metrics_server(live.clone(), bind)?),
            None => None,
        };
        Ok(Self {
            port,
            server,
            live,
            jobs,
            metrics,
            certificate_watch: certificate.map(|c| tokio::spawn(c.watch())),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port `/metrics` is served on, when `[metrics] bind` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// The current state (a snapshot: a reload replaces it).
    pub fn state(&self) -> State {
        self.live.current()
    }

    /// The holder of the current state, which a reload swaps.
    pub fn live(&self) -> web::Data<Live> {
        self.live.clone()
    }

    /// Serve until `handle().stop` (what `stop_on_signals` calls): then stop accepting, let requests
    /// in flight finish (at most `[server] shutdown_timeout_seconds`), stop the background
    /// jobs after their current pass, and close the database pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(server, _)| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let served = self.server.await;
        if let Some(watch) = self.certificate_watch {
            watch.abort();
        }
        if let Some((task, handle)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        tracing::info!("stopping: background jobs, then the database pool");
        let state = self.live.current();
        let grace = Duration::from_secs(state.settings.server.shutdown_timeout_seconds.max(1));
        self.jobs.stop(grace).await;
        state.store.close().await;
        tracing::info!("stopped");
        served
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Stop gracefully on SIGTERM or SIGINT (as `handle().stop(true)`): the handlers are in
    /// place when this returns, so a signal sent once the server is listening is never met by
    /// the default action, which would end the process with requests half-answered.
    pub fn stop_on_signals(&self) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let handle = self.handle();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut term = signal(SignalKind::terminate())?;
            let mut int = signal(SignalKind::interrupt())?;
            Ok(tokio::spawn(async move {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                tracing::info!(
                    signal = name,
                    "stopping: no new connections, requests in flight finish"
                );
                handle.stop(true).await;
            }))
        }
        #[cfg(not(unix))]
        Ok(tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("stopping: no new connections, requests in flight finish");
                handle.stop(true).await;
            }
        }))
    }
}

/// The metrics listener: `/metrics` only, apart from the public one (never exposed with it).
fn metrics_server(live: web::Data<Live>, bind: &str) -> anyhow::Result<(Server, u16)> {
    let listener =
        TcpListener::bind(bind).with_context(|| format!("binding [metrics] bind = {bind}"))?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(live.clone())
            .route("/metrics", web::get().to(crate::ops::metrics::metrics))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    tracing::info!(port, "metrics are served at /metrics");
    Ok((server, port))
}

/// The discovery document for these settings (the scopes the clients declare included).
pub fn discovery_document(settings: &Settings) -> actix_web::web::Bytes {
    let custom_scopes = settings
        .clients
        .iter()
        .flat_map(|c| {
            c.scope
                .as_deref()
                .unwrap_or("")
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
        .collect();
    discovery::document(settings, custom_scopes)
}

pub const DEMO_EMAIL: &str = "demo@example.com";

/// Development only: a demo account whose password is printed once, when it is created.
async fn create_demo_account(store: &Store, now: i64) -> anyhow::Result<()> {
    if store.account_by_email(DEMO_EMAIL).await?.is_some() {
        tracing::info!(
            "demo account {DEMO_EMAIL} exists (its password was printed when it was created)"
        );
        return Ok(());
    }
    let password = Secret::new(crate::tokens::opaque::random_id());
    accounts::create(store, DEMO_EMAIL, Some("Demo User".into()), &password, now).await?;
    println!(
        "\n  Demo account created (development config only):\n    email:    {DEMO_EMAIL}\n    password: {}\n",
        password.expose()
    );
    Ok(())
}
