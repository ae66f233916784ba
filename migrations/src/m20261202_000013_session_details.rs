//! What a person sees of their browser sessions on /account: the address and browser each
//! started from, and when it was last used (updated at most once a minute).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [string_null("ip"), string_null("user_agent")] {
            m.alter_table(
                Table::alter()
                    .table("browser_sessions")
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table("browser_sessions")
                .add_column(big_integer_null("last_seen_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in ["last_seen_at", "user_agent", "ip"] {
            m.alter_table(
                Table::alter()
                    .table("browser_sessions")
                    .drop_column(c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
