//! OpenID Connect Back-Channel Logout 1.0: a browser session has a public id (`sid`, kept when
//! the same person signs in again in that browser) and each grant remembers the session it was
//! issued in, so ending a session finds the apps to tell; `logout_outbox` holds the logout
//! tokens still to deliver (leased by one worker at a time, retried with backoff).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("browser_sessions")
                .add_column(string_null("sid"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("grants")
                .add_column(string_null("sid"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("grants_by_sid")
                .table("grants")
                .col("sid")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("logout_outbox")
                .col(string("id").primary_key())
                .col(string("client_id"))
                .col(string("subject"))
                .col(string("sid"))
                .col(string("reason"))
                .col(integer("attempts").default(0))
                .col(big_integer("next_attempt_at"))
                .col(big_integer_null("lease_until"))
                .col(string_null("last_error"))
                .col(big_integer("created_at"))
                .col(big_integer("expires_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("logout_outbox_due")
                .table("logout_outbox")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("logout_outbox").to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("grants_by_sid")
                .table("grants")
                .to_owned(),
        )
        .await?;
        for table in ["grants", "browser_sessions"] {
            m.alter_table(Table::alter().table(table).drop_column("sid").to_owned())
                .await?;
        }
        Ok(())
    }
}
