//! Browser sessions (stored by the hash of the cookie value) and pending authorization
//! requests (the interaction between /authorize and the login and consent pages).

use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition, JoinType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, DbBackend, DeleteMany,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, SelectTwo,
};

use super::direct::FromDirect;
use super::entities::browser_sessions::Column;
use super::entities::{auth_requests, browser_sessions, consents};
use super::live::unexpired;
use super::{Store, StoreResult, logouts};
use crate::protocol::ids::{AccountId, UpstreamId};
use crate::protocol::vocab::Amr;

#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub id_hash: String,
    pub account_id: AccountId,
    pub auth_time: i64,
    pub amr: Vec<Amr>,
    /// The upstream that signed the user in, if not a local password.
    pub idp: Option<UpstreamId>,
    pub expires_at: i64,
    /// Where the session started (the address and the browser's user agent).
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    /// When it was last used (updated at most once a minute).
    pub last_seen_at: i64,
    /// Its public id (the `sid` of ID and logout tokens); `None` only for sessions started
    /// before back-channel logout existed.
    pub sid: Option<String>,
}

/// What starting a session did.
#[derive(Debug, Clone)]
pub struct SessionStarted {
    /// The session's `sid`: the previous session's when the same person signed in again in
    /// the same browser (the apps keep matching it), a new one otherwise.
    pub sid: Option<String>,
    /// Older sessions of the account ended by `[session] max_per_account`.
    pub ended_by_limit: u64,
}

#[derive(Debug, Clone)]
pub struct StoredAuthRequest {
    pub id: String,
    pub client_id: String,
    pub request_json: String,
    /// Where the request stands (`authz`'s stage, JSON); `None` only for rows written before
    /// stages existed.
    pub stage_json: Option<String>,
    /// Bumped by every transition: a transition names the revision it read.
    pub revision: i64,
    pub created_at: i64,
}

/// `amr` values as stored: their RFC 8176 names, space-separated.
pub(super) fn amr_to_column(amr: &[Amr]) -> String {
    amr.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" ")
}

pub(super) fn amr_from_column(s: &str) -> Vec<Amr> {
    s.split(' ').filter_map(Amr::parse).collect()
}

fn session_from(m: browser_sessions::Model) -> BrowserSession {
    BrowserSession {
        id_hash: m.id_hash,
        account_id: AccountId::new(m.account_id),
        auth_time: m.auth_time,
        amr: amr_from_column(&m.amr),
        idp: m.idp.map(UpstreamId::new),
        expires_at: m.expires_at,
        ip: m.ip,
        user_agent: m.user_agent,
        created_at: m.created_at,
        last_seen_at: m.last_seen_at.unwrap_or(m.created_at),
        sid: m.sid,
    }
}

/// How stale `last_seen_at` may get before a use updates it.
pub const LAST_SEEN_EVERY: i64 = 60;

/// Sessions, each with the scope its account consented to for the client(s) `client` names
/// (a value, or `= ANY` of several).
fn with_consent_of(
    client: impl Into<Expr>,
) -> SelectTwo<browser_sessions::Entity, consents::Entity> {
    let client: Expr = client.into();
    let consent_of_client = browser_sessions::Entity::belongs_to(consents::Entity)
        .from(Column::AccountId)
        .to(consents::Column::AccountId)
        .on_condition(move |_, consent| {
            Expr::col((consent, consents::Column::ClientId))
                .eq(client.clone())
                .into_condition()
        })
        .into();
    browser_sessions::Entity::find()
        .select_also(consents::Entity)
        .join(JoinType::LeftJoin, consent_of_client)
}

/// A session and the scope its account consented to for the client asked for.
pub(super) type SessionRow = (browser_sessions::Model, Option<String>);

/// PostgreSQL, many callers at once (`hot`): each (session hash, client) asked for, expired or
/// not (the caller compares the expiry with its own clock).
pub(super) async fn sessions_with_consent(
    db: DatabaseConnection,
    keys: Vec<(String, String)>,
) -> StoreResult<Vec<Option<SessionRow>>> {
    use sea_orm::sea_query::extension::postgres::PgFunc;
    let (hashes, clients): (Vec<String>, Vec<String>) = keys.iter().cloned().unzip();
    let rows = with_consent_of(PgFunc::any(Expr::val(clients)))
        .filter(super::hot::any(
            (browser_sessions::Entity, Column::IdHash),
            hashes,
        ))
        .all(&db)
        .await?;
    Ok(keys
        .iter()
        .map(|(hash, client)| {
            let mine = rows.iter().filter(|(s, _)| &s.id_hash == hash);
            let session = mine.clone().next()?.0.clone();
            let scope = mine
                .filter_map(|(_, c)| c.as_ref())
                .find(|c| &c.client_id == client)
                .map(|c| c.scope.clone());
            Some((session, scope))
        })
        .collect())
}

