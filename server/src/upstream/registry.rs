//! The single factory from `[[upstreams]]` to connectors (architecture guide C7), in config
//! order, plus the offline dev mode's fake providers. `check-config` builds every connector
//! the same way, so a config that passes it starts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

use super::apple::{self, Apple, AppleKey};
use super::facebook::{self, Facebook};
use super::google::{self, Google};
use super::http::HttpClient;
use super::oauth2::{Endpoints, OAuth2Connector, OAuth2Core};
use super::oidc::OidcConnector;
use super::x::{self, X};
use super::{Common, UpstreamConnector, UpstreamKind};
use crate::config::{Problem, UpstreamConfig};
use crate::secret::Secret;
use crate::tokens::client_assertion::Es256Key;
use std::collections::HashSet;

/// A problem building one upstream: the key (under `upstreams[i]`) and what is wrong.
pub type BuildProblem = (&'static str, String);

#[derive(Clone, Default)]
pub struct Registry {
    ordered: Vec<Arc<dyn UpstreamConnector>>,
    by_id: HashMap<String, usize>,
}

impl Registry {
    pub fn new(connectors: Vec<Arc<dyn UpstreamConnector>>) -> Self {
        let by_id = connectors
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id().to_string(), i))
            .collect();
        Self {
            ordered: connectors,
            by_id,
        }
    }

    /// Build every configured upstream; the first problem of each is reported.
    pub fn from_config(
        configs: &[UpstreamConfig],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut out = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            match build(c, env) {
                Ok(conn) => out.push(conn),
                Err(problems) => {
                    let (key, msg) = &problems[0];
                    return Err(format!("upstreams[{i}].{key}: {msg}"));
                }
            }
        }
        Ok(Self::new(out))
    }

    pub fn get(&self, id: &str) -> Option<&Arc<dyn UpstreamConnector>> {
        self.by_id.get(id).map(|&i| &self.ordered[i])
    }

    /// In config order (the order of the buttons).
    pub fn all(&self) -> &[Arc<dyn UpstreamConnector>] {
        &self.ordered
    }

    pub fn is_empty(&self) -> bool {
        self.ordered.is_empty()
    }
}

fn url(value: Option<&str>, default: &str, key: &'static str) -> Result<Url, BuildProblem> {
    let raw = value.unwrap_or(default);
    let u = Url::parse(raw).map_err(|e| (key, format!("{raw:?} is not a URL: {e}")))?;
    // Plain http only to this machine (a development upstream): codes, tokens and keys must
    // not cross a network in clear (RFC 9700 §2.6, OIDC Core §16.17).
    let loopback = match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match u.scheme() {
        "https" => Ok(u),
        "http" if loopback => Ok(u),
        "http" => Err((
            key,
            "must be https (plain http only on a loopback address)".into(),
        )),
        _ => Err((key, "must be an https URL".into())),
    }
}

fn default_name(kind: UpstreamKind) -> &'static str {
    match kind {
        UpstreamKind::Google => "Google",
        UpstreamKind::Apple => "Apple",
        UpstreamKind::Facebook => "Facebook",
        UpstreamKind::X => "X",
        UpstreamKind::Oidc | UpstreamKind::Oauth2 => "",
    }
}

fn default_scopes(kind: UpstreamKind) -> Vec<String> {
    let s: &[&str] = match kind {
        UpstreamKind::Google => &google::DEFAULT_SCOPES,
        UpstreamKind::Apple => &apple::DEFAULT_SCOPES,
        UpstreamKind::Facebook => &facebook::DEFAULT_SCOPES,
        UpstreamKind::X => &x::DEFAULT_SCOPES,
        UpstreamKind::Oidc => &["openid", "email", "profile"],
        UpstreamKind::Oauth2 => &[],
    };
    s.iter().map(|s| (*s).to_owned()).collect()
}

/// Whether an upstream id is usable in a URL path and a claim.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Every problem with the `[[upstreams]]` section (`fake_upstreams`: the dev mode's fake
/// providers take the `fake-` ids).
pub fn validate(
    upstreams: &[UpstreamConfig],
    fake_upstreams: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut upstream_ids = HashSet::new();
    for (i, u) in upstreams.iter().enumerate() {
        let key = format!("upstreams[{i}]");
        if !upstream_ids.insert(u.id.as_str()) {
            p.push(Problem::error(
                &format!("{key}.id"),
                format!("duplicate upstream id {:?}", u.id),
            ));
        }
        if fake_upstreams && u.id.starts_with("fake-") {
            p.push(Problem::error(
                &format!("{key}.id"),
                "ids starting with fake- are taken by dev.fake_upstreams",
            ));
        }
        if let Err(problems) = build(u, env) {
            for (field, message) in problems {
                p.push(Problem::error(&format!("{key}.{field}"), message));
            }
        }
    }
    p
}

