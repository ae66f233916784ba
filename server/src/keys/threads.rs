//! The signing threads: every RS256 signature a request needs (RFC 7515, two hundred to four
//! hundred microseconds of a core) is made on one of these, one per core, in the order asked.
//! Made on the HTTP worker that asked, a signature held up every other request on that worker
//! and those requests were served in whatever order its tasks woke: under load a code
//! exchange's latency spread from one to five times its median. One queue served in order
//! keeps the spread to the queue's length.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::{KeyError, KeyRing};

struct Job {
    ring: Arc<KeyRing>,
    claims: Map<String, Value>,
    typ: &'static str,
    reply: tokio::sync::oneshot::Sender<Result<String, KeyError>>,
}

/// The queue of signatures to make. The threads stop once every clone is dropped.
#[derive(Clone)]
pub(super) struct SigningThreads {
    jobs: Sender<Job>,
}

impl SigningThreads {
    pub(super) fn start(threads: usize) -> Result<Self, KeyError> {
        let (jobs, queue) = channel::<Job>();
        let queue: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("sign-{i}"))
                .spawn(move || {
                    loop {
                        // One idle thread waits on the queue while the others wait for the lock.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        let _ = job.reply.send(job.ring.sign(job.claims, job.typ));
                    }
                })
                .map_err(|e| KeyError::Crypto(format!("signing thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    pub(super) async fn sign(
        &self,
        ring: Arc<KeyRing>,
        claims: Map<String, Value>,
        typ: &'static str,
    ) -> Result<String, KeyError> {
        let gone = || KeyError::Crypto("the signing threads have stopped".into());
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job {
                ring,
                claims,
                typ,
                reply,
            })
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}
