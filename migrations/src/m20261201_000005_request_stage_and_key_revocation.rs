//! A pending authorization request records its stage (awaiting login, awaiting consent, with
//! the sign-in it relies on) and a revision, so each transition consumes the stage it read
//! (compare-and-swap). Signing keys can be revoked: a revoked key is neither published nor
//! trusted, at once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table("auth_requests")
                .add_column(text_null("stage_json"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("auth_requests")
                .add_column(big_integer("revision").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("signing_keys")
                .add_column(big_integer_null("revoked_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("signing_keys")
                .drop_column("revoked_at")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("auth_requests")
                .drop_column("revision")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("auth_requests")
                .drop_column("stage_json")
                .to_owned(),
        )
        .await
    }
}
