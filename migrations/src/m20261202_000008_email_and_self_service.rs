//! Self-service accounts: the email outbox (messages written in the same transaction as what
//! they announce, sent by a background worker) and one-time email proofs (verification codes,
//! email-change codes and password-reset links, stored only as hashes).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("email_outbox")
                .col(string("id").primary_key())
                .col(string("kind"))
                .col(string("recipient"))
                .col(string("subject"))
                // Cleared once the message is delivered or dropped (they may carry a code).
                .col(text_null("text_body"))
                .col(text_null("html_body"))
                // pending | sent | dropped | held (kept for /dev/outbox, never sent)
                .col(string("state"))
                .col(integer("attempts"))
                .col(big_integer("next_attempt_at"))
                .col(big_integer_null("lease_until"))
                .col(string_null("last_error"))
                .col(big_integer("created_at"))
                .col(big_integer("expires_at"))
                .col(big_integer_null("finished_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("email_outbox_due")
                .table("email_outbox")
                .col("state")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("email_outbox_expires_at")
                .table("email_outbox")
                .col("expires_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("email_proofs")
                .col(string("id").primary_key())
                // verify_email | change_email | reset_password
                .col(string("purpose"))
                .col(string("account_id"))
                // The address the proof was sent to (lower-cased).
                .col(string("email"))
                .col(string_null("code_hash"))
                .col(string_uniq("link_hash"))
                .col(integer("attempts"))
                // The pending authorization request to continue afterwards, if any.
                .col(string_null("request_id"))
                .col(big_integer("created_at"))
                .col(big_integer("expires_at"))
                .col(big_integer_null("used_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("email_proofs_by_address")
                .table("email_proofs")
                .col("email")
                .col("purpose")
                .col("created_at")
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("email_proofs_by_account")
                .table("email_proofs")
                .col("account_id")
                .col("purpose")
                .to_owned(),
        )
        .await?;
        // A password reset or an account deletion revokes every grant and session of the account.
        for (name, table) in [
            ("grants_account", "grants"),
            ("browser_sessions_account", "browser_sessions"),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(table)
                    .col("account_id")
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("email_proofs_expires_at")
                .table("email_proofs")
                .col("expires_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("grants_account", "grants"),
            ("browser_sessions_account", "browser_sessions"),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        m.drop_table(Table::drop().table("email_proofs").to_owned())
            .await?;
        m.drop_table(Table::drop().table("email_outbox").to_owned())
            .await
    }
}
