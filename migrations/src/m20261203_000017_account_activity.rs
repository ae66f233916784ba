//! The account page's recent security activity: audit records are read by account and by the
//! email a failed sign-in was tried with, newest first within a time window.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEXES: [(&str, &str); 2] = [
    ("audit_events_account_at", "account_id"),
    ("audit_events_email_at", "email"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in INDEXES {
            m.create_index(
                Index::create()
                    .name(name)
                    .table("audit_events")
                    .col(column)
                    .col("at")
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            m.drop_index(Index::drop().name(name).table("audit_events").to_owned())
                .await?;
        }
        Ok(())
    }
}
