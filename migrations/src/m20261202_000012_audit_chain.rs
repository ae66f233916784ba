//! A tamper-evident audit log: each record carries its place in the chain (`seq`) and a keyed
//! hash over the previous record's hash and its own fields; `audit_chain` holds the head and
//! the signed checkpoint the retention prune leaves behind. Records written before this
//! migration stay outside the chain.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("audit_events")
                .add_column(big_integer_null("seq"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("audit_events")
                .add_column(string_null("chain_hash"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_events_seq")
                .table("audit_events")
                .col("seq")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("audit_events_at")
                .table("audit_events")
                .col("at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("audit_chain")
                .col(integer("id").primary_key())
                // The last record's place and hash.
                .col(big_integer("seq"))
                .col(string("hash"))
                // Where the chain now starts, after the oldest records were pruned, and the
                // key's signature over it.
                .col(big_integer("checkpoint_seq"))
                .col(string("checkpoint_hash"))
                .col(string("checkpoint_mac"))
                .to_owned(),
        )
        .await?;
        let head = Query::insert()
            .into_table("audit_chain")
            .columns([
                "id",
                "seq",
                "hash",
                "checkpoint_seq",
                "checkpoint_hash",
                "checkpoint_mac",
            ])
            .values_panic([
                1.into(),
                0i64.into(),
                "".into(),
                0i64.into(),
                "".into(),
                "".into(),
            ])
            .to_owned();
        m.exec_stmt(head).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("audit_chain").to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("audit_events_at")
                .table("audit_events")
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("audit_events_seq")
                .table("audit_events")
                .to_owned(),
        )
        .await?;
        for c in ["chain_hash", "seq"] {
            m.alter_table(
                Table::alter()
                    .table("audit_events")
                    .drop_column(c)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
