//! Persistence: the only module that imports sea-orm. `Store` exposes intention-revealing
//! functions that return domain records; the same code runs on SQLite and PostgreSQL, with no
//! backend branches. Single-use artefacts (codes, refresh tokens) are claimed with one
//! conditional UPDATE, so two concurrent redemptions cannot both succeed.

mod account_changes;
mod accounts;
mod apps;
mod audit;
mod combine;
mod consents;
mod direct;
mod entities;
mod factors;
mod gc;
mod grants;
mod hot;
mod interactions;
mod keys;
mod leases;
mod live;
mod login_failures;
mod logouts;
mod outbox;
mod passkeys;
mod proofs;
mod roles;
mod row;
mod sign_in;
mod signed_in;
mod sockets;
mod upstream_logins;
mod writer;

pub use account_changes::{Confirmed, PasswordChange};
pub use accounts::{Account, LinkedIdentity, Unlink};
pub use apps::ConnectedApp;
pub use audit::{AuditFilter, ChainHead, ChainedRecord};
pub use factors::{FactorSummary, TotpFactor};
pub use gc::{Collected, LOGIN_FAILURES_KEPT};
pub use grants::{
    CodeRecord, Grant, NewCode, NewGrant, NewRefreshToken, RedeemTerms, Redeemable, RefreshRecord,
};
pub use interactions::{BrowserSession, SessionStarted, StoredAuthRequest};
pub use keys::StoredKey;
pub use login_failures::FailureState;
pub use logouts::{DELIVERY_WINDOW_SECONDS, PendingLogout};
pub use outbox::{NewEmail, OutboxMessage, OutboxState};
pub use passkeys::{PasskeyUse, StoredPasskey};
pub use proofs::{NewProof, Proof, ProofPurpose, SendHistory};
pub use roles::RolesSynced;
pub use sign_in::{PasswordSignIn, SignInFacts};
pub use signed_in::{CodeForRequest, SignInWrites};
pub use upstream_logins::PendingUpstreamRow;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr, RuntimeErr};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists")]
    Conflict,
    #[error("database error: {0}")]
    Db(DbErr),
    /// A value could not be written or read back (JSON columns).
    #[error("stored value encoding: {0}")]
    Encoding(String),
    /// The writer thread is gone or could not run the write (the database failed under it).
    #[error("the database writer did not run the write")]
    WriterGone,
    /// The database has migrations this build does not know: a newer Ostiary migrated it.
    #[error(
        "the database was migrated by a newer Ostiary (unknown migrations: {}); run that version, or restore a backup",
        .0.join(", ")
    )]
    NewerSchema(Vec<String>),
}

impl StoreError {
    /// The database cannot be reached (pool exhausted, connection refused or lost).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::WriterGone => true,
            StoreError::Db(DbErr::ConnectionAcquire(_)) | StoreError::Db(DbErr::Conn(_)) => true,
            StoreError::Db(DbErr::Exec(RuntimeErr::SqlxError(e)))
            | StoreError::Db(DbErr::Query(RuntimeErr::SqlxError(e))) => matches!(
                e.as_ref(),
                sea_orm::sqlx::Error::Io(_)
                    | sea_orm::sqlx::Error::PoolTimedOut
                    | sea_orm::sqlx::Error::PoolClosed
                    | sea_orm::sqlx::Error::WorkerCrashed
            ),
            _ => false,
        }
    }
}

/// Database errors since the process started (every `StoreError::Db` is counted as it is made;
/// the metrics report it).
static DATABASE_ERRORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn database_errors() -> u64 {
    DATABASE_ERRORS.load(std::sync::atomic::Ordering::Relaxed)
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        DATABASE_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        StoreError::Db(e)
    }
}

/// A failure of our own making around the database (a writer that could not run a job, a
/// batch that answered otherwise than asked).
fn custom(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(DbErr::Custom(e.to_string()))
}

fn conflict_or(e: DbErr) -> StoreError {
    match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict,
        _ => StoreError::from(e),
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// At the protocol boundary: an unreachable database is `temporarily_unavailable` (503), any
/// other failure `server_error`; the cause is logged, never sent.
impl From<StoreError> for crate::protocol::error::OAuthError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            crate::protocol::error::OAuthError::unavailable(e)
        } else {
            crate::protocol::error::OAuthError::server_error(e)
        }
    }
}

/// Two handles on one database. On a SQLite file, `write` is the writer thread with the only
/// writing connection (see `writer`: jobs queue to it and commit in groups, instead of
/// contending for SQLite's single write lock through its sleeping busy handler) and `read` a
/// pool of read-only connections, which in WAL mode never wait for the writer. On PostgreSQL
/// (and an in-memory SQLite, which is one connection's own database) both are the same pool.
/// Every statement that writes, and every transaction, is a job on `write`.
#[derive(Clone)]
pub struct Store {
    read: sockets::Db,
    write: writer::Writer,
    /// The audit chain's key (`set_audit_key`), shared by the clones of this store.
    audit_key: std::sync::Arc<std::sync::OnceLock<[u8; 32]>>,
    /// Told of every audit record (`observe_audit`).
    audit_observer: std::sync::Arc<std::sync::OnceLock<AuditObserver>>,
    /// On a SQLite file, the hot reads' direct connections (`direct`).
    direct: Option<std::sync::Arc<direct::Reads>>,
    /// On PostgreSQL, the hot statements' batches (`hot`).
    hot: Option<std::sync::Arc<hot::Hot>>,
    backend: Backend,
}

