//! The application state every handler receives, as `State`: the snapshot of `AppState` that
//! was current when the request started. A config reload (`Live::replace`) swaps in a new
//! snapshot; requests in flight finish on the one they started with.

use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, dev, web};
use std::future::{Ready, ready};
use std::sync::{Arc, RwLock};

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
    pub login_gate: Arc<crate::accounts::throttle::Gate>,
    /// HMAC key for CSRF tokens (derived from the key-encryption key).
    pub csrf_key: [u8; 32],
    /// HMAC key for refresh-token successors (derived from the key-encryption key).
    pub refresh_key: [u8; 32],
    /// The keys second-factor secrets and recovery codes are protected with.
    pub factor_keys: Arc<crate::accounts::factors::FactorKeys>,
    /// The passkey relying party (`None` when the issuer is not on a domain name).
    pub passkeys: Option<Arc<crate::accounts::factors::passkeys::Passkeys>>,
    /// The discovery document, serialised once at start.
    pub discovery: Bytes,
    /// Where email goes (the outbox worker sends what pages queue).
    pub mailer: crate::email::Mailer,
    /// This instance's Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The per-address and per-client rate limits (`[limits]`, clients' `rate_limit_per_minute`).
    pub limiters: Arc<crate::limits::Limiters>,
}

impl AppState {
    /// The same server with another configuration: what a reload swaps in. Everything the
    /// configuration does not decide (the database, keys, password threads, lockout gate,
    /// mailer, metrics) is shared with `self`.
    pub fn reconfigured(
        &self,
        settings: Settings,
        clients: ClientRegistry,
        upstreams: crate::upstream::Registry,
        discovery: Bytes,
    ) -> Self {
        let limiters = Arc::new(crate::limits::Limiters::new(&settings.limits, &clients));
        Self {
            settings: Arc::new(settings),
            store: self.store.clone(),
            keys: self.keys.clone(),
            clients,
            upstreams,
            clock: self.clock.clone(),
            passwords: self.passwords.clone(),
            login_gate: self.login_gate.clone(),
            csrf_key: self.csrf_key,
            refresh_key: self.refresh_key,
            factor_keys: self.factor_keys.clone(),
            passkeys: self.passkeys.clone(),
            discovery,
            mailer: self.mailer.clone(),
            metrics: self.metrics.clone(),
            limiters,
        }
    }
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

/// The current snapshot, swapped whole by a reload.
pub struct Live(RwLock<Arc<AppState>>);

impl Live {
    pub fn new(state: AppState) -> Self {
        Self(RwLock::new(Arc::new(state)))
    }

    /// The snapshot current now.
    pub fn current(&self) -> State {
        State(match self.0.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        })
    }

    /// Make `state` the snapshot new requests (and background passes) get.
    pub fn replace(&self, state: AppState) {
        let new = Arc::new(state);
        match self.0.write() {
            Ok(mut g) => *g = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }
}

/// One snapshot of the application state (cheap to clone).
#[derive(Clone)]
pub struct State(Arc<AppState>);

impl std::ops::Deref for State {
    type Target = AppState;
    fn deref(&self) -> &AppState {
        &self.0
    }
}

impl State {
    /// The current snapshot for a request (`None` outside the application, as in a bare test
    /// service).
    pub fn of(req: &HttpRequest) -> Option<Self> {
        req.app_data::<web::Data<Live>>().map(|l| l.current())
    }
}

impl FromRequest for State {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        ready(Self::of(req).ok_or_else(|| {
            actix_web::error::ErrorInternalServerError("the application state is missing")
        }))
    }
}
