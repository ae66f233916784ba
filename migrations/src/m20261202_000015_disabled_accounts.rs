//! Accounts an administrator disabled (`ostiary users disable`): they cannot sign in until
//! enabled again; disabling ends their sessions and refresh-token families.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("disabled_accounts")
                .col(string("account_id").primary_key())
                .col(big_integer("disabled_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("disabled_accounts").to_owned())
            .await
    }
}
