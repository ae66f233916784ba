//! The signing threads (`[server] signing_threads`): the RS256 signatures (RFC 7515) of a
//! token response, 0.4 to 0.9 ms of a core each on the hosts measured, made in the order asked
//! rather than on the HTTP worker that asked. Signed on the worker, each signature held up
//! every other request on that worker, and the requests ready were not served in the order
//! they became ready: under load on SQLite a code exchange's /token took from 14 to 60 ms (p10
//! to p90) and the exchange's p99 was 1.6 times its median. Served in order, /token takes 61
//! to 76 ms and the exchange's p99 is 1.3 times its median, at the same rate.

use crate::workers::Workers;

use super::KeyError;

/// Signatures waiting at most before callers wait to queue theirs (a token response queues
/// one job for its signatures).
const QUEUE: usize = 4096;

/// The queue of signatures to make. The threads stop once every clone is dropped.
#[derive(Clone)]
pub(super) struct SigningThreads {
    workers: Workers<()>,
}

impl SigningThreads {
    pub(super) fn start(threads: usize) -> Result<Self, KeyError> {
        let workers = Workers::start("sign", threads, QUEUE, || ())
            .map_err(|e| KeyError::Crypto(format!("signing thread: {e}")))?;
        Ok(Self { workers })
    }

    /// `work`'s result, computed on a signing thread.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, KeyError> + Send + 'static,
    ) -> Result<T, KeyError> {
        self.workers
            .run(move |_: &mut ()| work())
            .await
            .map_err(|e| KeyError::Crypto(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::super::{KeyRing, Signer};
    use super::*;
    use serde_json::{Map, json};
    use std::sync::Arc;

    fn claims(n: u32) -> Map<String, serde_json::Value> {
        Map::from_iter([("n".to_owned(), json!(n))])
    }

    #[tokio::test]
    async fn concurrent_signatures_on_the_threads_each_verify_with_their_own_claims() {
        let signer = Signer {
            ring: Arc::new(KeyRing::ephemeral().unwrap()),
            threads: Some(SigningThreads::start(2).unwrap()),
        };
        let tokens =
            futures_util::future::join_all((0..20).map(|n| signer.sign(claims(n), "JWT"))).await;
        for (n, token) in (0..20).zip(tokens) {
            let (got, typ) = signer.ring.verify(&token.unwrap()).unwrap();
            assert_eq!(got["n"], json!(n));
            assert_eq!(typ.as_deref(), Some("JWT"));
        }
    }

    #[tokio::test]
    async fn without_threads_the_caller_signs_and_the_ring_verifies() {
        let signer = Signer {
            ring: Arc::new(KeyRing::ephemeral().unwrap()),
            threads: None,
        };
        let token = signer.sign(claims(7), "at+jwt").await.unwrap();
        let (got, typ) = signer.ring.verify(&token).unwrap();
        assert_eq!(got["n"], json!(7));
        assert_eq!(typ.as_deref(), Some("at+jwt"));
    }
}
