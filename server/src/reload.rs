//! Config hot reload: on SIGHUP the config file is read again and, only if it passes every
//! check `ostiary check-config` makes, swapped in whole (`state::Live::replace`): clients,
//! upstreams, login, registration, MFA and session policy, lifetimes, limits. Requests in
//! flight finish on the configuration they started with. What only a restart can change (the
//! listener, the database, TLS, the issuer, the key-encryption key, logs, metrics, email, dev
//! mode) keeps its running value and is reported, never half-applied. A refused file changes
//! nothing; its problems are logged with their keys, audited and counted.

use std::path::Path;

use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::clients::ClientRegistry;
use crate::config::{Problem, Settings, Severity};
use crate::state::Live;

/// What a reload did.
#[derive(Debug)]
pub enum Reloaded {
    /// Applied; these keys changed but need a restart, and kept their running values.
    Applied { needs_restart: Vec<&'static str> },
    /// Refused with these problems; the running configuration stays.
    Refused(Vec<Problem>),
}

/// Keep the running value of everything only a restart can change; the keys that differed.
fn keep_restart_only(running: &Settings, new: &mut Settings) -> Vec<&'static str> {
    let mut changed = Vec::new();
    macro_rules! keep {
        ($key:literal, $($field:ident).+) => {
            if running.$($field).+ != new.$($field).+ {
                changed.push($key);
                new.$($field).+ = running.$($field).+.clone();
            }
        };
    }
    keep!("issuer", issuer);
    keep!("server.bind", server.bind);
    keep!("server.data_dir", server.data_dir);
    keep!("server.tls", server.tls);
    keep!("server.workers", server.workers);
    keep!("server.signing_threads", server.signing_threads);
    keep!("server.trusted_proxies", server.trusted_proxies);
    keep!(
        "server.shutdown_timeout_seconds",
        server.shutdown_timeout_seconds
    );
    keep!("database", database);
    keep!("keys.encryption_key_env", keys.encryption_key_env);
    keep!("keys.encryption_key_file", keys.encryption_key_file);
    keep!("email", email);
    keep!("log", log);
    keep!("metrics", metrics);
    keep!("dev", dev);
    changed
}

/// Check `new` completely and swap it in, or refuse it.
pub async fn apply(
    live: &Live,
    mut new: Settings,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Reloaded {
    let running = live.current();
    let needs_restart = keep_restart_only(&running.settings, &mut new);
    let errors: Vec<Problem> = crate::startup::check_config(&new, env)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    if !errors.is_empty() {
        return refused(live, errors).await;
    }
    let clients = match ClientRegistry::from_config(&new.clients, env) {
        Ok(c) => c,
        Err(e) => return refused(live, e.0).await,
    };
    let mut upstreams = match crate::upstream::Registry::from_config(&new.upstreams, env) {
        Ok(u) => u,
        Err(e) => return refused(live, vec![Problem::error("upstreams", e)]).await,
    };
    // The development fakes are part of the running server, not of the file's upstreams.
    if running.settings.dev.fake_upstreams {
        let mut all = upstreams.all().to_vec();
        all.extend(
            running
                .upstreams
                .all()
                .iter()
                .filter(|c| c.id().as_str().starts_with("fake-"))
                .cloned(),
        );
        upstreams = crate::upstream::Registry::new(all);
    }
    let discovery = crate::startup::discovery_document(&new);
    let next = running.reconfigured(new, clients, upstreams, discovery);
    live.replace(next);
    let state = live.current();
    let mut event = AuditEvent::new(AuditKind::ConfigReloaded, state.now(), &Origin::default());
    if !needs_restart.is_empty() {
        event = event.reason(format!("needs a restart: {}", needs_restart.join(", ")));
    }
    if let Err(e) = state.store.audit(event).await {
        tracing::warn!(error = %e, "recording the reload failed");
    }
    state
        .metrics
        .config_reloads
        .with_label_values(&["applied"])
        .inc();
    for key in &needs_restart {
        tracing::warn!(
            key,
            "changed in the config file, but applies only after a restart"
        );
    }
    tracing::info!("configuration reloaded");
    Reloaded::Applied { needs_restart }
}

async fn refused(live: &Live, problems: Vec<Problem>) -> Reloaded {
    let state = live.current();
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    let event = AuditEvent::new(
        AuditKind::ConfigReloadFailed,
        state.now(),
        &Origin::default(),
    )
    .reason(format!("problems at {}", keys.join(", ")));
    if let Err(e) = state.store.audit(event).await {
        tracing::warn!(error = %e, "recording the refused reload failed");
    }
    state
        .metrics
        .config_reloads
        .with_label_values(&["refused"])
        .inc();
    // Logged once recorded and counted, like a reload applied: whoever reads the log line
    // finds the refusal in the audit log and /metrics.
    for p in &problems {
        tracing::error!("reload refused: {p}");
    }
    Reloaded::Refused(problems)
}

/// Read `path` again and apply it (what SIGHUP does).
pub async fn from_file(live: &Live, path: &Path) -> Reloaded {
    match Settings::load(path) {
        Ok(new) => apply(live, new, &|k: &str| std::env::var(k).ok()).await,
        Err(e) => refused(live, vec![Problem::error("config", e.to_string())]).await,
    }
}

/// Watch SIGHUP from now on (the handler is installed before this returns, so a SIGHUP sent
/// once the server says it is listening never takes the default action, which would end the
/// process) and reload on each one until the returned task is aborted.
#[cfg(unix)]
pub fn watch_sighup(live: actix_web::web::Data<Live>) -> Option<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("SIGHUP cannot be watched: config reload is off");
        return None;
    };
    Some(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let path = live.current().settings.source.clone();
            tracing::info!(path = %path.display(), "SIGHUP: reloading the configuration");
            from_file(&live, &path).await;
        }
    }))
}
