//! The generic OpenID Connect connector and the core that `google` and `apple` wrap, on the
//! openidconnect crate (OIDC Core §3.1): discovery, authorization code with PKCE (RFC 7636),
//! state and nonce; the ID token checked for signature (upstream JWKS, fetched again on an
//! unknown `kid`), iss, aud, azp, exp, iat and nonce (§3.1.3.7).

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreGenderClaim, CoreGrantType, CoreJsonWebKey, CoreJsonWebKeySet,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalClaims, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, DiscoveryError, HttpClientError, IdToken, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    TokenResponse, core::CoreClientAuthMethod, reqwest,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::RwLock;
use url::Url;

use super::http::unavailable;
use super::{
    Begun, CallbackContext, Common, PendingUpstreamLogin, UpstreamCallback, UpstreamConnector,
    UpstreamError, UpstreamIdentity, UpstreamKind,
};

/// Discovery metadata beyond OIDC Discovery: RFC 9207 §3's advertisement that the
/// authorization response carries `iss`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IssAdvertisement {
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}
impl openidconnect::AdditionalProviderMetadata for IssAdvertisement {}

type ProviderMetadata = openidconnect::ProviderMetadata<
    IssAdvertisement,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Claims beyond the standard ones (Google's `hd`, Apple's `is_private_email`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}
impl AdditionalClaims for ExtraClaims {}

type UpstreamIdToken = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

/// An ID token that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    pub identity: UpstreamIdentity,
    pub extra: Map<String, Value>,
}

/// Discovery, authorization URL, code exchange and ID-token verification for one upstream.
pub struct OidcCore {
    pub common: Common,
    issuer: IssuerUrl,
    /// Added to the authorization URL (Apple: `response_mode=form_post`).
    extra_params: Vec<(String, String)>,
    metadata: RwLock<Option<Arc<ProviderMetadata>>>,
}

/// Signature algorithms we accept from upstreams: asymmetric only (no `none`, no HS*).
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 6] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];

/// How far in the future an upstream's `iat` may be (clock skew).
const IAT_SKEW: i64 = 300;

