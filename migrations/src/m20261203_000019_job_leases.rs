//! Background jobs with many instances: `job_leases` names the instance that holds each job
//! (garbage collection, scheduled key rotation) until a time; another instance takes a job
//! only once its lease has run out, so one does each job at a time and a dead holder's job
//! moves on after its lease.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("job_leases")
                .col(string("name").primary_key())
                .col(string("holder"))
                .col(big_integer("until"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("job_leases").to_owned())
            .await
    }
}