/// What `Store::observe_audit` calls.
pub type AuditObserver = std::sync::Arc<dyn Fn(&crate::audit::AuditEvent) + Send + Sync>;

/// The database behind a URL, as far as pooling is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    SqliteFile,
    SqliteMemory,
    Postgres,
}

impl Backend {
    fn of(url: &str) -> Self {
        if !url.starts_with("sqlite:") {
            Backend::Postgres
        } else if url.contains(":memory:") || url.contains("mode=memory") {
            Backend::SqliteMemory
        } else {
            Backend::SqliteFile
        }
    }
}

impl Store {
    /// Open the pools. SQLite runs in WAL mode with `synchronous=NORMAL` (a commit is durable
    /// once the WAL is synced at the next checkpoint; a power loss can lose the last
    /// transactions but never corrupts the file) and a busy timeout for other processes (the
    /// CLI) that write to the same file.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let backend = Backend::of(url);
        let pool = |max: u32, read_only: bool| {
            let mut opts = ConnectOptions::new(url.to_owned());
            opts.max_connections(max)
                .min_connections(1)
                .acquire_timeout(Duration::from_secs(3))
                .connect_timeout(Duration::from_secs(3))
                // A connection in use is known to work: only one idle long enough for a
                // server, proxy or firewall to have dropped it is pinged before it is handed
                // out (sqlx pings every one by default: a round trip more per statement).
                .test_before_acquire_if_idle_for(Duration::from_secs(30))
                .sqlx_logging(false)
                .map_sqlx_sqlite_opts(move |o| {
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                        .pragma(
                            "wal_autocheckpoint",
                            direct::WAL_CHECKPOINT_PAGES.to_string(),
                        )
                        .read_only(read_only)
                });
            opts
        };
        match backend {
            Backend::SqliteFile => {
                // The writer first: it creates the file (mode=rwc) and switches it to WAL.
                // Switching takes the file's lock without waiting for it: when several
                // processes open a new file at once, the others try again shortly.
                let mut tries = 0;
                let write = loop {
                    match writer::Writer::thread(pool(1, false)).await {
                        Err(e) if tries < 50 && e.to_string().contains("database is locked") => {
                            tries += 1;
                            tokio::time::sleep(Duration::from_millis(50 + 20 * tries)).await;
                        }
                        other => break other?,
                    }
                };
                let read =
                    sockets::Db::new(Database::connect(pool(max_connections, true)).await?, None);
                let direct = direct::Reads::new(direct::file_of(url)?);
                Ok(Self {
                    read,
                    write,
                    audit_key: Default::default(),
                    audit_observer: Default::default(),
                    direct: Some(std::sync::Arc::new(direct)),
                    hot: None,
                    backend,
                })
            }
            Backend::SqliteMemory | Backend::Postgres => {
                let sockets = match backend {
                    Backend::Postgres => Some(
                        sockets::Sockets::start()
                            .map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?,
                    ),
                    _ => None,
                };
                let opened = Database::connect(pool(max_connections, false));
                let db = sockets::within(sockets.as_ref(), opened).await?;
                let hot = sockets
                    .as_ref()
                    .map(|s| std::sync::Arc::new(hot::Hot::start(s, &db)));
                Ok(Self {
                    read: sockets::Db::new(db.clone(), sockets.clone()),
                    write: writer::Writer::pool(db, sockets),
                    audit_key: Default::default(),
                    audit_observer: Default::default(),
                    direct: None,
                    hot,
                    backend,
                })
            }
        }
    }

    /// Apply pending migrations, one instance at a time: instances starting together on one
    /// database take turns (on PostgreSQL an advisory lock held by the migrating transaction,
    /// on SQLite the write lock, taken first), so each migration runs once and all of them
    /// commit together or not at all. A database migrated past what this build knows is refused
    /// (`StoreError::NewerSchema`) before anything changes.
    pub async fn migrate(&self) -> StoreResult<()> {
        let backend = self.backend;
        self.write
            .alone(move |db| Box::pin(migrate_locked(db, backend)))
            .await
    }

    /// Migrations this database has that this build does not know (a newer build ran them).
    pub async fn unknown_migrations(&self) -> StoreResult<Vec<String>> {
        self.write
            .alone(|db| Box::pin(async move { unknown_migrations(db).await }))
            .await
    }

    /// Names of the migrations not yet applied.
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        use migration::MigratorTrait;
        self.write
            .alone(|db| {
                Box::pin(async move {
                    Ok(migration::Migrator::get_pending_migrations(db)
                        .await?
                        .iter()
                        .map(|m| m.name().to_owned())
                        .collect())
                })
            })
            .await
    }

    /// The first row `select` finds: on a SQLite file read on a direct connection in the
    /// caller's thread (`direct`), else through the read pool. For the flows' reads.
    async fn first<E>(&self, select: sea_orm::Select<E>) -> StoreResult<Option<E::Model>>
    where
        E: sea_orm::EntityTrait,
        E::Model: direct::FromDirect,
    {
        use direct::FromDirect as _;
        use sea_orm::{QuerySelect, QueryTrait};
        match &self.direct {
            Some(direct) => direct.one(select.limit(1).build(sea_orm::DbBackend::Sqlite), |row| {
                E::Model::from_direct(row, "")
            }),
            None => Ok(select.one(&self.read).await?),
        }
    }

    /// Messages waiting: (email pending delivery, back-channel logouts).
    pub async fn queue_depths(&self) -> StoreResult<(u64, u64)> {
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let email = entities::email_outbox::Entity::find()
            .filter(entities::email_outbox::Column::State.eq("pending"))
            .count(&self.read)
            .await?;
        let logouts = entities::logout_outbox::Entity::find()
            .count(&self.read)
            .await?;
        Ok((email, logouts))
    }

    /// The read pool's connections: (open, idle).
    pub fn pool_stats(&self) -> (u32, usize) {
        match self.backend {
            Backend::Postgres => {
                let p = self.read.conn().get_postgres_connection_pool();
                (p.size(), p.num_idle())
            }
            Backend::SqliteFile | Backend::SqliteMemory => {
                let p = self.read.conn().get_sqlite_connection_pool();
                (p.size(), p.num_idle())
            }
        }
    }

    /// Call `observer` with every audit record written (the metrics count them).
    pub fn observe_audit(&self, observer: AuditObserver) {
        let _ = self.audit_observer.set(observer);
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Whether this is the embedded SQLite file (the one `backup_to` can copy).
    pub fn is_sqlite_file(&self) -> bool {
        self.backend == Backend::SqliteFile
    }

    /// A consistent copy of the SQLite file at `path` while others read and write it
    /// (`VACUUM INTO`: one read transaction, so the copy is one moment's state).
    pub async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()> {
        use sea_orm::ConnectionTrait;
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Encoding("the backup path is not UTF-8".into()))?
            .replace('\'', "''");
        self.read
            .execute_unprepared(&format!("VACUUM INTO '{target}'"))
            .await?;
        Ok(())
    }

    /// Close every pooled connection; later calls fail as if the database were down.
    pub async fn close(&self) {
        let _ = self
            .write
            .alone(|db| Box::pin(async move { Ok(db.close_by_ref().await?) }))
            .await;
        let _ = self.read.close().await;
        if let Some(direct) = &self.direct {
            direct.close();
        }
    }

    pub async fn ping(&self) -> StoreResult<()> {
        self.read.ping().await?;
        self.write
            .alone(|db| Box::pin(async move { Ok(db.ping().await?) }))
            .await
    }
}

