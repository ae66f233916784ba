//! Ostiary: a standalone OAuth 2.0 / OpenID Connect provider.
//!
//! Dependency direction: `routes → {oauth, interaction} → {tokens, keys, accounts, clients} → store`.

/// Local accounts: argon2id password hashing and sign-in.
pub mod accounts;
/// The `ostiary` command line (serve, check-config, migrate, users, keys, client-secret).
pub mod cli;
/// Registered OAuth clients, loaded from the config file.
pub mod clients;
/// Injected time source, so expiry is testable without sleeping.
pub mod clock;
/// Settings: TOML file, environment overrides, validation.
pub mod config;
/// Offline dev mode: fake Google, Apple, Facebook and X providers (also used by the tests).
pub mod devfakes;
/// Browser-facing error pages and security headers.
pub mod error;
/// The human in the loop: login, consent, logout pages, sessions and CSRF.
pub mod interaction;
/// Signing keys: generation, encryption at rest, rotation, JWKS.
pub mod keys;
/// The OAuth 2.0 / OpenID Connect protocol endpoints.
pub mod oauth;
/// The single route table.
pub mod routes;
/// Redacting secret types compared in constant time.
pub mod secret;
/// Composition root: builds the application from settings.
pub mod startup;
/// Shared application state handed to every handler.
pub mod state;
/// Persistence: the only module that sees sea-orm.
pub mod store;
/// Log setup.
pub mod telemetry;
/// Minting and verifying ID and access tokens; opaque codes and refresh tokens.
pub mod tokens;
/// Upstream federation: Google, Apple, Facebook, X and generic OIDC / OAuth 2.0 connectors.
pub mod upstream;
