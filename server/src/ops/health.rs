//! GET /healthz — the process is alive and serving (no dependency is checked: restarting it
//! would not help a database outage). GET /readyz — this instance can serve sign-ins: the
//! database answers, its migrations are exactly the ones this build knows, and a signing key
//! is loaded; 503 with the failing checks otherwise. Both are cheap and never cached.

use actix_web::HttpResponse;
use actix_web::http::header;
use serde_json::{Map, Value, json};

use crate::state::{AppState, State};

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({"status": "alive"}))
}

pub async fn readyz(state: State) -> HttpResponse {
    let mut checks = Map::new();
    let mut ready = true;
    let mut check = |name: &str, outcome: Result<(), String>| {
        let value = match outcome {
            Ok(()) => Value::from("ok"),
            Err(why) => {
                ready = false;
                Value::from(why)
            }
        };
        checks.insert(name.to_owned(), value);
    };
    let database = state.store.ping().await;
    let reachable = database.is_ok();
    check(
        "database",
        database.map_err(|e| {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            "unreachable".to_owned()
        }),
    );
    if reachable {
        check("migrations", migrations(&state).await);
    }
    check(
        "keys",
        if state.keys.current().signing_kid().is_empty() {
            Err("no signing key".into())
        } else {
            Ok(())
        },
    );
    let body = json!({"status": if ready { "ready" } else { "not ready" }, "checks": checks});
    let mut res = if ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

async fn migrations(state: &AppState) -> Result<(), String> {
    let unknown = state.store.unknown_migrations().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness: reading the migrations failed");
        "unreadable".to_owned()
    })?;
    if !unknown.is_empty() {
        return Err(format!("newer than this build: {}", unknown.join(", ")));
    }
    let pending = state.store.pending_migrations().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness: reading the migrations failed");
        "unreadable".to_owned()
    })?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(format!("{} pending", pending.len()))
    }
}
