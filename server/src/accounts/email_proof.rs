//! Proving an email address: a 6-digit code and a link carrying a random token, both sent in
//! one message and stored only as hashes (the code hashed with its proof's link hash). Codes
//! live 15 minutes and allow 5 wrong tries; reset links live 30 minutes and work once. An
//! address gets at most one message a minute and five an hour per purpose, counted in the
//! database so every instance shares the limits.

use rand::Rng as _;

use super::AccountError;
use crate::email::{Mailer, messages};
use crate::protocol::ids::AccountId;
use crate::secret::{Secret, ct_eq};
use crate::store::{Account, NewEmail, NewProof, Proof, ProofPurpose, Store, StoreError};
use crate::tokens::opaque;

pub const CODE_LIFETIME: i64 = 15 * 60;
pub const RESET_LIFETIME: i64 = 30 * 60;
/// Wrong codes a proof allows; the next right one is refused too.
pub const MAX_WRONG_CODES: i32 = 5;
/// Seconds between two messages to one address for one purpose.
pub const RESEND_AFTER: i64 = 60;
/// Messages to one address for one purpose in an hour.
pub const PER_HOUR: u64 = 5;

/// What sending needs: the store, where mail goes, the issuer's base URL for links, the time.
pub struct Mail<'a> {
    pub store: &'a Store,
    pub mailer: &'a Mailer,
    pub base: &'a str,
    pub now: i64,
}

/// Whether a message went out (was queued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Sent,
    /// Too soon after the last one: try again in this many seconds.
    TooSoon(i64),
    /// The hourly limit is reached.
    TooMany,
}

/// The limit check for one more message to `email` for `purpose`.
pub async fn may_send(
    mail: &Mail<'_>,
    email: &str,
    purpose: ProofPurpose,
) -> Result<Sent, StoreError> {
    let h = mail
        .store
        .proof_history(email, purpose, mail.now - 3600)
        .await?;
    if let Some(last) = h.last_at
        && mail.now - last < RESEND_AFTER
    {
        return Ok(Sent::TooSoon(RESEND_AFTER - (mail.now - last)));
    }
    if h.count >= PER_HOUR {
        return Ok(Sent::TooMany);
    }
    Ok(Sent::Sent)
}

fn code_hash(link_hash: &str, code: &str) -> String {
    opaque::hash(&format!("email-code:{link_hash}:{code}"))
}

/// A new proof: its row, the code (when it has one) and the link token.
fn new_proof(
    purpose: ProofPurpose,
    account_id: &AccountId,
    email: &str,
    request_id: Option<&str>,
    lifetime: i64,
    with_code: bool,
    now: i64,
) -> (NewProof, Option<String>, Secret) {
    let token = opaque::random_token();
    let link_hash = opaque::hash(token.expose());
    let code = with_code.then(|| format!("{:06}", rand::rng().random_range(0..1_000_000u32)));
    let proof = NewProof {
        purpose,
        account_id: account_id.clone(),
        email: email.to_owned(),
        code_hash: code.as_deref().map(|c| code_hash(&link_hash, c)),
        link_hash,
        request_id: request_id.map(str::to_owned),
        expires_at: now + lifetime,
    };
    (proof, code, token)
}

fn render_failed(e: askama::Error) -> AccountError {
    AccountError::Email(e.to_string())
}

/// A verification proof for a new account's address and its message (for `register_account`).
pub fn verification_for(
    mail: &Mail<'_>,
    account: &Account,
    email: &str,
    request_id: Option<&str>,
) -> Result<(NewProof, NewEmail), AccountError> {
    let (proof, code, token) = new_proof(
        ProofPurpose::VerifyEmail,
        &account.id,
        email,
        request_id,
        CODE_LIFETIME,
        true,
        mail.now,
    );
    let link = format!("{}/verify/link?token={}", mail.base, token.expose());
    let rendered = messages::VerifyEmail {
        site: mail.mailer.site(),
        code: code.as_deref().unwrap_or_default(),
        link: &link,
        minutes: &(CODE_LIFETIME / 60).to_string(),
    }
    .render()
    .map_err(render_failed)?;
    let message = mail
        .mailer
        .outgoing(email, rendered, mail.now + CODE_LIFETIME);
    Ok((proof, message))
}

/// Send (within the limits) a code confirming the account's current address.
pub async fn send_verification(
    mail: &Mail<'_>,
    account: &Account,
    request_id: Option<&str>,
) -> Result<Sent, AccountError> {
    let Some(email) = account.email.as_deref() else {
        return Ok(Sent::TooMany);
    };
    let sent = may_send(mail, email, ProofPurpose::VerifyEmail).await?;
    if sent == Sent::Sent {
        let (proof, message) = verification_for(mail, account, email, request_id)?;
        mail.store.send_proof(&proof, &message, mail.now).await?;
    }
    Ok(sent)
}

