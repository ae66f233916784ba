//! The protocol's shared vocabulary, below every module that speaks it (config, clients,
//! tokens, authz, oauth): typed values (RFC 6749 §3.1.1, §3.3; OIDC Core §3.1.2.1; RFC 8176),
//! the one OAuth error type (RFC 6749 §4.1.2.1, §5.2) and parameter parsing (RFC 6749 §3.1).

pub mod error;
pub mod ids;
pub mod params;
pub mod vocab;
