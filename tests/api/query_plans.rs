//! On PostgreSQL a lookup by key uses its key's index even when the table's statistics saw only
//! expired rows (as between two collections on any table of short-lived rows): a lookup's
//! expiry check is `expires_at + 0 > now`, which no index matches (`store/live.rs`), so the
//! planner, which estimates `expires_at > now` at one row there, never searches the
//! collector's expiry index instead and reads every live row. PostgreSQL's own index counters
//! over a real run of the flows tell which indexes the statements searched.

use crate::helpers::*;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// Expired rows in every table the flows look up by key (the benchmark's prefill, with the
/// app's clock), then ANALYZE: the statistics see nothing live.
async fn prefill_expired(db: &DatabaseConnection, now: i64) {
    let sql = include_str!("../../bench/prefill/postgres.sql")
        .replace("@NOW@", &now.to_string())
        .replace("@N@", "2000");
    for statement in sql.split(";\n").map(str::trim).filter(|s| !s.is_empty()) {
        db.execute_unprepared(statement)
            .await
            .unwrap_or_else(|e| panic!("prefill: {e}\n{statement}"));
    }
}

/// One connection of the test's own (a pool's idle connections would count as the app's).
async fn connect(db_url: &str) -> DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(db_url);
    options.max_connections(1).sqlx_logging(false);
    sea_orm::Database::connect(options).await.unwrap()
}

/// Stop the app and wait for its connections' server processes to end: each reports its
/// index counters as it exits.
async fn stop_and_flush_statistics(app: &mut TestApp) {
    let db = connect(&app.db_url).await;
    app.server.stop(true).await;
    let serving = app.serving.take().expect("the app is serving");
    serving.await.unwrap().unwrap();
    for _ in 0..200 {
        let others = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            ))
            .await
            .unwrap()
            .and_then(|r| r.try_get::<i64>("", "n").ok())
            .unwrap_or(-1);
        if others == 0 {
            let _ = db.close().await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the app's database connections did not end");
}

/// The indexes searched at least once, with their counts (from a connection opened after the
/// app's ended: its statistics snapshot has every counter they reported).
async fn searched_indexes(db_url: &str) -> Vec<(String, i64)> {
    let db = connect(db_url).await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT indexrelname AS name, idx_scan AS n FROM pg_stat_user_indexes \
             WHERE idx_scan > 0 ORDER BY indexrelname",
        ))
        .await
        .unwrap();
    let _ = db.close().await;
    rows.iter()
        .map(|r| (r.try_get("", "name").unwrap(), r.try_get("", "n").unwrap()))
        .collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: .ci/run runs it with TEST_DATABASE_URL set and --include-ignored"]
async fn lookups_by_key_search_their_keys_not_an_expiry_index_when_statistics_saw_only_expired_rows()
 {
    std::env::var("TEST_DATABASE_URL").expect("this test needs TEST_DATABASE_URL (PostgreSQL)");
    let mut app = spawn_app().await;
    let db = connect(&app.db_url).await;
    prefill_expired(&db, ostiary::clock::Clock::now(&app.clock)).await;
    let _ = db.close().await;

    // A sign-in with consent and its code exchange, then again on the session with the
    // remembered consent; the refresh token rotated; the access token used.
    let first = app.webapp_tokens().await;
    let second = app.webapp_tokens().await;
    let refreshed = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access).await.status(), 200);

    stop_and_flush_statistics(&mut app).await;
    let searched = searched_indexes(&app.db_url).await;
    let names: Vec<&str> = searched.iter().map(|(n, _)| n.as_str()).collect();
    let by_expiry: Vec<_> = searched
        .iter()
        .filter(|(n, _)| n.ends_with("_expires_at"))
        .collect();
    assert!(
        by_expiry.is_empty(),
        "lookups searched an expiry index: {by_expiry:?}"
    );
    for key in [
        "auth_requests_pkey",
        "browser_sessions_pkey",
        "auth_codes_pkey",
        "refresh_tokens_pkey",
    ] {
        assert!(
            names.contains(&key),
            "the flows' lookups by key were counted ({key} missing from {searched:?})"
        );
    }
}