impl Store {
    /// Start session `s` in place of the browser's `previous` one (if any), and end the
    /// account's oldest sessions beyond `max_per_account` (0: no limit), in one job.
    pub async fn start_session(
        &self,
        previous: Option<&str>,
        s: &BrowserSession,
        max_per_account: u32,
        now: i64,
    ) -> StoreResult<SessionStarted> {
        let mut am = session_row(s, now);
        let (previous, account_id, new_hash) = (
            previous.map(str::to_owned),
            s.account_id.to_string(),
            s.id_hash.clone(),
        );
        self.write
            .run(move |db| {
                Box::pin(async move {
                    let mut sid = am.sid.clone().unwrap();
                    if let Some(old) = previous {
                        let this_browser = Condition::all().add(Column::IdHash.eq(old.as_str()));
                        match browser_sessions::Entity::find_by_id(old).one(db).await? {
                            Some(o) if o.account_id == account_id && o.sid.is_some() => {
                                sid = o.sid;
                                browser_sessions::Entity::delete_many()
                                    .filter(this_browser)
                                    .exec(db)
                                    .await?;
                            }
                            Some(_) => {
                                logouts::end_sessions(db, this_browser, "signed in again", now)
                                    .await?;
                            }
                            None => {}
                        }
                    }
                    am.sid = Set(sid.clone());
                    browser_sessions::Entity::insert(am)
                        .exec_without_returning(db)
                        .await?;
                    let mut ended_by_limit = 0;
                    if max_per_account > 0 {
                        let beyond: Vec<String> = browser_sessions::Entity::find()
                            .select_only()
                            .column(Column::IdHash)
                            .filter(Column::AccountId.eq(account_id.as_str()))
                            .filter(Column::IdHash.ne(new_hash.as_str()))
                            .filter(unexpired(Column::ExpiresAt, now))
                            .order_by_desc(Column::CreatedAt)
                            .order_by_desc(Column::IdHash)
                            .into_tuple::<String>()
                            .all(db)
                            .await?
                            .into_iter()
                            .skip(max_per_account as usize - 1)
                            .collect();
                        if !beyond.is_empty() {
                            let which = Condition::all().add(Column::IdHash.is_in(beyond));
                            ended_by_limit =
                                logouts::end_sessions(db, which, "session limit", now).await?;
                        }
                    }
                    Ok(SessionStarted {
                        sid,
                        ended_by_limit,
                    })
                })
            })
            .await
    }

    /// Note a use of a session, at most once a minute (one conditional UPDATE).
    pub async fn touch_session(&self, s: &BrowserSession, now: i64) -> StoreResult<()> {
        if now - s.last_seen_at < LAST_SEEN_EVERY {
            return Ok(());
        }
        let update = browser_sessions::Entity::update_many()
            .col_expr(browser_sessions::Column::LastSeenAt, Expr::value(now))
            .filter(browser_sessions::Column::IdHash.eq(s.id_hash.as_str()));
        self.write.update(update).await?;
        Ok(())
    }

