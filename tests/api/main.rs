//! Black-box tests: the real server over HTTP, as relying parties, APIs and people use it.

mod architecture;
mod authorize_validation;
mod bad_input;
mod browser;
mod cli;
mod client_credentials;
mod code_flow;
mod config;
mod database_recovery;
mod discovery;
mod end_session;
mod federation_accounts;
mod federation_connectors;
mod federation_failures;
mod federation_harness;
mod federation_review;
mod helpers;
mod keys;
mod lockout;
mod login_consent;
mod security_review;
mod token_authorization_code;
mod token_refresh_rotation;
mod userinfo_revocation;