/// Build one connector from its config, or every problem with it.
pub fn build(
    c: &UpstreamConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Arc<dyn UpstreamConnector>, Vec<BuildProblem>> {
    let mut problems: Vec<BuildProblem> = Vec::new();
    if !valid_id(&c.id) {
        problems.push(("id", "use 1 to 40 of a-z, 0-9, - and _".into()));
    }
    for key in c.misplaced_keys() {
        problems.push((
            key,
            format!("is not used by kind = \"{}\"", c.kind.as_str()),
        ));
    }
    let display_name = c
        .display_name
        .clone()
        .unwrap_or_else(|| default_name(c.kind).to_owned());
    if display_name.trim().is_empty() {
        problems.push(("display_name", "is required for this kind".into()));
    }
    if c.client_id.trim().is_empty() {
        problems.push(("client_id", "must not be empty".into()));
    }
    let secret = match (&c.client_secret, &c.client_secret_env, c.kind) {
        (None, None, UpstreamKind::Apple) => Secret::default(),
        (Some(_), _, UpstreamKind::Apple) | (_, Some(_), UpstreamKind::Apple) => {
            problems.push((
                "client_secret",
                "Apple's client secret is minted from team_id, key_id and private_key_file".into(),
            ));
            Secret::default()
        }
        (Some(s), None, _) => s.clone(),
        (None, Some(var), _) => match env(var) {
            Some(v) if !v.is_empty() => Secret::new(v),
            _ => {
                problems.push((
                    "client_secret_env",
                    format!("environment variable {var} is not set"),
                ));
                Secret::default()
            }
        },
        (Some(_), Some(_), _) => {
            problems.push((
                "client_secret",
                "set client_secret or client_secret_env, not both".into(),
            ));
            Secret::default()
        }
        (None, None, _) => {
            problems.push(("client_secret", "is required (or client_secret_env)".into()));
            Secret::default()
        }
    };
    roles_problems(c, &mut problems);
    if c.timeout_seconds == 0 || c.timeout_seconds > 60 {
        problems.push(("timeout_seconds", "must be between 1 and 60".into()));
    }
    let http = match HttpClient::new(Duration::from_secs(c.timeout_seconds.clamp(1, 60))) {
        Ok(h) => h,
        Err(e) => return Err(vec![("kind", e.to_string())]),
    };
    let common = Common {
        id: crate::protocol::ids::UpstreamId::new(c.id.clone()),
        display_name,
        client_id: c.client_id.clone(),
        client_secret: secret,
        scopes: c.scopes.clone().unwrap_or_else(|| default_scopes(c.kind)),
        trust_email: c.trust_email,
        trust_mfa: c.trust_mfa,
        mfa_acr_values: c.mfa_acr_values.clone(),
        roles_from_claim: c.roles_from_claim.clone(),
        roles_allowed: c.roles_allowed.clone(),
        http,
    };
    let built: Result<Arc<dyn UpstreamConnector>, BuildProblem> = match c.kind {
        UpstreamKind::Oidc => match c.issuer.as_deref() {
            None => Err(("issuer", "is required for kind = \"oidc\"".into())),
            Some(iss) => url(Some(iss), "", "issuer").and_then(|_| {
                OidcConnector::new(common, iss)
                    .map(|c| Arc::new(c) as _)
                    .map_err(|e| ("issuer", e.to_string()))
            }),
        },
        UpstreamKind::Google => url(c.issuer.as_deref(), google::ISSUER, "issuer").and_then(|_| {
            Google::new(
                common,
                c.issuer.as_deref(),
                c.hosted_domains.clone().unwrap_or_default(),
            )
            .map(|c| Arc::new(c) as _)
            .map_err(|e| ("issuer", e.to_string()))
        }),
        UpstreamKind::Apple => url(c.issuer.as_deref(), apple::ISSUER, "issuer")
            .and_then(|_| apple_key(c))
            .and_then(|key| {
                let apple = Apple::new(common, c.issuer.as_deref(), key)
                    .map_err(|e| ("issuer", e.to_string()))?;
                // Prove the key signs before the first user needs it.
                apple
                    .client_secret(0)
                    .map_err(|e| ("private_key_file", e.to_string()))?;
                Ok(Arc::new(apple) as _)
            }),
        UpstreamKind::Oauth2 => endpoints(c, None).map(|e| {
            let core = OAuth2Core::new(
                common,
                e,
                c.token_endpoint_auth_method.unwrap_or_default(),
                c.pkce.unwrap_or(true),
            );
            Arc::new(OAuth2Connector::new(
                core,
                c.claims.clone().unwrap_or_default(),
            )) as _
        }),
        UpstreamKind::Facebook => endpoints(
            c,
            Some([
                facebook::AUTHORIZATION_ENDPOINT,
                facebook::TOKEN_ENDPOINT,
                facebook::USERINFO_ENDPOINT,
            ]),
        )
        .map(|e| Arc::new(Facebook::new(common, e)) as _),
        UpstreamKind::X => endpoints(
            c,
            Some([
                x::AUTHORIZATION_ENDPOINT,
                x::TOKEN_ENDPOINT,
                x::USERINFO_ENDPOINT,
            ]),
        )
        .map(|e| Arc::new(X::new(common, e)) as _),
    };
    match built {
        Ok(conn) if problems.is_empty() => Ok(conn),
        Ok(_) => Err(problems),
        Err(p) => {
            problems.push(p);
            Err(problems)
        }
    }
}

fn endpoints(c: &UpstreamConfig, defaults: Option<[&str; 3]>) -> Result<Endpoints, BuildProblem> {
    let pick = |v: &Option<String>, i: usize, key: &'static str| match (v, defaults) {
        (Some(v), _) => url(Some(v), "", key),
        (None, Some(d)) => url(None, d[i], key),
        (None, None) => Err((key, "is required for kind = \"oauth2\"".into())),
    };
    Ok(Endpoints {
        authorization: pick(&c.authorization_endpoint, 0, "authorization_endpoint")?,
        token: pick(&c.token_endpoint, 1, "token_endpoint")?,
        userinfo: pick(&c.userinfo_endpoint, 2, "userinfo_endpoint")?,
    })
}

