//! Audit records: security-relevant events (sign-ins, failures, token reuse, revocations).
//! Details never hold secrets.

use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::audit_events;
use super::{Store, StoreResult};

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: String,
    pub account_id: Option<String>,
    pub client_id: Option<String>,
    pub detail: String,
}

impl Store {
    pub async fn audit(&self, e: AuditEvent) -> StoreResult<()> {
        tracing::info!(target: "audit", kind = %e.kind, account = ?e.account_id, client = ?e.client_id, detail = ?e.detail);
        let am = audit_events::ActiveModel {
            at: Set(e.at),
            kind: Set(e.kind),
            account_id: Set(e.account_id),
            client_id: Set(e.client_id),
            detail: Set(e.detail),
            ..Default::default()
        };
        audit_events::Entity::insert(am).exec(&self.db).await?;
        Ok(())
    }

    /// Audit events of one kind, oldest first.
    pub async fn audit_events(&self, kind: &str) -> StoreResult<Vec<AuditEvent>> {
        Ok(audit_events::Entity::find()
            .filter(audit_events::Column::Kind.eq(kind))
            .order_by_asc(audit_events::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| AuditEvent {
                at: m.at,
                kind: m.kind,
                account_id: m.account_id,
                client_id: m.client_id,
                detail: m.detail,
            })
            .collect())
    }
}