/// The names in `seaql_migrations` that `migration::Migrator` does not list.
async fn unknown_migrations<C: sea_orm::ConnectionTrait>(db: &C) -> StoreResult<Vec<String>> {
    use migration::MigratorTrait;
    use sea_orm::Statement;
    let known: Vec<String> = migration::Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let table = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DbBackend::Sqlite => {
                    "SELECT count(*) AS n FROM sqlite_master WHERE name = 'seaql_migrations'"
                }
                _ => "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'seaql_migrations' AND table_schema = current_schema()",
            },
        ))
        .await?;
    let exists = table
        .and_then(|r| r.try_get::<i64>("", "n").ok())
        .is_some_and(|n| n > 0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.try_get::<String>("", "version").ok())
        .filter(|v| !known.contains(v))
        .collect())
}

/// Hold the instances' startup lock until the caller's transaction ends: on PostgreSQL a
/// transaction-scoped advisory lock, on SQLite the write lock, taken by a write first (waiting
/// for it through the busy timeout) before anything is read. Only startup work takes it
/// (migrations, the first signing key).
async fn startup_lock<C: sea_orm::ConnectionTrait>(db: &C, backend: Backend) -> StoreResult<()> {
    match backend {
        Backend::Postgres => {
            db.execute_unprepared("SELECT pg_advisory_xact_lock(7307301)")
                .await?;
        }
        Backend::SqliteFile | Backend::SqliteMemory => {
            db.execute_unprepared(
                "CREATE TABLE IF NOT EXISTS ostiary_startup_lock (id INTEGER PRIMARY KEY)",
            )
            .await?;
            db.execute_unprepared("INSERT OR REPLACE INTO ostiary_startup_lock VALUES (1)")
                .await?;
        }
    }
    Ok(())
}

async fn migrate_locked(db: &DatabaseConnection, backend: Backend) -> StoreResult<()> {
    use migration::MigratorTrait;
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    startup_lock(&txn, backend).await?;
    let newer = unknown_migrations(&txn).await?;
    if !newer.is_empty() {
        txn.rollback().await?;
        return Err(StoreError::NewerSchema(newer));
    }
    migration::Migrator::up(&txn, None).await?;
    txn.commit().await?;
    Ok(())
}
