//! The `[limits]` section: requests per minute from one client address, per kind of request
//! (0 turns a bucket off). Counted in each instance's memory: with several instances behind a
//! load balancer, a client gets up to this many per instance. The per-account lockout
//! (`[login]`) is counted in the database and shared.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// POST /login, /login/passkey, /login/upstream, /mfa, /mfa/passkey.
    pub sign_in_per_minute: u32,
    /// POST /register.
    pub sign_up_per_minute: u32,
    /// POST /forgot and /reset.
    pub password_reset_per_minute: u32,
    /// POST /verify and /verify/resend (the emailed codes).
    pub email_codes_per_minute: u32,
    /// POST /token.
    pub token_per_minute: u32,
    /// POST /introspect.
    pub introspection_per_minute: u32,
    /// POST /revoke.
    pub revocation_per_minute: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            sign_in_per_minute: 30,
            sign_up_per_minute: 10,
            password_reset_per_minute: 10,
            email_codes_per_minute: 30,
            token_per_minute: 1200,
            introspection_per_minute: 1200,
            revocation_per_minute: 600,
        }
    }
}

impl LimitSettings {
    /// Every bucket off (tests and benchmarks that drive many requests from one address).
    pub fn off() -> Self {
        Self {
            sign_in_per_minute: 0,
            sign_up_per_minute: 0,
            password_reset_per_minute: 0,
            email_codes_per_minute: 0,
            token_per_minute: 0,
            introspection_per_minute: 0,
            revocation_per_minute: 0,
        }
    }
}
