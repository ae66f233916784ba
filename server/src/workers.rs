//! Fixed sets of named threads for CPU-bound work that would otherwise hold an HTTP worker
//! (argon2id hashes, RS256 signatures): jobs queue in the order asked, each thread keeps
//! state of its own (an argon2 working memory), and a job that panics is answered as failed
//! while its thread goes on with fresh state, so a pool never shrinks.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

/// A job for a thread of the pool, with the thread's own state.
type Job<S> = Box<dyn FnOnce(&mut S) + Send>;

/// Why a job has no result.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("the {0} threads have stopped")]
    Stopped(&'static str),
    #[error("a {0} job ended without an answer (it panicked)")]
    NoAnswer(&'static str),
}

/// The queue of a pool's jobs. The threads stop once every clone is dropped and the jobs
/// queued are done.
pub struct Workers<S> {
    name: &'static str,
    jobs: mpsc::Sender<Job<S>>,
}

impl<S> Clone for Workers<S> {
    fn clone(&self) -> Self {
        Self {
            name: self.name,
            jobs: self.jobs.clone(),
        }
    }
}

impl<S: 'static> Workers<S> {
    /// Start `threads` (at least one) threads named `name-0`, `name-1`, …, each with the state
    /// `state` makes; at most `queue` jobs wait before callers wait to queue theirs.
    pub fn start(
        name: &'static str,
        threads: usize,
        queue: usize,
        state: impl Fn() -> S + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let (jobs, waiting) = mpsc::channel::<Job<S>>(queue.max(1));
        let waiting = Arc::new(Mutex::new(waiting));
        let state = Arc::new(state);
        for i in 0..threads.max(1) {
            let waiting = waiting.clone();
            let state = state.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || serve(name, &waiting, state.as_ref()))?;
        }
        Ok(Self { name, jobs })
    }

    /// `work`'s result, computed on one of the threads with its state.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut S) -> T + Send + 'static,
    ) -> Result<T, WorkerError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(move |state: &mut S| {
                let _ = reply.send(work(state));
            }))
            .await
            .map_err(|_| WorkerError::Stopped(self.name))?;
        answer.await.map_err(|_| WorkerError::NoAnswer(self.name))
    }
}

/// A thread's loop: take the next job, run it; after a panic (its caller is answered by the
/// reply dropped while unwinding) start again from fresh state.
fn serve<S>(name: &str, waiting: &Mutex<mpsc::Receiver<Job<S>>>, fresh: &dyn Fn() -> S) {
    let mut state = fresh();
    loop {
        // One idle thread waits on the queue while the others wait for the lock.
        let job = match waiting.lock() {
            Ok(mut queue) => queue.blocking_recv(),
            Err(_) => return,
        };
        let Some(job) = job else { return };
        if catch_unwind(AssertUnwindSafe(|| job(&mut state))).is_err() {
            tracing::error!(
                pool = name,
                "a job panicked; its caller gets an error and the thread goes on"
            );
            state = fresh();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool of one thread whose state counts the jobs it has run.
    fn counting() -> Workers<u32> {
        Workers::start("test", 1, 8, || 0).unwrap()
    }

    #[tokio::test]
    async fn jobs_run_in_order_on_the_named_thread_with_its_own_state() {
        let pool = counting();
        for expected in 1..=3 {
            let (count, thread) = pool
                .run(|n: &mut u32| {
                    *n += 1;
                    (*n, std::thread::current().name().map(str::to_owned))
                })
                .await
                .unwrap();
            assert_eq!(count, expected);
            assert_eq!(thread.as_deref(), Some("test-0"));
        }
    }

    #[tokio::test]
    async fn a_job_that_panics_is_answered_with_an_error_and_the_thread_goes_on_with_fresh_state() {
        let pool = counting();
        pool.run(|n: &mut u32| *n += 5).await.unwrap();
        let failed = pool
            .run(|_: &mut u32| -> u32 { panic!("a bug in a job") })
            .await;
        assert!(
            matches!(failed, Err(WorkerError::NoAnswer("test"))),
            "{failed:?}"
        );
        let after = pool.run(|n: &mut u32| std::mem::take(n)).await.unwrap();
        assert_eq!(
            after, 0,
            "the state was made afresh, not the one the panic left"
        );
    }

    #[tokio::test]
    async fn concurrent_jobs_on_several_threads_each_get_their_own_answer() {
        let pool: Workers<()> = Workers::start("test", 3, 2, || ()).unwrap();
        let answers =
            futures_util::future::join_all((0..50u32).map(|i| pool.run(move |_: &mut ()| i * 2)))
                .await;
        for (i, answer) in (0..50u32).zip(answers) {
            assert_eq!(answer.unwrap(), i * 2);
        }
    }
}
