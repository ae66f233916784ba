//! Per-address rate limits (OWASP ASVS 6.3.1, 2.4.1 anti-automation) with governor: each kind
//! of request (`[limits]`) has its own bucket keyed by the client's address (behind trusted
//! proxies, the forwarded one). Over the limit the answer is 429 with `Retry-After`: an OAuth
//! JSON error for the back-channel endpoints, an HTML page for the browser forms; the first
//! refusal of an address in a minute goes to the audit log. This slows password spraying (one
//! address, many emails) without locking the accounts it tries. Limits are per instance.

use actix_web::HttpResponse;
use actix_web::http::{Method, StatusCode, header};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;

use crate::config::LimitSettings;

/// The kinds of request with a bucket of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    SignIn,
    SignUp,
    PasswordReset,
    EmailCodes,
    Token,
    Introspection,
    Revocation,
}

impl Bucket {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignUp => "sign_up",
            Self::PasswordReset => "password_reset",
            Self::EmailCodes => "email_codes",
            Self::Token => "token",
            Self::Introspection => "introspection",
            Self::Revocation => "revocation",
        }
    }

    /// The bucket a request falls in, if any (only POSTs are limited).
    pub fn of(method: &Method, path: &str) -> Option<Self> {
        if method != Method::POST {
            return None;
        }
        Some(match path {
            "/login" | "/login/passkey" | "/login/upstream" | "/mfa" | "/mfa/passkey" => {
                Self::SignIn
            }
            "/register" => Self::SignUp,
            "/forgot" | "/reset" => Self::PasswordReset,
            "/verify" | "/verify/resend" => Self::EmailCodes,
            "/token" => Self::Token,
            "/introspect" => Self::Introspection,
            "/revoke" => Self::Revocation,
            _ => return None,
        })
    }

    /// Answered with OAuth JSON (clients), not an HTML page (browsers).
    fn is_back_channel(self) -> bool {
        matches!(self, Self::Token | Self::Introspection | Self::Revocation)
    }
}

/// The buckets of this instance (in the app data).
pub struct Limiters {
    buckets: Vec<(Bucket, DefaultKeyedRateLimiter<IpAddr>)>,
    /// `rate_limit_per_minute` of each client that has one.
    clients: std::collections::HashMap<String, governor::DefaultDirectRateLimiter>,
    client_gate: DefaultKeyedRateLimiter<String>,
    /// One audit record per address and bucket a minute, so a flood is not a flood of rows.
    audit_gate: DefaultKeyedRateLimiter<(IpAddr, Bucket)>,
}

impl Limiters {
    /// Whether a refusal for this address and bucket is the first this minute (the one to
    /// audit).
    pub fn first_refusal(&self, ip: IpAddr, bucket: Bucket) -> bool {
        self.audit_gate.check_key(&(ip, bucket)).is_ok()
    }

    pub fn new(s: &LimitSettings, clients: &crate::clients::ClientRegistry) -> Self {
        let per_minute = [
            (Bucket::SignIn, s.sign_in_per_minute),
            (Bucket::SignUp, s.sign_up_per_minute),
            (Bucket::PasswordReset, s.password_reset_per_minute),
            (Bucket::EmailCodes, s.email_codes_per_minute),
            (Bucket::Token, s.token_per_minute),
            (Bucket::Introspection, s.introspection_per_minute),
            (Bucket::Revocation, s.revocation_per_minute),
        ];
        let buckets = per_minute
            .into_iter()
            .filter_map(|(b, n)| {
                NonZeroU32::new(n)
                    .map(|n| (b, DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))))
            })
            .collect();
        let clients = clients
            .all()
            .into_iter()
            .filter_map(|c| {
                let n = c.rate_limit_per_minute?;
                Some((
                    c.id.as_str().to_owned(),
                    governor::DefaultDirectRateLimiter::direct(Quota::per_minute(n)),
                ))
            })
            .collect();
        Self {
            buckets,
            clients,
            client_gate: DefaultKeyedRateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
            audit_gate: DefaultKeyedRateLimiter::keyed(Quota::per_minute(NonZeroU32::MIN)),
        }
    }

    /// `None` when the request may go on; else the seconds to wait.
    pub fn check(&self, bucket: Bucket, ip: IpAddr) -> Option<u64> {
        let (_, limiter) = self.buckets.iter().find(|(b, _)| *b == bucket)?;
        match limiter.check_key(&ip) {
            Ok(()) => None,
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Some(wait.as_secs().max(1))
            }
        }
    }

    /// `None` when client `client_id` may make another token request; else the seconds to
    /// wait, and whether this is the first refusal of the client this minute (to audit).
    pub fn check_client(&self, client_id: &str) -> Option<(u64, bool)> {
        let limiter = self.clients.get(client_id)?;
        limiter.check().err().map(|not_until| {
            let wait = not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1);
            (
                wait,
                self.client_gate.check_key(&client_id.to_owned()).is_ok(),
            )
        })
    }

    /// Forget addresses whose buckets are full again (bounded memory; run on a timer).
    pub fn forget_idle(&self) {
        for (_, l) in &self.buckets {
            l.retain_recent();
        }
        self.audit_gate.retain_recent();
        self.client_gate.retain_recent();
    }
}

/// The 429 answer for `bucket`, waiting `retry_after` seconds.
pub fn too_many(bucket: Bucket, retry_after: u64) -> HttpResponse {
    let mut res = if bucket.is_back_channel() {
        HttpResponse::build(StatusCode::TOO_MANY_REQUESTS)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "too many requests from this address; retry later",
            }))
    } else {
        crate::pages::render(
            StatusCode::TOO_MANY_REQUESTS,
            &crate::pages::ErrorPage {
                title: "Too many attempts",
                message: "Too many requests came from your network. Wait a minute and try again.",
            },
        )
    };
    if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bucket_counts_its_own_requests_per_address() {
        let none = crate::clients::ClientRegistry::from_config(&[], &|_| None).unwrap();
        let l = Limiters::new(
            &LimitSettings {
                sign_in_per_minute: 2,
                ..LimitSettings::off()
            },
            &none,
        );
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        assert_eq!(l.check(Bucket::SignIn, a), None);
        assert_eq!(l.check(Bucket::SignIn, a), None);
        assert!(l.check(Bucket::SignIn, a).is_some_and(|s| s >= 1));
        assert_eq!(
            l.check(Bucket::SignIn, b),
            None,
            "another address has its own"
        );
        assert_eq!(l.check(Bucket::Token, a), None, "a bucket that is off");
    }

    #[test]
    fn only_the_listed_posts_are_limited() {
        assert_eq!(Bucket::of(&Method::POST, "/login"), Some(Bucket::SignIn));
        assert_eq!(Bucket::of(&Method::GET, "/login"), None);
        assert_eq!(Bucket::of(&Method::POST, "/token"), Some(Bucket::Token));
        assert_eq!(Bucket::of(&Method::POST, "/account/profile"), None);
    }
}