    /// The live sessions of an account, the most recently used first.
    pub async fn sessions_of(
        &self,
        account_id: &AccountId,
        now: i64,
    ) -> StoreResult<Vec<BrowserSession>> {
        let mut all: Vec<BrowserSession> = browser_sessions::Entity::find()
            .filter(browser_sessions::Column::AccountId.eq(account_id.as_str()))
            .filter(unexpired(browser_sessions::Column::ExpiresAt, now))
            .all(&self.read)
            .await?
            .into_iter()
            .map(session_from)
            .collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.last_seen_at));
        Ok(all)
    }

    /// End one of an account's sessions, telling its apps (false: not theirs, or gone).
    pub async fn end_session_of(
        &self,
        account_id: &AccountId,
        id_hash: &str,
        reason: &'static str,
        now: i64,
    ) -> StoreResult<bool> {
        let which = Condition::all()
            .add(Column::IdHash.eq(id_hash))
            .add(Column::AccountId.eq(account_id.as_str()));
        self.end_sessions_where(which, reason, now).await
    }

    /// End the browser's session, telling its apps (RP-initiated logout, "sign out").
    pub async fn end_session(
        &self,
        id_hash: &str,
        reason: &'static str,
        now: i64,
    ) -> StoreResult<bool> {
        let which = Condition::all().add(Column::IdHash.eq(id_hash));
        self.end_sessions_where(which, reason, now).await
    }

    async fn end_sessions_where(
        &self,
        which: Condition,
        reason: &'static str,
        now: i64,
    ) -> StoreResult<bool> {
        let ended = self
            .write
            .run(move |db| Box::pin(logouts::end_sessions(db, which, reason, now)))
            .await?;
        Ok(ended == 1)
    }

    /// The live session with this id hash, if any.
    pub async fn session(&self, id_hash: &str, now: i64) -> StoreResult<Option<BrowserSession>> {
        Ok(self
            .first(
                browser_sessions::Entity::find_by_id(id_hash.to_owned())
                    .filter(unexpired(browser_sessions::Column::ExpiresAt, now)),
            )
            .await?
            .map(session_from))
    }

    /// The live session with this id hash and the scopes its account granted `client_id`
    /// (remembered consent), in one read.
    pub async fn session_with_consent(
        &self,
        id_hash: &str,
        client_id: &str,
        now: i64,
    ) -> StoreResult<Option<(BrowserSession, Option<String>)>> {
        let live = || {
            with_consent_of(Expr::val(client_id))
                .filter(Column::IdHash.eq(id_hash))
                .filter(unexpired(Column::ExpiresAt, now))
        };
        let found = match (&self.direct, &self.hot) {
            (Some(direct), _) => direct.one(live().limit(1).build(DbBackend::Sqlite), |row| {
                let session = browser_sessions::Model::from_direct(row, "A_")?;
                let scope: Option<String> = row.get("B_scope")?;
                Ok((session, scope))
            })?,
            (None, Some(hot)) => hot
                .sessions
                .call((id_hash.to_owned(), client_id.to_owned()))
                .await?
                .filter(|(session, _)| session.expires_at > now),
            (None, None) => live()
                .one(&self.read)
                .await?
                .map(|(s, c)| (s, c.map(|c| c.scope))),
        };
        Ok(found.map(|(s, scope)| (session_from(s), scope)))
    }

    /// Forget a session that ran out (idle too long): nothing is sent to its apps.
    pub async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let delete = browser_sessions::Entity::delete_many()
            .filter(browser_sessions::Column::IdHash.eq(id_hash));
        self.write.delete(delete).await?;
        Ok(())
    }

    pub async fn save_auth_request(
        &self,
        r: &StoredAuthRequest,
        expires_at: i64,
    ) -> StoreResult<()> {
        let am = auth_requests::ActiveModel {
            id: Set(r.id.clone()),
            client_id: Set(r.client_id.clone()),
            request_json: Set(r.request_json.clone()),
            created_at: Set(r.created_at),
            expires_at: Set(expires_at),
            stage_json: Set(r.stage_json.clone()),
            revision: Set(r.revision),
        };
        self.write.insert(auth_requests::Entity::insert(am)).await
    }

    pub async fn auth_request(&self, id: &str, now: i64) -> StoreResult<Option<StoredAuthRequest>> {
        Ok(self
            .first(
                auth_requests::Entity::find_by_id(id.to_owned())
                    .filter(unexpired(auth_requests::Column::ExpiresAt, now)),
            )
            .await?
            .map(|m| StoredAuthRequest {
                id: m.id,
                client_id: m.client_id,
                request_json: m.request_json,
                stage_json: m.stage_json,
                revision: m.revision,
                created_at: m.created_at,
            }))
    }

    /// Move a pending request to a new stage, if it is still at `revision` (compare-and-swap)
    /// and has not expired by `now`: true for exactly one of two concurrent transitions from
    /// the same stage.
    pub async fn advance_auth_request(
        &self,
        id: &str,
        revision: i64,
        stage_json: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let update = auth_requests::Entity::update_many()
            .col_expr(
                auth_requests::Column::StageJson,
                Expr::value(stage_json.to_owned()),
            )
            .col_expr(auth_requests::Column::Revision, Expr::value(revision + 1))
            .filter(live_at(id, revision, now));
        Ok(self.write.update(update).await? == 1)
    }

    /// Remove a finished request still at `revision`; true if this call removed it (so a
    /// request completes once, only from the stage its caller read, and not once expired).
    pub async fn take_auth_request(&self, id: &str, revision: i64, now: i64) -> StoreResult<bool> {
        Ok(self.write.delete(take_request(id, revision, now)).await? == 1)
    }
}

