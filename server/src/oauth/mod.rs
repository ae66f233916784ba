//! The OAuth 2.0 / OpenID Connect protocol surface: one module per endpoint.

pub mod authorize;
pub mod bearer;
pub mod client_auth;
pub mod discovery;
pub mod introspection;
pub mod jwks;
pub mod pkce;
pub mod revocation;
pub mod token;
pub mod userinfo;
