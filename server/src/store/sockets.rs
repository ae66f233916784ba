//! PostgreSQL's sockets on a runtime of their own. actix-web runs each HTTP worker on a
//! current-thread runtime, and a tokio socket belongs to the runtime it was opened on: a pooled
//! connection opened by worker A is woken only when A's thread turns its I/O driver (late while
//! A is busy signing) and dies with A's runtime when a graceful stop ends A before B, which is
//! still using it. So every statement on PostgreSQL is polled inside the context of one small
//! runtime kept for the pool (`Sockets`): the connections it opens, the pool's timers and the
//! tasks sqlx spawns live there, and its thread, idle otherwise, wakes the waiting request as
//! soon as a reply arrives. Nothing hops: the statement still runs in the caller's task.

use pin_project_lite::pin_project;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, Statement,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::runtime::{Builder, Handle, Runtime};

/// The runtime PostgreSQL's connections live on, shared by the clones of a store.
#[derive(Clone)]
pub(super) struct Sockets {
    handle: Handle,
    _owner: Arc<Owner>,
}

/// Stops the runtime when the last clone goes, without blocking the task that drops it (a
/// runtime dropped inside async code would panic).
struct Owner(Option<Runtime>);

impl Drop for Owner {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl Sockets {
    pub(super) fn start() -> std::io::Result<Self> {
        let rt = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ostiary-pg")
            .enable_all()
            .build()?;
        Ok(Self {
            handle: rt.handle().clone(),
            _owner: Arc::new(Owner(Some(rt))),
        })
    }

    /// Run `task` on this runtime (it must not hold a clone of `self`: the runtime would then
    /// be stopped from one of its own threads).
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.handle.spawn(task);
    }
}

/// Poll `fut` in the context of `sockets` when there are any (PostgreSQL), else as it is.
pub(super) fn within<F: Future>(sockets: Option<&Sockets>, fut: F) -> Within<F> {
    Within {
        handle: sockets.map(|s| s.handle.clone()),
        fut,
    }
}

pin_project! {
    /// `fut`, each poll of it inside the runtime context of `handle`.
    pub(super) struct Within<F> {
        handle: Option<Handle>,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for Within<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = this.handle.as_ref().map(Handle::enter);
        this.fut.poll(cx)
    }
}

/// The read pool: a connection whose statements run `within` its sockets.
#[derive(Clone)]
pub(super) struct Db {
    conn: DatabaseConnection,
    sockets: Option<Sockets>,
}

impl Db {
    pub(super) fn new(conn: DatabaseConnection, sockets: Option<Sockets>) -> Self {
        Self { conn, sockets }
    }

    /// The connection itself, for what is not a statement (pool statistics).
    pub(super) fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    pub(super) fn sockets(&self) -> Option<&Sockets> {
        self.sockets.as_ref()
    }

    pub(super) async fn ping(&self) -> Result<(), DbErr> {
        within(self.sockets(), self.conn.ping()).await
    }

    pub(super) async fn close(&self) -> Result<(), DbErr> {
        within(self.sockets(), self.conn.close_by_ref()).await
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Db {
    fn get_database_backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        within(self.sockets(), self.conn.execute_raw(stmt)).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        within(self.sockets(), self.conn.execute_unprepared(sql)).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        within(self.sockets(), self.conn.query_one_raw(stmt)).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        within(self.sockets(), self.conn.query_all_raw(stmt)).await
    }
}
