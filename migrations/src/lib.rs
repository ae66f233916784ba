//! Database schema for Ostiary, as sea-orm-migration steps (one file per change).
//! The same migrations run on SQLite and PostgreSQL; times are Unix seconds in BIGINT columns.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_core_tables;
mod m20261122_000002_upstream_identities;
mod m20261122_000003_login_failures;
mod m20261122_000004_key_activation;
mod m20261201_000005_request_stage_and_key_revocation;
mod m20261201_000006_typed_audit_events;
mod m20261202_000007_expiry_indexes;
mod m20261202_000008_email_and_self_service;
mod m20261202_000009_second_factors;
mod m20261202_000010_passkeys;
mod m20261202_000011_remembered_devices;
mod m20261202_000012_audit_chain;
mod m20261202_000013_session_details;
mod m20261202_000014_account_roles;
mod m20261202_000015_disabled_accounts;
mod m20261202_000016_backchannel_logout;
mod m20261203_000017_account_activity;
mod m20261203_000018_upstream_roles;
mod m20261203_000019_job_leases;
mod m20261203_000020_login_failure_expiry;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_core_tables::Migration),
            Box::new(m20261122_000002_upstream_identities::Migration),
            Box::new(m20261122_000003_login_failures::Migration),
            Box::new(m20261122_000004_key_activation::Migration),
            Box::new(m20261201_000005_request_stage_and_key_revocation::Migration),
            Box::new(m20261201_000006_typed_audit_events::Migration),
            Box::new(m20261202_000007_expiry_indexes::Migration),
            Box::new(m20261202_000008_email_and_self_service::Migration),
            Box::new(m20261202_000009_second_factors::Migration),
            Box::new(m20261202_000010_passkeys::Migration),
            Box::new(m20261202_000011_remembered_devices::Migration),
            Box::new(m20261202_000012_audit_chain::Migration),
            Box::new(m20261202_000013_session_details::Migration),
            Box::new(m20261202_000014_account_roles::Migration),
            Box::new(m20261202_000015_disabled_accounts::Migration),
            Box::new(m20261202_000016_backchannel_logout::Migration),
            Box::new(m20261203_000017_account_activity::Migration),
            Box::new(m20261203_000018_upstream_roles::Migration),
            Box::new(m20261203_000019_job_leases::Migration),
            Box::new(m20261203_000020_login_failure_expiry::Migration),
        ]
    }
}
