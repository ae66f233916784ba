//! The recent security activity on /account (ASVS 16.2 shown to the person, as NIST 800-63B
//! §4 suggests for sign-in notifications): the last 30 days of the account's audit records —
//! sign-ins with device and IP (a device not seen at an earlier sign-in is marked new), failed
//! and locked sign-ins tried with its email, password, email and factor changes, sessions
//! ended, apps allowed and removed, administrators' actions.

use std::collections::HashSet;

use super::sessions::device_label;
use super::time_label;
use crate::audit::{AuditEvent, AuditKind};
use crate::error::PageError;
use crate::pages;
use crate::state::AppState;
use crate::store::Account;

/// How far back the page looks.
pub const WINDOW_SECONDS: i64 = 30 * 24 * 3600;
/// At most this many records are shown.
const SHOWN: u64 = 100;
/// Earlier sign-ins whose devices count as known.
const KNOWN_DEVICES_FROM: u64 = 50;

/// The account's recent activity, newest first.
pub async fn rows(
    state: &AppState,
    account: &Account,
) -> Result<Vec<pages::ActivityRow>, PageError> {
    let since = state.now() - WINDOW_SECONDS;
    let mut events = state
        .store
        .account_activity(&account.id, account.email.as_deref(), since, SHOWN)
        .await?;
    let mut known: HashSet<String> = state
        .store
        .sign_in_agents_before(&account.id, since, KNOWN_DEVICES_FROM)
        .await?
        .iter()
        .map(|ua| device_label(ua.as_deref()))
        .collect();
    events.reverse();
    let mut rows: Vec<pages::ActivityRow> = events
        .iter()
        .filter_map(|e| {
            let (what, warning) = describe(state, e)?;
            let device = device_label(e.origin.user_agent.as_deref());
            let new_device = e.kind == AuditKind::LoginSucceeded
                && !known.is_empty()
                && !known.contains(&device);
            if e.kind == AuditKind::LoginSucceeded {
                known.insert(device.clone());
            }
            Some(pages::ActivityRow {
                when: time_label(e.at),
                what,
                device: if e.origin.user_agent.is_some() {
                    device
                } else {
                    String::new()
                },
                ip: e.origin.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                new_device,
                warning,
            })
        })
        .collect();
    rows.reverse();
    Ok(rows)
}

/// What a record means to the person, and whether it may not have been them; `None` for the
/// records that are only bookkeeping (a code sent, a token an app revoked itself).
fn describe(state: &AppState, e: &AuditEvent) -> Option<(String, bool)> {
    let upstream = || {
        e.upstream_id
            .as_ref()
            .and_then(|u| state.upstreams.get(u.as_str()))
            .map(|c| c.display_name().to_owned())
            .unwrap_or_else(|| "a sign-in provider".into())
    };
    let app = || {
        e.client_id
            .as_deref()
            .and_then(|c| state.clients.get(c))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "an app".into())
    };
    let reason = e.reason.as_deref().unwrap_or_default();
    let role = reason.rsplit_once(": ").map_or(reason, |(_, r)| r);
    let said = |s: &str| (s.to_owned(), false);
    let warned = |s: &str| (s.to_owned(), true);
    Some(match e.kind {
        AuditKind::LoginSucceeded if e.upstream_id.is_some() => {
            said(&format!("Signed in with {} to {}", upstream(), app()))
        }
        AuditKind::LoginSucceeded => said(&format!("Signed in to {}", app())),
        AuditKind::LoginFailed if reason == "locked" => {
            warned("Sign-in refused: sign-in is locked for a while")
        }
        AuditKind::LoginFailed => warned("Failed sign-in: wrong password"),
        AuditKind::LoginLocked => warned("Sign-in locked after too many failed attempts"),
        AuditKind::SecondFactorFailed => warned("Wrong code at the second step of a sign-in"),
        AuditKind::SecondFactorLocked => warned("Second step locked after too many wrong codes"),
        AuditKind::RecoveryCodeUsed => warned("A recovery code was used"),
        AuditKind::RecoveryCodesRegenerated => said("New recovery codes were made"),
        AuditKind::FactorAdded => said(&format!("Added a second factor ({reason})")),
        AuditKind::FactorRemoved => said(&format!("Removed a second factor ({reason})")),
        AuditKind::FactorsReset => warned("An administrator removed your second factors"),
        AuditKind::AccountCreated | AuditKind::SignedUp => said("Account created"),
        AuditKind::EmailVerified => said("Email address confirmed"),
        AuditKind::EmailChangeRequested => said("Email change requested"),
        AuditKind::EmailChanged => said("Email address changed"),
        AuditKind::ProfileUpdated => said("Name changed"),
        AuditKind::PasswordChanged => said("Password changed"),
        AuditKind::ResetRequested => said("Password reset requested"),
        AuditKind::ResetCompleted => said("Password reset with an emailed link"),
        AuditKind::UpstreamLinked => said(&format!("Linked {}", upstream())),
        AuditKind::UpstreamUnlinked => said(&format!("Unlinked {}", upstream())),
        AuditKind::SessionEnded => said(&format!("A browser was signed out ({reason})")),
        AuditKind::SignedOutEverywhere => said("Signed out everywhere"),
        AuditKind::ConsentGranted => said(&format!("Allowed {}", app())),
        AuditKind::ConsentRevoked => said(&format!("Removed the access of {}", app())),
        AuditKind::RefreshTokenReuse => warned(&format!(
            "A used refresh token of {} was presented again: its access was ended",
            app()
        )),
        AuditKind::AuthorizationCodeReuse => warned(&format!(
            "A used sign-in code for {} was presented again: its access was ended",
            app()
        )),
        AuditKind::RoleGranted => said(&format!("An administrator gave you the role {role}")),
        AuditKind::RoleRevoked => said(&format!("An administrator removed the role {role}")),
        AuditKind::AccountDisabled => warned("An administrator disabled the account"),
        AuditKind::AccountEnabled => said("An administrator enabled the account"),
        _ => return None,
    })
}
