//! Audit records (OWASP ASVS 16.2, 16.3): security-relevant events as typed values — what
//! happened (`AuditKind`), to which account, client, upstream and grant, and from where (IP and
//! user agent). No secret, token, code or password is ever a field.

use actix_web::{FromRequest, HttpRequest, dev, http::header};
use serde::{Deserialize, Serialize};
use std::future::{Ready, ready};
use std::net::IpAddr;

use crate::protocol::ids::{AccountId, GrantId, UpstreamId};

pub mod chain;
pub mod client_ip;

pub use client_ip::TrustedProxies;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    LoginSucceeded,
    /// A password sign-in was refused (unknown email, wrong password, or locked).
    LoginFailed,
    /// This failure locked the email.
    LoginLocked,
    AccountCreated,
    UpstreamLinked,
    UpstreamUnlinked,
    UpstreamLinkRefused,
    UpstreamCancelled,
    /// The upstream answered its callback with an error.
    UpstreamError,
    UpstreamStateMismatch,
    UpstreamIssuerMismatch,
    UpstreamInvalidCallback,
    UpstreamUnavailable,
    UpstreamMisconfigured,
    UpstreamTokenRefused,
    UpstreamBadSignature,
    UpstreamWrongAudience,
    UpstreamWrongIssuer,
    UpstreamTokenExpired,
    UpstreamNonceMismatch,
    UpstreamInvalidIdToken,
    UpstreamInvalidProfile,
    UpstreamRefusedByPolicy,
    AuthorizationCodeReuse,
    RefreshTokenReuse,
    TokenRevoked,
    /// A person created an account on the sign-up page.
    SignedUp,
    /// A code to confirm an address was queued (sign-up, sign-in, email change).
    VerificationSent,
    EmailVerified,
    /// A wrong, expired or used code or link.
    VerificationFailed,
    /// A reset link was queued for an existing account.
    ResetRequested,
    ResetCompleted,
    PasswordChanged,
    EmailChangeRequested,
    EmailChanged,
    ProfileUpdated,
    AccountDeleted,
    /// A message was not delivered before what it carried expired.
    EmailDropped,
    /// A second factor was added (enrolment confirmed by a code).
    FactorAdded,
    /// The person removed their second factors.
    FactorRemoved,
    /// An administrator removed an account's second factors.
    FactorsReset,
    /// A TOTP code was accepted at a sign-in or step-up.
    SecondFactorSucceeded,
    /// A wrong, replayed or locked-out second-factor code.
    SecondFactorFailed,
    /// This failure locked the account's second factor.
    SecondFactorLocked,
    /// A recovery code was used.
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    /// A client address went over a `[limits]` bucket (the reason names it), or a client its
    /// `rate_limit_per_minute`.
    RateLimited,
    /// An authenticated client's request was refused (an address outside `allowed_ips`).
    ClientRefused,
    /// A browser session was ended from the account page.
    SessionEnded,
    /// Every session and refresh-token family of the account was ended.
    SignedOutEverywhere,
    /// An administrator gave an account a role.
    RoleGranted,
    /// An administrator took a role away.
    RoleRevoked,
    /// An administrator disabled the account (its sessions and grants ended).
    AccountDisabled,
    AccountEnabled,
    /// An app refused a back-channel logout, or it could not be delivered in time.
    BackchannelLogoutFailed,
    /// The person allowed an app on the consent page (the reason lists the scopes remembered).
    ConsentGranted,
    /// The person took an app's access back on /account (consent forgotten, families revoked).
    ConsentRevoked,
    /// A client's credentials at /token, /revoke or /introspect were wrong or missing (an
    /// unregistered client id is not recorded).
    ClientAuthFailed,
    /// `ostiary keys rotate` published a new signing key.
    KeyRotated,
    /// `ostiary keys revoke` withdrew a signing key.
    KeyRevoked,
    /// The configuration was reloaded (SIGHUP); the reason names what needs a restart.
    ConfigReloaded,
    /// A reload was refused: the new file had problems (the reason names their keys); the
    /// running configuration stays.
    ConfigReloadFailed,
}

impl AuditKind {
    /// The kind a stored name stands for.
    pub fn parse(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }

