//! What the end of a sign-in writes (`authz::flow::complete`), in one transaction: the
//! session (when starting it is one INSERT), the audit record of the sign-in, and, when the
//! policy lets a code be issued at once, the authorization request taken (RFC 6749 §4.1.2: a
//! request ends once) with the grant and the code. On the SQLite file that is one job of the
//! writer thread and one commit rather than four; on PostgreSQL one transaction. The take and
//! the code are atomic: no code exists for a request still pending or one that moved on, and a
//! request this write takes always has its code.

use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, QueryTrait};
use sea_orm::{DatabaseExecutor, Statement};

use super::audit::{append_direct, append_on};
use super::entities::{auth_codes, browser_sessions, grants};
use super::grants::grant_and_code;
use super::interactions::{session_row, take_request};
use super::writer::both;
use super::{BrowserSession, NewCode, NewGrant, Store, StoreResult, conflict_or, direct};
use crate::audit::AuditEvent;

/// The code a sign-in issues: the pending request it ends (at the revision it was read at),
/// and the grant and code that answer it.
pub struct CodeForRequest<'a> {
    pub request_id: &'a str,
    pub revision: i64,
    pub grant: &'a NewGrant,
    pub code: &'a NewCode,
}

/// A sign-in's writes at its end.
pub struct SignInWrites<'a> {
    /// The new session, when starting it is one INSERT (no previous session of the browser to
    /// end, no per-account limit to apply); otherwise it was started before.
    pub session: Option<&'a BrowserSession>,
    /// The record of the sign-in.
    pub record: AuditEvent,
    pub code: Option<CodeForRequest<'a>>,
    pub now: i64,
}

/// The statements, built once for the database they run on.
#[derive(Clone)]
struct Built {
    session: Option<Statement>,
    take: Option<Statement>,
    code: Vec<Statement>,
}

fn build(w: &SignInWrites<'_>, backend: DbBackend) -> Built {
    let session = w
        .session
        .map(|s| browser_sessions::Entity::insert(session_row(s, w.now)).build(backend));
    let (take, code) = match &w.code {
        Some(c) => {
            let take = take_request(c.request_id, c.revision, w.now).build(backend);
            let (grant, code) = grant_and_code(c.grant, c.code, w.now);
            let (grant, code) = (
                grants::Entity::insert(grant),
                auth_codes::Entity::insert(code),
            );
            let code = match backend {
                // One statement: the grant an INSERT in a data-modifying CTE of the code's.
                DbBackend::Postgres => {
                    vec![backend.build(&both(grant.into_query(), code.into_query()))]
                }
                _ => vec![grant.build(backend), code.build(backend)],
            };
            (Some(take), code)
        }
        None => (None, Vec::new()),
    };
    Built {
        session,
        take,
        code,
    }
}

impl Store {
    /// Write `w` in one transaction. `false` when a code was to be issued but its request had
    /// moved on or expired meanwhile: then the session and the record are written, and no
    /// code (the person is shown the request as expired).
    pub async fn record_sign_in(&self, w: SignInWrites<'_>) -> StoreResult<bool> {
        let key = self.to_record(&w.record)?;
        let built = build(&w, self.write.backend());
        let record = w.record;
        let for_direct = (built.clone(), record.clone());
        self.write
            .run_direct_or(
                move |conn| {
                    let (b, record) = for_direct;
                    let ran = |s: &Statement| -> StoreResult<u64> {
                        Ok(direct::run_all(conn, std::slice::from_ref(s))?[0])
                    };
                    if let Some(s) = &b.session {
                        ran(s)?;
                    }
                    let taken = match &b.take {
                        Some(take) => ran(take)? == 1,
                        None => true,
                    };
                    if taken {
                        direct::run_all(conn, &b.code)?;
                    }
                    append_direct(conn, &key, &record)?;
                    Ok(taken)
                },
                move |db| {
                    Box::pin(async move {
                        let ran = async |db: &DatabaseExecutor<'_>, s: Statement| {
                            db.execute_raw(s)
                                .await
                                .map(|done| done.rows_affected())
                                .map_err(conflict_or)
                        };
                        if let Some(s) = built.session {
                            ran(db, s).await?;
                        }
                        let taken = match built.take {
                            Some(take) => ran(db, take).await? == 1,
                            None => true,
                        };
                        if taken {
                            for s in built.code {
                                ran(db, s).await?;
                            }
                        }
                        append_on(db, &key, &record).await?;
                        Ok(taken)
                    })
                },
            )
            .await
    }
}
