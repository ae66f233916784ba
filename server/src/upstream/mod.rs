//! Upstream federation (architecture guide C7): identity providers we send users to — Google,
//! Apple, Facebook, X, and any OpenID Connect or OAuth 2.0 provider — behind one connector
//! contract. A connector builds the authorization URL and turns the callback into a normalised
//! identity; the server keeps the per-login state it hands back (state, nonce, PKCE verifier)
//! and never lets a connector touch storage. Upstream tokens stay here: relying parties get
//! Ostiary's own tokens.

pub mod apple;
pub mod facebook;
pub mod google;
pub mod http;
pub mod oauth2;
pub mod oidc;
pub mod registry;
pub mod x;

pub use registry::Registry;

use serde::{Deserialize, Serialize};
use url::Url;

/// The normalised result of a successful upstream sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamIdentity {
    /// Stable user id at the upstream; accounts are keyed on (upstream, subject), never on email.
    pub subject: String,
    pub email: Option<String>,
    /// False unless the upstream asserts it.
    pub email_verified: bool,
    pub name: Option<String>,
    /// The upstream's `amr` and `acr` (OpenID Connect ID tokens; empty for OAuth 2.0 kinds).
    pub amr: Vec<String>,
    pub acr: Option<String>,
    /// The values of the upstream's `roles_from_claim` claim (empty when none is configured).
    pub groups: Vec<String>,
}

/// What the server keeps between `begin` and `finish` (stored as JSON, found by the state).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PendingUpstreamLogin {
    pub nonce: Option<String>,
    pub pkce_verifier: Option<String>,
    /// The upstream advertises `authorization_response_iss_parameter_supported`: its callback
    /// must carry `iss` (RFC 9207 §2.4).
    #[serde(default)]
    pub iss_required: bool,
}

/// The start of an upstream sign-in: where to send the browser, and what to keep.
pub struct Begun {
    pub url: Url,
    /// The `state` value sent to the upstream (the server stores only its hash).
    pub state: String,
    pub pending: PendingUpstreamLogin,
}

/// A successful callback's inputs (errors such as `access_denied` are handled by the server).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpstreamCallback {
    pub code: String,
    /// Apple's `user` form field (JSON with the name), sent on the first sign-in only.
    pub user: Option<String>,
}

/// Context of the callback the server is finishing.
pub struct CallbackContext<'a> {
    /// Exactly the redirect URI sent in `begin`.
    pub redirect_uri: &'a Url,
    /// The server's clock (Unix seconds), for expiry checks.
    pub now: i64,
}

pub use crate::config::upstreams::UpstreamKind;

/// Why an upstream sign-in failed. `audit_kind` names it in the audit log; the user sees a
/// generic message, never the upstream's words or tokens.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("upstream unreachable or too slow: {0}")]
    Unavailable(String),
    #[error("upstream configuration: {0}")]
    Config(String),
    #[error("token request refused: {0}")]
    TokenRequest(String),
    #[error("ID token signature or key: {0}")]
    Signature(String),
    #[error("ID token audience: {0}")]
    Audience(String),
    #[error("ID token issuer: {0}")]
    Issuer(String),
    #[error("ID token expired or not yet valid: {0}")]
    Expired(String),
    #[error("ID token nonce mismatch")]
    Nonce,
    #[error("invalid ID token: {0}")]
    IdToken(String),
    #[error("invalid profile: {0}")]
    Profile(String),
    #[error("refused by policy: {0}")]
    Policy(String),
}

impl UpstreamError {
    pub fn audit_kind(&self) -> crate::audit::AuditKind {
        use crate::audit::AuditKind as K;
        match self {
            UpstreamError::Unavailable(_) => K::UpstreamUnavailable,
            UpstreamError::Config(_) => K::UpstreamMisconfigured,
            UpstreamError::TokenRequest(_) => K::UpstreamTokenRefused,
            UpstreamError::Signature(_) => K::UpstreamBadSignature,
            UpstreamError::Audience(_) => K::UpstreamWrongAudience,
            UpstreamError::Issuer(_) => K::UpstreamWrongIssuer,
            UpstreamError::Expired(_) => K::UpstreamTokenExpired,
            UpstreamError::Nonce => K::UpstreamNonceMismatch,
            UpstreamError::IdToken(_) => K::UpstreamInvalidIdToken,
            UpstreamError::Profile(_) => K::UpstreamInvalidProfile,
            UpstreamError::Policy(_) => K::UpstreamRefusedByPolicy,
        }
    }
}

