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

/// The scope a client may ask for when its entry names none.
pub const DEFAULT_SCOPE: &str = "openid";

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
    /// Where its logout tokens go (Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<url::Url>,
    pub grant_types: Vec<GrantType>,
    /// Scopes the client may ask for.
    pub scopes: Scopes,
    pub auth_method: TokenEndpointAuthMethod,
    pub skip_consent: bool,
    /// May introspect tokens issued to other clients (a resource server).
    pub introspect_any_token: bool,
    /// Sign-ins for this client need a second factor.
    pub require_mfa: bool,
    /// Token requests a minute (per instance), if limited.
    pub rate_limit_per_minute: Option<std::num::NonZeroU32>,
    /// Where a confidential client's token requests must come from (empty: anywhere).
    pub allowed_ips: Vec<ipnet::IpNet>,
    /// Roles its client-credentials access tokens carry.
    pub roles: Vec<String>,
}

impl Client {
    /// The client a validated config entry describes (`None` only if it was not validated).
    fn from_valid_config(c: &ClientConfig, env: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let secret = match (
            &c.client_secret,
            &c.client_secret_hash,
            &c.client_secret_env,
        ) {
            (Some(s), _, _) => Some(SecretHash::of(s.expose())),
            (None, Some(h), _) => Some(SecretHash::parse(h)?),
            (None, None, Some(var)) => Some(SecretHash::of(&env(var)?)),
            (None, None, None) => None,
        };
        let redirect_uris = c
            .redirect_uris
            .iter()
            .map(|u| ExactUrl::new(u.clone()).ok().map(RegisteredUrl::Exact))
            .collect::<Option<_>>()?;
        Some(Client {
            id: ClientId(c.client_id.clone()),
            name: c.client_name.clone().unwrap_or_else(|| c.client_id.clone()),
            secret,
            redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            backchannel_logout_uri: match &c.backchannel_logout_uri {
                Some(u) => Some(url::Url::parse(u).ok()?),
                None => None,
            },
            grant_types: c.grant_types.clone(),
            scopes: Scopes::parse(c.scope.as_deref().unwrap_or(DEFAULT_SCOPE))?,
            auth_method: c.token_endpoint_auth_method,
            skip_consent: c.skip_consent,
            introspect_any_token: c.introspect_any_token,
            require_mfa: c.require_mfa,
            rate_limit_per_minute: c.rate_limit_per_minute.and_then(std::num::NonZeroU32::new),
            roles: c.roles.clone(),
            allowed_ips: c
                .allowed_ips
                .iter()
                .map(|r| crate::audit::client_ip::parse_range(r))
                .collect::<Option<_>>()?,
        })
    }

    pub fn is_public(&self) -> bool {
        self.auth_method == TokenEndpointAuthMethod::None
    }

    /// Whether a token request from `ip` may come from where it does.
    pub fn allows_address(&self, ip: Option<std::net::IpAddr>) -> bool {
        self.allowed_ips.is_empty()
            || ip.is_some_and(|ip| self.allowed_ips.iter().any(|n| n.contains(&ip)))
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

/// The clients section has errors (the same ones `check-config` reports).
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ClientLoadError(pub Vec<crate::config::Problem>);

/// Every client, by id, and the web origins of their redirect URIs.
#[derive(Clone, Default)]
pub struct ClientRegistry {
    by_id: Arc<HashMap<String, Arc<Client>>>,
    origins: Arc<std::collections::HashSet<String>>,
}

impl ClientRegistry {
    /// Build the registry from a clients section that passes `validate` (the one place the
    /// rules are written); its errors otherwise.
    pub fn from_config(
        clients: &[ClientConfig],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientLoadError> {
        let errors: Vec<_> = validate(clients, env)
            .into_iter()
            .filter(|p| p.severity == crate::config::Severity::Error)
            .collect();
        if !errors.is_empty() {
            return Err(ClientLoadError(errors));
        }
        let mut map = HashMap::new();
        for (i, c) in clients.iter().enumerate() {
            let client = Client::from_valid_config(c, env).ok_or_else(|| {
                ClientLoadError(vec![crate::config::Problem::error(
                    &format!("clients[{i}]"),
                    "could not be loaded",
                )])
            })?;
            map.insert(c.client_id.clone(), Arc::new(client));
        }
        let origins = map
            .values()
            .flat_map(|c| c.redirect_uris.iter())
            .filter_map(|r| url::Url::parse(&r.to_string()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| u.origin().ascii_serialization())
            .collect();
        Ok(Self {
            by_id: Arc::new(map),
            origins: Arc::new(origins),
        })
    }

    pub fn get(&self, id: &str) -> Option<Arc<Client>> {
        self.by_id.get(id).cloned()
    }

    /// `origin` is the web origin of a registered redirect URI: a browser app allowed to call
    /// the token, revocation and userinfo endpoints cross-origin (single-page apps).
    pub fn is_web_origin(&self, origin: &str) -> bool {
        self.origins.contains(origin)
    }

    /// Every client, in no particular order.
    pub fn all(&self) -> Vec<Arc<Client>> {
        self.by_id.values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
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
