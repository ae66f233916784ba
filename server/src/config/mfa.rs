//! The `[mfa]` section: whether every sign-in needs a second factor (clients can ask for it on
//! their own with `require_mfa`, and requests with `acr_values`).

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MfaSettings {
    /// Every sign-in needs a second factor; a person without one enrols on the way.
    pub required: bool,
}