/// Request `id` while it is still at `revision` and has not expired by `now`: what every
/// transition changes (a request read just before it expired, or whose sign-in took longer
/// than its lifetime, ends as expired).
fn live_at(id: &str, revision: i64, now: i64) -> Condition {
    Condition::all()
        .add(auth_requests::Column::Id.eq(id))
        .add(auth_requests::Column::Revision.eq(revision))
        .add(unexpired(auth_requests::Column::ExpiresAt, now))
}

/// The DELETE that ends request `id` (see `live_at`).
pub(super) fn take_request(id: &str, revision: i64, now: i64) -> DeleteMany<auth_requests::Entity> {
    auth_requests::Entity::delete_many().filter(live_at(id, revision, now))
}

/// The row of a session starting at `now`.
pub(super) fn session_row(s: &BrowserSession, now: i64) -> browser_sessions::ActiveModel {
    browser_sessions::ActiveModel {
        id_hash: Set(s.id_hash.clone()),
        account_id: Set(s.account_id.to_string()),
        auth_time: Set(s.auth_time),
        amr: Set(amr_to_column(&s.amr)),
        idp: Set(s.idp.as_ref().map(UpstreamId::to_string)),
        created_at: Set(now),
        expires_at: Set(s.expires_at),
        ip: Set(s.ip.clone()),
        user_agent: Set(s.user_agent.clone()),
        last_seen_at: Set(Some(now)),
        sid: Set(s.sid.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with_request() -> Store {
        let store = Store::connect("sqlite::memory:", 1).await.unwrap();
        store.migrate().await.unwrap();
        let r = StoredAuthRequest {
            id: "req-1".into(),
            client_id: "c".into(),
            request_json: "{}".into(),
            stage_json: Some("\"awaiting_login\"".into()),
            revision: 0,
            created_at: 100,
        };
        store.save_auth_request(&r, 1000).await.unwrap();
        store
    }

    #[tokio::test]
    async fn of_two_transitions_from_one_stage_only_the_first_applies() {
        let store = store_with_request().await;
        assert!(
            store
                .advance_auth_request("req-1", 0, "\"a\"", 200)
                .await
                .unwrap()
        );
        assert!(
            !store
                .advance_auth_request("req-1", 0, "\"b\"", 200)
                .await
                .unwrap()
        );
        let now = store.auth_request("req-1", 200).await.unwrap().unwrap();
        assert_eq!(now.revision, 1);
        assert_eq!(now.stage_json.as_deref(), Some("\"a\""));
    }

    #[tokio::test]
    async fn a_request_completes_once_and_only_from_the_stage_its_caller_read() {
        let store = store_with_request().await;
        assert!(
            store
                .advance_auth_request("req-1", 0, "\"a\"", 200)
                .await
                .unwrap()
        );
        assert!(
            !store.take_auth_request("req-1", 0, 200).await.unwrap(),
            "stale revision"
        );
        assert!(store.take_auth_request("req-1", 1, 200).await.unwrap());
        assert!(
            !store.take_auth_request("req-1", 1, 200).await.unwrap(),
            "taken once"
        );
        assert!(store.auth_request("req-1", 200).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_expired_request_is_not_found() {
        let store = store_with_request().await;
        assert!(store.auth_request("req-1", 1000).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_expired_request_can_be_neither_advanced_nor_taken_even_at_its_revision() {
        let store = store_with_request().await;
        assert!(
            !store
                .advance_auth_request("req-1", 0, "\"a\"", 1000)
                .await
                .unwrap()
        );
        assert!(!store.take_auth_request("req-1", 0, 1000).await.unwrap());
        assert!(store.take_auth_request("req-1", 0, 999).await.unwrap());
    }
}
