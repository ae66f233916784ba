//! The `[[clients]]` section's own rules (RFC 9700 §2.1, §4.1.3: exact, absolute redirect URIs
//! without fragments; http only on loopback; OAuth 2.1 §2.1: secrets only for confidential
//! clients), reported with the key each concerns.

use std::collections::HashSet;

use crate::config::{ClientConfig, Problem, is_loopback};
use crate::protocol::vocab::{GrantType, ResponseType, TokenEndpointAuthMethod};

/// Every problem with the clients.
pub fn validate(clients: &[ClientConfig], env: &dyn Fn(&str) -> Option<String>) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut seen = HashSet::new();
    for (i, c) in clients.iter().enumerate() {
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
        if url::Url::parse(uri).is_ok()
            && oxide_auth::primitives::registrar::ExactUrl::new(uri.clone()).is_err()
        {
            p.push(Problem::error(
                &format!("{key}.redirect_uris[{i}]"),
                format!("{uri:?} is not a usable redirect URI"),
            ));
        }
    }
    if crate::protocol::vocab::Scopes::parse(c.scope.as_deref().unwrap_or(super::DEFAULT_SCOPE))
        .is_none()
    {
        p.push(Problem::error(
            &format!("{key}.scope"),
            "must be space-separated scope tokens (RFC 6749 §3.3)",
        ));
    }
    for (i, uri) in c.post_logout_redirect_uris.iter().enumerate() {
        check_uri(&format!("{key}.post_logout_redirect_uris[{i}]"), uri, p);
    }
    let code = c.grant_types.contains(&GrantType::AuthorizationCode);
    if let Some(uri) = &c.backchannel_logout_uri {
        let k = format!("{key}.backchannel_logout_uri");
        check_uri(&k, uri, p);
        if url::Url::parse(uri).is_ok_and(|u| u.scheme() != "http" && u.scheme() != "https") {
            p.push(Problem::error(
                &k,
                "must be an https URL (http on loopback)",
            ));
        }
        if !code {
            p.push(Problem::error(
                &k,
                "needs authorization_code: only sign-ins have sessions to end",
            ));
        }
    }
    if c.backchannel_logout_session_required && c.backchannel_logout_uri.is_none() {
        p.push(Problem::error(
            &format!("{key}.backchannel_logout_session_required"),
            "needs backchannel_logout_uri",
        ));
    }
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
    if c.introspect_any_token && public {
        p.push(Problem::error(
            &format!("{key}.introspect_any_token"),
            "a public client cannot authenticate to the introspection endpoint",
        ));
    }
    if !c.allowed_ips.is_empty() && public {
        p.push(Problem::error(
            &format!("{key}.allowed_ips"),
            "is for confidential clients (a public client's requests come from its users)",
        ));
    }
    for (j, r) in c.allowed_ips.iter().enumerate() {
        if crate::audit::client_ip::parse_range(r).is_none() {
            p.push(Problem::error(
                &format!("{key}.allowed_ips[{j}]"),
                "must be an address or a CIDR range like 10.0.0.0/8",
            ));
        }
    }
    for (j, r) in c.roles.iter().enumerate() {
        if !crate::protocol::vocab::valid_role(r) {
            p.push(Problem::error(
                &format!("{key}.roles[{j}]"),
                "must be 1 to 64 of A-Z a-z 0-9 : . _ -",
            ));
        }
    }
    if c.rate_limit_per_minute == Some(0) {
        p.push(Problem::error(
            &format!("{key}.rate_limit_per_minute"),
            "must be at least 1 (leave it out for no limit)",
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
