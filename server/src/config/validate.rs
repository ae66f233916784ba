//! Checks on parsed settings that serde cannot express, for the sections config owns; every
//! problem is collected, each with the key it concerns. Clients and upstreams validate their
//! own sections (`clients::validate`, `upstream::registry::validate`); `startup::check_config`
//! joins all three for `ostiary check-config` and startup. Rules from RFC 9700 §2.1 and §4.1.3 (exact,
//! absolute redirect URIs without fragments; http only on loopback).

use std::fmt;

use super::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn error(key: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            key: key.to_owned(),
            message: message.into(),
        }
    }

    pub fn warning(key: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.key, self.message)
    }
}

/// Every problem with the settings; errors stop `serve`, warnings are printed.
pub fn validate(s: &Settings, env: &dyn Fn(&str) -> Option<String>) -> Vec<Problem> {
    let mut p = Vec::new();
    check_issuer(&s.issuer, &mut p);
    if s.server.bind.parse::<std::net::SocketAddr>().is_err() {
        p.push(Problem::error(
            "server.bind",
            "must be an address like 127.0.0.1:8080",
        ));
    }
    for (i, entry) in s.server.trusted_proxies.iter().enumerate() {
        if crate::audit::client_ip::parse_range(entry).is_none() {
            p.push(Problem::error(
                &format!("server.trusted_proxies[{i}]"),
                "must be an address or a CIDR range like 10.0.0.0/8",
            ));
        }
    }
    if let Some(tls) = &s.server.tls {
        for (key, path) in [("server.tls.cert", &tls.cert), ("server.tls.key", &tls.key)] {
            if !path.is_file() {
                p.push(Problem::error(
                    key,
                    format!("file {} does not exist", path.display()),
                ));
            }
        }
    }
    let url = &s.database.url;
    if !(url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://"))
    {
        p.push(Problem::error(
            "database.url",
            "must start with sqlite:, postgres:// or postgresql://",
        ));
    }
    if s.database.max_connections == 0 {
        p.push(Problem::error(
            "database.max_connections",
            "must be at least 1",
        ));
    }
    if s.mfa.remember_device_days > super::mfa::MAX_REMEMBER_DAYS {
        p.push(Problem::error(
            "mfa.remember_device_days",
            format!("must be at most {}", super::mfa::MAX_REMEMBER_DAYS),
        ));
    }
    if tracing_subscriber::EnvFilter::try_new(&s.log.filter).is_err() {
        p.push(Problem::error(
            "log.filter",
            "is not a filter (directives such as info,ostiary::http=warn)",
        ));
    }
    if let Some(bind) = &s.metrics.bind
        && bind.parse::<std::net::SocketAddr>().is_err()
    {
        p.push(Problem::error(
            "metrics.bind",
            "must be an address and port, such as 127.0.0.1:9464",
        ));
    }
    if s.keys.rotate_after_days > 3650 {
        p.push(Problem::error(
            "keys.rotate_after_days",
            "must be at most 3650 (0 turns scheduled rotation off)",
        ));
    }
    if s.server.shutdown_timeout_seconds > 3600 {
        p.push(Problem::error(
            "server.shutdown_timeout_seconds",
            "must be at most 3600",
        ));
    }
    if s.database.gc_interval_seconds == 0 {
        p.push(Problem::error(
            "database.gc_interval_seconds",
            "must be at least 1",
        ));
    }
    let t = &s.tokens;
    for (key, v) in [
        (
            "tokens.access_token_lifetime_seconds",
            t.access_token_lifetime_seconds,
        ),
        (
            "tokens.id_token_lifetime_seconds",
            t.id_token_lifetime_seconds,
        ),
        (
            "tokens.refresh_token_lifetime_seconds",
            t.refresh_token_lifetime_seconds,
        ),
        (
            "tokens.authorization_code_lifetime_seconds",
            t.authorization_code_lifetime_seconds,
        ),
        ("session.lifetime_seconds", s.session.lifetime_seconds),
    ] {
        if v <= 0 {
            p.push(Problem::error(key, "must be a positive number of seconds"));
        }
    }
    let idle = s.session.idle_timeout_seconds;
    if idle != 0 && idle < 120 {
        p.push(Problem::error(
            "session.idle_timeout_seconds",
            "must be 0 (off) or at least 120 (use is noted once a minute)",
        ));
    }
    if t.authorization_code_lifetime_seconds > 60 {
        p.push(Problem::error(
            "tokens.authorization_code_lifetime_seconds",
            "must be at most 60",
        ));
    }
    if t.refresh_token_reuse_grace_seconds < 0 || t.refresh_token_reuse_grace_seconds > 60 {
        p.push(Problem::error(
            "tokens.refresh_token_reuse_grace_seconds",
            "must be between 0 and 60",
        ));
    }
    if env(&s.keys.encryption_key_env).is_none() && s.keys.encryption_key_file.is_none() {
        p.push(Problem::warning(
            "keys",
            format!(
                "no key-encryption key: set {} or keys.encryption_key_file; a key file is generated in {}",
                s.keys.encryption_key_env,
                s.server.data_dir.display()
            ),
        ));
    }
    if s.dev.demo_account {
        p.push(Problem::warning(
            "dev.demo_account",
            "creates a demo account: for development only",
        ));
    }
    check_demo_app(s, &mut p);
    if s.dev.fake_upstreams && !is_dev_issuer(&s.issuer) {
        p.push(Problem::error(
            "dev.fake_upstreams",
            "fake sign-in providers are for a development config only (an http://localhost or http://127.0.0.1 issuer)",
        ));
    } else if s.dev.fake_upstreams {
        p.push(Problem::warning(
            "dev.fake_upstreams",
            "offers fake Google, Apple, Facebook and X sign-in: for development only",
        ));
    }
    let l = &s.login;
    if !(0..=1000).contains(&l.lockout_threshold) {
        p.push(Problem::error(
            "login.lockout_threshold",
            "must be between 0 (off) and 1000",
        ));
    }
    for (key, v) in [
        ("login.lockout_window_seconds", l.lockout_window_seconds),
        ("login.lockout_seconds", l.lockout_seconds),
        ("login.max_lockout_seconds", l.max_lockout_seconds),
    ] {
        if !(1..=86_400).contains(&v) {
            p.push(Problem::error(key, "must be between 1 and 86400"));
        }
    }
    if l.max_lockout_seconds < l.lockout_seconds {
        p.push(Problem::error(
            "login.max_lockout_seconds",
            "must not be shorter than login.lockout_seconds",
        ));
    }
    if !s.login.password && s.upstreams.is_empty() && !s.dev.fake_upstreams {
        p.push(Problem::error(
            "login.password",
            "is false but no [[upstreams]] are configured: nobody could sign in",
        ));
    }
    super::self_service::validate(s, env, &mut p);
    p
}

/// The demo relying party: development configs only, and its two clients must let it in.
fn check_demo_app(s: &Settings, p: &mut Vec<Problem>) {
    if !s.dev.demo_app {
        return;
    }
    if !is_dev_issuer(&s.issuer) {
        p.push(Problem::error(
            "dev.demo_app",
            "the demo app is for a development config only (an http://localhost or http://127.0.0.1 issuer)",
        ));
        return;
    }
    p.push(Problem::warning(
        "dev.demo_app",
        "serves a demo relying party under /dev/demo: for development only",
    ));
    let callback = format!("{}{}", s.issuer_base(), DEMO_CALLBACK);
    for (id, needs_secret) in [(DEMO_CLIENT, true), (DEMO_PUBLIC_CLIENT, false)] {
        let Some((i, c)) = s
            .clients
            .iter()
            .enumerate()
            .find(|(_, c)| c.client_id == id)
        else {
            p.push(Problem::error(
                "dev.demo_app",
                format!("needs a [[clients]] entry with client_id = \"{id}\""),
            ));
            continue;
        };
        if !c.redirect_uris.contains(&callback) {
            p.push(Problem::error(
                &format!("clients[{i}].redirect_uris"),
                format!("dev.demo_app needs {callback:?} here"),
            ));
        }
        if needs_secret && c.client_secret.is_none() {
            p.push(Problem::error(
                &format!("clients[{i}].client_secret"),
                "dev.demo_app signs in as this client and needs its client_secret in the file",
            ));
        }
    }
}

/// The demo relying party's clients and callback path (`dev.demo_app`).
pub const DEMO_CLIENT: &str = "demo";
pub const DEMO_PUBLIC_CLIENT: &str = "demo-spa";
pub const DEMO_CALLBACK: &str = "/dev/demo/callback";

/// A development config serves only this machine: an http issuer on a loopback host.
pub(super) fn is_dev_issuer(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|u| {
        u.scheme() == "http"
            && matches!(
                u.host_str(),
                Some("localhost") | Some("127.0.0.1") | Some("[::1]")
            )
    })
}

fn check_issuer(issuer: &str, p: &mut Vec<Problem>) {
    match url::Url::parse(issuer) {
        Err(_) => p.push(Problem::error("issuer", "must be an absolute URL")),
        Ok(u) => {
            if u.query().is_some() || u.fragment().is_some() {
                p.push(Problem::error(
                    "issuer",
                    "must not have a query or fragment (OIDC Discovery §3)",
                ));
            }
            if u.scheme() != "https" && !(u.scheme() == "http" && is_loopback(&u)) {
                p.push(Problem::error(
                    "issuer",
                    "must be https (http only on a loopback address)",
                ));
            }
        }
    }
}

/// A URL whose host is this machine (localhost, 127.0.0.0/8, ::1).
pub fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
