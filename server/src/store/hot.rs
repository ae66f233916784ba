//! PostgreSQL's hot statements, batched (`combine`): the three a code exchange makes (the
//! session and remembered consent at /authorize, the grant and code written together, and at
//! /token the code claimed and read in one). Each is one statement over every caller waiting
//! for it, built by sea-orm in the same file as its one-caller form, with arrays (`= ANY($1)`,
//! `unnest`) so that one prepared statement serves every batch size, and multi-row inserts.
//! SQLite needs none of this: its reads are in-process and its writes already commit in
//! groups (`writer`).

use sea_orm::DatabaseConnection;
use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef, extension::postgres::PgFunc};
use std::future::Future;
use std::sync::Arc;

use super::StoreResult;
use super::combine::{Batch, Combiner};
use super::entities::{auth_codes, grants};
use super::grants::{RedeemRow, Redemption, create_grants_with_codes, redeem_codes};
use super::interactions::{SessionRow, sessions_with_consent};
use super::sockets::Sockets;

pub(super) struct Hot {
    /// (session hash, client) → the session, and the scope the client was granted.
    pub(super) sessions: Combiner<(String, String), Option<SessionRow>>,
    /// A grant and its code, written together.
    pub(super) grants: Combiner<(grants::ActiveModel, auth_codes::ActiveModel), ()>,
    /// (code hash, terms, now) → the code claimed, with its grant and account.
    pub(super) redeems: Combiner<Redemption, Option<RedeemRow>>,
}

impl Hot {
    pub(super) fn start(sockets: &Sockets, db: &DatabaseConnection) -> Self {
        Self {
            sessions: Combiner::start(sockets, on(db, sessions_with_consent)),
            grants: Combiner::start(sockets, on(db, create_grants_with_codes)),
            redeems: Combiner::start(sockets, on(db, redeem_codes)),
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

/// `column = ANY($1)`: one array parameter whatever the number of values (one prepared
/// statement for every batch size).
pub(super) fn any(column: impl IntoColumnRef, values: Vec<String>) -> Expr {
    Expr::col(column).eq(PgFunc::any(Expr::val(values)))
}
