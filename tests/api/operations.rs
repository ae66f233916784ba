//! What operators rely on: /healthz says the process lives, /readyz whether it can serve
//! (database, migrations, keys); instances starting together on a fresh database migrate it
//! once; an instance refuses a database a newer build migrated.

use crate::helpers::*;
use sea_orm::ConnectionTrait;

async fn get_json(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let res = app.http.get(app.url(path)).send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(
        res.headers().get("cache-control").unwrap(),
        "no-store",
        "{path} is never cached"
    );
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn healthz_and_readyz_answer_with_each_check() {
    let app = spawn_app().await;
    let (status, body) = get_json(&app, "/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("alive")));
    let (status, body) = get_json(&app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["checks"],
        serde_json::json!({"database": "ok", "migrations": "ok", "keys": "ok"})
    );
}

async fn record_future_migration(app: &TestApp) {
    let db = sea_orm::Database::connect(&app.db_url).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000099_from_the_future', 0)",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_build_is_not_ready_and_refused_at_start() {
    let app = spawn_app().await;
    record_future_migration(&app).await;
    let (status, body) = get_json(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["checks"]["migrations"]
            .as_str()
            .unwrap()
            .contains("m29991231_000099_from_the_future"),
        "{body}"
    );
    assert_eq!(get_json(&app, "/healthz").await.0, 200);

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let settings = (*app.app_state.settings).clone();
    let refused = ostiary::startup::Application::build_on(
        settings,
        std::sync::Arc::new(ostiary::clock::ManualClock::starting_now()),
        listener,
    )
    .await;
    let Err(e) = refused else {
        panic!("an instance started on a database from the future");
    };
    let message = format!("{e:#}");
    assert!(message.contains("migrated by a newer Ostiary"), "{message}");
}

#[tokio::test]
async fn three_instances_starting_together_on_a_fresh_database_migrate_it_once_and_make_one_key() {
    let apps = spawn_cluster(3, |_| {}).await;
    for app in &apps {
        assert_eq!(get_json(app, "/readyz").await.0, 200);
    }
    let db = sea_orm::Database::connect(&apps[0].db_url).await.unwrap();
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations",
        ))
        .await
        .unwrap();
    let mut versions: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "version").unwrap())
        .collect();
    let all = versions.len();
    versions.dedup();
    assert_eq!(versions.len(), all, "each migration recorded once");
    let keys = apps[0].app_state.store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 1, "one first signing key, not one per instance");
    assert!(
        apps[0]
            .app_state
            .store
            .pending_migrations()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn ostiary_backup_copies_the_sqlite_file_while_it_serves_and_points_postgresql_to_pg_dump() {
    let app = spawn_app().await;
    app.webapp_tokens().await;
    let copy = app.dir.join("backup.db");
    let copy_arg = copy.to_str().unwrap().to_owned();
    let code = ostiary_cli(&app, &["backup", "--to", &copy_arg]).await;
    if app.db_url.starts_with("postgres") {
        assert_eq!(code, 2, "PostgreSQL is backed up with pg_dump");
        assert!(!copy.exists());
        return;
    }
    assert_eq!(code, 0);
    let db = sea_orm::Database::connect(format!("sqlite://{}?mode=ro", copy.display()))
        .await
        .unwrap();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM accounts",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.try_get::<i64>("", "n").unwrap(),
        1,
        "the account is in the copy"
    );
    assert_eq!(
        ostiary_cli(&app, &["backup", "--to", &copy_arg]).await,
        1,
        "an existing file is not overwritten"
    );
}
