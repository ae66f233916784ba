//! Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): RS256 JWTs of type
//! `logout+jwt` with `iss`, `aud`, `iat`, `exp`, `jti`, the back-channel logout event, and
//! both `sub` and `sid`; never a `nonce` (so one cannot pass for an ID token).

use serde_json::{Map, json};

use crate::keys::{KeyError, KeyRing};

/// The `events` member that makes a JWT a logout token.
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// Seconds a logout token is valid: long enough for the RP's clock, short enough not to replay.
pub const LIFETIME_SECONDS: i64 = 120;

pub struct LogoutTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub subject: &'a str,
    pub sid: &'a str,
    pub now: i64,
}

pub fn mint(ring: &KeyRing, i: LogoutTokenInput<'_>) -> Result<String, KeyError> {
    let mut c = Map::new();
    c.insert("iss".into(), json!(i.issuer));
    c.insert("sub".into(), json!(i.subject));
    c.insert("aud".into(), json!(i.client_id));
    c.insert("iat".into(), json!(i.now));
    c.insert("exp".into(), json!(i.now + LIFETIME_SECONDS));
    c.insert("jti".into(), json!(super::opaque::random_id()));
    c.insert("events".into(), json!({ EVENT: {} }));
    c.insert("sid".into(), json!(i.sid));
    ring.sign(c, "logout+jwt")
}
