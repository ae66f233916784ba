//! Audit records: typed events (`crate::audit`) stored with one column per field, queried by
//! kind, and chained (`crate::audit::chain`): each record's keyed hash covers the previous
//! one's. Fields never hold secrets.
//!
//! Contract: records are chained in the order they commit. Each write moves the chain's head
//! row first (an UPDATE that returns the head it made, which holds that row — on PostgreSQL a row lock, on SQLite the write
//! lock — until the record is in), so concurrent writers on any number of instances take
//! turns and every place in the chain is used once.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseExecutor, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, Statement,
    sea_query::{Expr, ExprTrait as _, Query, UpdateStatement},
};

use super::entities::{audit_chain, audit_events};
use super::{Store, StoreError, StoreResult};
use crate::audit::chain::{self, Finding};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::protocol::ids::{AccountId, GrantId, UpstreamId};

/// Rows pruned per statement.
const PRUNE_BATCH: u64 = 100;

/// A stored record with its place in the chain.
#[derive(Debug, Clone)]
pub struct ChainedRecord {
    pub id: i64,
    pub seq: Option<i64>,
    pub hash: Option<String>,
    pub event: AuditEvent,
}

/// The chain's head and checkpoint, as stored.
#[derive(Debug, Clone, Default)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
    pub checkpoint_seq: i64,
    pub checkpoint_hash: String,
    pub checkpoint_mac: String,
}

/// Which records `audit_list` returns.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub account_id: Option<AccountId>,
    pub email: Option<String>,
    pub client_id: Option<String>,
    pub kind: Option<AuditKind>,
    pub since: Option<i64>,
    pub limit: u64,
}

fn event_of(m: audit_events::Model) -> Option<ChainedRecord> {
    Some(ChainedRecord {
        id: m.id,
        seq: m.seq,
        hash: m.chain_hash,
        event: AuditEvent {
            at: m.at,
            kind: AuditKind::parse(&m.kind)?,
            account_id: m.account_id.map(AccountId::new),
            client_id: m.client_id,
            upstream_id: m.upstream_id.map(UpstreamId::new),
            grant_id: m.grant_id.map(GrantId::new),
            email: m.email,
            reason: m.reason,
            origin: Origin {
                ip: m.ip.and_then(|ip| ip.parse().ok()),
                user_agent: m.user_agent,
            },
        },
    })
}

fn model_of(e: &AuditEvent, seq: i64, hash: String) -> audit_events::ActiveModel {
    audit_events::ActiveModel {
        at: Set(e.at),
        kind: Set(e.kind.as_str().to_owned()),
        account_id: Set(e.account_id.clone().map(AccountId::into_string)),
        client_id: Set(e.client_id.clone()),
        detail: Set(String::new()),
        upstream_id: Set(e.upstream_id.clone().map(UpstreamId::into_string)),
        grant_id: Set(e.grant_id.clone().map(GrantId::into_string)),
        email: Set(e.email.clone()),
        reason: Set(e.reason.clone()),
        ip: Set(e.origin.ip.map(|ip| ip.to_string())),
        user_agent: Set(e.origin.user_agent.clone()),
        seq: Set(Some(seq)),
        chain_hash: Set(Some(hash)),
        ..Default::default()
    }
}

/// Move the chain's head on: the UPDATE returns the place it made and the previous record's
/// hash.
pub(super) fn take_head() -> UpdateStatement {
    Query::update()
        .table(audit_chain::Entity)
        .value(
            audit_chain::Column::Seq,
            Expr::col(audit_chain::Column::Seq).add(1),
        )
        .and_where(audit_chain::Column::Id.eq(1))
        .returning(
            Query::returning().columns([audit_chain::Column::Seq, audit_chain::Column::Hash]),
        )
        .to_owned()
}