    /// The stored name (snake_case), which admins query by.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginLocked => "login_locked",
            Self::AccountCreated => "account_created",
            Self::UpstreamLinked => "upstream_linked",
            Self::UpstreamUnlinked => "upstream_unlinked",
            Self::UpstreamLinkRefused => "upstream_link_refused",
            Self::UpstreamCancelled => "upstream_cancelled",
            Self::UpstreamError => "upstream_error",
            Self::UpstreamStateMismatch => "upstream_state_mismatch",
            Self::UpstreamIssuerMismatch => "upstream_issuer_mismatch",
            Self::UpstreamInvalidCallback => "upstream_invalid_callback",
            Self::UpstreamUnavailable => "upstream_unavailable",
            Self::UpstreamMisconfigured => "upstream_misconfigured",
            Self::UpstreamTokenRefused => "upstream_token_refused",
            Self::UpstreamBadSignature => "upstream_bad_signature",
            Self::UpstreamWrongAudience => "upstream_wrong_audience",
            Self::UpstreamWrongIssuer => "upstream_wrong_issuer",
            Self::UpstreamTokenExpired => "upstream_token_expired",
            Self::UpstreamNonceMismatch => "upstream_nonce_mismatch",
            Self::UpstreamInvalidIdToken => "upstream_invalid_id_token",
            Self::UpstreamInvalidProfile => "upstream_invalid_profile",
            Self::UpstreamRefusedByPolicy => "upstream_refused_by_policy",
            Self::AuthorizationCodeReuse => "authorization_code_reuse",
            Self::RefreshTokenReuse => "refresh_token_reuse",
            Self::TokenRevoked => "token_revoked",
            Self::SignedUp => "signed_up",
            Self::VerificationSent => "verification_sent",
            Self::EmailVerified => "email_verified",
            Self::VerificationFailed => "verification_failed",
            Self::ResetRequested => "reset_requested",
            Self::ResetCompleted => "reset_completed",
            Self::PasswordChanged => "password_changed",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::ProfileUpdated => "profile_updated",
            Self::AccountDeleted => "account_deleted",
            Self::EmailDropped => "email_dropped",
            Self::FactorAdded => "factor_added",
            Self::FactorRemoved => "factor_removed",
            Self::FactorsReset => "factors_reset",
            Self::SecondFactorSucceeded => "second_factor_succeeded",
            Self::SecondFactorFailed => "second_factor_failed",
            Self::SecondFactorLocked => "second_factor_locked",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::RateLimited => "rate_limited",
            Self::ClientRefused => "client_refused",
            Self::SessionEnded => "session_ended",
            Self::SignedOutEverywhere => "signed_out_everywhere",
            Self::RoleGranted => "role_granted",
            Self::RoleRevoked => "role_revoked",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::BackchannelLogoutFailed => "backchannel_logout_failed",
            Self::ConsentGranted => "consent_granted",
            Self::ConsentRevoked => "consent_revoked",
            Self::ClientAuthFailed => "client_auth_failed",
            Self::KeyRotated => "key_rotated",
            Self::KeyRevoked => "key_revoked",
            Self::ConfigReloaded => "config_reloaded",
            Self::ConfigReloadFailed => "config_reload_failed",
        }
    }
}

/// Where a request came from: the peer address and the browser's user agent (bounded, control
/// characters dropped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl Origin {
    pub fn new(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(256)
                    .collect::<String>()
            })
            .filter(|ua| !ua.is_empty());
        Self { ip, user_agent }
    }
}

impl Origin {
    /// The origin of a request: the client's address (the peer's, or behind a trusted proxy
    /// the one it forwards) and its `User-Agent`.
    pub fn of(req: &HttpRequest) -> Self {
        let headers = req.headers();
        let ua = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let values = |name: &str| -> Vec<&str> {
            headers
                .get_all(name)
                .filter_map(|v| v.to_str().ok())
                .collect()
        };
        let peer = req.peer_addr().map(|a| a.ip());
        let ip = match req.app_data::<actix_web::web::Data<TrustedProxies>>() {
            Some(t) => t.client(peer, &values("forwarded"), &values("x-forwarded-for")),
            None => peer,
        };
        Self::new(ip, ua)
    }
}

/// The extractor: `origin: Origin` in a handler's arguments.
impl FromRequest for Origin {
    type Error = std::convert::Infallible;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        ready(Ok(Self::of(req)))
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: AuditKind,
    pub account_id: Option<AccountId>,
    pub client_id: Option<String>,
    /// The configured id of the upstream involved.
    pub upstream_id: Option<UpstreamId>,
    /// The grant (refresh-token family) involved.
    pub grant_id: Option<GrantId>,
    /// The normalised address a password sign-in was tried with.
    pub email: Option<String>,
    /// Our own short explanation (never the sender's text).
    pub reason: Option<String>,
    pub origin: Origin,
}

impl AuditEvent {
    /// An event of `kind` at `at`; fill the fields that apply with the `with_*` methods.
    pub fn new(kind: AuditKind, at: i64, origin: &Origin) -> Self {
        Self {
            at,
            kind,
            account_id: None,
            client_id: None,
            upstream_id: None,
            grant_id: None,
            email: None,
            reason: None,
            origin: origin.clone(),
        }
    }

    pub fn account(mut self, id: &AccountId) -> Self {
        self.account_id = Some(id.clone());
        self
    }

    pub fn account_opt(mut self, id: Option<&AccountId>) -> Self {
        self.account_id = id.cloned();
        self
    }

    pub fn client(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    pub fn upstream(mut self, id: &UpstreamId) -> Self {
        self.upstream_id = Some(id.clone());
        self
    }

    pub fn grant(mut self, id: &GrantId) -> Self {
        self.grant_id = Some(id.clone());
        self
    }

    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        let r: String = reason.into();
        self.reason = Some(r.chars().filter(|c| !c.is_control()).take(200).collect());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_agent_is_bounded_and_loses_its_control_characters() {
        let o = Origin::new(
            None,
            Some(&format!("evil\r\nX-Injected: 1{}", "a".repeat(500))),
        );
        let ua = o.user_agent.unwrap();
        assert!(!ua.contains('\n') && !ua.contains('\r'));
        assert_eq!(ua.chars().count(), 256);
    }

    #[test]
    fn kinds_serialise_as_their_stored_names() {
        for k in [
            AuditKind::LoginSucceeded,
            AuditKind::UpstreamRefusedByPolicy,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
