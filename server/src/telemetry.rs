//! Log setup: `tracing` to stderr, filtered by `RUST_LOG` (default `info`). Handlers use
//! `#[tracing::instrument(skip_all)]` so no secret reaches a log line.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
