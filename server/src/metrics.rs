//! Prometheus metrics of one instance (the prometheus crate, text exposition format), served
//! by `ops::metrics` at `/metrics` on the separate `[metrics] bind` listener. Counters move
//! with traffic; the gauges (queues, key age, the database pool) are read when scraped. Names follow Prometheus conventions
//! (`ostiary_…_total`, `_seconds`); labels never carry a user's value, only our own routes,
//! kinds, configured client and upstream ids.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::audit::{AuditEvent, AuditKind};
use crate::keys::KeySet;
use crate::store::Store;

/// One instance's metrics.
pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub audit_events: IntCounterVec,
    pub sign_ins: IntCounterVec,
    pub tokens_issued: IntCounterVec,
    pub upstream_duration: HistogramVec,
    pub upstream_errors: IntCounterVec,
    pub database_errors: IntCounter,
    pub config_reloads: IntCounterVec,
    queue_depth: IntGaugeVec,
    pool: IntGaugeVec,
    key_age: IntGauge,
    published_keys: IntGauge,
}

type Made<T> = Result<T, prometheus::Error>;

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Made<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Made<HistogramVec> {
    let buckets = vec![
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

impl Metrics {
    pub fn new() -> Made<Self> {
        let r = Registry::new();
        let database_errors = IntCounter::new(
            "ostiary_database_errors_total",
            "Database statements that failed (in this process), unreachable database included.",
        )?;
        r.register(Box::new(database_errors.clone()))?;
        let gauge_vec = |name: &str, help: &str, label: &str| {
            let g = IntGaugeVec::new(Opts::new(name, help), &[label])?;
            r.register(Box::new(g.clone()))?;
            Made::Ok(g)
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help)?;
            r.register(Box::new(g.clone()))?;
            Made::Ok(g)
        };
        let queue_depth = gauge_vec(
            "ostiary_queue_depth",
            "Messages waiting in a delivery queue (email, logout).",
            "queue",
        )?;
        let pool = gauge_vec(
            "ostiary_database_pool_connections",
            "Connections in the read pool, by state (idle, busy).",
            "state",
        )?;
        let key_age = gauge(
            "ostiary_signing_key_age_seconds",
            "How long the current signing key has signed.",
        )?;
        let published_keys = gauge(
            "ostiary_published_signing_keys",
            "Keys in the JWKS (the signing key, the next one, retired ones not yet expired).",
        )?;
        Ok(Self {
            http_requests: counter(
                &r,
                "ostiary_http_requests_total",
                "HTTP requests by route, method and status.",
                &["route", "method", "status"],
            )?,
            http_duration: histogram(
                &r,
                "ostiary_http_request_duration_seconds",
                "Time to answer an HTTP request, by route.",
                &["route"],
            )?,
            audit_events: counter(
                &r,
                "ostiary_audit_events_total",
                "Audit records written, by kind (lockouts, rate limits, reuse detections, …).",
                &["kind"],
            )?,
            sign_ins: counter(
                &r,
                "ostiary_sign_ins_total",
                "Sign-ins by method (password, upstream) and outcome (succeeded, failed, locked).",
                &["method", "outcome"],
            )?,
            tokens_issued: counter(
                &r,
                "ostiary_tokens_issued_total",
                "Token responses by grant type and client.",
                &["grant", "client"],
            )?,
            upstream_duration: histogram(
                &r,
                "ostiary_upstream_request_duration_seconds",
                "Time an upstream took to finish a sign-in (code exchange, keys, profile).",
                &["upstream"],
            )?,
            upstream_errors: counter(
                &r,
                "ostiary_upstream_errors_total",
                "Upstream sign-ins that failed, by upstream and kind.",
                &["upstream", "kind"],
            )?,
            database_errors,
            config_reloads: counter(
                &r,
                "ostiary_config_reloads_total",
                "Config reloads (SIGHUP) by outcome (applied, refused).",
                &["outcome"],
            )?,
            queue_depth,
            pool,
            key_age,
            published_keys,
            registry: r,
        })
    }

    /// Count an audit record (and a sign-in, for the sign-in kinds).
    pub fn observe_audit(&self, e: &AuditEvent) {
        self.audit_events
            .with_label_values(&[e.kind.as_str()])
            .inc();
        let method = if e.upstream_id.is_some() {
            "upstream"
        } else {
            "password"
        };
        let outcome = match e.kind {
            AuditKind::LoginSucceeded => "succeeded",
            AuditKind::LoginFailed => "failed",
            AuditKind::LoginLocked => "locked",
            _ => return,
        };
        self.sign_ins.with_label_values(&[method, outcome]).inc();
    }

    /// The exposition text, with the gauges read now.
    pub async fn render(&self, store: &Store, keys: &KeySet, now: i64) -> String {
        match store.queue_depths().await {
            Ok((email, logouts)) => {
                self.queue_depth
                    .with_label_values(&["email"])
                    .set(email as i64);
                self.queue_depth
                    .with_label_values(&["logout"])
                    .set(logouts as i64);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: reading the queues failed"),
        }
        let (size, idle) = store.pool_stats();
        self.pool.with_label_values(&["idle"]).set(idle as i64);
        self.pool
            .with_label_values(&["busy"])
            .set(i64::from(size) - idle as i64);
        let errors = crate::store::database_errors();
        self.database_errors
            .inc_by(errors.saturating_sub(self.database_errors.get()));
        let ring = keys.current();
        self.key_age.set(now - ring.signing_since());
        self.published_keys.set(ring.published_kids().len() as i64);
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "metrics: encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
