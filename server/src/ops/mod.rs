//! What operators and their tooling call: health and readiness (for load balancers and
//! orchestrators), Prometheus metrics, and the request middleware (request ids, the access
//! log, HTTP metrics).

pub mod health;
pub mod metrics;
pub mod rate_limit;
pub mod requests;
