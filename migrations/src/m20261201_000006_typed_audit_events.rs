//! Audit events become typed records: the upstream and grant involved, the email a password
//! sign-in was tried with, our own reason, and where the request came from (IP, user agent).
//! `detail` stays for the rows written before.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 6] = [
    "upstream_id",
    "grant_id",
    "email",
    "reason",
    "ip",
    "user_agent",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one column per ALTER TABLE.
        for c in COLUMNS {
            m.alter_table(
                Table::alter()
                    .table("audit_events")
                    .add_column(string_null(c))
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("audit_events_kind_at")
                .table("audit_events")
                .col("kind")
                .col("at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("audit_events_kind_at")
                .table("audit_events")
                .to_owned(),
        )
        .await?;
        for c in COLUMNS.iter().rev() {
            m.alter_table(
                Table::alter()
                    .table("audit_events")
                    .drop_column(*c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
