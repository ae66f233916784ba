//! Passkeys (WebAuthn): each account's credentials with their name, the serialised credential
//! (public key, counter, backup flags) and use times; and the challenges already answered, so
//! a ceremony (whose state travels sealed in the page) completes at most once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("passkeys")
                .col(string("id").primary_key())
                .col(string("account_id"))
                // base64url of the credential id, unique across accounts.
                .col(string_uniq("credential_id"))
                .col(string("name"))
                .col(text("credential_json"))
                .col(big_integer("sign_count"))
                .col(boolean("backup_eligible"))
                .col(boolean("backup_state"))
                .col(big_integer("created_at"))
                .col(big_integer_null("last_used_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("passkeys_account")
                .table("passkeys")
                .col("account_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("used_challenges")
                .col(string("challenge_hash").primary_key())
                .col(big_integer("expires_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("used_challenges_expires_at")
                .table("used_challenges")
                .col("expires_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("used_challenges").to_owned())
            .await?;
        m.drop_table(Table::drop().table("passkeys").to_owned())
            .await
    }
}