/// Record `e` at place `seq` after the record whose hash is `previous`, and give the head its
/// hash. On PostgreSQL one statement (the record an INSERT in a data-modifying CTE of the
/// head's UPDATE): the transaction holding the head makes one round trip fewer.
pub(super) fn chained(
    key: &[u8; 32],
    e: &AuditEvent,
    seq: i64,
    previous: &str,
    backend: DbBackend,
) -> Vec<Statement> {
    use sea_orm::sea_query::{CommonTableExpression, WithClause};
    let hash = chain::record_hash(key, previous, seq, e);
    let record = audit_events::Entity::insert(model_of(e, seq, hash.clone())).into_query();
    let mut head = audit_chain::Entity::update_many()
        .col_expr(audit_chain::Column::Hash, Expr::value(hash))
        .filter(audit_chain::Column::Id.eq(1))
        .into_query();
    match backend {
        DbBackend::Postgres => {
            let cte = CommonTableExpression::new()
                .query(record)
                .table_name("record")
                .to_owned();
            head.with_cte(WithClause::new().cte(cte).to_owned());
            vec![backend.build(&head)]
        }
        _ => vec![backend.build(&record), backend.build(&head)],
    }
}

pub(super) fn no_head() -> StoreError {
    StoreError::Encoding("no audit chain head".into())
}

// The head moves on and is read in one statement (which, on PostgreSQL, holds its row until
// the commit: records are chained one at a time); then the record goes in and the head takes
// its hash. Both run inside the caller's transaction: put them last in it, so the head is
// held no longer than the commit takes.

/// Append `e` to the chain on the SQLite file's direct connection.
pub(super) fn append_direct(
    conn: &rusqlite::Connection,
    key: &[u8; 32],
    e: &AuditEvent,
) -> StoreResult<()> {
    let take = DbBackend::Sqlite.build(&take_head());
    let (seq, previous): (i64, String) =
        super::direct::first_row(conn, &take, |row| Ok((row.get(0)?, row.get(1)?)))?
            .ok_or_else(no_head)?;
    super::direct::run_all(conn, &chained(key, e, seq, &previous, DbBackend::Sqlite)).map(drop)
}

/// Append `e` to the chain on sea-orm's executor (PostgreSQL, an in-memory SQLite).
pub(super) async fn append_on(
    db: &DatabaseExecutor<'_>,
    key: &[u8; 32],
    e: &AuditEvent,
) -> StoreResult<()> {
    let backend = db.get_database_backend();
    let head = db
        .query_one_raw(backend.build(&take_head()))
        .await?
        .ok_or_else(no_head)?;
    let seq: i64 = head.try_get_by_index(0)?;
    let previous: String = head.try_get_by_index(1)?;
    for statement in chained(key, e, seq, &previous, backend) {
        db.execute_raw(statement).await?;
    }
    Ok(())
}

impl Store {
    /// Use this key for the chain (derived from the key-encryption key); set once at start.
    pub fn set_audit_key(&self, key: [u8; 32]) {
        let _ = self.audit_key.set(key);
    }

    fn audit_key(&self) -> StoreResult<[u8; 32]> {
        self.audit_key
            .get()
            .copied()
            .ok_or_else(|| StoreError::Encoding("the audit key is not loaded".into()))
    }

    pub async fn audit(&self, e: AuditEvent) -> StoreResult<()> {
        let key = self.to_record(&e)?;
        let for_direct = e.clone();
        self.write
            .run_direct_or(
                move |conn| append_direct(conn, &key, &for_direct),
                move |db| Box::pin(async move { append_on(db, &key, &e).await }),
            )
            .await
    }

    /// Log `e` (never a secret: its fields are identifiers and reasons), show it to the
    /// observer, and give the key it is chained with: before every record is written.
    pub(super) fn to_record(&self, e: &AuditEvent) -> StoreResult<[u8; 32]> {
        tracing::info!(
            target: "audit",
            kind = e.kind.as_str(),
            account = ?e.account_id,
            client = ?e.client_id,
            upstream = ?e.upstream_id,
            grant = ?e.grant_id,
            email = ?e.email,
            reason = ?e.reason,
            ip = ?e.origin.ip,
        );
        if let Some(observe) = self.audit_observer.get() {
            observe(e);
        }
        self.audit_key()
    }

    /// Audit events of one kind, oldest first.
    pub async fn audit_events(&self, kind: AuditKind) -> StoreResult<Vec<AuditEvent>> {
        Ok(audit_events::Entity::find()
            .filter(audit_events::Column::Kind.eq(kind.as_str()))
            .order_by_asc(audit_events::Column::Id)
            .all(&self.read)
            .await?
            .into_iter()
            .filter_map(event_of)
            .map(|r| r.event)
            .collect())
    }

