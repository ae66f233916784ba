//! Pending upstream sign-ins: what the server keeps between the redirect to an upstream and
//! its callback (the connector's state, nonce and PKCE verifier), found by the hash of the
//! `state` value and bound to the browser that started it.
//!
//! Contract: `take_upstream_login` returns a row to exactly one caller.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use super::entities::upstream_logins;
use super::live::unexpired;
use super::{Store, StoreResult};
use crate::protocol::ids::{AccountId, UpstreamId};

#[derive(Debug, Clone)]
pub struct PendingUpstreamRow {
    pub state_hash: String,
    pub upstream_id: UpstreamId,
    /// Hash of the browser's binding cookie.
    pub binding_hash: String,
    /// The authorization request this sign-in is for (sign-in), or
    pub auth_request_id: Option<String>,
    /// the account an identity is being linked to (linking from the account page).
    pub link_account_id: Option<AccountId>,
    /// The connector's per-login state (JSON).
    pub pending_json: String,
    /// A callback that arrived as a cross-site form POST, kept for the same-site GET.
    pub callback_json: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl From<upstream_logins::Model> for PendingUpstreamRow {
    fn from(m: upstream_logins::Model) -> Self {
        Self {
            state_hash: m.state_hash,
            upstream_id: UpstreamId::new(m.upstream_id),
            binding_hash: m.binding_hash,
            auth_request_id: m.auth_request_id,
            link_account_id: m.link_account_id.map(AccountId::new),
            pending_json: m.pending_json,
            callback_json: m.callback_json,
            created_at: m.created_at,
            expires_at: m.expires_at,
        }
    }
}

impl Store {
    pub async fn save_upstream_login(&self, r: &PendingUpstreamRow) -> StoreResult<()> {
        let insert = upstream_logins::Entity::insert(upstream_logins::ActiveModel {
            state_hash: Set(r.state_hash.clone()),
            upstream_id: Set(r.upstream_id.to_string()),
            binding_hash: Set(r.binding_hash.clone()),
            auth_request_id: Set(r.auth_request_id.clone()),
            link_account_id: Set(r.link_account_id.as_ref().map(AccountId::to_string)),
            pending_json: Set(r.pending_json.clone()),
            callback_json: Set(r.callback_json.clone()),
            created_at: Set(r.created_at),
            expires_at: Set(r.expires_at),
        });
        self.write.insert(insert).await
    }

    /// Keep a form-posted callback on its pending sign-in (once; false if unknown, expired or
    /// already given one).
    pub async fn attach_upstream_callback(
        &self,
        state_hash: &str,
        upstream_id: &UpstreamId,
        callback_json: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let attach = upstream_logins::Entity::update_many()
            .col_expr(
                upstream_logins::Column::CallbackJson,
                Expr::value(callback_json.to_owned()),
            )
            .filter(upstream_logins::Column::StateHash.eq(state_hash))
            .filter(upstream_logins::Column::UpstreamId.eq(upstream_id.as_str()))
            .filter(upstream_logins::Column::CallbackJson.is_null())
            .filter(unexpired(upstream_logins::Column::ExpiresAt, now));
        Ok(self.write.update(attach).await? == 1)
    }

    /// Take (delete and return) a live pending sign-in of this upstream.
    pub async fn take_upstream_login(
        &self,
        state_hash: &str,
        upstream_id: &UpstreamId,
        now: i64,
    ) -> StoreResult<Option<PendingUpstreamRow>> {
        let Some(row) = upstream_logins::Entity::find_by_id(state_hash.to_owned())
            .filter(upstream_logins::Column::UpstreamId.eq(upstream_id.as_str()))
            .filter(unexpired(upstream_logins::Column::ExpiresAt, now))
            .one(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let delete = upstream_logins::Entity::delete_many()
            .filter(upstream_logins::Column::StateHash.eq(state_hash));
        let deleted = self.write.delete(delete).await?;
        Ok((deleted == 1).then(|| row.into()))
    }
}
