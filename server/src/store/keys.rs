//! Signing keys: public JWK in clear, private key encrypted by the caller before it gets here.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};

use super::entities::signing_keys;
use super::{Store, StoreResult, conflict_or};

#[derive(Debug, Clone)]
pub struct StoredKey {
    pub kid: String,
    pub public_jwk: String,
    pub private_key_enc: String,
    pub created_at: i64,
    /// When it stops signing (its successor's activation); published for a while after.
    pub retired_at: Option<i64>,
    /// When it starts signing (published before, so that every instance knows it by then).
    pub active_from: i64,
    /// Revoked (`ostiary keys revoke`): neither published nor trusted from then on.
    pub revoked_at: Option<i64>,
}

impl StoredKey {
    /// Whether this key is the one to sign with at `now`.
    pub fn signs_at(&self, now: i64) -> bool {
        self.revoked_at.is_none()
            && self.active_from <= now
            && self.retired_at.is_none_or(|r| r > now)
    }
}

impl Store {
    /// All keys, newest first.
    pub async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        Ok(signing_keys::Entity::find()
            .order_by_desc(signing_keys::Column::CreatedAt)
            .order_by_desc(signing_keys::Column::Kid)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|m| StoredKey {
                kid: m.kid,
                public_jwk: m.public_jwk,
                private_key_enc: m.private_key_enc,
                created_at: m.created_at,
                retired_at: m.retired_at,
                active_from: m.active_from.unwrap_or(m.created_at),
                revoked_at: m.revoked_at,
            })
            .collect())
    }

    /// Add a new signing key; every other key not yet retired retires when it activates. One
    /// transaction: no instance ever reads two keys that both sign on, or none.
    pub async fn add_signing_key(&self, k: &StoredKey) -> StoreResult<()> {
        let am = signing_keys::ActiveModel {
            kid: Set(k.kid.clone()),
            public_jwk: Set(k.public_jwk.clone()),
            private_key_enc: Set(k.private_key_enc.clone()),
            created_at: Set(k.created_at),
            retired_at: Set(None),
            active_from: Set(Some(k.active_from)),
            revoked_at: Set(None),
        };
        let insert = signing_keys::Entity::insert(am);
        let retire_others = signing_keys::Entity::update_many()
            .col_expr(signing_keys::Column::RetiredAt, Expr::value(k.active_from))
            .filter(signing_keys::Column::RetiredAt.is_null())
            .filter(signing_keys::Column::Kid.ne(k.kid.clone()));
        self.write
            .run(move |db| {
                Box::pin(async move {
                    insert
                        .exec_without_returning(db)
                        .await
                        .map_err(conflict_or)?;
                    retire_others.exec(db).await?;
                    Ok(())
                })
            })
            .await
    }

    /// Add the first signing key unless another instance starting at the same time added one
    /// (instances take turns through the startup lock); false if it did not go in.
    pub async fn add_first_signing_key(&self, k: &StoredKey) -> StoreResult<bool> {
        let am = signing_keys::ActiveModel {
            kid: Set(k.kid.clone()),
            public_jwk: Set(k.public_jwk.clone()),
            private_key_enc: Set(k.private_key_enc.clone()),
            created_at: Set(k.created_at),
            retired_at: Set(None),
            active_from: Set(Some(k.active_from)),
            revoked_at: Set(None),
        };
        let backend = self.backend;
        self.write
            .run(move |db| {
                Box::pin(async move {
                    super::startup_lock(db, backend).await?;
                    let live = signing_keys::Entity::find()
                        .filter(signing_keys::Column::RetiredAt.is_null())
                        .filter(signing_keys::Column::RevokedAt.is_null())
                        .one(db)
                        .await?;
                    if live.is_some() {
                        return Ok(false);
                    }
                    signing_keys::Entity::insert(am)
                        .exec_without_returning(db)
                        .await
                        .map_err(conflict_or)?;
                    Ok(true)
                })
            })
            .await
    }

    /// Revoke a key (at `now`, retiring it too if it was not); false if there is no such key
    /// or it was revoked already.
    pub async fn revoke_signing_key(&self, kid: &str, now: i64) -> StoreResult<bool> {
        let revoke = signing_keys::Entity::update_many()
            .col_expr(signing_keys::Column::RevokedAt, Expr::value(now))
            .filter(signing_keys::Column::Kid.eq(kid))
            .filter(signing_keys::Column::RevokedAt.is_null());
        let retire = signing_keys::Entity::update_many()
            .col_expr(signing_keys::Column::RetiredAt, Expr::value(now))
            .filter(signing_keys::Column::Kid.eq(kid))
            .filter(signing_keys::Column::RetiredAt.is_null());
        self.write
            .run(move |db| {
                Box::pin(async move {
                    let revoked = revoke.exec(db).await?.rows_affected == 1;
                    retire.exec(db).await?;
                    Ok(revoked)
                })
            })
            .await
    }

    /// Delete retired keys whose tokens have all expired.
    pub async fn delete_keys_retired_before(&self, before: i64) -> StoreResult<u64> {
        let delete =
            signing_keys::Entity::delete_many().filter(signing_keys::Column::RetiredAt.lt(before));
        self.write.delete(delete).await
    }
}
