//! Passkeys in a sign-in (WebAuthn Level 3; RFC 8176 `hwk`/`swk`, `mfa`): as the second factor
//! on /mfa, and as a passwordless first factor from the login page. A passkey with user
//! verification is two factors at once (something held, and the PIN or biometric that
//! unlocks it), so a passwordless sign-in needs no further step and reaches the
//! phishing-resistant class.

use super::second_factor::{self, Caller, FactorPage, FactorStep, Loaded};
use super::{AuthenticatedSubject, AuthorizeError};
use crate::accounts::factors::passkeys::{Answer, PasskeyError};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::error::PageError;
use crate::protocol::vocab::Amr;
use crate::state::AppState;

/// What to tell the person when a passkey answer is refused (the cause goes to the audit).
fn refused(e: &PasskeyError) -> (&'static str, String) {
    let message = match e {
        PasskeyError::Ceremony => "That took too long. Try the passkey again.",
        _ => "That passkey was not accepted. Try again, or use another way.",
    };
    (message, e.to_string())
}

fn fail(e: PasskeyError) -> Result<(&'static str, String), PageError> {
    match e {
        PasskeyError::Store(s) => Err(s.into()),
        PasskeyError::Internal(i) => Err(PageError::internal(PasskeyError::Internal(i))),
        e => Ok(refused(&e)),
    }
}

/// POST /mfa/passkey: a passkey of the account answered the second-factor step.
pub async fn second_factor(
    state: &AppState,
    id: &str,
    caller: &Caller<'_>,
    sealed: &str,
    credential: &str,
    origin: &Origin,
) -> Result<FactorPage, AuthorizeError> {
    let l: Loaded = match second_factor::load(state, id, caller).await? {
        Ok(l) if l.step == FactorStep::Ask => l,
        Ok(l) => return second_factor::show(state, &l.pending.id, caller, origin).await,
        Err(url) => return Ok(FactorPage::GoTo(url)),
    };
    let Some(rp) = &state.passkeys else {
        return Ok(second_factor::ask(state, &l.pending, &l.subject, None).await?);
    };
    let now = state.now();
    let event = |kind| {
        AuditEvent::new(kind, now, origin)
            .client(l.pending.client.id.as_str())
            .account(&l.subject.account_id)
    };
    let used = rp
        .finish_second_factor(
            &state.store,
            &state.factor_keys,
            &l.pending.id,
            &l.subject.account_id,
            Answer { sealed, credential },
            now,
        )
        .await;
    match used {
        Ok(used) => {
            let ok = event(AuditKind::SecondFactorSucceeded).reason("passkey");
            state.store.audit(ok).await?;
            let who = second_factor::with_second_factor(&l.subject, used.method, now);
            second_factor::remembering(state, Loaded { subject: who, ..l }, caller, origin).await
        }
        Err(e) => {
            let (message, cause) = fail(e)?;
            let failed = event(AuditKind::SecondFactorFailed).reason(format!("passkey: {cause}"));
            state.store.audit(failed).await?;
            Ok(second_factor::ask(state, &l.pending, &l.subject, Some(message.into())).await?)
        }
    }
}

/// POST /login/passkey: a discoverable passkey answered the login page's ceremony for request
/// `request_id`. The subject to complete the sign-in with, or the message for the login page.
pub async fn sign_in(
    state: &AppState,
    request_id: &str,
    sealed: &str,
    credential: &str,
    origin: &Origin,
) -> Result<Result<AuthenticatedSubject, &'static str>, PageError> {
    let Some(rp) = &state.passkeys else {
        return Ok(Err("Passkeys are not available here."));
    };
    let now = state.now();
    let used = rp
        .finish_sign_in(
            &state.store,
            &state.factor_keys,
            request_id,
            Answer { sealed, credential },
            now,
        )
        .await;
    match used {
        Ok(used) => Ok(Ok(AuthenticatedSubject {
            account_id: used.account_id,
            auth_time: now,
            amr: vec![used.method, Amr::Mfa],
            idp: None,
        })),
        Err(e) => {
            let (message, cause) = fail(e)?;
            let failed = AuditEvent::new(AuditKind::LoginFailed, now, origin)
                .reason(format!("passkey: {cause}"));
            state.store.audit(failed).await?;
            Ok(Err(message))
        }
    }
}
