//! `kind = "x"`: X (Twitter) OAuth 2.0 with PKCE, which X requires, as a confidential client
//! authenticated with HTTP Basic at the token endpoint; the profile from `/2/users/me`
//! (`{"data":{"id","name","username"}}`). X gives no email by default, so the account is
//! keyed by X's user id alone.

use url::Url;

use super::oauth2::{ClaimMapping, Endpoints, OAuth2Core, UpstreamAuthMethod};
use super::{
    Begun, CallbackContext, Common, PendingUpstreamLogin, UpstreamCallback, UpstreamConnector,
    UpstreamError, UpstreamIdentity, UpstreamKind,
};

pub const AUTHORIZATION_ENDPOINT: &str = "https://x.com/i/oauth2/authorize";
pub const TOKEN_ENDPOINT: &str = "https://api.x.com/2/oauth2/token";
pub const USERINFO_ENDPOINT: &str = "https://api.x.com/2/users/me";
pub const DEFAULT_SCOPES: [&str; 2] = ["users.read", "tweet.read"];

pub struct X {
    core: OAuth2Core,
}

impl X {
    pub fn new(common: Common, endpoints: Endpoints) -> Self {
        Self {
            core: OAuth2Core::new(
                common,
                endpoints,
                UpstreamAuthMethod::ClientSecretBasic,
                true,
            ),
        }
    }
}

#[async_trait::async_trait]
impl UpstreamConnector for X {
    fn common(&self) -> &Common {
        &self.core.common
    }
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::X
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
        let me = self.core.profile(&token, &[]).await?;
        // `{"data":{"id","name","username"}}`; no email.
        ClaimMapping {
            subject: "data.id".into(),
            email: None,
            email_verified: None,
            name: Some("data.name".into()),
        }
        .apply(&me)
    }
}
