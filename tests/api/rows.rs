//! Rows some tests write straight into the store (many at once, or ones no request makes).

use ostiary::protocol::ids::{AccountId, GrantId};
use ostiary::store::{NewCode, NewGrant};

/// A grant of `openid` to the `webapp` client for `account_id`, ten minutes long.
pub fn grant(account_id: &str, id: &str, now: i64) -> NewGrant {
    NewGrant {
        id: GrantId::new(id.to_owned()),
        client_id: "webapp".into(),
        account_id: AccountId::new(account_id.to_owned()),
        scope: "openid".into(),
        auth_time: now,
        amr: vec![],
        idp: None,
        acr: None,
        sid: None,
        expires_at: now + 600,
    }
}

/// A code with hash `code_hash` for the test redirect URI, a minute long.
pub fn code(code_hash: &str, now: i64) -> NewCode {
    NewCode {
        code_hash: code_hash.to_owned(),
        redirect_uri: crate::helpers::REDIRECT.into(),
        nonce: None,
        pkce_challenge: None,
        expires_at: now + 60,
    }
}