/// A federated identity provider we redirect users to.
#[async_trait::async_trait]
pub trait UpstreamConnector: Send + Sync {
    /// The settings every kind shares.
    fn common(&self) -> &Common;
    fn kind(&self) -> UpstreamKind;
    fn id(&self) -> &crate::protocol::ids::UpstreamId {
        &self.common().id
    }
    fn display_name(&self) -> &str {
        &self.common().display_name
    }
    /// Whether the upstream's emails may link to an existing account with the same verified email.
    fn trust_email(&self) -> bool {
        self.common().trust_email
    }
    /// Whether this identity's sign-in at the upstream counts as multi-factor here: only when
    /// the upstream is trusted for it and its ID token says so.
    fn vouches_for_mfa(&self, identity: &UpstreamIdentity) -> bool {
        let c = self.common();
        c.trust_mfa
            && (identity.amr.iter().any(|a| a == "mfa")
                || identity
                    .acr
                    .as_ref()
                    .is_some_and(|a| c.mfa_acr_values.contains(a)))
    }
    /// The roles this identity holds from this upstream: the values of its `roles_from_claim`
    /// that `roles_allowed` lists, sorted.
    fn roles(&self, identity: &UpstreamIdentity) -> Vec<String> {
        let allowed = &self.common().roles_allowed;
        let mut roles: Vec<String> = identity
            .groups
            .iter()
            .filter(|g| allowed.contains(g))
            .cloned()
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }
    /// The issuer an RFC 9207 `iss` callback parameter must equal (OpenID Connect kinds).
    fn issuer(&self) -> Option<&str> {
        None
    }
    /// The callback arrives as a form POST (`response_mode=form_post`, Apple) rather than a
    /// query; only such upstreams are accepted at POST /upstream/{id}/callback.
    fn form_post(&self) -> bool {
        false
    }
    /// Build the upstream authorization URL and the state we must keep until the callback.
    async fn begin(&self, redirect_uri: &Url) -> Result<Begun, UpstreamError>;
    /// Turn the callback into an identity (exchange the code, verify, read the profile).
    async fn finish(
        &self,
        callback: UpstreamCallback,
        pending: PendingUpstreamLogin,
        ctx: &CallbackContext<'_>,
    ) -> Result<UpstreamIdentity, UpstreamError>;
}

/// The settings every kind shares, resolved from config.
#[derive(Clone)]
pub struct Common {
    pub id: crate::protocol::ids::UpstreamId,
    pub display_name: String,
    pub client_id: String,
    pub client_secret: crate::secret::Secret,
    pub scopes: Vec<String>,
    pub trust_email: bool,
    pub trust_mfa: bool,
    pub mfa_acr_values: Vec<String>,
    /// The claim whose values may become roles, and the values that may.
    pub roles_from_claim: Option<String>,
    pub roles_allowed: Vec<String>,
    pub http: http::HttpClient,
}

/// The value at a dotted `path` of a JSON document (`data.groups`).
pub(crate) fn lookup<'a>(doc: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.').try_fold(doc, |v, key| v.get(key))
}

/// The string values of the claim at `path`: an array's strings, or a single string; at most
/// 100, each at most 256 bytes (anything else is ignored).
pub fn claim_values(doc: &serde_json::Value, path: &str) -> Vec<String> {
    use serde_json::Value;
    let fits = |s: &&str| !s.is_empty() && s.len() <= 256;
    match lookup(doc, path) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(fits)
            .take(100)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) if fits(&s.as_str()) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Random URL-safe value for `state` (and nonce): 256 bits.
pub fn random_value() -> String {
    crate::tokens::opaque::random_token().expose().to_owned()
}
