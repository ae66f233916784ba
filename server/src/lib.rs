//! Ostiary: a standalone OAuth 2.0 / OpenID Connect provider.
//!
//! Dependency direction: `routes → {oauth, interaction} → authz → {tokens, keys, upstream, accounts,
//! clients} → {protocol, store}`.

/// Local accounts: argon2id password hashing and sign-in.
pub mod accounts;
/// Typed audit records: what happened, to whom, from where.
pub mod audit;
/// The authorization request's owner: its stages, the policy, sessions, sign-in completion, codes.
pub mod authz;
/// Back-channel logout: delivering logout tokens to apps when a session ends.
pub mod backchannel;
/// The `ostiary` command line (serve, check-config, migrate, users, keys, client-secret).
pub mod cli;
/// Registered OAuth clients, loaded from the config file.
pub mod clients;
/// Injected time source, so expiry is testable without sleeping.
pub mod clock;
/// Settings: TOML file, environment overrides, validation.
pub mod config;
/// Development only: the demo relying party under /dev/demo.
pub mod devdemo;
/// Offline dev mode: fake Google, Apple, Facebook and X providers (also used by the tests).
pub mod devfakes;
/// Email: templates, the SMTP transport and the outbox worker.
pub mod email;
/// Browser-facing error pages and security headers.
pub mod error;
/// The human in the loop: login, consent, account and logout pages, CSRF.
pub mod interaction;
/// Background jobs (key reload and rotation, GC, email and logout delivery) and their stop.
pub mod jobs;
/// Signing keys: generation, encryption at rest, rotation, JWKS.
pub mod keys;
/// Per-address rate limits on sign-in, sign-up, reset, codes and the token endpoints.
pub mod limits;
/// Prometheus metrics of one instance.
pub mod metrics;
/// The OAuth 2.0 / OpenID Connect protocol endpoints.
pub mod oauth;
/// Operators' endpoints: health, readiness, metrics, the request middleware.
pub mod ops;
/// One askama template struct per page, and the pages' security headers.
pub mod pages;
/// Protocol vocabulary, the OAuth error type and parameter parsing, shared by every layer.
pub mod protocol;
/// Config hot reload on SIGHUP.
pub mod reload;
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
/// HTTPS served directly, with the certificate reloaded when its files change.
pub mod tls;
/// Minting and verifying ID and access tokens; opaque codes and refresh tokens.
pub mod tokens;
/// Upstream federation: Google, Apple, Facebook, X and generic OIDC / OAuth 2.0 connectors.
pub mod upstream;
/// Fixed sets of named threads for CPU-bound work (argon2id, RS256), surviving a job's panic.
pub mod workers;
