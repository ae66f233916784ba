//! Why the user must see a page before a code is issued (OIDC Core §3.1.2.1 prompt, max_age;
//! remembered consent). A value, not an implicit branch.

use crate::clients::Client;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::vocab::{Prompt, Scopes};
use crate::store::BrowserSession;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptReason {
    NoSession,
    PromptLogin,
    MaxAgeExceeded,
    PromptConsent,
    ScopesNotGranted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Login(PromptReason),
    Consent(PromptReason),
    IssueCode,
}

/// Decide the next step for a request created at `created_at`, at time `now`.
pub fn decide(
    req: &AuthorizationRequest,
    client: &Client,
    session: Option<&BrowserSession>,
    remembered: Option<&Scopes>,
    signed_in_for_this_request: bool,
    now: i64,
) -> Next {
    let Some(s) = session else {
        return Next::Login(PromptReason::NoSession);
    };
    let wants_login = req
        .prompt
        .iter()
        .any(|p| matches!(p, Prompt::Login | Prompt::SelectAccount));
    if wants_login && !signed_in_for_this_request {
        return Next::Login(PromptReason::PromptLogin);
    }
    if let Some(max_age) = req.max_age
        && now - s.auth_time > max_age
    {
        return Next::Login(PromptReason::MaxAgeExceeded);
    }
    if req.prompt.contains(&Prompt::Consent) {
        return Next::Consent(PromptReason::PromptConsent);
    }
    if client.skip_consent || remembered.is_some_and(|r| req.scope.is_subset(r)) {
        return Next::IssueCode;
    }
    Next::Consent(PromptReason::ScopesNotGranted)
}
