//! `kind = "facebook"`: Facebook Login (OAuth 2.0) and the Graph API
//! `/me?fields=id,name,email,picture`, every Graph call signed with `appsecret_proof`
//! (HMAC-SHA256 of the access token keyed by the app secret). The email may be absent, and
//! Facebook does not assert that it is verified, so it never links accounts by itself.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use super::oauth2::{ClaimMapping, Endpoints, OAuth2Core, UpstreamAuthMethod};
use super::{
    Begun, CallbackContext, Common, PendingUpstreamLogin, UpstreamCallback, UpstreamConnector,
    UpstreamError, UpstreamIdentity, UpstreamKind,
};

pub const AUTHORIZATION_ENDPOINT: &str = "https://www.facebook.com/v19.0/dialog/oauth";
pub const TOKEN_ENDPOINT: &str = "https://graph.facebook.com/v19.0/oauth/access_token";
pub const USERINFO_ENDPOINT: &str = "https://graph.facebook.com/v19.0/me";
pub const DEFAULT_SCOPES: [&str; 2] = ["public_profile", "email"];

pub struct Facebook {
    core: OAuth2Core,
}

impl Facebook {
    pub fn new(common: Common, endpoints: Endpoints) -> Self {
        Self {
            // Facebook's token endpoint takes the secret in the request body.
            core: OAuth2Core::new(
                common,
                endpoints,
                UpstreamAuthMethod::ClientSecretPost,
                true,
            ),
        }
    }
}

/// `appsecret_proof`: hex HMAC-SHA256 of the access token, keyed by the app secret.
pub fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(access_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[async_trait::async_trait]
impl UpstreamConnector for Facebook {
    fn common(&self) -> &Common {
        &self.core.common
    }
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Facebook
    }
    async fn begin(&self, redirect_uri: &Url) -> Result<Begun, UpstreamError> {
        Ok(self.core.begin(redirect_uri))
    }
    async fn finish(
        &self,
        callback: UpstreamCallback,
        pending: PendingUpstreamLogin,
        ctx: &CallbackContext<'_>,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let token = self.core.exchange(&callback, &pending, ctx).await?;
        let proof = appsecret_proof(self.core.common.client_secret.expose(), token.expose());
        let me = self
            .core
            .profile(
                &token,
                &[
                    ("fields", "id,name,email,picture"),
                    ("appsecret_proof", &proof),
                ],
            )
            .await?;
        // Facebook does not say whether the email is verified: it never counts as verified.
        ClaimMapping {
            subject: "id".into(),
            email: Some("email".into()),
            email_verified: None,
            name: Some("name".into()),
        }
        .apply(&me)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn appsecret_proof_is_the_hex_hmac_sha256_of_the_token() {
        // HMAC-SHA256(key = "key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            super::appsecret_proof("key", "The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }
}
