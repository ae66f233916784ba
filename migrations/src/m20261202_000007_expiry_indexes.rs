//! Indexes on `expires_at` of every table the garbage collector prunes, so each batch of its
//! deletes finds the expired rows without scanning the table (the cost stays flat as the
//! database grows).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The pruned tables; each index is named `<table>_expires_at`.
const TABLES: [&str; 7] = [
    "auth_requests",
    "upstream_logins",
    "browser_sessions",
    "auth_codes",
    "refresh_tokens",
    "access_tokens",
    "grants",
];

fn name(table: &str) -> String {
    format!("{table}_expires_at")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in TABLES {
            m.create_index(
                Index::create()
                    .name(name(t))
                    .table(t)
                    .col("expires_at")
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in TABLES {
            m.drop_index(Index::drop().name(name(t)).table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}
