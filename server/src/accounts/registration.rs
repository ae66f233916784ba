//! Sign-up: a new local account with an unverified address, its verification code and the
//! message carrying it, written together. A taken address fails nowhere a person can see: its
//! owner gets a "you already have an account" message instead, and the page answers as for a
//! new account (the password is hashed either way, so both take the same time).

use super::email_proof::{self, Mail, Sent};
use super::policy::PasswordPolicy;
use super::{AccountError, NewAccount};
use crate::config::RegistrationSettings;
use crate::email::messages;
use crate::secret::Secret;
use crate::store::{Account, ProofPurpose, StoreError};

/// What a person typed on the sign-up page.
pub struct SignUp<'a> {
    pub email: &'a str,
    pub name: Option<String>,
    pub password: &'a Secret,
}

/// The outcome a page must not tell apart.
#[derive(Debug)]
pub enum SignedUp {
    Created(Account),
    /// The address has an account already; its owner was told (within the sending limits).
    Taken {
        email: String,
    },
}

pub async fn sign_up(
    mail: &Mail<'_>,
    settings: &RegistrationSettings,
    policy: &PasswordPolicy,
    form: SignUp<'_>,
    request_id: Option<&str>,
) -> Result<SignedUp, AccountError> {
    let new = NewAccount {
        email: form.email,
        name: form.name,
        password: form.password,
        email_verified: false,
        policy: Some(policy),
    };
    let account = new.prepare(mail.now).await?;
    let email = account.email.clone().unwrap_or_default();
    if !settings.allows(&email) {
        return Err(AccountError::DomainNotAllowed);
    }
    let (proof, message) = email_proof::verification_for(mail, &account, &email, request_id)?;
    match mail
        .store
        .register_account(&account, Some(&proof), Some(&message), mail.now)
        .await
    {
        Ok(()) => Ok(SignedUp::Created(account)),
        Err(StoreError::Conflict) => {
            tell_owner(mail, &email).await?;
            Ok(SignedUp::Taken { email })
        }
        Err(e) => Err(e.into()),
    }
}

/// The owner of a taken address learns someone tried to sign up with it (once a minute at most,
/// counted with the verification messages to that address).
pub async fn tell_owner(mail: &Mail<'_>, email: &str) -> Result<Sent, AccountError> {
    let sent = email_proof::may_send(mail, email, ProofPurpose::VerifyEmail).await?;
    if sent != Sent::Sent {
        return Ok(sent);
    }
    let Some(owner) = mail.store.account_by_email(email).await? else {
        return Ok(Sent::Sent);
    };
    let rendered = messages::AlreadyRegistered {
        site: mail.mailer.site(),
        reset_url: &format!("{}/forgot", mail.base),
    }
    .render()
    .map_err(|e| AccountError::Email(e.to_string()))?;
    let message = mail
        .mailer
        .outgoing(email, rendered, mail.now + email_proof::CODE_LIFETIME);
    // A proof row with no code: it counts toward the limits and matches no code.
    let (proof, _) = email_proof::verification_for(mail, &owner, email, None)?;
    let proof = crate::store::NewProof {
        code_hash: None,
        ..proof
    };
    mail.store.send_proof(&proof, &message, mail.now).await?;
    Ok(Sent::Sent)
}
