//! Where writes run. On an embedded SQLite file, one thread of its own holds the only writing
//! connection; every write is a job queued to it. The jobs waiting when the thread comes free
//! run together in one transaction, each in a savepoint of its own (a job that fails is undone
//! alone), and each caller is answered only once that transaction has committed (group commit).
//! So a write never holds the database while its task waits for a busy HTTP worker, and N
//! concurrent writes cost one commit, not N. On PostgreSQL (and an in-memory SQLite) a job runs
//! in the caller's task on the pool, in a transaction of its own unless it is one statement:
//! the server there queues and commits concurrently itself. One-statement writes and pairs of
//! inserts are built as statements for their database and run through one path
//! (`Writer::statements`); on PostgreSQL a pair is one statement (a data-modifying CTE).
//!
//! On the file, one-statement writes, pairs of inserts and writes that read between their
//! statements (`run_direct_or`, the audit chain's) skip sqlx's driver: the thread runs their
//! sea-orm-built SQL on a rusqlite connection of its own (`direct`), in a transaction of their
//! own beside the sea-orm jobs' (both on this one thread, one after the other).

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sea_orm::sea_query::InsertStatement;
use sea_orm::{
    ActiveModelTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DatabaseExecutor, DatabaseTransaction, DbBackend, DbErr, DeleteMany, EntityTrait, Insert,
    QueryTrait, Statement, UpdateMany,
};
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

mod batch;

use super::sockets::{Sockets, within};
use super::{StoreError, StoreResult, direct};
use batch::{custom, in_savepoint, in_transaction, ran, serve};

/// Jobs committed together at most.
const MAX_BATCH: usize = 256;
/// Jobs waiting at most; beyond it callers wait to queue (back-pressure).
const QUEUE: usize = 4096;

/// A write: statements on the executor it is given. `Writer::run` makes it atomic (a savepoint
/// of the batch, or a transaction on the pool), so a job never opens a transaction itself.
pub(super) type WriteFuture<'c, T> = BoxFuture<'c, StoreResult<T>>;

/// Tells a job's caller its result once the batch's commit is known.
type Answer = Box<dyn FnOnce(Result<(), &DbErr>) + Send>;

/// What a job leaves once it ran: its answer, and whether the batch must be rolled back (the
/// job's savepoint could not be undone).
struct Ran {
    answer: Answer,
    poisoned: bool,
}

type InBatch = Box<dyn for<'c> FnOnce(&'c DatabaseTransaction) -> BoxFuture<'c, Ran> + Send>;
type Alone = Box<dyn for<'c> FnOnce(&'c DatabaseConnection) -> BoxFuture<'c, ()> + Send>;
type Direct = Box<dyn FnOnce(&rusqlite::Connection) -> Ran + Send>;

enum Job {
    /// Runs inside the batch's transaction.
    InBatch(InBatch),
    /// Runs inside the direct connection's transaction of the batch.
    Direct(Direct),
    /// Runs on the connection itself, between batches (migrations, ping, close).
    Alone(Alone),
}

#[derive(Clone, Copy)]
enum Isolation {
    /// The job may run several statements: undo it as a whole if it fails.
    Savepoint,
    /// The job is one statement, atomic by itself.
    Statement,
}

#[derive(Clone)]
pub(super) struct Writer(Inner);

#[derive(Clone)]
enum Inner {
    Pool(DatabaseConnection, Option<Sockets>),
    Thread(mpsc::Sender<Job>),
}

impl Writer {
    /// Writes in the caller's task, on `db` (polled `within` its `sockets`).
    pub(super) fn pool(db: DatabaseConnection, sockets: Option<Sockets>) -> Self {
        Writer(Inner::Pool(db, sockets))
    }

