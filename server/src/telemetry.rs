//! Log setup: `tracing` to stderr as text or one JSON object per line (`[log] format`),
//! filtered by `RUST_LOG` or else `[log] filter`. Each request's lines carry its request id
//! (the span `ops::requests` opens). Handlers use `#[tracing::instrument(skip_all)]` so no
//! secret reaches a log line.

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};

/// Install the subscriber (once per process; later calls do nothing).
pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init(),
    };
}
