//! Tokens, independent of HTTP: opaque codes and refresh tokens (random, stored as hashes),
//! RS256 ID tokens (OIDC Core §2, §3.1.3.6), RS256 JWT access tokens (RFC 9068) and logout
//! tokens (OIDC Back-Channel Logout 1.0 §2.4).

pub mod access_token;
pub mod claims;
pub mod client_assertion;
pub mod id_token;
pub mod logout_token;
pub mod opaque;
