//! Signing keys get an activation time: a rotated-in key is published at once and signs only
//! from `active_from` on, by when every instance publishes it (no verifier meets an unknown kid).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("signing_keys")
                .add_column(big_integer_null("active_from"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("signing_keys")
                .drop_column("active_from")
                .to_owned(),
        )
        .await
    }
}
