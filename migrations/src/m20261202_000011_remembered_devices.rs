//! Browsers a person chose to remember after a second factor (`[mfa] remember_device_days`):
//! only the hash of the cookie's value, the account, and the expiry. Ending every session of
//! the account (sign-out everywhere, a password change, a factor reset) forgets them too.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("remembered_devices")
                .col(string("token_hash").primary_key())
                .col(string("account_id"))
                .col(big_integer("created_at"))
                .col(big_integer("expires_at"))
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("remembered_devices_account", "account_id"),
            ("remembered_devices_expires_at", "expires_at"),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table("remembered_devices")
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("remembered_devices").to_owned())
            .await
    }
}
