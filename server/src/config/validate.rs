//! Checks on parsed settings that serde cannot express; every problem is collected, each with
//! the key it concerns (`ostiary check-config`). Rules from RFC 9700 §2.1 and §4.1.3 (exact,
//! absolute redirect URIs without fragments; http only on loopback).

use std::collections::HashSet;
use std::fmt;

use super::{ClientConfig, Settings};
use crate::protocol::vocab::{GrantType, ResponseType, TokenEndpointAuthMethod};

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
    let mut upstream_ids = HashSet::new();
    for (i, u) in s.upstreams.iter().enumerate() {
        let key = format!("upstreams[{i}]");
        if !upstream_ids.insert(u.id.as_str()) {
            p.push(Problem::error(
                &format!("{key}.id"),
                format!("duplicate upstream id {:?}", u.id),
            ));
        }
        if s.dev.fake_upstreams && u.id.starts_with("fake-") {
            p.push(Problem::error(
                &format!("{key}.id"),
                "ids starting with fake- are taken by dev.fake_upstreams",
            ));
        }
        if let Err(problems) = crate::upstream::registry::build(u, env) {
            for (field, message) in problems {
                p.push(Problem::error(&format!("{key}.{field}"), message));
            }
        }
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
    let mut seen = HashSet::new();
    for (i, c) in s.clients.iter().enumerate() {
        let key = format!("clients[{i}]");
        if !seen.insert(c.client_id.as_str()) {
            p.push(Problem::error(
                &format!("{key}.client_id"),
                format!("duplicate client_id {:?}", c.client_id),
            ));
        }
        check_client(&key, c, env, &mut p);
    }
    p
}

/// A development config serves only this machine: an http issuer on a loopback host.
fn is_dev_issuer(issuer: &str) -> bool {
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

fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn check_uri(key: &str, uri: &str, p: &mut Vec<Problem>) {
    match url::Url::parse(uri) {
        Err(_) => p.push(Problem::error(
            key,
            format!("{uri:?} is not an absolute URL"),
        )),
        Ok(u) => {
            if u.fragment().is_some() {
                p.push(Problem::error(
                    key,
                    format!("{uri:?} must not contain a fragment"),
                ));
            }
            let custom_scheme = u.scheme() != "http" && u.scheme() != "https";
            if u.scheme() == "http" && !is_loopback(&u) {
                p.push(Problem::error(
                    key,
                    format!("{uri:?}: http is allowed only on loopback (RFC 9700 §2.6)"),
                ));
            }
            if custom_scheme && u.cannot_be_a_base() {
                p.push(Problem::error(
                    key,
                    format!("{uri:?} is not a usable redirect URI"),
                ));
            }
        }
    }
}

fn check_client(
    key: &str,
    c: &ClientConfig,
    env: &dyn Fn(&str) -> Option<String>,
    p: &mut Vec<Problem>,
) {
    if c.client_id.is_empty()
        || c.client_id.len() > 200
        || c.client_id.chars().any(|ch| ch.is_control())
    {
        p.push(Problem::error(
            &format!("{key}.client_id"),
            "must be 1 to 200 printable characters",
        ));
    }
    let sources = [
        c.client_secret.is_some(),
        c.client_secret_hash.is_some(),
        c.client_secret_env.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    let public = c.token_endpoint_auth_method == TokenEndpointAuthMethod::None;
    if public && sources > 0 {
        p.push(Problem::error(
            &format!("{key}.client_secret"),
            "a client with token_endpoint_auth_method = \"none\" has no secret",
        ));
    }
    if !public && sources != 1 {
        p.push(Problem::error(
            &format!("{key}.client_secret"),
            "give exactly one of client_secret, client_secret_hash, client_secret_env",
        ));
    }
    if let Some(secret) = &c.client_secret
        && secret.expose().len() < 24
    {
        p.push(Problem::error(
            &format!("{key}.client_secret"),
            "must be at least 24 characters (use `ostiary client-secret`)",
        ));
    }
    if let Some(hash) = &c.client_secret_hash
        && crate::clients::SecretHash::parse(hash).is_none()
    {
        p.push(Problem::error(
            &format!("{key}.client_secret_hash"),
            "must be sha256:<64 hex digits> (from `ostiary client-secret`)",
        ));
    }
    if let Some(var) = &c.client_secret_env
        && env(var).is_none()
    {
        p.push(Problem::error(
            &format!("{key}.client_secret_env"),
            format!("environment variable {var} is not set"),
        ));
    }
    for (i, uri) in c.redirect_uris.iter().enumerate() {
        check_uri(&format!("{key}.redirect_uris[{i}]"), uri, p);
    }
    for (i, uri) in c.post_logout_redirect_uris.iter().enumerate() {
        check_uri(&format!("{key}.post_logout_redirect_uris[{i}]"), uri, p);
    }
    let code = c.grant_types.contains(&GrantType::AuthorizationCode);
    if code && c.redirect_uris.is_empty() {
        p.push(Problem::error(
            &format!("{key}.redirect_uris"),
            "authorization_code needs at least one redirect URI",
        ));
    }
    if c.grant_types.contains(&GrantType::RefreshToken) && !code {
        p.push(Problem::error(
            &format!("{key}.grant_types"),
            "refresh_token needs authorization_code",
        ));
    }
    if public && c.grant_types.contains(&GrantType::ClientCredentials) {
        p.push(Problem::error(
            &format!("{key}.grant_types"),
            "client_credentials is for confidential clients only",
        ));
    }
    if code && !c.response_types.contains(&ResponseType::Code) {
        p.push(Problem::error(
            &format!("{key}.response_types"),
            "authorization_code needs response type \"code\"",
        ));
    }
    if c.grant_types.is_empty() {
        p.push(Problem::error(
            &format!("{key}.grant_types"),
            "must not be empty",
        ));
    }
}
