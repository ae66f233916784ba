//! The offline dev mode's fake upstreams: Google, Apple, Facebook and X played by this process
//! in each provider's real wire format (discovery, JWKS, RS256 ID tokens, Apple's form_post and
//! ES256 client-secret check, Facebook's Graph `/me` with appsecret_proof, X's PKCE-only
//! OAuth 2.0 and `/2/users/me`). `[dev] fake_upstreams = true` mounts them under /dev/fake on
//! a development config; the integration tests start them on their own port.
//!
//! State is in memory: these stand in for someone else's servers, not for our store.

mod authorize;
use authorize::authorize_step;
mod oauth2;
mod oidc;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use url::Url;

use crate::clock::SharedClock;
use crate::keys::KeyRing;
use crate::secret::Secret;
use crate::tokens::client_assertion::{Es256Key, generate_es256};
use crate::upstream::apple::{Apple, AppleKey};
use crate::upstream::facebook::Facebook;
use crate::upstream::google::Google;
use crate::upstream::http::HttpClient;
use crate::upstream::oauth2::Endpoints;
use crate::upstream::x::X;
use crate::upstream::{Common, UpstreamConnector};

/// The four providers the fakes play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Google,
    Apple,
    Facebook,
    X,
}

impl Provider {
    pub fn path(self) -> &'static str {
        match self {
            Provider::Google => "google",
            Provider::Apple => "apple",
            Provider::Facebook => "facebook",
            Provider::X => "x",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Apple => "Apple",
            Provider::Facebook => "Facebook",
            Provider::X => "X",
        }
    }
}

/// Ways a test can make a fake misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Misbehaviour {
    #[default]
    None,
    /// ID tokens name another audience.
    WrongAudience,
    /// ID tokens name us as audience but another client as authorized party (azp).
    ForeignAzp,
    /// ID tokens expired a minute before they were issued.
    Expired,
    /// ID tokens are signed by a key that is not in the JWKS (same kid).
    BadSignature,
    /// ID tokens carry a nonce other than the one sent.
    WrongNonce,
    /// The token endpoint answers only after this many seconds.
    SlowTokenEndpoint(u64),
}

/// The person a fake signs in (chosen on the fake's page).
#[derive(Debug, Clone, Default)]
pub struct FakeUser {
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Apple: the email is a private-relay address.
    pub private_email: bool,
    /// What the ID token's `amr` says (space-separated on the fake's page), if anything.
    pub amr: Option<String>,
    /// The groups the ID token and the X profile list (space-separated on the fake's page).
    pub groups: Option<String>,
}

struct IssuedCode {
    provider: Provider,
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    scope: String,
    user: FakeUser,
}

/// Credentials and state of the fake providers.
pub struct FakeProviders {
    /// Base URL the fakes are served under, without a trailing slash.
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
    pub apple_team_id: String,
    pub apple_key_id: String,
    /// The `.p8` key Ostiary signs Apple client secrets with (PKCS#8 PEM).
    pub apple_private_pem: Vec<u8>,
    apple_public_pem: Vec<u8>,
    keys: RwLock<Arc<KeyRing>>,
    codes: Mutex<HashMap<String, IssuedCode>>,
    tokens: Mutex<HashMap<String, (Provider, FakeUser, String)>>,
    apple_seen: Mutex<std::collections::HashSet<String>>,
    misbehaviour: Mutex<Misbehaviour>,
    clock: SharedClock,
}

impl FakeProviders {
    pub fn new(base: &str, clock: SharedClock) -> anyhow::Result<Arc<Self>> {
        let (private, public) = generate_es256()?;
        Ok(Arc::new(Self {
            base: base.trim_end_matches('/').to_owned(),
            client_id: "ostiary-dev".into(),
            client_secret: crate::tokens::opaque::random_token().expose().to_owned(),
            apple_team_id: "FAKETEAM01".into(),
            apple_key_id: "FAKEKEY001".into(),
            apple_private_pem: private,
            apple_public_pem: public,
            keys: RwLock::new(Arc::new(KeyRing::ephemeral()?)),
            codes: Mutex::default(),
            tokens: Mutex::default(),
            apple_seen: Mutex::default(),
            misbehaviour: Mutex::default(),
            clock,
        }))
    }

    pub fn url(&self, provider: Provider, path: &str) -> String {
        format!("{}/{}{path}", self.base, provider.path())
    }

    pub fn set_misbehaviour(&self, m: Misbehaviour) {
        *lock(&self.misbehaviour) = m;
    }

    fn misbehaviour(&self) -> Misbehaviour {
        *lock(&self.misbehaviour)
    }

    /// Replace the signing key (relying parties must fetch the JWKS again).
    pub fn rotate_keys(&self) -> anyhow::Result<()> {
        let ring = Arc::new(KeyRing::ephemeral()?);
        match self.keys.write() {
            Ok(mut g) => *g = ring,
            Err(p) => *p.into_inner() = ring,
        }
        Ok(())
    }

