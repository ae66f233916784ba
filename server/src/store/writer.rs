//! Where writes run. On an embedded SQLite file, one thread of its own holds the only writing
//! connection; every write is a job queued to it. The jobs waiting when the thread comes free
//! run together in one transaction, each in a savepoint of its own (a job that fails is undone
//! alone), and each caller is answered only once that transaction has committed (group commit).
//! So a write never holds the database while its task waits for a busy HTTP worker, and N
//! concurrent writes cost one commit, not N. On PostgreSQL (and an in-memory SQLite) a job runs
//! in the caller's task on the pool, in a transaction of its own unless it is one statement:
//! the server there queues and commits concurrently itself.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveModelTrait, ConnectOptions, Database, DatabaseConnection, DatabaseExecutor,
    DatabaseTransaction, DbErr, DeleteMany, EntityTrait, Insert, TransactionTrait, UpdateMany,
};
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

use super::{StoreError, StoreResult};

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

enum Job {
    /// Runs inside the batch's transaction.
    InBatch(InBatch),
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
    Pool(DatabaseConnection),
    Thread(mpsc::Sender<Job>),
}

impl Writer {
    /// Writes in the caller's task, on `db`.
    pub(super) fn pool(db: DatabaseConnection) -> Self {
        Writer(Inner::Pool(db))
    }

    /// Start the writer thread, which opens its connection with `opts` (a pool of one).
    pub(super) async fn thread(opts: ConnectOptions) -> StoreResult<Self> {
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
                    match Database::connect(opts).await {
                        Ok(db) => {
                            let _ = ready_tx.send(Ok(()));
                            serve(db, rx).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.into()));
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
            (Inner::Pool(db), Isolation::Statement) => {
                return job(&DatabaseExecutor::Connection(db)).await;
            }
            (Inner::Pool(db), Isolation::Savepoint) => return in_transaction(db, job).await,
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
                Ran {
                    answer: Box::new(move |committed| {
                        let _ = reply.send(match (result, committed) {
                            (Ok(v), Ok(())) => Ok(v),
                            (Ok(_), Err(e)) => Err(StoreError::Db(DbErr::Custom(format!(
                                "the write was not committed: {e}"
                            )))),
                            (Err(e), _) => Err(e),
                        });
                    }),
                    poisoned,
                }
            })
        });
        tx.send(Job::InBatch(job))
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Run `job` on the writing connection outside any transaction.
    pub(super) async fn alone<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c DatabaseConnection) -> WriteFuture<'c, T> + Send + 'static,
    {
        let tx = match &self.0 {
            Inner::Pool(db) => return job(db).await,
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

/// One-statement writes, the common case.
impl Writer {
    /// One INSERT; `StoreError::Conflict` when it would duplicate a unique key.
    pub(super) async fn insert<A>(&self, insert: Insert<A>) -> StoreResult<()>
    where
        A: ActiveModelTrait + Send + 'static,
    {
        self.run_statement(move |db| {
            Box::pin(async move {
                insert
                    .exec_without_returning(db)
                    .await
                    .map_err(super::conflict_or)?;
                Ok(())
            })
        })
        .await
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
        self.run(move |db| {
            Box::pin(async move {
                first.exec_without_returning(db).await?;
                second.exec_without_returning(db).await?;
                Ok(())
            })
        })
        .await
    }

    /// One UPDATE: how many rows it changed.
    pub(super) async fn update<E: EntityTrait>(&self, update: UpdateMany<E>) -> StoreResult<u64> {
        self.run_statement(move |db| {
            Box::pin(async move { Ok(update.exec(db).await?.rows_affected) })
        })
        .await
    }

    /// One DELETE: how many rows it removed.
    pub(super) async fn delete<E: EntityTrait>(&self, delete: DeleteMany<E>) -> StoreResult<u64> {
        self.run_statement(move |db| {
            Box::pin(async move { Ok(delete.exec(db).await?.rows_affected) })
        })
        .await
    }
}

fn custom(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(DbErr::Custom(e.to_string()))
}

/// Run a job in a transaction of its own on the pool.
async fn in_transaction<T, F>(db: &DatabaseConnection, job: F) -> StoreResult<T>
where
    F: for<'c> FnOnce(&'c DatabaseExecutor<'c>) -> WriteFuture<'c, T>,
{
    let txn = db.begin().await?;
    let result = job(&DatabaseExecutor::Transaction(&txn)).await;
    match result {
        Ok(v) => {
            txn.commit().await?;
            Ok(v)
        }
        Err(e) => {
            txn.rollback().await?;
            Err(e)
        }
    }
}

/// Run a job in a savepoint of the batch: released when it succeeds, rolled back when it fails
/// or panics. True in the second place when the rollback itself failed.
async fn in_savepoint<T, F>(txn: &DatabaseTransaction, job: F) -> (StoreResult<T>, bool)
where
    F: for<'c> FnOnce(&'c DatabaseExecutor<'c>) -> WriteFuture<'c, T>,
{
    let savepoint = match txn.begin().await {
        Ok(s) => s,
        Err(e) => return (Err(e.into()), true),
    };
    let result = {
        let ex = DatabaseExecutor::Transaction(&savepoint);
        AssertUnwindSafe(job(&ex)).catch_unwind().await
    };
    match result {
        Ok(Ok(v)) => match savepoint.commit().await {
            Ok(()) => (Ok(v), false),
            Err(e) => (Err(e.into()), true),
        },
        Ok(Err(e)) => (Err(e), savepoint.rollback().await.is_err()),
        Err(_) => {
            tracing::error!("a write job panicked; its savepoint is rolled back");
            let undone = savepoint.rollback().await.is_ok();
            (Err(custom("the write failed")), !undone)
        }
    }
}

/// The writer thread: take what is queued, run each stretch of batch jobs in one transaction,
/// the lone jobs between them; until every `Writer` is dropped.
async fn serve(db: DatabaseConnection, mut rx: mpsc::Receiver<Job>) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut queued, MAX_BATCH).await > 0 {
        let mut batch = Vec::new();
        for job in queued.drain(..) {
            match job {
                Job::InBatch(j) => batch.push(j),
                Job::Alone(j) => {
                    commit(&db, std::mem::take(&mut batch)).await;
                    j(&db).await;
                }
            }
        }
        commit(&db, batch).await;
    }
    let _ = db.close().await;
}

