//! PostgreSQL's hot statements, batched (`combine`): the four a code exchange makes (the
//! session and remembered consent at /authorize, the grant and code written together, the code
//! read at /token, and its claim). Each is one statement over every caller waiting for it,
//! built by sea-orm in the same file as its one-caller form (`= ANY($1)` over an array, so one
//! prepared statement serves every batch size; multi-row inserts). SQLite needs none of this:
//! its reads are in-process and its writes already commit in groups (`writer`).

use sea_orm::DatabaseConnection;
use std::future::Future;
use std::sync::Arc;

use super::StoreResult;
use super::combine::{Batch, Combiner};
use super::entities::{auth_codes, grants};
use super::grants::{RedeemRow, claim_codes, codes_to_redeem, create_grants_with_codes};
use super::interactions::{SessionRow, sessions_with_consent};
use super::sockets::Sockets;

pub(super) struct Hot {
    /// (session hash, client) → the session, and the scope the client was granted.
    pub(super) sessions: Combiner<(String, String), Option<SessionRow>>,
    /// A grant and its code, written together.
    pub(super) grants: Combiner<(grants::ActiveModel, auth_codes::ActiveModel), ()>,
    /// Code hash → the code, its grant and account.
    pub(super) codes: Combiner<String, Option<RedeemRow>>,
    /// (code hash, now) → whether this caller claimed it.
    pub(super) claims: Combiner<(String, i64), bool>,
}

impl Hot {
    pub(super) fn start(sockets: &Sockets, db: &DatabaseConnection) -> Self {
        Self {
            sessions: Combiner::start(sockets, on(db, sessions_with_consent)),
            grants: Combiner::start(sockets, on(db, create_grants_with_codes)),
            codes: Combiner::start(sockets, on(db, codes_to_redeem)),
            claims: Combiner::start(sockets, on(db, claim_codes)),
        }
    }
}

/// `statement` as a batch on `db`.
fn on<I, O, F, Fut>(db: &DatabaseConnection, statement: F) -> Batch<I, O>
where
    F: Fn(DatabaseConnection, Vec<I>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = StoreResult<Vec<O>>> + Send + 'static,
{
    let db = db.clone();
    Arc::new(move |inputs| Box::pin(statement(db.clone(), inputs)))
}
