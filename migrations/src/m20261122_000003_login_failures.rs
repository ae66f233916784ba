//! Password sign-in throttling: failed attempts counted per account key (the hash of the
//! normalised email, so unknown emails are throttled alike and nothing is enumerated), with the
//! lockout state shared by every instance.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("login_failures")
                .col(string("key_hash").primary_key())
                .col(integer("failures"))
                .col(big_integer("window_start"))
                .col(integer("lockouts"))
                .col(big_integer_null("locked_until"))
                .col(big_integer("updated_at"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("login_failures").to_owned())
            .await
    }
}
