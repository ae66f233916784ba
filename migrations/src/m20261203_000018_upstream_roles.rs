//! Roles from upstreams: an account's role remembers where it came from (`source`: the
//! upstream whose `roles_from_claim` gave it, or none for an administrator's), so each upstream
//! sign-in syncs that upstream's roles and never touches the others.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("account_roles")
                .add_column(string_null("source"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("account_roles")
                .drop_column("source")
                .to_owned(),
        )
        .await
    }
}
