//! The middleware every request passes: a request id (the caller's `X-Request-Id` when it is a
//! plain token of at most 128 characters, a new one otherwise) on a span around the request,
//! so every log line it causes carries it, and on the response; the access log line (target
//! `ostiary::http`: peer, path without the query, status, time — never a query string, which
//! can carry codes); and the HTTP metrics by route pattern.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use std::time::Instant;
use tracing::Instrument;

use crate::state::State;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn usable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| usable(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let metrics = State::of(req.request()).map(|s| s.metrics.clone());
    let peer = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let path = req.path().to_owned();
    let method = req.method().as_str().to_owned();
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let seconds = started.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    {
        let _in = span.enter();
        tracing::info!(target: "ostiary::http", %peer, %path, status, ms = seconds * 1e3, "answered");
    }
    if let Some(m) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        m.http_requests
            .with_label_values(&[route.as_str(), method.as_str(), &status.to_string()])
            .inc();
        m.http_duration
            .with_label_values(&[route.as_str()])
            .observe(seconds);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_bounded_request_id_is_taken_over() {
        assert!(usable("7f3c-01.a:b_c"));
        assert!(!usable(""));
        assert!(!usable(&"a".repeat(129)));
        assert!(!usable("evil\nline"));
        assert!(!usable("a b"));
    }
}
