//! The rate-limit middleware: each request in a `[limits]` bucket is counted for its client
//! address (`limits::Limiters` of the current configuration); over the limit it is answered
//! 429 with `Retry-After` before any work, and the first refusal per address and minute is
//! audited (`rate_limited`).

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::limits::{Bucket, too_many};
use crate::state::State;

/// The middleware: count the request in its bucket, or answer 429.
pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let bucket = Bucket::of(req.method(), req.path());
    let limiters = State::of(req.request()).map(|s| s.limiters.clone());
    if let (Some(bucket), Some(limiters)) = (bucket, limiters) {
        let origin = Origin::of(req.request());
        if let Some(ip) = origin.ip
            && let Some(wait) = limiters.check(bucket, ip)
        {
            if limiters.first_refusal(ip, bucket)
                && let Some(state) = State::of(req.request())
            {
                let event = AuditEvent::new(AuditKind::RateLimited, state.now(), &origin)
                    .reason(bucket.as_str());
                if let Err(e) = state.store.audit(event).await {
                    tracing::warn!(error = %e, "recording a rate limit failed");
                }
            }
            return Ok(req
                .into_response(too_many(bucket, wait))
                .map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}