    /// Records matching `f`, oldest first (at most `f.limit`).
    pub async fn audit_list(&self, f: &AuditFilter) -> StoreResult<Vec<ChainedRecord>> {
        let mut q = audit_events::Entity::find();
        if let Some(a) = &f.account_id {
            q = q.filter(audit_events::Column::AccountId.eq(a.as_str()));
        }
        if let Some(e) = &f.email {
            q = q.filter(audit_events::Column::Email.eq(e.as_str()));
        }
        if let Some(c) = &f.client_id {
            q = q.filter(audit_events::Column::ClientId.eq(c.as_str()));
        }
        if let Some(k) = f.kind {
            q = q.filter(audit_events::Column::Kind.eq(k.as_str()));
        }
        if let Some(s) = f.since {
            q = q.filter(audit_events::Column::At.gte(s));
        }
        Ok(q.order_by_asc(audit_events::Column::Id)
            .limit(f.limit)
            .all(&self.read)
            .await?
            .into_iter()
            .filter_map(event_of)
            .collect())
    }

    /// An account's records since `since`, newest first (at most `limit`): those naming the
    /// account, and the failed and locked password sign-ins tried with its `email`.
    pub async fn account_activity(
        &self,
        account_id: &AccountId,
        email: Option<&str>,
        since: i64,
        limit: u64,
    ) -> StoreResult<Vec<AuditEvent>> {
        let mut whose =
            Condition::any().add(audit_events::Column::AccountId.eq(account_id.as_str()));
        if let Some(email) = email {
            whose = whose.add(
                Condition::all()
                    .add(audit_events::Column::Email.eq(email))
                    .add(audit_events::Column::Kind.is_in([
                        AuditKind::LoginFailed.as_str(),
                        AuditKind::LoginLocked.as_str(),
                    ])),
            );
        }
        Ok(audit_events::Entity::find()
            .filter(whose)
            .filter(audit_events::Column::At.gte(since))
            .order_by_desc(audit_events::Column::At)
            .order_by_desc(audit_events::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?
            .into_iter()
            .filter_map(event_of)
            .map(|r| r.event)
            .collect())
    }

    /// The user agents of an account's last `limit` sign-ins before `before`.
    pub async fn sign_in_agents_before(
        &self,
        account_id: &AccountId,
        before: i64,
        limit: u64,
    ) -> StoreResult<Vec<Option<String>>> {
        Ok(audit_events::Entity::find()
            .select_only()
            .column(audit_events::Column::UserAgent)
            .filter(audit_events::Column::AccountId.eq(account_id.as_str()))
            .filter(audit_events::Column::At.lt(before))
            .filter(audit_events::Column::Kind.eq(AuditKind::LoginSucceeded.as_str()))
            .order_by_desc(audit_events::Column::At)
            .limit(limit)
            .into_tuple()
            .all(&self.read)
            .await?)
    }

    pub async fn audit_chain_head(&self) -> StoreResult<ChainHead> {
        let m = audit_chain::Entity::find_by_id(1).one(&self.read).await?;
        Ok(m.map(|m| ChainHead {
            seq: m.seq,
            hash: m.hash,
            checkpoint_seq: m.checkpoint_seq,
            checkpoint_hash: m.checkpoint_hash,
            checkpoint_mac: m.checkpoint_mac,
        })
        .unwrap_or_default())
    }

    /// Up to `limit` records after row `after_id`, in row order (unknown kinds included as
    /// rows that no longer match, so they are reported rather than skipped).
    pub async fn audit_page(&self, after_id: i64, limit: u64) -> StoreResult<Vec<ChainedRecord>> {
        Ok(audit_events::Entity::find()
            .filter(audit_events::Column::Id.gt(after_id))
            .order_by_asc(audit_events::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|m| {
                let (id, seq) = (m.id, m.seq);
                event_of(m).unwrap_or(ChainedRecord {
                    id,
                    seq,
                    hash: Some(String::new()),
                    event: AuditEvent::new(AuditKind::LoginFailed, 0, &Origin::default()),
                })
            })
            .collect())
    }

    /// Delete the records older than `before` (`[audit] retention_days`), oldest first in
    /// batches, moving the signed checkpoint to the last one deleted; rows deleted.
    pub async fn prune_audit(&self, before: i64) -> StoreResult<u64> {
        let key = self.audit_key()?;
        let mut total = 0;
        loop {
            let deleted = self
                .write
                .run(move |db| {
                    Box::pin(async move {
                        let old = audit_events::Entity::find()
                            .filter(audit_events::Column::At.lt(before))
                            .order_by_asc(audit_events::Column::Id)
                            .limit(PRUNE_BATCH)
                            .all(db)
                            .await?;
                        let Some(last) = old.iter().rfind(|m| m.seq.is_some()).cloned() else {
                            // Only records from before the chain: they just go.
                            let ids: Vec<i64> = old.iter().map(|m| m.id).collect();
                            let n = ids.len() as u64;
                            if n > 0 {
                                audit_events::Entity::delete_many()
                                    .filter(audit_events::Column::Id.is_in(ids))
                                    .exec(db)
                                    .await?;
                            }
                            return Ok(n);
                        };
                        // The chain is pruned from its start, without gaps: up to `last`.
                        let ids: Vec<i64> = old
                            .iter()
                            .filter(|m| m.id <= last.id)
                            .map(|m| m.id)
                            .collect();
                        let n = ids.len() as u64;
                        let (seq, hash) =
                            (last.seq.unwrap_or(0), last.chain_hash.unwrap_or_default());
                        audit_chain::Entity::update_many()
                            .col_expr(audit_chain::Column::CheckpointSeq, Expr::value(seq))
                            .col_expr(
                                audit_chain::Column::CheckpointHash,
                                Expr::value(hash.clone()),
                            )
                            .col_expr(
                                audit_chain::Column::CheckpointMac,
                                Expr::value(chain::checkpoint_mac(&key, seq, &hash)),
                            )
                            .filter(audit_chain::Column::Id.eq(1))
                            .exec(db)
                            .await?;
                        audit_events::Entity::delete_many()
                            .filter(audit_events::Column::Id.is_in(ids))
                            .exec(db)
                            .await?;
                        Ok(n)
                    })
                })
                .await?;
            total += deleted;
            if deleted < PRUNE_BATCH {
                return Ok(total);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Walk the whole log in order and report the first record that was altered, removed or
    /// inserted.
    pub async fn verify_audit(&self, key: &[u8; 32]) -> StoreResult<Finding> {
        let store = self;
        let head = store.audit_chain_head().await?;
        let checkpointed = head.checkpoint_seq > 0;
        if checkpointed
            && !crate::secret::ct_eq(
                chain::checkpoint_mac(key, head.checkpoint_seq, &head.checkpoint_hash).as_bytes(),
                head.checkpoint_mac.as_bytes(),
            )
        {
            return Ok(Finding::CheckpointForged);
        }
        let (mut prev, mut expected) = (head.checkpoint_hash.clone(), head.checkpoint_seq + 1);
        let (mut records, mut before_chain, mut started) = (0u64, 0u64, checkpointed);
        let mut after = 0i64;
        loop {
            let page = store.audit_page(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for r in page {
                let (Some(seq), Some(hash)) = (r.seq, r.hash.as_deref()) else {
                    if started {
                        return Ok(Finding::Inserted { id: r.id });
                    }
                    before_chain += 1;
                    continue;
                };
                started = true;
                if seq > expected {
                    return Ok(Finding::Removed { seq: expected });
                }
                if seq < expected {
                    return Ok(Finding::Inserted { id: r.id });
                }
                let computed = chain::record_hash(key, &prev, seq, &r.event);
                if !crate::secret::ct_eq(computed.as_bytes(), hash.as_bytes()) {
                    return Ok(Finding::Altered { seq, id: r.id });
                }
                prev = hash.to_owned();
                expected += 1;
                records += 1;
            }
        }
        // The newest records: the head says how far the chain went.
        if head.seq >= expected {
            return Ok(Finding::Removed { seq: expected });
        }
        Ok(Finding::Intact {
            records,
            before_chain,
        })
    }
}
