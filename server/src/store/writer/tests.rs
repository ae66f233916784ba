//! The writer thread on a real SQLite file: group commit, savepoints, visibility.

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
                        .map_err(crate::store::conflict_or)?;
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

fn direct_insert(x: i64) -> Statement {
    Statement::from_string(DbBackend::Sqlite, insert(x))
}

async fn direct(
    writer: &Writer,
    statements: Vec<Statement>,
    isolation: Isolation,
) -> StoreResult<Vec<u64>> {
    let Inner::Thread(tx) = &writer.0 else {
        panic!("a SQLite file has a writer thread");
    };
    Writer::on_direct(tx, isolation, move |conn| {
        direct::run_all(conn, &statements)
    })
    .await
}

#[tokio::test]
async fn a_failing_direct_pair_is_undone_alone_while_the_jobs_queued_with_it_commit() {
    let (writer, reader, dir) = writer_and_reader().await;
    let jobs = (0..40).map(|i| {
        let w = writer.clone();
        tokio::spawn(async move {
            // Job 7's second insert repeats job 3's first key: job 7 fails as a whole.
            let second = if i == 7 { 3 } else { 1000 + i };
            direct(
                &w,
                vec![direct_insert(i), direct_insert(second)],
                Isolation::Savepoint,
            )
            .await
        })
    });
    let results = futures_util::future::join_all(jobs).await;
    for (i, r) in results.into_iter().enumerate() {
        match r.unwrap() {
            Ok(changed) => assert_eq!(changed, vec![1, 1]),
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
async fn a_write_that_reads_between_its_statements_runs_directly_on_a_file_and_is_undone_whole() {
    let (writer, reader, dir) = writer_and_reader().await;
    let jobs = (0..40).map(|i| {
        let w = writer.clone();
        tokio::spawn(async move {
            w.run_direct_or(
                move |conn| {
                    // The row the first insert returns decides the second: job 7's second
                    // key is taken, so job 7 is undone as a whole.
                    let first = direct_insert(i);
                    let returning = Statement::from_string(
                        DbBackend::Sqlite,
                        format!("{} RETURNING x", first.sql),
                    );
                    let x: i64 = direct::first_row(conn, &returning, |row| row.get(0))?
                        .ok_or(StoreError::WriterGone)?;
                    let second = if x == 7 { 3 } else { 1000 + x };
                    direct::run_all(conn, &[direct_insert(second)]).map(drop)
                },
                |_| Box::pin(async { Err(custom("the sea-orm path ran on a SQLite file")) }),
            )
            .await
        })
    });
    let results = futures_util::future::join_all(jobs).await;
    for (i, r) in results.into_iter().enumerate() {
        match r.unwrap() {
            Ok(()) => assert_ne!(i, 7),
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
async fn direct_and_sea_orm_jobs_queued_together_all_commit_and_conflicts_are_reported() {
    let (writer, reader, dir) = writer_and_reader().await;
    let jobs = (0..30).map(|i| {
        let w = writer.clone();
        tokio::spawn(async move {
            // Every third job inserts key 0, half of them directly, half through sea-orm.
            let x = if i % 3 == 0 { 0 } else { i };
            if i % 2 == 0 {
                direct(&w, vec![direct_insert(x)], Isolation::Statement)
                    .await
                    .map(drop)
            } else {
                w.run_statement(move |db| {
                    Box::pin(async move {
                        db.execute_unprepared(&insert(x))
                            .await
                            .map_err(crate::store::conflict_or)?;
                        Ok(())
                    })
                })
                .await
            }
        })
    });
    let results = futures_util::future::join_all(jobs).await;
    let conflicts = results
        .into_iter()
        .filter(|r| matches!(r, Ok(Err(StoreError::Conflict))))
        .count();
    assert_eq!(conflicts, 9, "ten jobs wanted key 0; one got it");
    assert_eq!(rows(&reader).await.len(), 21);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_direct_write_is_visible_to_other_connections_when_its_caller_is_answered() {
    let (writer, reader, dir) = writer_and_reader().await;
    for i in 0..20 {
        let changed = direct(&writer, vec![direct_insert(i)], Isolation::Statement)
            .await
            .unwrap();
        assert_eq!(changed, vec![1]);
        assert_eq!(rows(&reader).await.len() as i64, i + 1);
    }
    let removed = direct(
        &writer,
        vec![Statement::from_string(
            DbBackend::Sqlite,
            "DELETE FROM t WHERE x < 5",
        )],
        Isolation::Statement,
    )
    .await
    .unwrap();
    assert_eq!(removed, vec![5], "rows changed are counted");
    assert_eq!(rows(&reader).await.len(), 15);
    std::fs::remove_dir_all(dir).ok();
}
