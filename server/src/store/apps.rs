//! Connected apps: the clients an account has let in — a remembered consent or a live
//! refresh-token family — with what they were granted and when they were first and last used;
//! and taking an app's access back.
//!
//! Contract: `revoke_app` is one job: the consent is forgotten, every family of that client
//! and account is revoked, and a back-channel logout is queued for each of the account's live
//! sessions the client was issued tokens in — all or nothing.

use sea_orm::{
    ColumnTrait, DatabaseExecutor, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait as _, Func, Query},
};
use std::collections::{BTreeMap, BTreeSet};

use super::entities::{browser_sessions, consents, grants, refresh_tokens};
use super::{Store, StoreResult};
use crate::protocol::ids::AccountId;

/// One app with access to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedApp {
    pub client_id: String,
    /// The scopes granted: the remembered consent's, and those of its live families.
    pub scopes: BTreeSet<String>,
    /// The person's consent is remembered (the app signs them in without asking).
    pub remembered: bool,
    /// Refresh-token families the app can still use.
    pub live_families: usize,
    pub first_used: i64,
    pub last_used: i64,
}

impl ConnectedApp {
    fn new(client_id: &str, at: i64) -> Self {
        Self {
            client_id: client_id.to_owned(),
            scopes: BTreeSet::new(),
            remembered: false,
            live_families: 0,
            first_used: at,
            last_used: at,
        }
    }

    fn used_at(&mut self, at: i64) {
        self.first_used = Ord::min(self.first_used, at);
        self.last_used = Ord::max(self.last_used, at);
    }

    fn grant(&mut self, scope: &str) {
        self.scopes
            .extend(scope.split_whitespace().map(str::to_owned));
    }
}

/// The account's grants: (id, client, scope, issued, still usable).
type GrantRow = (String, String, String, i64, bool);

impl Store {
    /// The apps with a remembered consent or a live refresh-token family on this account,
    /// most recently used first.
    pub async fn connected_apps(
        &self,
        account_id: &AccountId,
        now: i64,
    ) -> StoreResult<Vec<ConnectedApp>> {
        let consented = consents::Entity::find()
            .filter(consents::Column::AccountId.eq(account_id.as_str()))
            .all(&self.read)
            .await?;
        let grants: Vec<GrantRow> = grants::Entity::find()
            .select_only()
            .column(grants::Column::Id)
            .column(grants::Column::ClientId)
            .column(grants::Column::Scope)
            .column(grants::Column::CreatedAt)
            .column_as(
                Expr::col(grants::Column::RevokedAt)
                    .is_null()
                    .and(Expr::col(grants::Column::ExpiresAt).gt(now)),
                "usable",
            )
            .filter(grants::Column::AccountId.eq(account_id.as_str()))
            .into_tuple()
            .all(&self.read)
            .await?;
        // Per family: its latest refresh token, and whether one is still redeemable.
        let of_account = Query::select()
            .column(grants::Column::Id)
            .from(grants::Entity)
            .and_where(Expr::col(grants::Column::AccountId).eq(account_id.as_str()))
            .to_owned();
        let families: Vec<(String, i64, i64)> = refresh_tokens::Entity::find()
            .select_only()
            .column(refresh_tokens::Column::GrantId)
            .column_as(refresh_tokens::Column::CreatedAt.max(), "last")
            .column_as(
                Expr::from(Func::sum(
                    Expr::case(
                        Expr::col(refresh_tokens::Column::RotatedAt)
                            .is_null()
                            .and(Expr::col(refresh_tokens::Column::ExpiresAt).gt(now)),
                        1,
                    )
                    .finally(0),
                )),
                "live",
            )
            .filter(refresh_tokens::Column::GrantId.in_subquery(of_account))
            .group_by(refresh_tokens::Column::GrantId)
            .into_tuple()
            .all(&self.read)
            .await?;
        let families: BTreeMap<String, (i64, bool)> = families
            .into_iter()
            .map(|(grant, last, live)| (grant, (last, live > 0)))
            .collect();

        let live = |(id, _, _, _, usable): &GrantRow| {
            *usable && families.get(id).is_some_and(|(_, live)| *live)
        };
        let mut apps: BTreeMap<String, ConnectedApp> = BTreeMap::new();
        for c in &consented {
            let app = apps
                .entry(c.client_id.clone())
                .or_insert_with(|| ConnectedApp::new(&c.client_id, c.updated_at));
            app.remembered = true;
            app.grant(&c.scope);
        }
        for g in grants.iter().filter(|g| live(g)) {
            apps.entry(g.1.clone())
                .or_insert_with(|| ConnectedApp::new(&g.1, g.3));
        }
        for g in &grants {
            let (id, client_id, scope, issued, _) = g;
            let Some(app) = apps.get_mut(client_id) else {
                continue;
            };
            app.used_at(*issued);
            if let Some((last, _)) = families.get(id) {
                app.used_at(*last);
            }
            if live(g) {
                app.live_families += 1;
                app.grant(scope);
            }
        }
        let mut apps: Vec<ConnectedApp> = apps.into_values().collect();
        apps.sort_by_key(|a| std::cmp::Reverse(a.last_used));
        Ok(apps)
    }

    /// Take an app's access to an account back (see the module contract). False if it had
    /// none.
    pub async fn revoke_app(
        &self,
        account_id: &AccountId,
        client_id: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let (account_id, client_id) = (account_id.to_string(), client_id.to_owned());
        self.write
            .run(move |db| Box::pin(revoke_app(db, account_id, client_id, now)))
            .await
    }
}

async fn revoke_app(
    db: &DatabaseExecutor<'_>,
    account_id: String,
    client_id: String,
    now: i64,
) -> StoreResult<bool> {
    const REASON: &str = "app access revoked";
    let forgotten = consents::Entity::delete_many()
        .filter(consents::Column::AccountId.eq(account_id.as_str()))
        .filter(consents::Column::ClientId.eq(client_id.as_str()))
        .exec(db)
        .await?
        .rows_affected;
    let live = || {
        grants::Column::AccountId
            .eq(account_id.as_str())
            .and(grants::Column::ClientId.eq(client_id.as_str()))
            .and(grants::Column::RevokedAt.is_null())
    };
    let live_sessions = Query::select()
        .column(browser_sessions::Column::Sid)
        .from(browser_sessions::Entity)
        .and_where(Expr::col(browser_sessions::Column::AccountId).eq(account_id.as_str()))
        .to_owned();
    let sids: Vec<Option<String>> = grants::Entity::find()
        .select_only()
        .column(grants::Column::Sid)
        .distinct()
        .filter(live())
        .filter(grants::Column::Sid.in_subquery(live_sessions))
        .into_tuple()
        .all(db)
        .await?;
    let revoked = grants::Entity::update_many()
        .col_expr(grants::Column::RevokedAt, Expr::value(now))
        .col_expr(grants::Column::RevokedReason, Expr::value(REASON))
        .filter(live())
        .exec(db)
        .await?
        .rows_affected;
    for sid in sids.into_iter().flatten() {
        super::logouts::queue(db, client_id.clone(), account_id.clone(), sid, REASON, now).await?;
    }
    Ok(forgotten + revoked > 0)
}
