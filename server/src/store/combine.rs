//! Natural batching of one statement's concurrent callers (PostgreSQL's hot statements: see
//! `hot`). A caller hands its input over and waits; a task on the pool's runtime takes every
//! input waiting when one of its `IN_FLIGHT` slots is free and answers them all with one
//! statement over all their keys, so the database server parses, plans, commits and answers
//! once for many of them (its CPU per statement, on the same cores as the HTTP workers on a
//! small machine, was what limited a code exchange). An idle statement is sent at once,
//! alone; once it is under load (its last batch had several callers) a batch first waits a
//! moment (`GATHER`) for the callers on their way, as PostgreSQL's `commit_delay` does. A
//! batch that fails is run again one input at a time, so each caller gets its own answer (a
//! unique-key conflict, a foreign key) and nobody's write depends on another's.

use futures_util::future::{BoxFuture, join_all};
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::sockets::Sockets;
use super::{StoreError, StoreResult, custom};

/// Batches of one statement running at once. More slots: smaller batches and shorter waits;
/// fewer: more callers per statement.
const IN_FLIGHT: usize = 2;
/// How long a batch under load waits for more callers (tokio's timer ends it at its next
/// millisecond tick): measured on two cores with PostgreSQL beside the server, a third less of
/// the database server's CPU per code exchange, for at most a millisecond per statement.
const GATHER: std::time::Duration = std::time::Duration::from_micros(200);
/// Inputs answered by one statement at most.
const MAX_BATCH: usize = 128;

/// One statement over many inputs: an output per input, in the inputs' order.
pub(super) type Batch<I, O> =
    Arc<dyn Fn(Vec<I>) -> BoxFuture<'static, StoreResult<Vec<O>>> + Send + Sync>;

struct Call<I, O> {
    input: I,
    reply: oneshot::Sender<StoreResult<O>>,
}

/// The callers of one statement, and the task that answers them in batches.
pub(super) struct Combiner<I, O> {
    calls: mpsc::UnboundedSender<Call<I, O>>,
}

impl<I, O> Combiner<I, O>
where
    I: Clone + Send + 'static,
    O: Send + 'static,
{
    /// Start the task on `sockets`' runtime (where the pool's connections live); it ends when
    /// the combiner is dropped.
    pub(super) fn start(sockets: &Sockets, batch: Batch<I, O>) -> Self {
        let (calls, waiting) = mpsc::unbounded_channel();
        sockets.spawn(serve(waiting, batch));
        Self { calls }
    }

    /// `input`'s answer, from a statement it may share with other callers.
    pub(super) async fn call(&self, input: I) -> StoreResult<O> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send(Call { input, reply })
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

async fn serve<I, O>(mut waiting: mpsc::UnboundedReceiver<Call<I, O>>, batch: Batch<I, O>)
where
    I: Clone + Send + 'static,
    O: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut last = 0;
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = waiting.recv().await else {
            return;
        };
        if last > 1 {
            // Under load: let the callers on their way join this batch.
            tokio::time::sleep(GATHER).await;
        }
        let mut calls = vec![first];
        while calls.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(call) => calls.push(call),
                Err(_) => break,
            }
        }
        last = calls.len();
        let batch = batch.clone();
        tokio::spawn(async move {
            answer(&batch, calls).await;
            drop(slot);
        });
    }
}

/// Run the statement over `calls`' inputs and answer each; if it fails, once per input.
async fn answer<I: Clone, O>(batch: &Batch<I, O>, calls: Vec<Call<I, O>>) {
    let inputs = calls.iter().map(|c| c.input.clone()).collect();
    let failed = match batch(inputs).await {
        Ok(outputs) if outputs.len() == calls.len() => {
            for (call, output) in calls.into_iter().zip(outputs) {
                let _ = call.reply.send(Ok(output));
            }
            return;
        }
        Ok(_) => custom("a batch answered a different number of inputs"),
        Err(e) => e,
    };
    if let [_] = calls.as_slice() {
        if let Some(call) = calls.into_iter().next() {
            let _ = call.reply.send(Err(failed));
        }
        return;
    }
    join_all(calls.into_iter().map(|call| async move {
        let alone = batch(vec![call.input]).await.and_then(|mut outputs| {
            outputs
                .pop()
                .filter(|_| outputs.is_empty())
                .ok_or_else(|| custom("a batch of one answered otherwise"))
        });
        let _ = call.reply.send(alone);
    }))
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn doubling(statements: Arc<AtomicUsize>) -> Batch<u32, u32> {
        Arc::new(move |inputs: Vec<u32>| {
            let statements = statements.clone();
            Box::pin(async move {
                statements.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                if inputs.len() > 1 && inputs.contains(&13) {
                    return Err(custom("13 fails"));
                }
                match inputs.as_slice() {
                    [13] => Err(custom("13 fails")),
                    _ => Ok(inputs.iter().map(|i| i * 2).collect()),
                }
            })
        })
    }

    #[tokio::test]
    async fn concurrent_callers_share_statements_and_each_gets_its_own_answer() {
        let sockets = Sockets::start().unwrap();
        let statements = Arc::new(AtomicUsize::new(0));
        let combiner = Combiner::start(&sockets, doubling(statements.clone()));
        let answers = join_all((100..200u32).map(|i| combiner.call(i))).await;
        for (i, answer) in (100..200u32).zip(answers) {
            assert_eq!(answer.unwrap(), 2 * i);
        }
        let ran = statements.load(Ordering::SeqCst);
        assert!(ran < 20, "100 concurrent calls took {ran} statements");
    }

    #[tokio::test]
    async fn a_failing_batch_is_answered_one_input_at_a_time() {
        let sockets = Sockets::start().unwrap();
        let combiner = Combiner::start(&sockets, doubling(Arc::new(AtomicUsize::new(0))));
        let answers = join_all((10..20u32).map(|i| combiner.call(i))).await;
        for (i, answer) in (10..20u32).zip(answers) {
            match i {
                13 => assert!(answer.is_err()),
                _ => assert_eq!(answer.unwrap(), 2 * i),
            }
        }
    }

    #[tokio::test]
    async fn a_call_alone_is_sent_at_once() {
        let sockets = Sockets::start().unwrap();
        let statements = Arc::new(AtomicUsize::new(0));
        let combiner = Combiner::start(&sockets, doubling(statements.clone()));
        assert_eq!(combiner.call(4).await.unwrap(), 8);
        assert_eq!(combiner.call(5).await.unwrap(), 10);
        assert_eq!(statements.load(Ordering::SeqCst), 2);
    }
}
