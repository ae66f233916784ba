//! `[[upstreams]]` entries: the identity providers users may sign in with. Keys shared by every
//! kind, then per kind: `issuer` (oidc; an override for google and apple), the three endpoint
//! URLs and `claims` (oauth2; overrides for facebook and x), `hosted_domains` (google),
//! `team_id`, `key_id`, `private_key_file` (apple).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

use crate::secret::Secret;

/// The kinds an admin can configure (`kind = "…"` in `[[upstreams]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamKind {
    Oidc,
    Oauth2,
    Google,
    Apple,
    Facebook,
    X,
}

impl UpstreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamKind::Oidc => "oidc",
            UpstreamKind::Oauth2 => "oauth2",
            UpstreamKind::Google => "google",
            UpstreamKind::Apple => "apple",
            UpstreamKind::Facebook => "facebook",
            UpstreamKind::X => "x",
        }
    }
}

/// How the client authenticates at the upstream's token endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamAuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
}

/// Where each identity field sits in the userinfo JSON: dotted paths such as `data.id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    #[serde(default = "default_subject")]
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: Option<String>,
    pub name: Option<String>,
}

fn default_subject() -> String {
    "sub".into()
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            subject: default_subject(),
            email: Some("email".into()),
            email_verified: Some("email_verified".into()),
            name: Some("name".into()),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Short name in URLs, audit records and the ID token's `idp` claim: `google`, `corp-sso`.
    pub id: String,
    pub kind: UpstreamKind,
    /// The button's text ("Google"); defaults by kind.
    pub display_name: Option<String>,
    pub client_id: String,
    pub client_secret: Option<Secret>,
    /// Name of an environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Scopes to request; defaults by kind.
    pub scopes: Option<Vec<String>>,
    /// Link to an existing account with the same email, when both emails are verified.
    #[serde(default)]
    pub trust_email: bool,
    /// Count the upstream's own multi-factor sign-in as a second factor here, when its ID
    /// token says so (`amr` contains `mfa`, or `acr` is one of `mfa_acr_values`).
    #[serde(default)]
    pub trust_mfa: bool,
    /// The upstream's `acr` values that mean a multi-factor sign-in.
    #[serde(default)]
    pub mfa_acr_values: Vec<String>,
    /// The claim (ID token for `oidc`, a path in the profile for `oauth2`) whose values become
    /// the account's roles from this upstream, synced at each sign-in (`groups`).
    pub roles_from_claim: Option<String>,
    /// The values of `roles_from_claim` that may become roles; any other is ignored.
    #[serde(default)]
    pub roles_allowed: Vec<String>,
    /// Connect and response time limit for calls to this upstream.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    // oidc (google and apple: override)
    pub issuer: Option<String>,
    // oauth2 (facebook and x: overrides)
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub token_endpoint_auth_method: Option<UpstreamAuthMethod>,
    pub pkce: Option<bool>,
    pub claims: Option<ClaimMapping>,
    // google
    pub hosted_domains: Option<Vec<String>>,
    // apple
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    pub private_key_file: Option<PathBuf>,
}

fn default_timeout() -> u64 {
    10
}

impl UpstreamConfig {
    /// Keys set in this entry that its kind does not use.
    pub fn misplaced_keys(&self) -> Vec<&'static str> {
        use UpstreamKind::*;
        let k = self.kind;
        let mut out = Vec::new();
        let mut check = |set: bool, key: &'static str, kinds: &[UpstreamKind]| {
            if set && !kinds.contains(&k) {
                out.push(key);
            }
        };
        check(self.issuer.is_some(), "issuer", &[Oidc, Google, Apple]);
        for (set, key) in [
            (
                self.authorization_endpoint.is_some(),
                "authorization_endpoint",
            ),
            (self.token_endpoint.is_some(), "token_endpoint"),
            (self.userinfo_endpoint.is_some(), "userinfo_endpoint"),
        ] {
            check(set, key, &[Oauth2, Facebook, X]);
        }
        check(
            self.token_endpoint_auth_method.is_some(),
            "token_endpoint_auth_method",
            &[Oauth2],
        );
        check(self.pkce.is_some(), "pkce", &[Oauth2]);
        check(self.claims.is_some(), "claims", &[Oauth2]);
        check(self.hosted_domains.is_some(), "hosted_domains", &[Google]);
        check(self.team_id.is_some(), "team_id", &[Apple]);
        check(self.key_id.is_some(), "key_id", &[Apple]);
        check(
            self.private_key_file.is_some(),
            "private_key_file",
            &[Apple],
        );
        out
    }
}
