//! Upstream federation: accounts may have no email (an X account) and record whether their
//! email is verified; upstream identities (upstream, subject) each belong to one account;
//! pending upstream sign-ins keep the state, nonce and PKCE verifier until the callback;
//! sessions and grants remember which upstream (`idp`) signed the user in.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Accounts made so far were created by an administrator, who vouches for the email.
        let db = m.get_connection();
        match m.get_database_backend() {
            // SQLite cannot drop NOT NULL in place: rebuild the table, in one batch on one
            // connection so that no pooled connection sees the schema half-way.
            sea_orm_migration::sea_orm::DbBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE TABLE accounts_v2 (id varchar NOT NULL PRIMARY KEY, \
                       email varchar NULL UNIQUE, email_verified boolean NOT NULL DEFAULT FALSE, \
                       name varchar NULL, password_hash varchar NULL, created_at bigint NOT NULL); \
                     INSERT INTO accounts_v2 (id, email, email_verified, name, password_hash, created_at) \
                       SELECT id, email, TRUE, name, password_hash, created_at FROM accounts; \
                     DROP TABLE accounts; \
                     ALTER TABLE accounts_v2 RENAME TO accounts;",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "ALTER TABLE accounts ALTER COLUMN email DROP NOT NULL; \
                     ALTER TABLE accounts ADD COLUMN email_verified boolean NOT NULL DEFAULT FALSE; \
                     UPDATE accounts SET email_verified = TRUE;",
                )
                .await?;
            }
        }

        for table in ["browser_sessions", "grants"] {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(string_null("idp"))
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table("upstream_identities")
                .col(string("upstream_id"))
                .col(string("subject"))
                .col(string("account_id"))
                .col(string_null("email"))
                .col(big_integer("created_at"))
                .col(big_integer("last_login_at"))
                .primary_key(Index::create().col("upstream_id").col("subject"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_upstream_identities_account")
                .table("upstream_identities")
                .col("account_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("upstream_logins")
                .col(string("state_hash").primary_key())
                .col(string("upstream_id"))
                .col(string("binding_hash"))
                .col(string_null("auth_request_id"))
                .col(string_null("link_account_id"))
                .col(text("pending_json"))
                .col(text_null("callback_json"))
                .col(big_integer("created_at"))
                .col(big_integer("expires_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["upstream_logins", "upstream_identities"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        for table in ["browser_sessions", "grants"] {
            m.alter_table(Table::alter().table(table).drop_column("idp").to_owned())
                .await?;
        }
        Ok(())
    }
}
