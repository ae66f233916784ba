//! The writer thread's side: each stretch of queued jobs in one transaction (the sea-orm jobs
//! on the sea-orm connection, the direct ones on the direct connection), every caller answered
//! once its transaction's commit is known; and the transactions of the pool's jobs.

use futures_util::FutureExt;
use sea_orm::{DatabaseConnection, DatabaseExecutor, DatabaseTransaction, DbErr, TransactionTrait};
use std::panic::AssertUnwindSafe;
use tokio::sync::{mpsc, oneshot};

use super::{Direct, InBatch, Job, MAX_BATCH, Ran, WriteFuture};
use crate::store::{StoreError, StoreResult, direct};

/// What a job leaves for the batch: the answer its caller gets once the commit is known.
pub(super) fn ran<T: Send + 'static>(
    reply: oneshot::Sender<StoreResult<T>>,
    result: StoreResult<T>,
    poisoned: bool,
) -> Ran {
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
}

pub(super) use crate::store::custom;

/// Run a job in a transaction of its own on the pool.
pub(super) async fn in_transaction<T, F>(db: &DatabaseConnection, job: F) -> StoreResult<T>
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
pub(super) async fn in_savepoint<T, F>(txn: &DatabaseTransaction, job: F) -> (StoreResult<T>, bool)
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
pub(super) async fn serve(
    db: DatabaseConnection,
    conn: rusqlite::Connection,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut queued, MAX_BATCH).await > 0 {
        let mut batch = Vec::new();
        let mut direct_batch = Vec::new();
        for job in queued.drain(..) {
            match job {
                Job::InBatch(j) => batch.push(j),
                Job::Direct(j) => direct_batch.push(j),
                Job::Alone(j) => {
                    commit(&db, std::mem::take(&mut batch)).await;
                    commit_direct(&conn, std::mem::take(&mut direct_batch));
                    j(&db).await;
                }
            }
        }
        commit(&db, batch).await;
        commit_direct(&conn, direct_batch);
    }
    let _ = db.close().await;
}

/// The direct jobs of a batch in one transaction of the direct connection. A job that finds
/// the transaction gone (SQLite rolls back by itself on some I/O and full-disk errors) is not
/// run, so nothing is written outside it.
fn commit_direct(conn: &rusqlite::Connection, batch: Vec<Direct>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = direct::control(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, jobs = batch.len(), "the writer could not begin a transaction");
        return;
    }
    let mut ran = Vec::with_capacity(batch.len());
    let mut poisoned = false;
    for job in batch {
        if conn.is_autocommit() {
            poisoned = true;
            break;
        }
        let r = job(conn);
        poisoned |= r.poisoned;
        ran.push(r.answer);
    }
    let committed = if poisoned || conn.is_autocommit() {
        tracing::error!("a write could not be undone; the whole batch is rolled back");
        let _ = direct::control(conn, "ROLLBACK");
        Err(DbErr::Custom("the batch was rolled back".into()))
    } else {
        direct::control(conn, "COMMIT").map_err(|e| {
            if !conn.is_autocommit() {
                let _ = direct::control(conn, "ROLLBACK");
            }
            direct::db_err(e)
        })
    };
    if let Err(e) = &committed {
        tracing::error!(error = %e, "a batch of writes did not commit");
    }
    for answer in ran {
        answer(committed.as_ref().map(|_| ()));
    }
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
