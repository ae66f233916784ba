//! Registered OAuth clients, declared as `[[clients]]` in the config file (RFC 7591 metadata
//! names). Secrets are kept as SHA-256 hashes and compared in constant time: client secrets are
//! high-entropy, so no password hash is needed per request.

mod validate;

pub use validate::validate;

use oxide_auth::primitives::registrar::{ExactUrl, RegisteredUrl};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

use crate::config::ClientConfig;
use crate::protocol::vocab::{GrantType, Scopes, TokenEndpointAuthMethod};
use crate::secret::{Secret, ct_eq};

/// SHA-256 of a client secret, written `sha256:<hex>` in config.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("sha256:")?;
        let bytes = hex::decode(hex).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    pub fn matches(&self, presented: &Secret) -> bool {
        ct_eq(&Sha256::digest(presented.expose().as_bytes()), &self.0)
    }
}

impl std::fmt::Display for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(pub String);

impl ClientId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub struct Client {
    pub id: ClientId,
    pub name: String,
    pub secret: Option<SecretHash>,
    pub redirect_uris: Vec<RegisteredUrl>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may ask for.
    pub scopes: Scopes,
    pub auth_method: TokenEndpointAuthMethod,
    pub skip_consent: bool,
    /// May introspect tokens issued to other clients (a resource server).
    pub introspect_any_token: bool,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.auth_method == TokenEndpointAuthMethod::None
    }

    pub fn allows_grant(&self, g: GrantType) -> bool {
        self.grant_types.contains(&g)
    }

    /// RFC 9700 §4.1.3: exact string comparison against the registered list.
    pub fn redirect_uri_registered(&self, uri: &str) -> bool {
        match ExactUrl::new(uri.to_owned()) {
            Ok(exact) => self.redirect_uris.iter().any(|r| *r == exact),
            Err(_) => false,
        }
    }

    /// The only registered redirect URI, used when a request omits `redirect_uri`.
    pub fn sole_redirect_uri(&self) -> Option<String> {
        match self.redirect_uris.as_slice() {
            [RegisteredUrl::Exact(u)] => Some(u.as_str().to_owned()),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("client {client_id}: {message}")]
pub struct ClientLoadError {
    pub client_id: String,
    pub message: String,
}

/// Every client, by id.
#[derive(Clone, Default)]
pub struct ClientRegistry(Arc<HashMap<String, Arc<Client>>>);

impl ClientRegistry {
    pub fn from_config(
        clients: &[ClientConfig],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientLoadError> {
        let mut map = HashMap::new();
        for c in clients {
            let err = |m: &str| ClientLoadError {
                client_id: c.client_id.clone(),
                message: m.to_owned(),
            };
            let secret = if let Some(s) = &c.client_secret {
                Some(SecretHash::of(s.expose()))
            } else if let Some(h) = &c.client_secret_hash {
                Some(SecretHash::parse(h).ok_or_else(|| err("client_secret_hash is malformed"))?)
            } else if let Some(var) = &c.client_secret_env {
                Some(SecretHash::of(&env(var).ok_or_else(|| {
                    err("client_secret_env names an unset variable")
                })?))
            } else {
                None
            };
            let redirect_uris = c
                .redirect_uris
                .iter()
                .map(|u| {
                    ExactUrl::new(u.clone())
                        .map(RegisteredUrl::Exact)
                        .map_err(|_| err("bad redirect URI"))
                })
                .collect::<Result<_, _>>()?;
            let scopes = Scopes::parse(c.scope.as_deref().unwrap_or("openid"))
                .ok_or_else(|| err("bad scope"))?;
            map.insert(
                c.client_id.clone(),
                Arc::new(Client {
                    id: ClientId(c.client_id.clone()),
                    name: c.client_name.clone().unwrap_or_else(|| c.client_id.clone()),
                    secret,
                    redirect_uris,
                    post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
                    grant_types: c.grant_types.clone(),
                    scopes,
                    auth_method: c.token_endpoint_auth_method,
                    skip_consent: c.skip_consent,
                    introspect_any_token: c.introspect_any_token,
                }),
            );
        }
        Ok(Self(Arc::new(map)))
    }

    pub fn get(&self, id: &str) -> Option<Arc<Client>> {
        self.0.get(id).cloned()
    }

    /// Web origins of every registered redirect URI: the browsers allowed to call the token,
    /// revocation and userinfo endpoints cross-origin (single-page apps).
    pub fn web_origins(&self) -> std::collections::HashSet<String> {
        self.0
            .values()
            .flat_map(|c| c.redirect_uris.iter())
            .filter_map(|r| url::Url::parse(&r.to_string()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| u.origin().ascii_serialization())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_hash_round_trips_through_its_text_form() {
        let h = SecretHash::of("s3cret");
        let parsed = SecretHash::parse(&h.to_string()).unwrap();
        assert!(parsed.matches(&Secret::new("s3cret")));
        assert!(!parsed.matches(&Secret::new("s3cret ")));
    }
}
