//! What the end of a sign-in writes (`authz::flow::complete`), in one transaction: the
//! session (when starting it is one INSERT), the audit record of the sign-in, and, when the
//! policy lets a code be issued at once, the authorization request taken (RFC 6749 §4.1.2: a
//! request ends once) with the grant and the code. On the SQLite file that is one job of the
//! writer thread and one commit rather than four; on PostgreSQL one transaction of two
//! statements (the writes and the audit head's move in one, the record in the other). The take
//! and the code are atomic: no code exists for a request still pending or one that moved on,
//! and a request this write takes always has its code.

use sea_orm::sea_query::{
    CommonTableExpression, Expr, InsertStatement, Query, SelectStatement, WithClause,
};
use sea_orm::{ActiveModelTrait, ActiveValue, ConnectionTrait, DbBackend, EntityTrait, Iterable};
use sea_orm::{DatabaseExecutor, QueryTrait, Statement};

use super::audit::{append_direct, append_on, chained, no_head, take_head};
use super::entities::{audit_chain, auth_codes, auth_requests, browser_sessions, grants};
use super::grants::grant_and_code;
use super::interactions::{session_row, take_request};
use super::{
    BrowserSession, NewCode, NewGrant, Store, StoreError, StoreResult, conflict_or, direct,
};
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

/// The statements on SQLite (the file's writer thread, or sea-orm on an in-memory database),
/// one per write; PostgreSQL has `one_statement`.
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
            let code = vec![
                grants::Entity::insert(grant).build(backend),
                auth_codes::Entity::insert(code).build(backend),
            ];
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

/// The name of the request's DELETE in the PostgreSQL statement.
const TAKEN: &str = "taken";

/// `EXISTS (SELECT 1 FROM taken)`: the request was taken by this statement.
fn was_taken() -> Expr {
    Expr::exists(Query::select().expr(Expr::val(1)).from(TAKEN).to_owned())
}

/// `row`'s INSERT as `INSERT … SELECT <its values> WHERE <when>`: nothing when `when` is false.
fn insert_when<A: ActiveModelTrait>(row: &A, when: Expr) -> StoreResult<InsertStatement> {
    let (mut columns, mut values) = (Vec::new(), Vec::new());
    for column in <A::Entity as EntityTrait>::Column::iter() {
        if let ActiveValue::Set(value) = row.get(column) {
            columns.push(column);
            values.push(Expr::val(value));
        }
    }
    let select: SelectStatement = Query::select().exprs(values).and_where(when).to_owned();
    let mut insert = Query::insert();
    insert
        .into_table(<A::Entity as Default>::default())
        .columns(columns)
        .select_from(select)
        .map_err(|e| StoreError::Encoding(e.to_string()))?;
    Ok(insert)
}

/// On PostgreSQL, all of `w` but its record in one statement: the request's DELETE, the
/// session's INSERT, the grant's and the code's (made only when the DELETE took the request),
/// each a data-modifying CTE of the audit head's UPDATE, which returns the head's new place,
/// the previous record's hash and whether the request was taken. With the record's INSERT
/// after it, the transaction is four round trips (`BEGIN`, two statements, `COMMIT`) rather
/// than seven.
fn one_statement(w: &SignInWrites<'_>) -> StoreResult<Statement> {
    let backend = DbBackend::Postgres;
    let (mut with, mut ctes) = (WithClause::new(), 0);
    let mut cte = |name: &str, query: sea_orm::sea_query::SubQueryStatement| {
        ctes += 1;
        with.cte(
            CommonTableExpression::new()
                .query(query)
                .table_name(name.to_owned())
                .to_owned(),
        );
    };
    if let Some(session) = w.session {
        let insert = browser_sessions::Entity::insert(session_row(session, w.now)).into_query();
        cte("session", insert.into());
    }
    let taken = match &w.code {
        Some(c) => {
            let mut take = take_request(c.request_id, c.revision, w.now).into_query();
            take.returning_col(auth_requests::Column::Id);
            cte(TAKEN, take.into());
            let (grant, code) = grant_and_code(c.grant, c.code, w.now);
            cte("grant", insert_when(&grant, was_taken())?.into());
            cte("code", insert_when(&code, was_taken())?.into());
            was_taken()
        }
        // No request to take: report it as taken, as the other databases do.
        None => Expr::val(true),
    };
    let mut head = take_head();
    head.returning(Query::returning().exprs([
        Expr::col(audit_chain::Column::Seq),
        Expr::col(audit_chain::Column::Hash),
        taken,
    ]));
    // (sea-query refuses a WITH of no CTE: nothing but the record to write.)
    if ctes > 0 {
        head.with_cte(with);
    }
    Ok(backend.build(&head))
}

