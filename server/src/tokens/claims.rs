//! Which user claims each scope releases (OIDC Core §5.4), for the ID token and userinfo.

use serde_json::{Map, Value, json};

use crate::oauth::vocab::{EMAIL, PROFILE, Scopes};
use crate::store::Account;

pub const SUPPORTED_CLAIMS: [&str; 13] = [
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
    "name",
    "email",
    "email_verified",
];

/// The user claims released by `scopes`, besides `sub`.
pub fn user_claims(account: &Account, scopes: &Scopes) -> Map<String, Value> {
    let mut m = Map::new();
    if scopes.contains(PROFILE)
        && let Some(name) = &account.name
    {
        m.insert("name".into(), json!(name));
    }
    if scopes.contains(EMAIL) {
        m.insert("email".into(), json!(account.email));
        // Local accounts are created by an administrator, who vouches for the address.
        m.insert("email_verified".into(), json!(true));
    }
    m
}
