//! Test databases: a SQLite file per test, or with `TEST_DATABASE_URL` a new PostgreSQL
//! database per test, dropped when the test ends.

use sea_orm::ConnectionTrait;
use url::Url;

/// A fresh database for one test, and the PostgreSQL database to drop afterwards.
pub async fn database_url(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!("ostiary_test_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&base)
                .await
                .expect("TEST_DATABASE_URL must be reachable");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let mut url = Url::parse(&base).expect("TEST_DATABASE_URL is a URL");
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((base, name)))
        }
        _ => (
            format!("sqlite://{}/ostiary.db?mode=rwc", dir.display()),
            None,
        ),
    }
}

/// Drop a PostgreSQL test database (FORCE ends the server's pooled connections).
pub fn drop_database(base: String, name: String, db_url: &str) {
    let dropped = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let admin = sea_orm::Database::connect(&base).await.ok()?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .ok()?;
            let _ = admin.close().await;
            Some(())
        })
    })
    .join();
    if !matches!(dropped, Ok(Some(()))) {
        eprintln!("could not drop test database {db_url}");
    }
}
