//! Leases on background jobs shared by every instance (`job_leases`): a job runs on the
//! instance holding its lease.
//!
//! Contract: `take_lease` succeeds for one holder at a time per job — the holder itself (it
//! renews), or anyone once the lease has run out — by one conditional INSERT or UPDATE, so two
//! instances racing for a free job cannot both win.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, EntityTrait, QueryFilter,
    sea_query::{Expr, OnConflict},
};

use super::entities::job_leases;
use super::{Store, StoreResult};

impl Store {
    /// Hold job `name` until `until` as `holder`; false if another holder's lease is live.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> StoreResult<bool> {
        let insert = job_leases::Entity::insert(job_leases::ActiveModel {
            name: Set(name.to_owned()),
            holder: Set(holder.to_owned()),
            until: Set(until),
        })
        .on_conflict(
            OnConflict::column(job_leases::Column::Name)
                .do_nothing()
                .to_owned(),
        );
        let take = job_leases::Entity::update_many()
            .col_expr(job_leases::Column::Holder, Expr::value(holder.to_owned()))
            .col_expr(job_leases::Column::Until, Expr::value(until))
            .filter(job_leases::Column::Name.eq(name))
            .filter(
                Condition::any()
                    .add(job_leases::Column::Holder.eq(holder))
                    .add(job_leases::Column::Until.lte(now)),
            );
        self.write
            .run(move |db| {
                Box::pin(async move {
                    if insert.exec_without_returning(db).await? == 1 {
                        return Ok(true);
                    }
                    Ok(take.exec(db).await?.rows_affected == 1)
                })
            })
            .await
    }

    /// Give job `name` up (when `holder` has it), for another instance to take at once.
    pub async fn release_lease(&self, name: &str, holder: &str, now: i64) -> StoreResult<()> {
        let release = job_leases::Entity::update_many()
            .col_expr(job_leases::Column::Until, Expr::value(now))
            .filter(job_leases::Column::Name.eq(name))
            .filter(job_leases::Column::Holder.eq(holder));
        self.write.update(release).await?;
        Ok(())
    }
}