fn apple_key(c: &UpstreamConfig) -> Result<AppleKey, BuildProblem> {
    let team_id = c
        .team_id
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or(("team_id", "is required for kind = \"apple\"".to_owned()))?;
    let key_id = c
        .key_id
        .clone()
        .filter(|k| !k.is_empty())
        .ok_or(("key_id", "is required for kind = \"apple\"".to_owned()))?;
    let path = c.private_key_file.as_ref().ok_or((
        "private_key_file",
        "is required for kind = \"apple\" (the .p8 key from Apple)".to_owned(),
    ))?;
    let pem = std::fs::read(path).map_err(|e| {
        (
            "private_key_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let key = Es256Key::from_pem(&pem).map_err(|e| {
        (
            "private_key_file",
            format!(
                "{} is not a P-256 private key (PKCS#8 PEM): {e}",
                path.display()
            ),
        )
    })?;
    Ok(AppleKey {
        team_id,
        key_id,
        key,
    })
}

/// `roles_from_claim` needs an allow-list of valid role names, and a kind whose profile can
/// carry such a claim (not Facebook's or X's fixed profiles).
fn roles_problems(c: &UpstreamConfig, problems: &mut Vec<BuildProblem>) {
    match (&c.roles_from_claim, c.roles_allowed.is_empty()) {
        (Some(_), _) if matches!(c.kind, UpstreamKind::Facebook | UpstreamKind::X) => problems
            .push((
                "roles_from_claim",
                "is for kinds oidc, oauth2, google and apple".into(),
            )),
        (Some(claim), _) if claim.is_empty() || claim.split('.').any(str::is_empty) => problems
            .push((
                "roles_from_claim",
                "must name a claim (a.b for nested)".into(),
            )),
        (Some(_), true) => problems.push((
            "roles_allowed",
            "is required with roles_from_claim: list the values that may become roles".into(),
        )),
        (None, false) => problems.push(("roles_allowed", "needs roles_from_claim".into())),
        _ => {}
    }
    for role in &c.roles_allowed {
        if !crate::protocol::vocab::valid_role(role) {
            problems.push((
                "roles_allowed",
                format!("{role:?} is not a role name (1 to 64 of A-Z a-z 0-9 : . _ -)"),
            ));
        }
    }
}
