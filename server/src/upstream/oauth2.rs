//! The generic OAuth 2.0 connector and the core that `facebook` and `x` wrap (RFC 6749 §4.1
//! with PKCE, RFC 7636): authorization URL with state (and a PKCE challenge), the code
//! exchanged at the token endpoint, then the profile read from a userinfo URL and mapped
//! from its JSON to subject, email, email_verified and name.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use serde_json::Value;
use url::Url;

use super::oidc::token_error;
use super::{
    Begun, CallbackContext, Common, PendingUpstreamLogin, UpstreamCallback, UpstreamConnector,
    UpstreamError, UpstreamIdentity, UpstreamKind, lookup,
};
pub use crate::config::upstreams::{ClaimMapping, UpstreamAuthMethod};

/// Endpoints of an OAuth 2.0 upstream.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub authorization: Url,
    pub token: Url,
    pub userinfo: Url,
}

pub struct OAuth2Core {
    pub common: Common,
    pub endpoints: Endpoints,
    auth_method: UpstreamAuthMethod,
    pkce: bool,
}

impl OAuth2Core {
    pub fn new(
        common: Common,
        endpoints: Endpoints,
        auth_method: UpstreamAuthMethod,
        pkce: bool,
    ) -> Self {
        Self {
            common,
            endpoints,
            auth_method,
            pkce,
        }
    }

    fn client(
        &self,
        redirect_uri: &Url,
    ) -> BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        BasicClient::new(ClientId::new(self.common.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                self.common.client_secret.expose().to_owned(),
            ))
            .set_auth_uri(AuthUrl::from_url(self.endpoints.authorization.clone()))
            .set_token_uri(TokenUrl::from_url(self.endpoints.token.clone()))
            .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
            .set_auth_type(match self.auth_method {
                UpstreamAuthMethod::ClientSecretBasic => AuthType::BasicAuth,
                UpstreamAuthMethod::ClientSecretPost => AuthType::RequestBody,
            })
    }

    pub fn begin(&self, redirect_uri: &Url) -> Begun {
        let client = self.client(redirect_uri);
        let state = super::random_value();
        let s = state.clone();
        let mut req = client.authorize_url(move || CsrfToken::new(s));
        for scope in &self.common.scopes {
            req = req.add_scope(Scope::new(scope.clone()));
        }
        let mut pending = PendingUpstreamLogin::default();
        if self.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            req = req.set_pkce_challenge(challenge);
            pending.pkce_verifier = Some(verifier.secret().clone());
        }
        let (url, _) = req.url();
        Begun {
            url,
            state,
            pending,
        }
    }

    /// Exchange the code for the upstream's access token (kept only for the profile request).
    pub async fn exchange(
        &self,
        callback: &UpstreamCallback,
        pending: &PendingUpstreamLogin,
        ctx: &CallbackContext<'_>,
    ) -> Result<crate::secret::Secret, UpstreamError> {
        let client = self.client(ctx.redirect_uri);
        let mut req = client.exchange_code(AuthorizationCode::new(callback.code.clone()));
        if let Some(v) = &pending.pkce_verifier {
            req = req.set_pkce_verifier(PkceCodeVerifier::new(v.clone()));
        }
        let res = req
            .request_async(&self.common.http)
            .await
            .map_err(token_error)?;
        Ok(crate::secret::Secret::new(
            res.access_token().secret().clone(),
        ))
    }
}

impl OAuth2Core {
    /// The profile document behind the upstream's access token.
    pub async fn profile(
        &self,
        token: &crate::secret::Secret,
        query: &[(&str, &str)],
    ) -> Result<Value, UpstreamError> {
        self.common
            .http
            .get_json(&self.endpoints.userinfo, Some(token.expose()), query)
            .await
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl ClaimMapping {
    /// Map a profile document to an identity; the subject is required.
    pub fn apply(&self, doc: &Value) -> Result<UpstreamIdentity, UpstreamError> {
        let subject = text(lookup(doc, &self.subject))
            .ok_or_else(|| UpstreamError::Profile(format!("no {} in the profile", self.subject)))?;
        let field = |p: &Option<String>| p.as_deref().and_then(|p| text(lookup(doc, p)));
        let email = field(&self.email);
        let email_verified = self.email_verified.as_deref().is_some_and(|p| {
            matches!(lookup(doc, p), Some(Value::Bool(true)))
                || matches!(lookup(doc, p), Some(Value::String(s)) if s == "true")
        });
        Ok(UpstreamIdentity {
            subject,
            email_verified: email_verified && email.is_some(),
            email,
            name: field(&self.name),
            amr: Vec::new(),
            acr: None,
            groups: Vec::new(),
        })
    }
}

/// `kind = "oauth2"`: any OAuth 2.0 provider with a JSON profile endpoint.
pub struct OAuth2Connector {
    core: OAuth2Core,
    mapping: ClaimMapping,
}

impl OAuth2Connector {
    pub fn new(core: OAuth2Core, mapping: ClaimMapping) -> Self {
        Self { core, mapping }
    }
}

#[async_trait::async_trait]
impl UpstreamConnector for OAuth2Connector {
    fn common(&self) -> &Common {
        &self.core.common
    }
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Oauth2
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
        let profile = self.core.profile(&token, &[]).await?;
        let mut identity = self.mapping.apply(&profile)?;
        if let Some(claim) = &self.core.common.roles_from_claim {
            identity.groups = super::claim_values(&profile, claim);
        }
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_paths_reach_nested_fields_and_numbers_become_text() {
        let m = ClaimMapping {
            subject: "data.id".into(),
            email: None,
            email_verified: None,
            name: Some("data.name".into()),
        };
        let id = m
            .apply(&json!({"data": {"id": 42, "name": "Ada"}}))
            .unwrap();
        assert_eq!(id.subject, "42");
        assert_eq!(id.name.as_deref(), Some("Ada"));
        assert!(!id.email_verified);
    }

    #[test]
    fn a_profile_without_a_subject_is_refused() {
        assert!(
            ClaimMapping::default()
                .apply(&json!({"name": "x"}))
                .is_err()
        );
    }

    #[test]
    fn email_verified_needs_an_email() {
        let id = ClaimMapping::default()
            .apply(&json!({"sub": "1", "email_verified": true}))
            .unwrap();
        assert!(!id.email_verified);
    }
}