async fn commit(db: &DatabaseConnection, batch: Vec<InBatch>) {
    if batch.is_empty() {
        return;
    }
    let txn = match db.begin().await {
        Ok(t) => t,
        Err(e) => {
            // Dropping the jobs answers their callers `WriterGone` (unavailable).
            tracing::error!(error = %e, jobs = batch.len(), "the writer could not begin a transaction");
            return;
        }
    };
    let mut ran = Vec::with_capacity(batch.len());
    let mut poisoned = false;
    for job in batch {
        let r = job(&txn).await;
        poisoned |= r.poisoned;
        ran.push(r.answer);
    }
    let committed = if poisoned {
        tracing::error!("a write could not be undone; the whole batch is rolled back");
        let _ = txn.rollback().await;
        Err(DbErr::Custom("the batch was rolled back".into()))
    } else {
        txn.commit().await
    };
    if let Err(e) = &committed {
        tracing::error!(error = %e, "a batch of writes did not commit");
    }
    for answer in ran {
        answer(committed.as_ref().map(|_| ()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnectionTrait, Statement};

    /// A writer thread and a separate reader on a fresh SQLite file with one table `t(x)`.
    async fn writer_and_reader() -> (Writer, DatabaseConnection, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("ostiary-writer-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/w.db?mode=rwc", dir.display());
        let writer = Writer::thread(ConnectOptions::new(url.clone()))
            .await
            .unwrap();
        writer
            .alone(|db| {
                Box::pin(async move {
                    db.execute_unprepared("CREATE TABLE t (x INTEGER PRIMARY KEY)")
                        .await?;
                    Ok(())
                })
            })
            .await
            .unwrap();
        let reader = Database::connect(url).await.unwrap();
        (writer, reader, dir)
    }

    fn insert(x: i64) -> String {
        format!("INSERT INTO t (x) VALUES ({x})")
    }

    async fn rows(reader: &DatabaseConnection) -> Vec<i64> {
        reader
            .query_all_raw(Statement::from_string(
                reader.get_database_backend(),
                "SELECT x FROM t ORDER BY x",
            ))
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get_by_index::<i64>(0).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_failing_job_is_undone_alone_while_the_jobs_queued_with_it_commit() {
        let (writer, reader, dir) = writer_and_reader().await;
        let jobs = (0..40).map(|i| {
            let w = writer.clone();
            tokio::spawn(async move {
                w.run(move |db| {
                    Box::pin(async move {
                        db.execute_unprepared(&insert(i)).await?;
                        db.execute_unprepared(&insert(1000 + i)).await?;
                        if i == 7 {
                            return Err(StoreError::Conflict);
                        }
                        Ok(i)
                    })
                })
                .await
            })
        });
        let results = futures_util::future::join_all(jobs).await;
        for (i, r) in results.into_iter().enumerate() {
            match r.unwrap() {
                Ok(v) => assert_eq!(v, i as i64),
                Err(StoreError::Conflict) => assert_eq!(i, 7),
                Err(e) => panic!("job {i}: {e}"),
            }
        }
        let stored = rows(&reader).await;
        assert_eq!(
            stored.len(),
            78,
            "both rows of every job but the failed one"
        );
        assert!(!stored.contains(&7) && !stored.contains(&1007));
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_one_statement_job_that_fails_leaves_the_rest_of_its_batch_intact() {
        let (writer, reader, dir) = writer_and_reader().await;
        let jobs = (0..30).map(|i| {
            let w = writer.clone();
            tokio::spawn(async move {
                // Every third job inserts a key that another job inserts too.
                let x = if i % 3 == 0 { 0 } else { i };
                w.run_statement(move |db| {
                    Box::pin(async move {
                        db.execute_unprepared(&insert(x))
                            .await
                            .map_err(super::super::conflict_or)?;
                        Ok(())
                    })
                })
                .await
            })
        });
        let results = futures_util::future::join_all(jobs).await;
        let conflicts = results
            .into_iter()
            .filter(|r| matches!(r, Ok(Err(StoreError::Conflict))))
            .count();
        assert_eq!(conflicts, 9, "ten jobs wanted key 0; one got it");
        let stored = rows(&reader).await;
        assert_eq!(stored.len(), 21);
        std::fs::remove_dir_all(dir).ok();
    }

    #[tokio::test]
    async fn a_write_is_visible_to_other_connections_when_its_caller_is_answered() {
        let (writer, reader, dir) = writer_and_reader().await;
        for i in 0..20 {
            writer
                .run_statement(move |db| {
                    Box::pin(async move {
                        db.execute_unprepared(&insert(i)).await?;
                        Ok(())
                    })
                })
                .await
                .unwrap();
            assert_eq!(rows(&reader).await.len() as i64, i + 1);
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
