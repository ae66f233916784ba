//! `kind = "google"`: Google's OpenID Connect (https://developers.google.com/identity/openid-connect).
//! Email and email_verified come from the ID token; `hosted_domains` restricts sign-in to
//! Google Workspace domains by the ID token's `hd` claim (the `hd` authorization parameter is
//! only a hint to the account chooser).

use serde_json::Value;
use url::Url;

use super::oidc::OidcCore;
use super::{
    Begun, CallbackContext, Common, PendingUpstreamLogin, UpstreamCallback, UpstreamConnector,
    UpstreamError, UpstreamIdentity, UpstreamKind,
};

pub const ISSUER: &str = "https://accounts.google.com";
pub const DEFAULT_SCOPES: [&str; 3] = ["openid", "email", "profile"];

pub struct Google {
    core: OidcCore,
    hosted_domains: Vec<String>,
}

impl Google {
    pub fn new(
        common: Common,
        issuer: Option<&str>,
        hosted_domains: Vec<String>,
    ) -> Result<Self, UpstreamError> {
        let mut extra = Vec::new();
        if let [only] = hosted_domains.as_slice() {
            extra.push(("hd".to_owned(), only.clone()));
        }
        Ok(Self {
            core: OidcCore::new(common, issuer.unwrap_or(ISSUER), extra)?,
            hosted_domains,
        })
    }
}

#[async_trait::async_trait]
impl UpstreamConnector for Google {
    fn common(&self) -> &Common {
        &self.core.common
    }
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Google
    }
    fn issuer(&self) -> Option<&str> {
        Some(self.core.issuer())
    }
    async fn begin(&self, redirect_uri: &Url) -> Result<Begun, UpstreamError> {
        self.core.begin(redirect_uri).await
    }
    async fn finish(
        &self,
        callback: UpstreamCallback,
        pending: PendingUpstreamLogin,
        ctx: &CallbackContext<'_>,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let secret = self.core.common.client_secret.expose().to_owned();
        let verified = self.core.finish(&callback, &pending, ctx, &secret).await?;
        if !self.hosted_domains.is_empty() {
            let hd = verified.extra.get("hd").and_then(Value::as_str);
            if !hd.is_some_and(|hd| self.hosted_domains.iter().any(|d| d == hd)) {
                return Err(UpstreamError::Policy(format!(
                    "hosted domain {} is not allowed",
                    hd.unwrap_or("(none)")
                )));
            }
        }
        Ok(verified.identity)
    }
}
