//! Browser sessions (stored by the hash of the cookie value) and pending authorization
//! requests (the interaction between /authorize and the login and consent pages).

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::entities::{auth_requests, browser_sessions};
use super::{Store, StoreResult};

#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub id_hash: String,
    pub account_id: String,
    pub auth_time: i64,
    pub amr: String,
    /// The upstream that signed the user in, if not a local password.
    pub idp: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct StoredAuthRequest {
    pub id: String,
    pub client_id: String,
    pub request_json: String,
    pub created_at: i64,
    /// The session (by id hash) started by a sign-in made for this request.
    pub authenticated_session: Option<String>,
}

impl Store {
    pub async fn create_session(&self, s: &BrowserSession, now: i64) -> StoreResult<()> {
        let am = browser_sessions::ActiveModel {
            id_hash: Set(s.id_hash.clone()),
            account_id: Set(s.account_id.clone()),
            auth_time: Set(s.auth_time),
            amr: Set(s.amr.clone()),
            idp: Set(s.idp.clone()),
            created_at: Set(now),
            expires_at: Set(s.expires_at),
        };
        browser_sessions::Entity::insert(am).exec(&self.db).await?;
        Ok(())
    }

    /// The live session with this id hash, if any.
    pub async fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<BrowserSession>> {
        Ok(browser_sessions::Entity::find_by_id(id_hash.to_owned())
            .filter(browser_sessions::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(|m| BrowserSession {
                id_hash: m.id_hash,
                account_id: m.account_id,
                auth_time: m.auth_time,
                amr: m.amr,
                idp: m.idp,
                expires_at: m.expires_at,
            }))
    }

    pub async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        browser_sessions::Entity::delete_by_id(id_hash.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn save_auth_request(
        &self,
        r: &StoredAuthRequest,
        expires_at: i64,
    ) -> StoreResult<()> {
        let am = auth_requests::ActiveModel {
            id: Set(r.id.clone()),
            client_id: Set(r.client_id.clone()),
            request_json: Set(r.request_json.clone()),
            authenticated_session: Set(None),
            created_at: Set(r.created_at),
            expires_at: Set(expires_at),
        };
        auth_requests::Entity::insert(am).exec(&self.db).await?;
        Ok(())
    }

    pub async fn auth_request(&self, id: &str, now: i64) -> StoreResult<Option<StoredAuthRequest>> {
        Ok(auth_requests::Entity::find_by_id(id.to_owned())
            .filter(auth_requests::Column::ExpiresAt.gt(now))
            .one(&self.db)
            .await?
            .map(|m| StoredAuthRequest {
                id: m.id,
                client_id: m.client_id,
                request_json: m.request_json,
                created_at: m.created_at,
                authenticated_session: m.authenticated_session,
            }))
    }

    /// Record that the user signed in for this request (so prompt=login is satisfied).
    pub async fn mark_auth_request_authenticated(
        &self,
        id: &str,
        session_hash: &str,
    ) -> StoreResult<()> {
        auth_requests::Entity::update_many()
            .col_expr(
                auth_requests::Column::AuthenticatedSession,
                sea_orm::sea_query::Expr::value(session_hash.to_owned()),
            )
            .filter(auth_requests::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Remove a finished request; true if this call removed it (so it completes once).
    pub async fn take_auth_request(&self, id: &str) -> StoreResult<bool> {
        Ok(auth_requests::Entity::delete_by_id(id.to_owned())
            .exec(&self.db)
            .await?
            .rows_affected
            == 1)
    }
}
