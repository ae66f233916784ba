//! Grants (one per sign-in and client: the refresh-token family), their authorization codes,
//! refresh tokens, and the access tokens revoked one by one (a user access token names its
//! grant in its `jti`, so it needs no row to be revoked with the grant). Codes and refresh
//! tokens are stored only as hashes.
//!
//! Contracts:
//! - `claim_code` and `claim_refresh_token` succeed for exactly one caller per row.
//! - A revoked grant invalidates every refresh and access token that references it, including
//!   tokens inserted after the revocation (the grant row exists from code issuance on).

use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, QueryFilter, QuerySelect, QueryTrait, SelectThree, TopologyChain, UpdateMany,
    sea_query::Expr, sea_query::IntoCondition,
};

use super::direct::FromDirect;
use super::entities::{access_tokens, accounts, auth_codes, grants, refresh_tokens};
use super::live::unexpired;
use super::{Account, Store, StoreResult};
use crate::protocol::ids::{AccountId, GrantId, UpstreamId};

#[derive(Debug, Clone)]
pub struct NewGrant {
    pub id: GrantId,
    pub client_id: String,
    pub account_id: AccountId,
    pub scope: String,
    pub auth_time: i64,
    pub amr: Vec<crate::protocol::vocab::Amr>,
    /// The upstream that signed the user in, if not a local password.
    pub idp: Option<UpstreamId>,
    /// The authentication context class the sign-in reached (OIDC Core §2 `acr`).
    pub acr: Option<String>,
    /// The browser session it was issued in (OIDC Back-Channel Logout §2.1 `sid`).
    pub sid: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct Grant {
    pub id: GrantId,
    pub client_id: String,
    pub account_id: AccountId,
    pub scope: String,
    pub auth_time: i64,
    pub amr: Vec<crate::protocol::vocab::Amr>,
    pub idp: Option<UpstreamId>,
    pub acr: Option<String>,
    pub sid: Option<String>,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewCode {
    pub code_hash: String,
    pub redirect_uri: String,
    pub nonce: Option<String>,
    pub pkce_challenge: Option<String>,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct CodeRecord {
    pub code_hash: String,
    pub grant_id: GrantId,
    pub client_id: String,
    pub account_id: AccountId,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub pkce_challenge: Option<String>,
    pub auth_time: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub token_hash: String,
    pub grant_id: GrantId,
    pub client_id: String,
    pub scope: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct RefreshRecord {
    pub token_hash: String,
    pub grant_id: GrantId,
    pub client_id: String,
    pub scope: String,
    pub expires_at: i64,
    pub rotated_at: Option<i64>,
}

/// What redeeming a code needs, read together.
#[derive(Debug, Clone)]
pub struct Redeemable {
    pub code: CodeRecord,
    pub grant: Option<Grant>,
    pub account: Option<Account>,
}

fn code_from(m: auth_codes::Model) -> CodeRecord {
    CodeRecord {
        code_hash: m.code_hash,
        grant_id: GrantId::new(m.grant_id),
        client_id: m.client_id,
        account_id: AccountId::new(m.account_id),
        redirect_uri: m.redirect_uri,
        scope: m.scope,
        nonce: m.nonce,
        pkce_challenge: m.pkce_challenge,
        auth_time: m.auth_time,
        expires_at: m.expires_at,
        consumed_at: m.consumed_at,
    }
}

fn redeemable_from((code, grant, account): RedeemRow) -> Redeemable {
    Redeemable {
        code: code_from(code),
        grant: grant.map(grant_from),
        account: account.map(Into::into),
    }
}

fn grant_from(m: grants::Model) -> Grant {
    Grant {
        id: GrantId::new(m.id),
        client_id: m.client_id,
        account_id: AccountId::new(m.account_id),
        scope: m.scope,
        auth_time: m.auth_time,
        amr: super::interactions::amr_from_column(&m.amr),
        idp: m.idp.map(UpstreamId::new),
        acr: m.acr,
        sid: m.sid,
        expires_at: m.expires_at,
        revoked_at: m.revoked_at,
    }
}

/// A code, its grant and the grant's account.
pub(super) type RedeemRow = (
    auth_codes::Model,
    Option<grants::Model>,
    Option<accounts::Model>,
);

/// Codes joined to their grants and accounts.
fn redeemable() -> SelectThree<auth_codes::Entity, grants::Entity, accounts::Entity, TopologyChain>
{
    auth_codes::Entity::find()
        .find_also_related(grants::Entity)
        .and_also_related(accounts::Entity)
}

/// Set `consumed_at` on the codes the caller filters for that are not used yet.
fn claim(now: i64) -> UpdateMany<auth_codes::Entity> {
    auth_codes::Entity::update_many()
        .col_expr(auth_codes::Column::ConsumedAt, Expr::value(now))
        .filter(auth_codes::Column::ConsumedAt.is_null())
}

/// PostgreSQL, many callers at once (`hot`): the grants and their codes, in one statement.
pub(super) async fn create_grants_with_codes(
    db: DatabaseConnection,
    pairs: Vec<(grants::ActiveModel, auth_codes::ActiveModel)>,
) -> StoreResult<Vec<()>> {
    let n = pairs.len();
    let (grants, codes): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    let both = super::writer::both(
        grants::Entity::insert_many(grants).into_query(),
        auth_codes::Entity::insert_many(codes).into_query(),
    );
    db.execute(&both).await.map_err(super::conflict_or)?;
    Ok(vec![(); n])
}

/// What a code must have been issued with to be redeemed by this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemTerms {
    pub client_id: String,
    pub redirect_uri: String,
    /// The challenge as stored (`pkce::expected`); `None`: the code must have none.
    pub pkce_challenge: Option<String>,
}

impl RedeemTerms {
    /// The code `code_hash`, if issued with these terms.
    fn condition(&self, code_hash: &str) -> Condition {
        let pkce = match &self.pkce_challenge {
            Some(challenge) => auth_codes::Column::PkceChallenge.eq(challenge.as_str()),
            None => auth_codes::Column::PkceChallenge.is_null(),
        };
        Condition::all()
            .add(auth_codes::Column::CodeHash.eq(code_hash))
            .add(auth_codes::Column::ClientId.eq(self.client_id.as_str()))
            .add(auth_codes::Column::RedirectUri.eq(self.redirect_uri.as_str()))
            .add(pkce)
    }

    fn issued(&self, code: &auth_codes::Model) -> bool {
        code.client_id == self.client_id
            && code.redirect_uri == self.redirect_uri
            && code.pkce_challenge == self.pkce_challenge
    }
}

/// Claim, at `now`, the unexpired codes `which` selects.
fn redeem(now: i64, which: impl IntoCondition) -> UpdateMany<auth_codes::Entity> {
    claim(now)
        .filter(unexpired(auth_codes::Column::ExpiresAt, now))
        .filter(which)
}

/// A redemption asked for: the code's hash, its terms, and the time.
pub(super) type Redemption = (String, RedeemTerms, i64);

/// PostgreSQL, many callers at once (`hot`): each redemption's code claimed if it matches its
/// terms, and read with its grant and account, in one statement per distinct `now` (a
/// data-modifying CTE: `WITH claimed AS (UPDATE … WHERE (code_hash, client_id, redirect_uri,
/// challenge) IN unnest(the batch's arrays) RETURNING code_hash) SELECT … WHERE code_hash IN
/// claimed`). A claimed code goes to the first redemption whose terms it was
/// issued with: two requests for one code in a batch, one with the wrong verifier, never give
/// the code to the wrong one.
pub(super) async fn redeem_codes(
    db: DatabaseConnection,
    asks: Vec<Redemption>,
) -> StoreResult<Vec<Option<RedeemRow>>> {
    use sea_orm::FromQueryResult;
    use sea_orm::sea_query::{CommonTableExpression, ExprTrait, Query, WithClause};
    let mut nows: Vec<i64> = asks.iter().map(|(.., now)| *now).collect();
    nows.sort_unstable();
    nows.dedup();
    let mut claimed = Vec::new();
    for now in nows {
        let mine = asks.iter().filter(|(.., at)| *at == now);
        let (mut hashes, mut clients, mut uris, mut challenges) = (vec![], vec![], vec![], vec![]);
        for (hash, terms, _) in mine {
            hashes.push(hash.clone());
            clients.push(terms.client_id.clone());
            uris.push(terms.redirect_uri.clone());
            // A stored challenge is never empty: "" stands for none.
            challenges.push(terms.pkce_challenge.clone().unwrap_or_default());
        }
        // One parameter per column, whatever the batch's size: one prepared statement, planned
        // the same way for every batch.
        let which = Expr::cust_with_values(
            r#"("auth_codes"."code_hash", "auth_codes"."client_id", "auth_codes"."redirect_uri", COALESCE("auth_codes"."pkce_challenge", '')) IN (SELECT * FROM unnest($1, $2, $3, $4))"#,
            [hashes, clients, uris, challenges],
        );
        let mut update = redeem(now, which).into_query();
        update.returning_col(auth_codes::Column::CodeHash);
        let cte = CommonTableExpression::new()
            .query(update)
            .table_name("claimed")
            .to_owned();
        let from_claimed = Query::select()
            .column(auth_codes::Column::CodeHash)
            .from("claimed")
            .to_owned();
        let select = redeemable()
            .filter(
                Expr::col((auth_codes::Entity, auth_codes::Column::CodeHash))
                    .in_subquery(from_claimed),
            )
            .into_query()
            .with(WithClause::new().cte(cte).to_owned());
        for row in db.query_all(&select).await? {
            claimed.push((
                auth_codes::Model::from_query_result(&row, "A_")?,
                grants::Model::from_query_result_optional(&row, "B_")?,
                accounts::Model::from_query_result_optional(&row, "C_")?,
            ));
        }
    }
    Ok(asks
        .iter()
        .map(|(hash, terms, _)| {
            let at = claimed
                .iter()
                .position(|(code, ..)| &code.code_hash == hash && terms.issued(code))?;
            Some(claimed.swap_remove(at))
        })
        .collect())
}

impl Store {
    /// Record a new grant and the authorization code that starts it, atomically.
    pub async fn create_grant_with_code(
        &self,
        g: &NewGrant,
        c: &NewCode,
        now: i64,
    ) -> StoreResult<()> {
        let (grant, code) = grant_and_code(g, c, now);
        match &self.hot {
            Some(hot) => hot.grants.call((grant, code)).await,
            None => {
                let (grant, code) = (
                    grants::Entity::insert(grant),
                    auth_codes::Entity::insert(code),
                );
                self.write.insert_both(grant, code).await
            }
        }
    }

    pub async fn code(&self, code_hash: &str) -> StoreResult<Option<CodeRecord>> {
        Ok(self
            .first(auth_codes::Entity::find_by_id(code_hash.to_owned()))
            .await?
            .map(code_from))
    }

    /// A code with its grant and the grant's account, in one read (the token endpoint needs
    /// all three; either of the last two is `None` once deleted).
    pub async fn code_to_redeem(&self, code_hash: &str) -> StoreResult<Option<Redeemable>> {
        let select = redeemable().filter(auth_codes::Column::CodeHash.eq(code_hash));
        let found = match &self.direct {
            Some(direct) => direct.one(select.limit(1).build(DbBackend::Sqlite), |row| {
                Ok((
                    auth_codes::Model::from_direct(row, "A_")?,
                    grants::Model::joined(row, "B_")?,
                    accounts::Model::joined(row, "C_")?,
                ))
            })?,
            None => select.one(&self.read).await?,
        };
        Ok(found.map(redeemable_from))
    }

    /// Redeem a code in one step: claim it if it is unused, unexpired and was issued with
    /// `terms`, and return it with its grant and account. `None` when it did not claim it (the
    /// caller then reads the code to say why: a used one is a replay). On PostgreSQL one
    /// statement, batched with concurrent redemptions (`hot`); elsewhere the claim, then the
    /// read (on a SQLite file, in-process).
    pub async fn redeem_code(
        &self,
        code_hash: &str,
        terms: &RedeemTerms,
        now: i64,
    ) -> StoreResult<Option<Redeemable>> {
        if let Some(hot) = &self.hot {
            let ask = (code_hash.to_owned(), terms.clone(), now);
            return Ok(hot.redeems.call(ask).await?.map(redeemable_from));
        }
        let claim = redeem(now, terms.condition(code_hash));
        if self.write.update(claim).await? != 1 {
            return Ok(None);
        }
        self.code_to_redeem(code_hash).await
    }

    /// Mark a code used. True for exactly one caller; false if it was already used.
    pub async fn claim_code(&self, code_hash: &str, now: i64) -> StoreResult<bool> {
        let claim = claim(now).filter(auth_codes::Column::CodeHash.eq(code_hash));
        Ok(self.write.update(claim).await? == 1)
    }

    pub async fn grant(&self, id: &GrantId) -> StoreResult<Option<Grant>> {
        Ok(self
            .first(grants::Entity::find_by_id(id.to_string()))
            .await?
            .map(grant_from))
    }

    /// Revoke a grant: every refresh and access token of the family stops working.
    pub async fn revoke_grant(&self, id: &GrantId, reason: &str, now: i64) -> StoreResult<bool> {
        let revoke = grants::Entity::update_many()
            .col_expr(grants::Column::RevokedAt, Expr::value(now))
            .col_expr(
                grants::Column::RevokedReason,
                Expr::value(reason.to_owned()),
            )
            .filter(grants::Column::Id.eq(id.as_str()))
            .filter(grants::Column::RevokedAt.is_null());
        Ok(self.write.update(revoke).await? == 1)
    }

    /// Record a refresh token issued under a grant.
    pub async fn record_refresh_token(&self, rt: &NewRefreshToken, now: i64) -> StoreResult<()> {
        let insert = refresh_tokens::Entity::insert(refresh_tokens::ActiveModel {
            token_hash: Set(rt.token_hash.clone()),
            grant_id: Set(rt.grant_id.to_string()),
            client_id: Set(rt.client_id.clone()),
            scope: Set(rt.scope.clone()),
            created_at: Set(now),
            expires_at: Set(rt.expires_at),
            rotated_at: Set(None),
        });
        self.write.insert(insert).await
    }

    pub async fn refresh_token(&self, token_hash: &str) -> StoreResult<Option<RefreshRecord>> {
        Ok(self
            .first(refresh_tokens::Entity::find_by_id(token_hash.to_owned()))
            .await?
            .map(|m| RefreshRecord {
                token_hash: m.token_hash,
                grant_id: GrantId::new(m.grant_id),
                client_id: m.client_id,
                scope: m.scope,
                expires_at: m.expires_at,
                rotated_at: m.rotated_at,
            }))
    }

    /// Mark a refresh token rotated. True for exactly one caller.
    pub async fn claim_refresh_token(&self, token_hash: &str, now: i64) -> StoreResult<bool> {
        let claim = refresh_tokens::Entity::update_many()
            .col_expr(refresh_tokens::Column::RotatedAt, Expr::value(now))
            .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
            .filter(refresh_tokens::Column::RotatedAt.is_null());
        Ok(self.write.update(claim).await? == 1)
    }

    /// Whether an access token was revoked: by itself (RFC 7009: a row for its `jti`), or
    /// through `grant`, the grant it was issued under, revoked or gone. Tokens issued before
    /// access tokens named their grant have a row that names it.
    pub async fn access_token_revoked(
        &self,
        jti: &str,
        grant: Option<&GrantId>,
    ) -> StoreResult<bool> {
        let row = self
            .first(access_tokens::Entity::find_by_id(jti.to_owned()))
            .await?;
        if row.as_ref().is_some_and(|m| m.revoked_at.is_some()) {
            return Ok(true);
        }
        let grant = match (grant, row.and_then(|m| m.grant_id)) {
            (Some(g), _) => Some(g.clone()),
            (None, recorded) => recorded.map(GrantId::new),
        };
        Ok(match grant {
            Some(g) => self.grant(&g).await?.is_none_or(|g| g.revoked_at.is_some()),
            None => false,
        })
    }

    /// Revoke one access token, recording it if the store had not seen it.
    pub async fn revoke_access_token(
        &self,
        jti: &str,
        client_id: &str,
        expires_at: i64,
        now: i64,
    ) -> StoreResult<()> {
        let revoke = access_tokens::Entity::update_many()
            .col_expr(access_tokens::Column::RevokedAt, Expr::value(now))
            .filter(access_tokens::Column::Jti.eq(jti));
        let record = access_tokens::Entity::insert(access_tokens::ActiveModel {
            jti: Set(jti.to_owned()),
            grant_id: Set(None),
            client_id: Set(client_id.to_owned()),
            expires_at: Set(expires_at),
            revoked_at: Set(Some(now)),
        })
        .on_conflict_do_nothing();
        self.write
            .run(move |db| {
                Box::pin(async move {
                    if revoke.exec(db).await?.rows_affected == 0 {
                        record.exec_without_returning(db).await?;
                    }
                    Ok(())
                })
            })
            .await
    }
}

/// The rows of a new grant and its code.
pub(super) fn grant_and_code(
    g: &NewGrant,
    c: &NewCode,
    now: i64,
) -> (grants::ActiveModel, auth_codes::ActiveModel) {
    let grant = grants::ActiveModel {
        id: Set(g.id.to_string()),
        client_id: Set(g.client_id.clone()),
        account_id: Set(g.account_id.to_string()),
        scope: Set(g.scope.clone()),
        auth_time: Set(g.auth_time),
        amr: Set(super::interactions::amr_to_column(&g.amr)),
        idp: Set(g.idp.as_ref().map(UpstreamId::to_string)),
        created_at: Set(now),
        expires_at: Set(g.expires_at),
        revoked_at: Set(None),
        revoked_reason: Set(None),
        acr: Set(g.acr.clone()),
        sid: Set(g.sid.clone()),
    };
    let code = auth_codes::ActiveModel {
        code_hash: Set(c.code_hash.clone()),
        grant_id: Set(g.id.to_string()),
        client_id: Set(g.client_id.clone()),
        account_id: Set(g.account_id.to_string()),
        redirect_uri: Set(c.redirect_uri.clone()),
        scope: Set(g.scope.clone()),
        nonce: Set(c.nonce.clone()),
        pkce_challenge: Set(c.pkce_challenge.clone()),
        auth_time: Set(g.auth_time),
        created_at: Set(now),
        expires_at: Set(c.expires_at),
        consumed_at: Set(None),
    };
    (grant, code)
}
