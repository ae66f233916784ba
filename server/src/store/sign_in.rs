//! What a sign-in reads of an account, each in one statement: the account a password names,
//! with whether it is disabled and the email's failed attempts (the login form's check), and
//! the facts every way of signing in consults before it starts a session
//! (`authz::complete_sign_in`: disabled, email verification, second factors, the consent
//! remembered for the client).

use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement, SubQueryStatement};

use super::entities::{accounts, consents, disabled_accounts, login_failures};
use super::factors::{summary_columns, summary_of};
use super::{Account, FactorSummary, FailureState, Store, StoreResult};
use crate::protocol::ids::AccountId;

/// An account as a sign-in sees it.
#[derive(Debug, Clone)]
pub struct SignInFacts {
    pub disabled: bool,
    pub email: Option<String>,
    pub email_verified: bool,
    pub factors: FactorSummary,
    /// The space-separated scopes the account granted the client, if it did.
    pub consent: Option<String>,
}

/// What a password sign-in reads before the hash.
#[derive(Debug, Default)]
pub struct PasswordSignIn {
    /// The account the email names, and whether it is disabled.
    pub account: Option<(Account, bool)>,
    /// The failed attempts counted under the email's lockout key (none: the default).
    pub failures: FailureState,
}

/// `(SELECT disabled_at FROM disabled_accounts WHERE account_id = accounts.id)`.
fn disabled_at() -> Expr {
    let q = Query::select()
        .column(disabled_accounts::Column::DisabledAt)
        .from(disabled_accounts::Entity)
        .and_where(
            Expr::col((
                disabled_accounts::Entity,
                disabled_accounts::Column::AccountId,
            ))
            .equals((accounts::Entity, accounts::Column::Id)),
        )
        .to_owned();
    scalar(q)
}

fn scalar(q: SelectStatement) -> Expr {
    Expr::from(SubQueryStatement::from(q))
}

impl Store {
    /// The account `email` names (stored lower-cased; `None`: no account is looked up) with
    /// whether it is disabled, and the failed attempts counted under lockout key `key`: one
    /// statement, whether either exists.
    pub async fn sign_in_account(
        &self,
        email: Option<&str>,
        key: &str,
    ) -> StoreResult<PasswordSignIn> {
        use accounts::Column as A;
        use login_failures::Column as F;
        // One row (`SELECT 1`) both lookups are left-joined to: a row whether either exists.
        let one = Query::select().expr(Expr::val(1)).to_owned();
        let select = Query::select()
            .columns([
                (accounts::Entity, A::Id),
                (accounts::Entity, A::Email),
                (accounts::Entity, A::EmailVerified),
                (accounts::Entity, A::Name),
                (accounts::Entity, A::PasswordHash),
                (accounts::Entity, A::CreatedAt),
            ])
            .expr(disabled_at())
            .columns([
                (login_failures::Entity, F::Failures),
                (login_failures::Entity, F::WindowStart),
                (login_failures::Entity, F::Lockouts),
                (login_failures::Entity, F::LockedUntil),
            ])
            .from_subquery(one, "one_row")
            .left_join(
                accounts::Entity,
                match email {
                    Some(email) => Expr::col((accounts::Entity, A::Email)).eq(email),
                    None => Expr::val(1).eq(0),
                },
            )
            .left_join(
                login_failures::Entity,
                Expr::col((login_failures::Entity, F::KeyHash)).eq(key),
            )
            .to_owned();
        let found = self.read_one(&select, |r| {
            let account = match r.opt_text(0)? {
                Some(id) => {
                    let model = accounts::Model {
                        id,
                        email: r.opt_text(1)?,
                        email_verified: r.flag(2)?,
                        name: r.opt_text(3)?,
                        password_hash: r.opt_text(4)?,
                        created_at: r.int(5)?,
                    };
                    Some((model.into(), r.opt_int(6)?.is_some()))
                }
                None => None,
            };
            // The window's start is never NULL in a counter: without one, nothing is counted.
            let failures = match r.opt_int(8)? {
                Some(window_start) => FailureState {
                    failures: r.int32(7)?,
                    window_start,
                    lockouts: r.int32(9)?,
                    locked_until: r.opt_int(10)?,
                },
                None => FailureState::default(),
            };
            Ok(PasswordSignIn { account, failures })
        });
        Ok(found.await?.unwrap_or_default())
    }

    /// What `complete_sign_in` must know of account `id` signing in for `client_id`; `None`
    /// when there is no such account (deleted meanwhile).
    pub async fn sign_in_facts(
        &self,
        id: &AccountId,
        client_id: &str,
    ) -> StoreResult<Option<SignInFacts>> {
        use accounts::Column as A;
        let consent = Query::select()
            .column(consents::Column::Scope)
            .from(consents::Entity)
            .and_where(consents::Column::AccountId.eq(id.as_str()))
            .and_where(consents::Column::ClientId.eq(client_id))
            .to_owned();
        let mut select = Query::select();
        select
            .columns([A::Email, A::EmailVerified])
            .expr(disabled_at())
            .expr(scalar(consent));
        for column in summary_columns(id.as_str()) {
            select.expr(column);
        }
        select
            .from(accounts::Entity)
            .and_where(A::Id.eq(id.as_str()));
        self.read_one(&select, |r| {
            Ok(SignInFacts {
                email: r.opt_text(0)?,
                email_verified: r.flag(1)?,
                disabled: r.opt_int(2)?.is_some(),
                consent: r.opt_text(3)?,
                factors: summary_of(r, 4)?,
            })
        })
        .await
    }
}
