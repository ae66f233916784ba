//! GET /metrics on the `[metrics] bind` listener: this instance's Prometheus metrics
//! (`crate::metrics`), gauges read at the scrape.

use actix_web::HttpResponse;

use crate::state::State;

/// GET /metrics on the metrics listener.
pub async fn metrics(state: State) -> HttpResponse {
    let body = state
        .metrics
        .render(&state.store, &state.keys, state.now())
        .await;
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
