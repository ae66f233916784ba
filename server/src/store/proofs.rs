//! One-time email proofs: a code (verification, email change) or a link (password reset, and
//! the verification link) sent to an address, stored only as hashes.
//!
//! Contracts:
//! - A proof is used once: `use_proof` is one conditional UPDATE (unused and unexpired), so
//!   two concurrent submissions cannot both succeed.
//! - A wrong code counts against the proof (`count_wrong_code`), and a proof with no tries
//!   left is refused even with the right code.
//! - Sending limits count the proofs made for an address, so every instance shares them.

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait as _},
};

use super::entities::{email_outbox, email_proofs};
use super::live::unexpired;
use super::{Store, StoreResult, outbox};
use crate::protocol::ids::AccountId;

/// What a proof is for; a proof made for one purpose is never accepted for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofPurpose {
    VerifyEmail,
    ChangeEmail,
    ResetPassword,
}

impl ProofPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ChangeEmail => "change_email",
            Self::ResetPassword => "reset_password",
        }
    }
}

/// A proof to store.
#[derive(Debug, Clone)]
pub struct NewProof {
    pub purpose: ProofPurpose,
    pub account_id: AccountId,
    pub email: String,
    pub code_hash: Option<String>,
    pub link_hash: String,
    pub request_id: Option<String>,
    pub expires_at: i64,
}

/// A stored proof.
#[derive(Debug, Clone)]
pub struct Proof {
    pub id: String,
    pub account_id: AccountId,
    pub email: String,
    pub code_hash: Option<String>,
    pub link_hash: String,
    pub attempts: i32,
    pub request_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

impl From<email_proofs::Model> for Proof {
    fn from(m: email_proofs::Model) -> Self {
        Self {
            id: m.id,
            account_id: AccountId::new(m.account_id),
            email: m.email,
            code_hash: m.code_hash,
            link_hash: m.link_hash,
            attempts: m.attempts,
            request_id: m.request_id,
            created_at: m.created_at,
            expires_at: m.expires_at,
            used_at: m.used_at,
        }
    }
}

/// How many proofs were made for an address lately, and when the last one was.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendHistory {
    pub count: u64,
    pub last_at: Option<i64>,
}

pub(super) fn proof_model(p: &NewProof, now: i64) -> email_proofs::ActiveModel {
    email_proofs::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        purpose: Set(p.purpose.as_str().to_owned()),
        account_id: Set(p.account_id.to_string()),
        email: Set(p.email.clone()),
        code_hash: Set(p.code_hash.clone()),
        link_hash: Set(p.link_hash.clone()),
        attempts: Set(0),
        request_id: Set(p.request_id.clone()),
        created_at: Set(now),
        expires_at: Set(p.expires_at),
        used_at: Set(None),
    }
}

/// The condition under which a proof may still be used.
pub(super) fn usable(id: &str, now: i64) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(email_proofs::Column::Id.eq(id))
        .add(email_proofs::Column::UsedAt.is_null())
        .add(unexpired(email_proofs::Column::ExpiresAt, now))
}

impl Store {
    /// Store a proof and the message that carries it, both or neither.
    pub async fn send_proof(
        &self,
        proof: &NewProof,
        email: &outbox::NewEmail,
        now: i64,
    ) -> StoreResult<()> {
        self.write
            .insert_both(
                email_proofs::Entity::insert(proof_model(proof, now)),
                email_outbox::Entity::insert(outbox::email_model(email, now)),
            )
            .await
    }

    /// Proofs made for `email` and `purpose` since `since`.
    pub async fn proof_history(
        &self,
        email: &str,
        purpose: ProofPurpose,
        since: i64,
    ) -> StoreResult<SendHistory> {
        let recent = || {
            email_proofs::Entity::find()
                .filter(email_proofs::Column::Email.eq(email))
                .filter(email_proofs::Column::Purpose.eq(purpose.as_str()))
                .filter(email_proofs::Column::CreatedAt.gte(since))
        };
        let count = recent().count(&self.read).await?;
        let last = recent()
            .order_by_desc(email_proofs::Column::CreatedAt)
            .one(&self.read)
            .await?;
        Ok(SendHistory {
            count,
            last_at: last.map(|m| m.created_at),
        })
    }

    /// The newest unused, unexpired proof with a code of an account for a purpose.
    pub async fn live_proof(
        &self,
        account_id: &AccountId,
        purpose: ProofPurpose,
        now: i64,
    ) -> StoreResult<Option<Proof>> {
        self.newest_proof(account_id, purpose, now, true).await
    }

    /// The newest unused, unexpired proof of an account for a purpose, with a code or not
    /// (what the account page shows as awaiting its code).
    pub async fn pending_proof(
        &self,
        account_id: &AccountId,
        purpose: ProofPurpose,
        now: i64,
    ) -> StoreResult<Option<Proof>> {
        self.newest_proof(account_id, purpose, now, false).await
    }

    async fn newest_proof(
        &self,
        account_id: &AccountId,
        purpose: ProofPurpose,
        now: i64,
        with_code: bool,
    ) -> StoreResult<Option<Proof>> {
        let mut query = email_proofs::Entity::find()
            .filter(email_proofs::Column::AccountId.eq(account_id.as_str()))
            .filter(email_proofs::Column::Purpose.eq(purpose.as_str()))
            .filter(email_proofs::Column::UsedAt.is_null())
            .filter(unexpired(email_proofs::Column::ExpiresAt, now));
        if with_code {
            query = query.filter(email_proofs::Column::CodeHash.is_not_null());
        }
        Ok(query
            .order_by_desc(email_proofs::Column::CreatedAt)
            .one(&self.read)
            .await?
            .map(Into::into))
    }

    /// The proof a link carries (used or not, expired or not: the caller tells which).
    pub async fn proof_by_link(
        &self,
        link_hash: &str,
        purpose: ProofPurpose,
    ) -> StoreResult<Option<Proof>> {
        Ok(email_proofs::Entity::find()
            .filter(email_proofs::Column::LinkHash.eq(link_hash))
            .filter(email_proofs::Column::Purpose.eq(purpose.as_str()))
            .one(&self.read)
            .await?
            .map(Into::into))
    }

    /// Count a wrong code; false when the proof had no try left (or is used or expired).
    pub async fn count_wrong_code(&self, id: &str, max_tries: i32, now: i64) -> StoreResult<bool> {
        let update = email_proofs::Entity::update_many()
            .col_expr(
                email_proofs::Column::Attempts,
                Expr::col(email_proofs::Column::Attempts).add(1),
            )
            .filter(usable(id, now))
            .filter(email_proofs::Column::Attempts.lt(max_tries));
        Ok(self.write.update(update).await? == 1)
    }

    /// Use a proof that needs nothing else written (false: used already, or expired).
    pub async fn use_proof(&self, id: &str, now: i64) -> StoreResult<bool> {
        let update = email_proofs::Entity::update_many()
            .col_expr(email_proofs::Column::UsedAt, Expr::value(now))
            .filter(usable(id, now));
        Ok(self.write.update(update).await? == 1)
    }
}
