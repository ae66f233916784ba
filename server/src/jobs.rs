//! Background jobs of a running server, and their clean stop.
//!
//! Every instance reloads the signing keys (another instance or the CLI may have added one),
//! forgets idle rate-limit buckets, and delivers queued email and back-channel logouts (each
//! message leased by one instance). The jobs that must run on one instance at a time — garbage
//! collection with the audit retention, and the scheduled key rotation — run only on the
//! instance holding the job's lease (`store::leases`); a holder that dies is replaced once its
//! lease runs out, and each batch they write is one transaction, so nothing is left half-done.
//!
//! On stop, each loop finishes the pass it is in and ends; the leases are given up.

use actix_web::web;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::state::{AppState, Live};

const GC: &str = "gc";
const ROTATION: &str = "key-rotation";

/// The running jobs.
pub struct Jobs {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    live: web::Data<Live>,
    instance: String,
}

/// Run `pass` every `period` until told to stop (a pass in progress finishes first).
async fn every<F, Fut>(
    period: Duration,
    first_after: Duration,
    mut stop: watch::Receiver<bool>,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + first_after, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => pass().await,
            _ = stop.changed() => return,
        }
    }
}

impl Jobs {
    /// Start the loops; each pass works on the state current then (a config reload reaches
    /// the next pass).
    pub fn start(live: web::Data<Live>) -> Self {
        let state = live.current();
        let (stop, watching) = watch::channel(false);
        let instance = uuid::Uuid::new_v4().to_string();
        let mut tasks = JoinSet::new();

        let l = live.clone();
        let me = instance.clone();
        let reload = Duration::from_secs(crate::keys::RELOAD_INTERVAL_SECONDS);
        tasks.spawn(every(reload, reload, watching.clone(), move || {
            let (s, me) = (l.current(), me.clone());
            async move { keys_pass(&s, &me).await }
        }));

        let l = live.clone();
        let s = state.clone();
        let me = instance.clone();
        // The first collection one interval after start, not at once: a restart under load
        // does not begin with a large delete.
        let gc = Duration::from_secs(s.settings.database.gc_interval_seconds);
        drop(s);
        tasks.spawn(every(gc, gc, watching.clone(), move || {
            let (s, me) = (l.current(), me.clone());
            async move { gc_pass(&s, &me).await }
        }));

        let minute = Duration::from_secs(60);
        let l = live.clone();
        tasks.spawn(every(minute, minute, watching.clone(), move || {
            l.current().limiters.forget_idle();
            async {}
        }));

        match crate::backchannel::Worker::new(
            state.store.clone(),
            state.clock.clone(),
            state.keys.clone(),
            state.clients.clone(),
            state.issuer().to_owned(),
        ) {
            Ok(base) => {
                let l = live.clone();
                let poll = crate::backchannel::POLL;
                tasks.spawn(every(poll, poll, watching.clone(), move || {
                    // The clients as configured now.
                    let mut w = base.clone();
                    w.clients = l.current().clients.clone();
                    async move {
                        if let Err(e) = crate::backchannel::deliver_due(&w).await {
                            tracing::warn!(error = %e, "back-channel logout: reading the queue failed");
                        }
                    }
                }));
            }
            Err(e) => tracing::error!(error = %e, "back-channel logouts cannot be sent"),
        }

        if let Some(t) = state.mailer.transport() {
            let w = std::sync::Arc::new(crate::email::worker::Worker {
                store: state.store.clone(),
                clock: state.clock.clone(),
                transport: t.clone(),
                timeout_seconds: state.settings.email.timeout_seconds,
            });
            let poll = crate::email::worker::POLL;
            tasks.spawn(every(poll, poll, watching.clone(), move || {
                let w = w.clone();
                async move {
                    if let Err(e) = crate::email::worker::deliver_due(&w).await {
                        tracing::warn!(error = %e, "email outbox: reading due messages failed");
                    }
                }
            }));
        }
        Self {
            stop,
            tasks,
            live,
            instance,
        }
    }

    /// Stop every loop after its current pass (waiting at most `grace`), and give the leases up.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("background jobs did not stop in time; abandoning them");
            self.tasks.abort_all();
        }
        let state = self.live.current();
        let now = state.now();
        for job in [GC, ROTATION] {
            if let Err(e) = state.store.release_lease(job, &self.instance, now).await {
                tracing::warn!(error = %e, job, "giving up a job lease failed");
            }
        }
    }
}

/// Take or renew a job's lease for `seconds`.
async fn hold(state: &AppState, job: &str, me: &str, seconds: i64) -> bool {
    let now = state.now();
    match state.store.take_lease(job, me, now, now + seconds).await {
        Ok(held) => held,
        Err(e) => {
            tracing::warn!(error = %e, job, "taking a job lease failed");
            false
        }
    }
}

/// Reload the keys; on the instance holding the rotation lease, rotate when due.
pub async fn keys_pass(state: &AppState, me: &str) {
    if let Err(e) = state.keys.reload(&state.store, state.now()).await {
        tracing::warn!(error = %e, "reloading signing keys failed");
    }
    let days = i64::from(state.settings.keys.rotate_after_days);
    if days == 0
        || !hold(
            state,
            ROTATION,
            me,
            3 * crate::keys::RELOAD_INTERVAL_SECONDS as i64,
        )
        .await
    {
        return;
    }
    let now = state.now();
    match state
        .keys
        .rotate_if_due(&state.store, days * 86_400, now)
        .await
    {
        Ok(Some(kid)) => {
            tracing::info!(kid = %kid, "scheduled key rotation: the next key is published");
            let event = AuditEvent::new(AuditKind::KeyRotated, now, &Origin::default())
                .reason(format!("scheduled after {days} days: {kid}"));
            if let Err(e) = state.store.audit(event).await {
                tracing::warn!(error = %e, "recording the key rotation failed");
            }
            if let Err(e) = state.keys.reload(&state.store, now).await {
                tracing::warn!(error = %e, "reloading signing keys failed");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "scheduled key rotation failed"),
    }
}

/// On the instance holding the GC lease: delete expired rows, prune the audit log, delete
/// retired keys.
pub async fn gc_pass(state: &AppState, me: &str) {
    let lease = 2 * state.settings.database.gc_interval_seconds as i64 + 60;
    if !hold(state, GC, me, lease).await {
        return;
    }
    let started = std::time::Instant::now();
    match state.store.collect_garbage(state.now()).await {
        Ok(c) if c.rows > 0 => tracing::info!(
            rows = c.rows,
            seconds = started.elapsed().as_secs_f64(),
            longest_batch_ms = c.longest_batch.as_secs_f64() * 1e3,
            "expired rows removed"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "garbage collection failed"),
    }
    let retention = i64::from(state.settings.audit.retention_days);
    if retention > 0 {
        let before = state.now() - retention * 86_400;
        match state.store.prune_audit(before).await {
            Ok(n) if n > 0 => tracing::info!(rows = n, "old audit records pruned"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning the audit log failed"),
        }
    }
    match state.keys.collect(&state.store, state.now()).await {
        Ok(n) if n > 0 => tracing::info!(keys = n, "retired signing keys deleted"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "deleting retired keys failed"),
    }
}
