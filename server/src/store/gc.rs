//! Removal of expired rows, run on a timer from `startup`.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::entities::{
    access_tokens, auth_codes, auth_requests, browser_sessions, grants, refresh_tokens,
    upstream_logins,
};
use super::{Store, StoreResult};

impl Store {
    /// Delete what expired before `now` (codes are kept a while longer for reuse detection).
    pub async fn collect_garbage(&self, now: i64) -> StoreResult<u64> {
        let mut n = 0;
        n += auth_requests::Entity::delete_many()
            .filter(auth_requests::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        n += upstream_logins::Entity::delete_many()
            .filter(upstream_logins::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        n += browser_sessions::Entity::delete_many()
            .filter(browser_sessions::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        n += auth_codes::Entity::delete_many()
            .filter(auth_codes::Column::ExpiresAt.lt(now - 3600))
            .exec(&self.db)
            .await?
            .rows_affected;
        n += refresh_tokens::Entity::delete_many()
            .filter(refresh_tokens::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        n += access_tokens::Entity::delete_many()
            .filter(access_tokens::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        n += grants::Entity::delete_many()
            .filter(grants::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected;
        Ok(n)
    }
}
