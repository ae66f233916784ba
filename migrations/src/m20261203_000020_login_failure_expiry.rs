//! An index on `login_failures.window_start`, so the garbage collector finds the counters no
//! sign-in can use any more (a day old: every window, lockout and escalation has ended) in
//! batches without scanning the table.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "login_failures_window_start";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(INDEX)
                .table("login_failures")
                .col("window_start")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name(INDEX).table("login_failures").to_owned())
            .await
    }
}