impl OidcCore {
    pub fn new(
        common: Common,
        issuer: &str,
        extra_params: Vec<(String, String)>,
    ) -> Result<Self, UpstreamError> {
        let issuer = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| UpstreamError::Config(format!("issuer: {e}")))?;
        Ok(Self {
            common,
            issuer,
            extra_params,
            metadata: RwLock::new(None),
        })
    }

    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// The provider's discovery document (fetched once, then cached).
    async fn metadata(&self) -> Result<Arc<ProviderMetadata>, UpstreamError> {
        if let Some(m) = self.metadata.read().await.as_ref() {
            return Ok(m.clone());
        }
        let md = ProviderMetadata::discover_async(self.issuer.clone(), &self.common.http)
            .await
            .map_err(discovery_error)?;
        let md = Arc::new(md);
        *self.metadata.write().await = Some(md.clone());
        Ok(md)
    }

    /// Fetch the JWKS again (a key we have not seen signed the token).
    async fn refresh_keys(
        &self,
        md: &ProviderMetadata,
    ) -> Result<Arc<ProviderMetadata>, UpstreamError> {
        let jwks = CoreJsonWebKeySet::fetch_async(md.jwks_uri(), &self.common.http)
            .await
            .map_err(discovery_error)?;
        let md = Arc::new(md.clone().set_jwks(jwks));
        *self.metadata.write().await = Some(md.clone());
        Ok(md)
    }

    fn client(
        &self,
        md: &ProviderMetadata,
        secret: &str,
        redirect_uri: &Url,
    ) -> CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        // client_secret_basic unless the provider supports only client_secret_post (Apple).
        let auth_type = match md.token_endpoint_auth_methods_supported() {
            Some(m)
                if !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
                    && m.contains(&CoreClientAuthMethod::ClientSecretPost) =>
            {
                AuthType::RequestBody
            }
            _ => AuthType::BasicAuth,
        };
        CoreClient::from_provider_metadata(
            md.clone(),
            ClientId::new(self.common.client_id.clone()),
            Some(ClientSecret::new(secret.to_owned())),
        )
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()))
        .set_auth_type(auth_type)
    }

    pub async fn begin(&self, redirect_uri: &Url) -> Result<Begun, UpstreamError> {
        let md = self.metadata().await?;
        let client = self.client(&md, "", redirect_uri);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = super::random_value();
        let nonce = super::random_value();
        let (s, n) = (state.clone(), nonce.clone());
        let mut req = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(s),
                move || Nonce::new(n),
            )
            .set_pkce_challenge(challenge);
        for scope in &self.common.scopes {
            req = req.add_scope(Scope::new(scope.clone()));
        }
        for (k, v) in &self.extra_params {
            req = req.add_extra_param(k.clone(), v.clone());
        }
        let (url, _, _) = req.url();
        Ok(Begun {
            url,
            state,
            pending: PendingUpstreamLogin {
                nonce: Some(nonce),
                pkce_verifier: Some(verifier.secret().clone()),
                iss_required: md
                    .additional_metadata()
                    .authorization_response_iss_parameter_supported,
            },
        })
    }

    /// Exchange the code (authenticating with `secret`) and verify the ID token.
    pub async fn finish(
        &self,
        callback: &UpstreamCallback,
        pending: &PendingUpstreamLogin,
        ctx: &CallbackContext<'_>,
        secret: &str,
    ) -> Result<VerifiedIdToken, UpstreamError> {
        let md = self.metadata().await?;
        let client = self.client(&md, secret, ctx.redirect_uri);
        let mut req = client
            .exchange_code(AuthorizationCode::new(callback.code.clone()))
            .map_err(|e| UpstreamError::Config(e.to_string()))?;
        if let Some(v) = &pending.pkce_verifier {
            req = req.set_pkce_verifier(PkceCodeVerifier::new(v.clone()));
        }
        let response = req
            .request_async(&self.common.http)
            .await
            .map_err(token_error)?;
        let raw = response
            .id_token()
            .ok_or_else(|| UpstreamError::IdToken("the token response has no id_token".into()))?
            .to_string();
        let token: UpstreamIdToken = raw
            .parse()
            .map_err(|e| UpstreamError::IdToken(format!("not a JWT: {e}")))?;
        let nonce = Nonce::new(pending.nonce.clone().unwrap_or_default());
        match self.verify(&md, &token, &nonce, ctx.now, secret) {
            Err(UpstreamError::Signature(_)) if unknown_kid(&md, &token) => {
                let md = self.refresh_keys(&md).await?;
                self.verify(&md, &token, &nonce, ctx.now, secret)
            }
            other => other,
        }
    }

    fn verify(
        &self,
        md: &ProviderMetadata,
        token: &UpstreamIdToken,
        nonce: &Nonce,
        now: i64,
        secret: &str,
    ) -> Result<VerifiedIdToken, UpstreamError> {
        let client = CoreClient::from_provider_metadata(
            md.clone(),
            ClientId::new(self.common.client_id.clone()),
            Some(ClientSecret::new(secret.to_owned())),
        );
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(ALLOWED_ALGS)
            .set_time_fn(move || chrono::DateTime::from_timestamp(now, 0).unwrap_or_default())
            .set_issue_time_verifier_fn(move |iat| {
                if iat.timestamp() > now + IAT_SKEW {
                    Err("issued in the future".into())
                } else {
                    Ok(())
                }
            });
        let claims = token.claims(&verifier, nonce).map_err(claims_error)?;
        // OIDC Core §3.1.3.7 steps 4 and 5, which the openidconnect crate leaves to its users:
        // several audiences need an azp, and an azp must be us.
        match claims.authorized_party() {
            Some(azp) if azp.as_str() != self.common.client_id => {
                return Err(UpstreamError::Audience(format!(
                    "azp {azp:?} is not this client"
                )));
            }
            None if claims.audiences().len() > 1 => {
                return Err(UpstreamError::Audience(
                    "several audiences and no azp".into(),
                ));
            }
            _ => {}
        }
        Ok(VerifiedIdToken {
            identity: UpstreamIdentity {
                subject: claims.subject().as_str().to_owned(),
                email: claims.email().map(|e| e.as_str().to_owned()),
                email_verified: claims.email_verified().unwrap_or(false),
                name: claims
                    .name()
                    .and_then(|n| n.get(None))
                    .map(|n| n.as_str().to_owned()),
                amr: claims
                    .auth_method_refs()
                    .map(|v| v.iter().map(|a| a.as_str().to_owned()).collect())
                    .unwrap_or_default(),
                acr: claims.auth_context_ref().map(|a| a.as_str().to_owned()),
                groups: self
                    .common
                    .roles_from_claim
                    .as_deref()
                    .map(|c| {
                        let extra = Value::Object(claims.additional_claims().rest.clone());
                        super::claim_values(&extra, c)
                    })
                    .unwrap_or_default(),
            },
            extra: claims.additional_claims().rest.clone(),
        })
    }
}

