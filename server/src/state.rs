//! The application state every handler receives as `web::Data<AppState>`.

use actix_web::web::Bytes;
use std::sync::Arc;

use crate::accounts::password::PasswordVerifierPool;
use crate::clients::ClientRegistry;
use crate::clock::SharedClock;
use crate::config::Settings;
use crate::keys::KeySet;
use crate::store::Store;

pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub keys: KeySet,
    pub clients: ClientRegistry,
    /// Upstream identity providers, in config order.
    pub upstreams: crate::upstream::Registry,
    pub clock: SharedClock,
    pub passwords: PasswordVerifierPool,
    /// Serialises password checks per email (lockout counting).
    pub login_gate: crate::accounts::throttle::Gate,
    /// HMAC key for CSRF tokens (derived from the key-encryption key).
    pub csrf_key: [u8; 32],
    /// HMAC key for refresh-token successors (derived from the key-encryption key).
    pub refresh_key: [u8; 32],
    /// The keys second-factor secrets and recovery codes are protected with.
    pub factor_keys: crate::accounts::factors::FactorKeys,
    /// The passkey relying party (`None` when the issuer is not on a domain name).
    pub passkeys: Option<crate::accounts::factors::passkeys::Passkeys>,
    /// The discovery document, serialised once at start.
    pub discovery: Bytes,
    /// Where email goes (the outbox worker sends what pages queue).
    pub mailer: crate::email::Mailer,
    /// This instance's Prometheus metrics.
    pub metrics: Arc<crate::ops::metrics::Metrics>,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// An endpoint URL under the issuer.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.settings.issuer_base())
    }
}
