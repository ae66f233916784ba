//! Audit records: typed events (`crate::audit`) stored with one column per field, queried by
//! kind. Fields never hold secrets.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::audit_events;
use super::{Store, StoreResult};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::protocol::ids::{AccountId, GrantId, UpstreamId};

impl Store {
    pub async fn audit(&self, e: AuditEvent) -> StoreResult<()> {
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
        let am = audit_events::ActiveModel {
            at: Set(e.at),
            kind: Set(e.kind.as_str().to_owned()),
            account_id: Set(e.account_id.map(AccountId::into_string)),
            client_id: Set(e.client_id),
            detail: Set(String::new()),
            upstream_id: Set(e.upstream_id.map(UpstreamId::into_string)),
            grant_id: Set(e.grant_id.map(GrantId::into_string)),
            email: Set(e.email),
            reason: Set(e.reason),
            ip: Set(e.origin.ip.map(|ip| ip.to_string())),
            user_agent: Set(e.origin.user_agent),
            ..Default::default()
        };
        self.write.insert(audit_events::Entity::insert(am)).await
    }

    /// Audit events of one kind, oldest first.
    pub async fn audit_events(&self, kind: AuditKind) -> StoreResult<Vec<AuditEvent>> {
        Ok(audit_events::Entity::find()
            .filter(audit_events::Column::Kind.eq(kind.as_str()))
            .order_by_asc(audit_events::Column::Id)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|m| AuditEvent {
                at: m.at,
                kind,
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
            })
            .collect())
    }
}
