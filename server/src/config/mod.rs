//! Settings: one TOML file (`config/ostiary.toml` by default, `--config PATH`), with
//! `OSTIARY__SECTION__KEY` environment variables overriding single keys. Every struct denies
//! unknown keys; each section is read on its own so that `check-config` reports every problem.

mod limits;
mod mfa;
mod ops;
mod self_service;
pub mod upstreams;
mod validate;

pub use limits::LimitSettings;
pub use mfa::{AuditSettings, MfaSettings};
pub use ops::{LogFormat, LogSettings, MetricsSettings};
pub use self_service::{EmailSettings, PasswordSettings, RegistrationSettings};

pub use upstreams::UpstreamConfig;

pub use validate::{
    DEMO_CALLBACK, DEMO_CLIENT, DEMO_PUBLIC_CLIENT, Problem, Severity, is_loopback, validate,
};

use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::protocol::vocab::{GrantType, ResponseType, TokenEndpointAuthMethod};

pub const DEFAULT_CONFIG_PATH: &str = "config/ostiary.toml";
const ENV_PREFIX: &str = "OSTIARY__";

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the settings were read from; relative paths in them are relative to the working directory.
    pub source: PathBuf,
    pub issuer: String,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub tokens: TokenSettings,
    pub keys: KeySettings,
    pub session: SessionSettings,
    pub login: LoginSettings,
    pub registration: RegistrationSettings,
    pub passwords: PasswordSettings,
    pub email: EmailSettings,
    pub mfa: MfaSettings,
    pub audit: AuditSettings,
    pub limits: LimitSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub dev: DevSettings,
    pub clients: Vec<ClientConfig>,
    pub upstreams: Vec<UpstreamConfig>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on, `host:port`. Port 0 picks a free port.
    pub bind: String,
    /// Directory for the embedded database and the generated key-encryption key.
    pub data_dir: PathBuf,
    /// Serve HTTPS with this certificate chain and key (PEM).
    pub tls: Option<TlsSettings>,
    /// HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Threads that make the tokens' RS256 signatures, in the order asked; 0 signs on the HTTP
    /// worker that asks. Default: one per core on SQLite, 0 on PostgreSQL (whose batched
    /// statements gather the callers that signing on the workers releases together).
    pub signing_threads: Option<usize>,
    /// Run pending migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// Reverse proxies (addresses or CIDR ranges) whose `Forwarded` / `X-Forwarded-For` name
    /// the client; from any other peer those headers are ignored.
    pub trusted_proxies: Vec<String>,
    /// On SIGTERM or SIGINT: stop accepting, and give requests in flight this long to finish.
    pub shutdown_timeout_seconds: u64,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            data_dir: "data".into(),
            tls: None,
            workers: None,
            signing_threads: None,
            migrate_on_start: true,
            trusted_proxies: Vec::new(),
            shutdown_timeout_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://data/ostiary.db?mode=rwc` or `postgres://user:pass@host/db`.
    pub url: String,
    /// Connections in the pool (on SQLite, the readers; writes share one connection).
    pub max_connections: u32,
    /// How often expired codes, tokens, sessions and requests are deleted.
    pub gc_interval_seconds: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: "sqlite://data/ostiary.db?mode=rwc".into(),
            max_connections: 16,
            gc_interval_seconds: 600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    pub access_token_lifetime_seconds: i64,
    pub id_token_lifetime_seconds: i64,
    /// Absolute lifetime of a refresh-token family, counted from the sign-in.
    pub refresh_token_lifetime_seconds: i64,
    /// At most 60 seconds.
    pub authorization_code_lifetime_seconds: i64,
    /// Seconds in which a replay of a just-rotated refresh token gets the same successor
    /// instead of revoking the family. 0 (the default) turns the grace window off.
    pub refresh_token_reuse_grace_seconds: i64,
    /// `aud` of access tokens (RFC 9068 §3); defaults to the issuer.
    pub access_token_audience: Option<String>,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            access_token_lifetime_seconds: 3600,
            id_token_lifetime_seconds: 3600,
            refresh_token_lifetime_seconds: 30 * 24 * 3600,
            authorization_code_lifetime_seconds: 60,
            refresh_token_reuse_grace_seconds: 0,
            access_token_audience: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// Environment variable holding the key-encryption key (32 bytes, base64).
    pub encryption_key_env: String,
    /// File holding the key-encryption key; generated under `server.data_dir` when neither is set.
    pub encryption_key_file: Option<PathBuf>,
    /// Rotate the signing key when it has signed this long (0: only by hand, `keys rotate`).
    pub rotate_after_days: u32,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self {
            encryption_key_env: "OSTIARY_KEY_ENCRYPTION_KEY".into(),
            encryption_key_file: None,
            rotate_after_days: 90,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// Absolute lifetime of a browser session at Ostiary.
    pub lifetime_seconds: i64,
    /// A session unused for this long ends (0: off). Use is noted at most once a minute, so
    /// the timeout is exact to within a minute.
    pub idle_timeout_seconds: i64,
    /// At most this many sessions per account (0: no limit): a new sign-in ends the oldest.
    pub max_per_account: u32,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            lifetime_seconds: 12 * 3600,
            idle_timeout_seconds: 0,
            max_per_account: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginSettings {
    /// Show the email and password form (false for social-only deployments).
    pub password: bool,
    /// Password hashes computed at once; further sign-ins wait (argon2id is memory-hard).
    pub max_concurrent_password_checks: Option<usize>,
    /// Failed password sign-ins for one email within `lockout_window_seconds` that lock it
    /// (0 turns lockout off).
    pub lockout_threshold: i32,
    pub lockout_window_seconds: i64,
    /// The first lockout; each consecutive one lasts twice as long, up to `max_lockout_seconds`.
    pub lockout_seconds: i64,
    pub max_lockout_seconds: i64,
}

impl Default for LoginSettings {
    fn default() -> Self {
        Self {
            password: true,
            max_concurrent_password_checks: None,
            lockout_threshold: 10,
            lockout_window_seconds: 900,
            lockout_seconds: 60,
            max_lockout_seconds: 3600,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DevSettings {
    /// Development only: create `demo@example.com` with a random password printed once at start.
    pub demo_account: bool,
    /// Development only: offer sign-in with fake Google, Apple, Facebook and X providers that
    /// this server itself plays under /dev/fake/, with no credentials and no network.
    pub fake_upstreams: bool,
    /// Development only: a demo relying party under /dev/demo that signs in against this
    /// server as the clients `demo` (confidential) and `demo-spa` (public, PKCE) and shows every
    /// request and token it sees.
    pub demo_app: bool,
}

/// One `[[clients]]` entry; keys are RFC 7591 client metadata names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    pub client_name: Option<String>,
    pub client_secret: Option<crate::secret::Secret>,
    pub client_secret_hash: Option<String>,
    pub client_secret_env: Option<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Where logout tokens are POSTed when a session the client was issued tokens in ends
    /// (OpenID Connect Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in logout tokens (Ostiary always sends it).
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    #[serde(default = "default_grant_types")]
    pub grant_types: Vec<GrantType>,
    #[serde(default = "default_response_types")]
    pub response_types: Vec<ResponseType>,
    pub scope: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    #[serde(default)]
    pub skip_consent: bool,
    /// A resource server that may introspect tokens issued to other clients (RFC 7662 §4).
    #[serde(default)]
    pub introspect_any_token: bool,
    /// Every sign-in for this client needs a second factor.
    #[serde(default)]
    pub require_mfa: bool,
    /// At most this many token requests a minute from this client (per instance).
    pub rate_limit_per_minute: Option<u32>,
    /// A confidential client's token requests must come from these addresses or CIDR ranges.
    #[serde(default)]
    pub allowed_ips: Vec<String>,
    /// Roles a client-credentials client's access tokens carry (`roles` claim).
    #[serde(default)]
    pub roles: Vec<String>,
}

fn default_grant_types() -> Vec<GrantType> {
    vec![GrantType::AuthorizationCode]
}

fn default_response_types() -> Vec<ResponseType> {
    vec![ResponseType::Code]
}

/// Reading the file failed before any setting could be checked, or some sections did not parse.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl Settings {
    /// Read, apply environment overrides, and parse every section, collecting all problems.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(path, &text, std::env::vars())
    }

    pub fn parse(
        path: &Path,
        text: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?;
        apply_env_overrides(&mut table, env);
        let mut problems = Vec::new();
        let mut take = |key: &str| table.remove(key);

        let issuer = match take("issuer") {
            Some(toml::Value::String(s)) => s,
            Some(_) => {
                problems.push(Problem::error("issuer", "must be a string"));
                String::new()
            }
            None => {
                problems.push(Problem::error("issuer", "is required"));
                String::new()
            }
        };
        let server = section(take("server"), "server", &mut problems);
        let database = section(take("database"), "database", &mut problems);
        let tokens = section(take("tokens"), "tokens", &mut problems);
        let keys = section(take("keys"), "keys", &mut problems);
        let session = section(take("session"), "session", &mut problems);
        let login = section(take("login"), "login", &mut problems);
        let registration = section(take("registration"), "registration", &mut problems);
        let passwords = section(take("passwords"), "passwords", &mut problems);
        let email = section(take("email"), "email", &mut problems);
        let mfa = section(take("mfa"), "mfa", &mut problems);
        let audit = section(take("audit"), "audit", &mut problems);
        let limits = section(take("limits"), "limits", &mut problems);
        let log = section(take("log"), "log", &mut problems);
        let metrics = section(take("metrics"), "metrics", &mut problems);
        let dev = section(take("dev"), "dev", &mut problems);
        let mut clients = Vec::new();
        match take("clients") {
            None => {}
            Some(toml::Value::Array(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    let key = format!("clients[{i}]");
                    if let Some(c) = parse_value::<ClientConfig>(item, &key, &mut problems) {
                        clients.push(c);
                    }
                }
            }
            Some(_) => problems.push(Problem::error(
                "clients",
                "must be an array of tables ([[clients]])",
            )),
        }
        let mut upstreams = Vec::new();
        match take("upstreams") {
            None => {}
            Some(toml::Value::Array(items)) => {
                for (i, item) in items.into_iter().enumerate() {
                    let key = format!("upstreams[{i}]");
                    if let Some(u) = parse_value::<UpstreamConfig>(item, &key, &mut problems) {
                        upstreams.push(u);
                    }
                }
            }
            Some(_) => problems.push(Problem::error(
                "upstreams",
                "must be an array of tables ([[upstreams]])",
            )),
        }
        for unknown in table.keys() {
            problems.push(Problem::error(unknown, "unknown key"));
        }
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        Ok(Settings {
            source: path.to_owned(),
            issuer,
            server,
            database,
            tokens,
            keys,
            session,
            login,
            registration,
            passwords,
            email,
            mfa,
            audit,
            limits,
            log,
            metrics,
            dev,
            clients,
            upstreams,
        })
    }

    /// The issuer without a trailing slash, for building endpoint URLs.
    pub fn issuer_base(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    pub fn access_token_audience(&self) -> &str {
        self.tokens
            .access_token_audience
            .as_deref()
            .unwrap_or(&self.issuer)
    }

    /// Cookies carry `Secure` (and the `__Host-` prefix) when the issuer is https.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

fn section<T: serde::de::DeserializeOwned + Default>(
    value: Option<toml::Value>,
    key: &str,
    problems: &mut Vec<Problem>,
) -> T {
    match value {
        None => T::default(),
        Some(v) => parse_value(v, key, problems).unwrap_or_default(),
    }
}

fn parse_value<T: serde::de::DeserializeOwned>(
    value: toml::Value,
    key: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    match T::deserialize(value) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(Problem::error(key, e.message().trim()));
            None
        }
    }
}

/// `OSTIARY__DATABASE__URL=postgres://…` sets `[database] url`. Values that parse as TOML
/// (numbers, booleans, arrays) keep their type; anything else is a string.
fn apply_env_overrides(table: &mut toml::Table, env: impl Iterator<Item = (String, String)>) {
    for (name, raw) in env {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        set_path(table, &keys, value);
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) {
    match keys {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                set_path(t, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::parse(Path::new("test.toml"), text, std::iter::empty())
    }

    #[test]
    fn a_misspelled_key_is_reported_with_its_section() {
        let err = parse("issuer = \"http://127.0.0.1:1\"\n[server]\nbnd = \"x\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("server") && text.contains("bnd"), "{text}");
    }

    #[test]
    fn every_broken_section_is_reported_at_once() {
        let err =
            parse("foo = 1\n[tokens]\nx = 1\n[[clients]]\nclient_id = \"a\"\nredirect_uri = []\n")
                .unwrap_err();
        let ConfigError::Invalid(problems) = err else {
            panic!("expected problems")
        };
        assert_eq!(problems.len(), 4, "{problems:?}"); // issuer missing, tokens.x, clients[0], foo
    }

    #[test]
    fn environment_variables_override_single_keys() {
        let env = vec![(
            "OSTIARY__DATABASE__URL".to_string(),
            "postgres://x/y".to_string(),
        )];
        let s = Settings::parse(
            Path::new("t"),
            "issuer = \"http://127.0.0.1:1\"",
            env.into_iter(),
        )
        .unwrap();
        assert_eq!(s.database.url, "postgres://x/y");
    }
}