    /// Start the writer thread, which opens its connection with `opts` (a pool of one), then
    /// its direct connection to the same file.
    pub(super) async fn thread(opts: ConnectOptions) -> StoreResult<Self> {
        let file = direct::file_of(opts.get_url())?;
        let (ready_tx, ready_rx) = oneshot::channel::<StoreResult<()>>();
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("ostiary-writer".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(custom(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let opened = match Database::connect(opts).await {
                        Ok(db) => direct::open_writer(&file).map(|conn| (db, conn)),
                        Err(e) => Err(e.into()),
                    };
                    match opened {
                        Ok((db, conn)) => {
                            let _ = ready_tx.send(Ok(()));
                            serve(db, conn, rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(custom)?;
        ready_rx.await.map_err(|_| StoreError::WriterGone)??;
        Ok(Writer(Inner::Thread(tx)))
    }

    /// Run one write job atomically (in a savepoint of the writer's batch, or a transaction on
    /// the pool) and return its result once it is durable.
    pub(super) async fn run<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseExecutor<'c>) -> WriteFuture<'c, T> + Send + 'static,
    {
        self.queue(job, Isolation::Savepoint).await
    }

    /// Run a job of exactly one statement: SQLite undoes a failed statement by itself and
    /// leaves the transaction as it was, so it needs no savepoint of its own.
    pub(super) async fn run_statement<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseExecutor<'c>) -> WriteFuture<'c, T> + Send + 'static,
    {
        self.queue(job, Isolation::Statement).await
    }

    async fn queue<T, F>(&self, job: F, isolation: Isolation) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseExecutor<'c>) -> WriteFuture<'c, T> + Send + 'static,
    {
        let tx = match (&self.0, isolation) {
            (Inner::Pool(db, sockets), Isolation::Statement) => {
                let ex = DatabaseExecutor::Connection(db);
                return within(sockets.as_ref(), job(&ex)).await;
            }
            (Inner::Pool(db, sockets), Isolation::Savepoint) => {
                return within(sockets.as_ref(), in_transaction(db, job)).await;
            }
            (Inner::Thread(tx), _) => tx,
        };
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job: InBatch = Box::new(move |txn| {
            Box::pin(async move {
                let (result, poisoned) = match isolation {
                    Isolation::Savepoint => in_savepoint(txn, job).await,
                    Isolation::Statement => {
                        let ex = DatabaseExecutor::Transaction(txn);
                        match AssertUnwindSafe(job(&ex)).catch_unwind().await {
                            Ok(result) => (result, false),
                            Err(_) => (Err(custom("the write failed")), true),
                        }
                    }
                };
                ran(reply, result, poisoned)
            })
        });
        tx.send(Job::InBatch(job))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Run `job` on the thread's direct connection, in the batch's direct transaction (in a
    /// savepoint of its own with `Isolation::Savepoint`).
    async fn on_direct<T, J>(tx: &mpsc::Sender<Job>, isolation: Isolation, job: J) -> StoreResult<T>
    where
        T: Send + 'static,
        J: FnOnce(&rusqlite::Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let savepoint = matches!(isolation, Isolation::Savepoint);
        let job: Direct = Box::new(move |conn| {
            let (result, poisoned) = match std::panic::catch_unwind(AssertUnwindSafe(|| {
                direct::isolated(conn, savepoint, job)
            })) {
                Ok(r) => r,
                Err(_) => (Err(custom("the write failed")), true),
            };
            ran(reply, result, poisoned)
        });
        tx.send(Job::Direct(job))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// A write that reads between its statements (an UPDATE … RETURNING whose row decides what
    /// follows), atomically: on a SQLite file `direct` runs on the thread's direct connection,
    /// elsewhere `job` runs as `run` runs it. The two are the same write on two drivers: build
    /// their statements in one place.
    pub(super) async fn run_direct_or<T, D, F>(&self, direct: D, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        D: FnOnce(&rusqlite::Connection) -> StoreResult<T> + Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseExecutor<'c>) -> WriteFuture<'c, T> + Send + 'static,
    {
        match &self.0 {
            Inner::Thread(tx) => Self::on_direct(tx, Isolation::Savepoint, direct).await,
            Inner::Pool(..) => self.run(job).await,
        }
    }

    /// Run `job` on the writing connection outside any transaction.
    pub(super) async fn alone<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        let tx = match &self.0 {
            Inner::Pool(db, sockets) => return within(sockets.as_ref(), job(db)).await,
            Inner::Thread(tx) => tx,
        };
        let (reply, answer) = oneshot::channel::<StoreResult<T>>();
        let job: Alone = Box::new(move |db| {
            Box::pin(async move {
                let _ = reply.send(job(db).await);
            })
        });
        tx.send(Job::Alone(job))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

/// One-statement writes and pairs of inserts, the common case: built by sea-orm for the
/// database they run on, then run as statements (on a SQLite file, by the thread's direct
/// connection).
impl Writer {
    pub(super) fn backend(&self) -> DbBackend {
        match &self.0 {
            Inner::Pool(db, _) => db.get_database_backend(),
            Inner::Thread(_) => DbBackend::Sqlite,
        }
    }

    /// Run built `statements` (all or none with `Isolation::Savepoint`): the rows each
    /// changed; `StoreError::Conflict` when one would duplicate a unique key.
    async fn statements(
        &self,
        statements: Vec<Statement>,
        isolation: Isolation,
    ) -> StoreResult<Vec<u64>> {
        match &self.0 {
            Inner::Thread(tx) => {
                Self::on_direct(tx, isolation, move |conn| {
                    direct::run_all(conn, &statements)
                })
                .await
            }
            Inner::Pool(..) => {
                self.queue(move |db| execute_all(db, statements), isolation)
                    .await
            }
        }
    }

    /// One statement: the rows it changed.
    async fn statement(&self, statement: Statement) -> StoreResult<u64> {
        let changed = self
            .statements(vec![statement], Isolation::Statement)
            .await?;
        Ok(changed.into_iter().next().unwrap_or_default())
    }

    /// One INSERT; `StoreError::Conflict` when it would duplicate a unique key.
    pub(super) async fn insert<A>(&self, insert: Insert<A>) -> StoreResult<()>
    where
        A: ActiveModelTrait + Send + 'static,
    {
        self.statement(insert.build(self.backend())).await.map(drop)
    }

    /// Two INSERTs, both or neither.
    pub(super) async fn insert_both<A, B>(
        &self,
        first: Insert<A>,
        second: Insert<B>,
    ) -> StoreResult<()>
    where
        A: ActiveModelTrait + Send + 'static,
        B: ActiveModelTrait + Send + 'static,
    {
        let backend = self.backend();
        if backend == DbBackend::Postgres {
            // One statement, atomic by itself: a round trip, not a transaction's four.
            return self
                .statement(backend.build(&both(first.into_query(), second.into_query())))
                .await
                .map(drop);
        }
        let statements = vec![first.build(backend), second.build(backend)];
        self.statements(statements, Isolation::Savepoint)
            .await
            .map(drop)
    }

    /// One UPDATE: how many rows it changed.
    pub(super) async fn update<E: EntityTrait>(&self, update: UpdateMany<E>) -> StoreResult<u64> {
        self.statement(update.build(self.backend())).await
    }

    /// One DELETE: how many rows it removed.
    pub(super) async fn delete<E: EntityTrait>(&self, delete: DeleteMany<E>) -> StoreResult<u64> {
        self.statement(delete.build(self.backend())).await
    }
}

/// Run `statements` in order on `db`: the rows each changed.
fn execute_all<'c>(
    db: &'c DatabaseExecutor<'c>,
    statements: Vec<Statement>,
) -> WriteFuture<'c, Vec<u64>> {
    Box::pin(async move {
        let mut changed = Vec::with_capacity(statements.len());
        for statement in statements {
            let done = db
                .execute_raw(statement)
                .await
                .map_err(super::conflict_or)?;
            changed.push(done.rows_affected());
        }
        Ok(changed)
    })
}

/// PostgreSQL: two INSERTs as one statement, the first a data-modifying CTE of the second
/// (`WITH "first" AS (INSERT …) INSERT …`). Both run, or neither; foreign keys from the
/// second to the first are checked at the statement's end, when both rows exist.
pub(super) fn both(first: InsertStatement, mut second: InsertStatement) -> InsertStatement {
    use sea_orm::sea_query::{CommonTableExpression, WithClause};
    let cte = CommonTableExpression::new()
        .query(first)
        .table_name("first")
        .to_owned();
    second.with_cte(WithClause::new().cte(cte).to_owned());
    second
}

#[cfg(test)]
mod tests;
