//! Second factors: an account's TOTP authenticator (its secret sealed with a key derived from
//! the key-encryption key; the last time step used, so a code is accepted once) and its
//! recovery codes (only keyed hashes); and the `acr` a grant's sign-in reached.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("totp_factors")
                .col(string("account_id").primary_key())
                .col(text("secret_sealed"))
                // Null until the person proved the authenticator works with a code.
                .col(big_integer_null("confirmed_at"))
                .col(big_integer_null("last_used_step"))
                .col(big_integer_null("last_used_at"))
                .col(big_integer("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("recovery_codes")
                .col(string("code_hash").primary_key())
                .col(string("account_id"))
                .col(big_integer("created_at"))
                .col(big_integer_null("used_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("recovery_codes_account")
                .table("recovery_codes")
                .col("account_id")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("grants")
                .add_column(string_null("acr"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table("grants").drop_column("acr").to_owned())
            .await?;
        m.drop_table(Table::drop().table("recovery_codes").to_owned())
            .await?;
        m.drop_table(Table::drop().table("totp_factors").to_owned())
            .await
    }
}