impl Store {
    /// Write `w` in one transaction. `false` when a code was to be issued but its request had
    /// moved on or expired meanwhile: then the session and the record are written, and no
    /// code (the person is shown the request as expired).
    pub async fn record_sign_in(&self, w: SignInWrites<'_>) -> StoreResult<bool> {
        let key = self.to_record(&w.record)?;
        if self.write.backend() == DbBackend::Postgres {
            let statement = one_statement(&w)?;
            let record = w.record;
            return self
                .write
                .run(move |db| {
                    Box::pin(async move {
                        let head = db
                            .query_one_raw(statement)
                            .await
                            .map_err(conflict_or)?
                            .ok_or_else(no_head)?;
                        let seq: i64 = head.try_get_by_index(0)?;
                        let previous: String = head.try_get_by_index(1)?;
                        let taken: bool = head.try_get_by_index(2)?;
                        for s in chained(&key, &record, seq, &previous, DbBackend::Postgres) {
                            db.execute_raw(s).await?;
                        }
                        Ok(taken)
                    })
                })
                .await;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditKind, Origin};
    use crate::protocol::ids::{AccountId, GrantId};
    use crate::protocol::vocab::Amr;

    fn session() -> BrowserSession {
        BrowserSession {
            id_hash: "session-hash".into(),
            account_id: AccountId::new("account".to_owned()),
            auth_time: 10,
            amr: vec![Amr::Pwd],
            idp: None,
            expires_at: 1000,
            ip: None,
            user_agent: None,
            created_at: 10,
            last_seen_at: 10,
            sid: Some("sid".into()),
        }
    }

    /// The PostgreSQL statement of a sign-in with or without a new session and a code.
    fn sql(with_session: bool, with_code: bool) -> StoreResult<String> {
        let session = session();
        let grant = NewGrant {
            id: GrantId::new("grant".to_owned()),
            client_id: "client".into(),
            account_id: session.account_id.clone(),
            scope: "openid".into(),
            auth_time: 10,
            amr: vec![Amr::Pwd],
            idp: None,
            acr: None,
            sid: Some("sid".into()),
            expires_at: 1000,
        };
        let code = NewCode {
            code_hash: "code-hash".into(),
            redirect_uri: "https://app.example/cb".into(),
            nonce: None,
            pkce_challenge: None,
            expires_at: 70,
        };
        let w = SignInWrites {
            session: with_session.then_some(&session),
            record: AuditEvent::new(AuditKind::LoginSucceeded, 10, &Origin::new(None, None)),
            code: with_code.then_some(CodeForRequest {
                request_id: "request",
                revision: 1,
                grant: &grant,
                code: &code,
            }),
            now: 10,
        };
        Ok(one_statement(&w)?.sql)
    }

    #[test]
    fn the_postgresql_statement_moves_the_audit_head_after_each_write_it_has() -> StoreResult<()> {
        let all = sql(true, true)?;
        assert!(
            all.starts_with(r#"WITH "session" AS (INSERT INTO "browser_sessions""#),
            "{all}"
        );
        assert!(
            all.contains(r#""taken" AS (DELETE FROM "auth_requests""#),
            "{all}"
        );
        assert!(all.contains(r#"RETURNING "id")"#), "{all}");
        for table in ["grants", "auth_codes"] {
            let insert = format!(r#"AS (INSERT INTO "{table}" "#);
            let at = all
                .find(&insert)
                .ok_or_else(|| StoreError::Encoding(all.clone()))?;
            let conditional = r#"WHERE EXISTS(SELECT $"#;
            assert!(all[at..].contains(conditional), "{table}: {all}");
        }
        assert!(all.contains(r#"UPDATE "audit_chain""#), "{all}");
        assert!(all.ends_with(r#"FROM "taken")"#), "{all}");

        let session_only = sql(true, false)?;
        assert!(
            session_only.starts_with("WITH \"session\""),
            "{session_only}"
        );
        assert!(!session_only.contains("taken"), "{session_only}");

        let code_only = sql(false, true)?;
        assert!(code_only.starts_with("WITH \"taken\""), "{code_only}");

        let record_only = sql(false, false)?;
        assert!(
            record_only.starts_with(r#"UPDATE "audit_chain""#),
            "{record_only}"
        );
        Ok(())
    }
}
