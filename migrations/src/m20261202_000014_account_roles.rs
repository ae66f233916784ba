//! Roles an account holds (`ostiary users roles`), released as the `roles` claim to clients
//! that ask for the `roles` scope.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("account_roles")
                .col(string("account_id"))
                .col(string("role"))
                .col(big_integer("created_at"))
                .primary_key(Index::create().col("account_id").col("role"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("account_roles").to_owned())
            .await
    }
}