/// Whether the token names a key the cached JWKS lacks.
fn unknown_kid(md: &ProviderMetadata, token: &UpstreamIdToken) -> bool {
    use openidconnect::JsonWebKey;
    // The header's kid is reachable only through the raw token.
    let raw = token.to_string();
    let header = raw.split('.').next().unwrap_or_default();
    let kid = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|h| h.get("kid").and_then(Value::as_str).map(str::to_owned));
    match kid {
        Some(kid) => !md
            .jwks()
            .keys()
            .iter()
            .any(|k| k.key_id().is_some_and(|id| id.as_str() == kid)),
        None => false,
    }
}

fn discovery_error(e: DiscoveryError<HttpClientError<reqwest::Error>>) -> UpstreamError {
    match e {
        DiscoveryError::Request(HttpClientError::Reqwest(e)) => unavailable(*e),
        DiscoveryError::Request(e) => UpstreamError::Unavailable(e.to_string()),
        DiscoveryError::Response(status, _, _) => {
            UpstreamError::Unavailable(format!("discovery answered HTTP {status}"))
        }
        other => UpstreamError::Config(format!("discovery: {other}")),
    }
}

pub(super) fn token_error<E: openidconnect::ErrorResponse + 'static>(
    e: RequestTokenError<HttpClientError<reqwest::Error>, E>,
) -> UpstreamError {
    match e {
        RequestTokenError::ServerResponse(r) => UpstreamError::TokenRequest(
            serde_json::to_value(&r)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_else(|| "error response".into()),
        ),
        RequestTokenError::Request(HttpClientError::Reqwest(e)) => unavailable(*e),
        RequestTokenError::Request(e) => UpstreamError::Unavailable(e.to_string()),
        RequestTokenError::Parse(_, _) => {
            UpstreamError::TokenRequest("unparseable token response".into())
        }
        RequestTokenError::Other(s) => UpstreamError::TokenRequest(s),
    }
}

fn claims_error(e: ClaimsVerificationError) -> UpstreamError {
    match e {
        ClaimsVerificationError::Expired(m) => UpstreamError::Expired(m),
        ClaimsVerificationError::InvalidAudience(m) => UpstreamError::Audience(m),
        ClaimsVerificationError::InvalidIssuer(m) => UpstreamError::Issuer(m),
        ClaimsVerificationError::InvalidNonce(_) => UpstreamError::Nonce,
        ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::NoMatchingKey,
        ) => UpstreamError::Signature("no matching key".into()),
        ClaimsVerificationError::SignatureVerification(s) => {
            UpstreamError::Signature(s.to_string())
        }
        other => UpstreamError::IdToken(other.to_string()),
    }
}

/// `kind = "oidc"`: any OpenID Connect provider, by its issuer.
pub struct OidcConnector {
    core: OidcCore,
}

impl OidcConnector {
    pub fn new(common: Common, issuer: &str) -> Result<Self, UpstreamError> {
        Ok(Self {
            core: OidcCore::new(common, issuer, Vec::new())?,
        })
    }
}

#[async_trait::async_trait]
impl UpstreamConnector for OidcConnector {
    fn common(&self) -> &Common {
        &self.core.common
    }
    fn kind(&self) -> UpstreamKind {
        UpstreamKind::Oidc
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
        Ok(self
            .core
            .finish(&callback, &pending, ctx, &secret)
            .await?
            .identity)
    }
}