/// Send (within the limits) a code to `new_email` to make it the account's address. When
/// another account holds that address, it gets a notice instead, and the answer is the same.
pub async fn send_email_change(
    mail: &Mail<'_>,
    account: &Account,
    new_email: &str,
) -> Result<Sent, AccountError> {
    let sent = may_send(mail, new_email, ProofPurpose::ChangeEmail).await?;
    if sent != Sent::Sent {
        return Ok(sent);
    }
    let (proof, code, _token) = new_proof(
        ProofPurpose::ChangeEmail,
        &account.id,
        new_email,
        None,
        CODE_LIFETIME,
        true,
        mail.now,
    );
    let taken = mail.store.account_by_email(new_email).await?.is_some();
    let rendered = if taken {
        messages::AddressInUse {
            site: mail.mailer.site(),
        }
        .render()
    } else {
        messages::ChangeEmail {
            site: mail.mailer.site(),
            code: code.as_deref().unwrap_or_default(),
            minutes: &(CODE_LIFETIME / 60).to_string(),
        }
        .render()
    }
    .map_err(render_failed)?;
    let message = mail
        .mailer
        .outgoing(new_email, rendered, mail.now + CODE_LIFETIME);
    // A proof row either way: the limits count it, and for a taken address no code matches it.
    let proof = if taken {
        NewProof {
            code_hash: None,
            ..proof
        }
    } else {
        proof
    };
    mail.store.send_proof(&proof, &message, mail.now).await?;
    Ok(Sent::Sent)
}

/// Send a password-reset link to the account holding `email`, if there is one that may reset
/// (an account without a password only with a verified address); nothing for anyone else.
pub async fn send_reset(
    mail: &Mail<'_>,
    email: &str,
    request_id: Option<&str>,
) -> Result<Option<Account>, AccountError> {
    let Some(account) = mail.store.account_by_email(email).await? else {
        return Ok(None);
    };
    if account.password_hash.is_none() && !account.email_verified {
        return Ok(None);
    }
    if may_send(mail, email, ProofPurpose::ResetPassword).await? != Sent::Sent {
        return Ok(None);
    }
    let (proof, _, token) = new_proof(
        ProofPurpose::ResetPassword,
        &account.id,
        email,
        request_id,
        RESET_LIFETIME,
        false,
        mail.now,
    );
    let link = format!("{}/reset?token={}", mail.base, token.expose());
    let rendered = messages::PasswordReset {
        site: mail.mailer.site(),
        link: &link,
        minutes: &(RESET_LIFETIME / 60).to_string(),
    }
    .render()
    .map_err(render_failed)?;
    let message = mail
        .mailer
        .outgoing(email, rendered, mail.now + RESET_LIFETIME);
    mail.store.send_proof(&proof, &message, mail.now).await?;
    Ok(Some(account))
}

/// The answer to a typed code.
#[derive(Debug)]
pub enum CodeCheck {
    Accepted(Proof),
    /// Wrong; this many tries are left.
    Wrong(i32),
    /// No live code (none sent, expired, used) or no tries left: a new one is needed.
    NeedNew,
}

/// Check a code typed for the account's newest live proof of `purpose`.
pub async fn check_code(
    store: &Store,
    account_id: &AccountId,
    purpose: ProofPurpose,
    code: &str,
    now: i64,
) -> Result<CodeCheck, StoreError> {
    let Some(proof) = store.live_proof(account_id, purpose, now).await? else {
        return Ok(CodeCheck::NeedNew);
    };
    if proof.attempts >= MAX_WRONG_CODES {
        return Ok(CodeCheck::NeedNew);
    }
    let code = code.trim();
    let right = proof.code_hash.as_deref().is_some_and(|stored| {
        code.len() == 6
            && code.bytes().all(|b| b.is_ascii_digit())
            && ct_eq(
                code_hash(&proof.link_hash, code).as_bytes(),
                stored.as_bytes(),
            )
    });
    if right {
        return Ok(CodeCheck::Accepted(proof));
    }
    if store
        .count_wrong_code(&proof.id, MAX_WRONG_CODES, now)
        .await?
    {
        Ok(CodeCheck::Wrong(MAX_WRONG_CODES - proof.attempts - 1))
    } else {
        Ok(CodeCheck::NeedNew)
    }
}

/// What a link's token is worth.
#[derive(Debug)]
pub enum LinkCheck {
    Valid(Proof),
    /// Used already, or expired, or never issued: the same page for all three.
    Invalid,
}

/// The proof a link's token names, if it is still usable.
pub async fn check_link(
    store: &Store,
    token: &str,
    purpose: ProofPurpose,
    now: i64,
) -> Result<LinkCheck, StoreError> {
    if token.is_empty() || token.len() > 64 {
        return Ok(LinkCheck::Invalid);
    }
    match store.proof_by_link(&opaque::hash(token), purpose).await? {
        Some(p) if p.used_at.is_none() && p.expires_at > now => Ok(LinkCheck::Valid(p)),
        _ => Ok(LinkCheck::Invalid),
    }
}
