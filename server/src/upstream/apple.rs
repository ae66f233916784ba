//! `kind = "apple"`: Sign in with Apple, OpenID Connect with Apple's rules
//! (https://developer.apple.com/documentation/sign_in_with_apple):
//! - the client secret is an ES256 JWT Ostiary mints from team_id, key_id, the client id (the
//!   Services ID) and the `.p8` key, renewed before it expires (at most six months);
//! - with the `name` or `email` scope Apple answers with `response_mode=form_post`, a cross-site
//!   POST to the callback (the server still verifies state);
//! - the user's name arrives only in the first form_post's `user` field;
//! - private-relay addresses (`is_private_email`) count as verified.

use serde_json::Value;
use std::sync::Mutex;
use url::Url;

use super::oidc::OidcCore;
use super::{
    Begun, CallbackContext, Common, PendingUpstreamLogin, UpstreamCallback, UpstreamConnector,
    UpstreamError, UpstreamIdentity, UpstreamKind,
};
use crate::tokens::client_assertion::Es256Key;

pub const ISSUER: &str = "https://appleid.apple.com";
pub const DEFAULT_SCOPES: [&str; 2] = ["name", "email"];
/// Client secrets are minted for a day and renewed an hour before they expire.
const SECRET_LIFETIME: i64 = 24 * 3600;
const RENEW_BEFORE: i64 = 3600;

pub struct AppleKey {
    pub team_id: String,
    pub key_id: String,
    pub key: Es256Key,
}

pub struct Apple {
    core: OidcCore,
    audience: String,
    key: AppleKey,
    /// The current client secret and its expiry.
    secret: Mutex<Option<(String, i64)>>,
    /// Asks for `response_mode=form_post` (with the `name` or `email` scope).
    form_post: bool,
}

impl Apple {
    pub fn new(common: Common, issuer: Option<&str>, key: AppleKey) -> Result<Self, UpstreamError> {
        let issuer = issuer.unwrap_or(ISSUER);
        let form_post = common.scopes.iter().any(|s| s == "name" || s == "email");
        let extra = if form_post {
            vec![("response_mode".to_owned(), "form_post".to_owned())]
        } else {
            Vec::new()
        };
        Ok(Self {
            core: OidcCore::new(common, issuer, extra)?,
            audience: issuer.to_owned(),
            key,
            secret: Mutex::new(None),
            form_post,
        })
    }

    /// The client secret JWT, minted again when it is within an hour of expiring.
    pub fn client_secret(&self, now: i64) -> Result<String, UpstreamError> {
        let mut cached = self.secret.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((jwt, exp)) = cached.as_ref()
            && *exp - RENEW_BEFORE > now
        {
            return Ok(jwt.clone());
        }
        let jwt = self
            .key
            .key
            .mint(
                &self.key.key_id,
                &self.key.team_id,
                &self.core.common.client_id,
                &self.audience,
                now,
                SECRET_LIFETIME,
            )
            .map_err(|e| UpstreamError::Config(format!("client secret: {e}")))?;
        *cached = Some((jwt.clone(), now + SECRET_LIFETIME));
        Ok(jwt)
    }
}

/// The name in Apple's first-time `user` form field: `{"name":{"firstName":…,"lastName":…}}`.
fn name_from_user_field(user: &str) -> Option<String> {
    let v: Value = serde_json::from_str(user).ok()?;
    let name = v.get("name")?;
    let part = |k: &str| name.get(k).and_then(Value::as_str).map(str::trim);
    let full = [part("firstName"), part("lastName")]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!full.is_empty()).then_some(full)
}

fn truthy(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || matches!(v, Some(Value::String(s)) if s == "true")
}

#[async_trait::async_trait]
impl UpstreamConnector for Apple {
    fn common(&self) -> &Common {
        &self.core.common
    }
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Apple
    }
    fn form_post(&self) -> bool {
        self.form_post
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
        let secret = self.client_secret(ctx.now)?;
        let verified = self.core.finish(&callback, &pending, ctx, &secret).await?;
        let mut identity = verified.identity;
        if truthy(verified.extra.get("is_private_email")) && identity.email.is_some() {
            identity.email_verified = true;
        }
        if identity.name.is_none() {
            identity.name = callback.user.as_deref().and_then(name_from_user_field);
        }
        Ok(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::client_assertion::{MAX_LIFETIME, generate_es256, verify_es256};

    fn apple(private_pem: &[u8]) -> Apple {
        let common = Common {
            id: "apple".into(),
            display_name: "Apple".into(),
            client_id: "com.example.web".into(),
            client_secret: crate::secret::Secret::default(),
            scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
            trust_email: false,
            trust_mfa: false,
            mfa_acr_values: Vec::new(),
            roles_from_claim: None,
            roles_allowed: Vec::new(),
            http: super::super::http::HttpClient::new(std::time::Duration::from_secs(1)).unwrap(),
        };
        let key = AppleKey {
            team_id: "TEAM123456".into(),
            key_id: "KEY1234567".into(),
            key: Es256Key::from_pem(private_pem).unwrap(),
        };
        Apple::new(common, None, key).unwrap()
    }

    #[test]
    fn the_client_secret_is_an_es256_jwt_with_apples_claims_renewed_before_it_expires() {
        let (private, public) = generate_es256().unwrap();
        let apple = apple(&private);
        let now = 1_800_000_000;

        let secret = apple.client_secret(now).unwrap();
        let (kid, claims) = verify_es256(&secret, &public).unwrap();

        assert_eq!(kid.as_deref(), Some("KEY1234567"));
        assert_eq!(claims["iss"], "TEAM123456");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], ISSUER);
        let (iat, exp) = (
            claims["iat"].as_i64().unwrap(),
            claims["exp"].as_i64().unwrap(),
        );
        assert_eq!(iat, now);
        assert!(exp > now && exp - iat <= MAX_LIFETIME);
        // Reused while fresh, minted again within an hour of expiry.
        assert_eq!(apple.client_secret(now + 60).unwrap(), secret);
        assert_ne!(apple.client_secret(exp - 60).unwrap(), secret);
    }

    #[test]
    fn the_name_comes_from_the_first_form_posts_user_field() {
        let user = r#"{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"a@b.c"}"#;
        assert_eq!(name_from_user_field(user).as_deref(), Some("Ada Lovelace"));
        assert_eq!(name_from_user_field("{}"), None);
        assert_eq!(name_from_user_field("not json"), None);
    }

    #[test]
    fn is_private_email_may_be_a_string_or_a_boolean() {
        assert!(truthy(Some(&Value::String("true".into()))));
        assert!(truthy(Some(&Value::Bool(true))));
        assert!(!truthy(Some(&Value::String("false".into()))));
        assert!(!truthy(None));
    }
}
