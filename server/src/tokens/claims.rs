//! Which user claims each scope releases (OIDC Core §5.4), for the ID token and userinfo.

use serde_json::{Map, Value, json};

use crate::protocol::vocab::{EMAIL, PROFILE, ROLES, Scopes};
use crate::store::Account;

pub const SUPPORTED_CLAIMS: [&str; 16] = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "amr",
    "acr",
    "name",
    "email",
    "email_verified",
    "idp",
    "roles",
];

/// The user claims released by `scopes`, besides `sub`; `roles` (the account's, looked up
/// only when `scopes` has `roles`) become the `roles` claim.
pub fn user_claims(
    account: &Account,
    scopes: &Scopes,
    roles: Option<&[String]>,
) -> Map<String, Value> {
    let mut m = Map::new();
    if scopes.contains(ROLES)
        && let Some(r) = roles
    {
        m.insert("roles".into(), json!(r));
    }
    if scopes.contains(PROFILE)
        && let Some(name) = &account.name
    {
        m.insert("name".into(), json!(name));
    }
    if scopes.contains(EMAIL)
        && let Some(email) = &account.email
    {
        m.insert("email".into(), json!(email));
        m.insert("email_verified".into(), json!(account.email_verified));
    }
    m
}
