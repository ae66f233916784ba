//! The `[mfa]` section: whether every sign-in needs a second factor (clients can ask for it on
//! their own with `require_mfa`, and requests with `acr_values`); and `[audit]`.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaSettings {
    /// Every sign-in needs a second factor; a person without one enrols on the way.
    pub required: bool,
    /// After a second factor, the person may let this browser skip it for this many days
    /// (0: never). Forgotten when every session of the account ends.
    pub remember_device_days: u32,
}

/// The `[audit]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Records older than this are pruned from the start of the chain (0: kept for ever).
    pub retention_days: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

/// The longest a browser may be remembered.
pub const MAX_REMEMBER_DAYS: u32 = 90;