    fn keys(&self) -> Arc<KeyRing> {
        match self.keys.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Connectors for the four fakes, as the dev mode offers them.
    pub fn connectors(&self) -> anyhow::Result<Vec<Arc<dyn UpstreamConnector>>> {
        let common = |p: Provider, scopes: &[&str]| -> anyhow::Result<Common> {
            Ok(Common {
                id: crate::protocol::ids::UpstreamId::new(format!("fake-{}", p.path())),
                display_name: format!("{} (fake)", p.label()),
                client_id: self.client_id.clone(),
                client_secret: Secret::new(self.client_secret.clone()),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                trust_email: true,
                roles_from_claim: None,
                roles_allowed: Vec::new(),
                trust_mfa: false,
                mfa_acr_values: Vec::new(),
                http: HttpClient::new(Duration::from_secs(10))?,
            })
        };
        let endpoints = |p: Provider, a: &str, t: &str, u: &str| -> anyhow::Result<Endpoints> {
            Ok(Endpoints {
                authorization: Url::parse(&self.url(p, a))?,
                token: Url::parse(&self.url(p, t))?,
                userinfo: Url::parse(&self.url(p, u))?,
            })
        };
        let google = Google::new(
            common(Provider::Google, &crate::upstream::google::DEFAULT_SCOPES)?,
            Some(&self.url(Provider::Google, "")),
            Vec::new(),
        )?;
        let apple = Apple::new(
            common(Provider::Apple, &crate::upstream::apple::DEFAULT_SCOPES)?,
            Some(&self.url(Provider::Apple, "")),
            AppleKey {
                team_id: self.apple_team_id.clone(),
                key_id: self.apple_key_id.clone(),
                key: Es256Key::from_pem(&self.apple_private_pem)?,
            },
        )?;
        let facebook = Facebook::new(
            common(
                Provider::Facebook,
                &crate::upstream::facebook::DEFAULT_SCOPES,
            )?,
            endpoints(
                Provider::Facebook,
                "/dialog/oauth",
                "/oauth/access_token",
                "/me",
            )?,
        );
        let x = X::new(
            common(Provider::X, &crate::upstream::x::DEFAULT_SCOPES)?,
            endpoints(
                Provider::X,
                "/i/oauth2/authorize",
                "/2/oauth2/token",
                "/2/users/me",
            )?,
        );
        Ok(vec![
            Arc::new(google),
            Arc::new(apple),
            Arc::new(facebook),
            Arc::new(x),
        ])
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Mount the fakes' routes (under a scope the caller chooses).
pub fn configure(cfg: &mut web::ServiceConfig, fakes: Arc<FakeProviders>) {
    cfg.app_data(web::Data::from(fakes));
    oidc::configure(cfg);
    oauth2::configure(cfg);
}

/// Serve the fakes on their own listener (tests): returns the server handle to stop it.
pub fn spawn(
    listener: TcpListener,
    fakes: Arc<FakeProviders>,
) -> std::io::Result<actix_web::dev::ServerHandle> {
    let server = HttpServer::new(move || {
        let f = fakes.clone();
        App::new().configure(move |cfg| configure(cfg, f))
    })
    .workers(1)
    .listen(listener)?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(handle)
}

pub(super) fn json_error(status: StatusCode, error: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": error }))
}

fn form(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn query(q: &str) -> HashMap<String, String> {
    form(q.as_bytes())
}

/// RFC 7636 S256 check.
fn pkce_ok(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    use base64::Engine;
    match (challenge, verifier) {
        (None, _) => true,
        (Some(c), Some(v)) => {
            let digest = <sha2::Sha256 as sha2::Digest>::digest(v.as_bytes());
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == c
        }
        (Some(_), None) => false,
    }
}

/// Take a code for the token endpoint, checking client, redirect URI and PKCE.
fn redeem(
    fakes: &FakeProviders,
    provider: Provider,
    f: &HashMap<String, String>,
    client_id: &str,
) -> Result<IssuedCode, &'static str> {
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return Err("unsupported_grant_type");
    }
    let code = f.get("code").cloned().unwrap_or_default();
    let issued = lock(&fakes.codes).remove(&code).ok_or("invalid_grant")?;
    if issued.provider != provider
        || issued.client_id != client_id
        || f.get("redirect_uri") != Some(&issued.redirect_uri)
        || !pkce_ok(
            issued.code_challenge.as_deref(),
            f.get("code_verifier").map(String::as_str),
        )
    {
        return Err("invalid_grant");
    }
    Ok(issued)
}

/// Wait as a slow upstream would (tests of the bounded timeouts).
async fn maybe_slow(fakes: &FakeProviders) {
    if let Misbehaviour::SlowTokenEndpoint(secs) = fakes.misbehaviour() {
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
}

/// Mint an opaque access token for the profile endpoints.
fn access_token(fakes: &FakeProviders, provider: Provider, issued: &IssuedCode) -> String {
    let token = crate::tokens::opaque::random_token().expose().to_owned();
    lock(&fakes.tokens).insert(
        token.clone(),
        (provider, issued.user.clone(), issued.scope.clone()),
    );
    token
}

/// The user behind a bearer token at a profile endpoint.
fn bearer_user(
    fakes: &FakeProviders,
    provider: Provider,
    req: &actix_web::HttpRequest,
) -> Option<(FakeUser, String)> {
    let token = req
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| query(req.query_string()).get("access_token").cloned())?;
    let tokens = lock(&fakes.tokens);
    let (p, user, scope) = tokens.get(&token)?;
    (*p == provider).then(|| (user.clone(), scope.clone()))
}

/// The bearer token itself (Facebook's appsecret_proof is computed over it).
fn bearer_token(req: &actix_web::HttpRequest) -> Option<String> {
    req.headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| query(req.query_string()).get("access_token").cloned())
}

/// Client credentials from an `Authorization: Basic` header, parsed as our own token endpoint
/// parses them (RFC 6749 §2.3.1).
fn basic_credentials(r: &actix_web::HttpRequest) -> Option<(String, String)> {
    let header = r.headers().get("Authorization")?.to_str().ok();
    crate::oauth::client_auth::parse_basic(header)
        .ok()
        .flatten()
        .map(|b| (b.client_id, b.secret.expose().to_owned()))
}
