//! What operators and their tooling call: health and readiness (for load balancers and
//! orchestrators).

pub mod health;
