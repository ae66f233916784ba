//! Which step an authorization request still requires (OIDC Core §3.1.2.1 `prompt`,
//! `max_age`, `id_token_hint`; remembered consent). Consulted on every transition, so no page
//! can move a request past a step the policy still requires. Pure: the facts come in, a value
//! comes out.

use serde::{Deserialize, Serialize};

use super::AuthorizationRequest;
use super::subject::AuthenticatedSubject;
use crate::protocol::vocab::{Acr, Prompt, Scopes};

/// Why the person must see a page before a code is issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptReason {
    NoSession,
    PromptLogin,
    MaxAgeExceeded,
    /// The session's account is not the one the `id_token_hint` names.
    HintMismatch,
    PromptConsent,
    ScopesNotGranted,
}

/// Why the request cannot succeed at all (sent to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Signed in for this request, but as someone other than the `id_token_hint` names
    /// (OIDC Core §3.1.2.1: login_required).
    NotTheHintedUser,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Login(PromptReason),
    /// Signed in, but below the class the request needs: a second factor first.
    StepUp,
    Consent(PromptReason),
    IssueCode,
    Refuse(Refusal),
}

/// What the policy knows at a transition.
pub struct Facts<'a> {
    pub request: &'a AuthorizationRequest,
    /// The client may skip the consent page (first-party).
    pub skip_consent: bool,
    /// Who is signed in, if anyone.
    pub subject: Option<&'a AuthenticatedSubject>,
    /// That sign-in was made for this very request (it satisfies prompt=login and any max_age).
    pub fresh: bool,
    /// Scopes this person granted this client before.
    pub remembered: Option<&'a Scopes>,
    /// The person pressed Allow for this request.
    pub consented_now: bool,
    /// The class the sign-in must reach (`required_acr`).
    pub required_acr: Acr,
    pub now: i64,
}

/// The class a request needs: what it asks for in `acr_values`, raised to multi-factor when
/// the client or the whole provider requires a second factor.
pub fn required_acr(request: &AuthorizationRequest, client_requires: bool, everyone: bool) -> Acr {
    let policy = if client_requires || everyone {
        Acr::MultiFactor
    } else {
        Acr::SingleFactor
    };
    request.asked_acr().max(policy)
}

pub fn decide(f: &Facts<'_>) -> Next {
    let req = f.request;
    let Some(who) = f.subject else {
        return Next::Login(PromptReason::NoSession);
    };
    let hinted_other = req
        .hint_subject
        .as_ref()
        .is_some_and(|sub| *sub != who.account_id);
    if f.fresh {
        if hinted_other {
            return Next::Refuse(Refusal::NotTheHintedUser);
        }
    } else {
        if req.prompts(Prompt::Login) || req.prompts(Prompt::SelectAccount) {
            return Next::Login(PromptReason::PromptLogin);
        }
        // max_age=0 asks for a login for this very request (OIDC Core §3.1.2.1).
        if let Some(max_age) = req.max_age
            && (max_age == 0 || f.now - who.auth_time > max_age)
        {
            return Next::Login(PromptReason::MaxAgeExceeded);
        }
        if hinted_other {
            return Next::Login(PromptReason::HintMismatch);
        }
    }
    if Acr::of(&who.amr) < f.required_acr {
        return Next::StepUp;
    }
    if f.consented_now {
        return Next::IssueCode;
    }
    if req.prompts(Prompt::Consent) {
        return Next::Consent(PromptReason::PromptConsent);
    }
    if f.skip_consent || f.remembered.is_some_and(|r| req.scope.is_subset(r)) {
        return Next::IssueCode;
    }
    Next::Consent(PromptReason::ScopesNotGranted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::vocab::Amr;

    fn request() -> AuthorizationRequest {
        AuthorizationRequest {
            client_id: "c".into(),
            redirect_uri: "https://rp.example/cb".into(),
            scope: Scopes::parse("openid email").unwrap(),
            state: None,
            nonce: None,
            code_challenge: None,
            prompt: Vec::new(),
            max_age: None,
            login_hint: None,
            hint_subject: None,
            acr_values: Vec::new(),
        }
    }

    fn alice(auth_time: i64) -> AuthenticatedSubject {
        AuthenticatedSubject {
            account_id: "alice".into(),
            auth_time,
            amr: vec![Amr::Pwd],
            idp: None,
        }
    }

    fn decide_with(
        req: &AuthorizationRequest,
        who: Option<&AuthenticatedSubject>,
        fresh: bool,
        now: i64,
    ) -> Next {
        let granted = Scopes::parse("openid email").unwrap();
        decide(&Facts {
            request: req,
            skip_consent: false,
            subject: who,
            fresh,
            remembered: Some(&granted),
            consented_now: false,
            required_acr: Acr::SingleFactor,
            now,
        })
    }

    #[test]
    fn without_a_session_a_login_is_required() {
        assert_eq!(
            decide_with(&request(), None, false, 100),
            Next::Login(PromptReason::NoSession)
        );
    }

    #[test]
    fn a_session_with_remembered_consent_gets_a_code() {
        assert_eq!(
            decide_with(&request(), Some(&alice(90)), false, 100),
            Next::IssueCode
        );
    }

    #[test]
    fn prompt_login_needs_a_login_made_for_this_request() {
        let req = AuthorizationRequest {
            prompt: vec![Prompt::Login],
            ..request()
        };
        assert_eq!(
            decide_with(&req, Some(&alice(100)), false, 100),
            Next::Login(PromptReason::PromptLogin)
        );
        assert_eq!(
            decide_with(&req, Some(&alice(100)), true, 100),
            Next::IssueCode
        );
    }

    #[test]
    fn max_age_zero_is_not_satisfied_by_a_session_from_the_same_second() {
        let req = AuthorizationRequest {
            max_age: Some(0),
            ..request()
        };
        assert_eq!(
            decide_with(&req, Some(&alice(100)), false, 100),
            Next::Login(PromptReason::MaxAgeExceeded)
        );
    }

    #[test]
    fn a_login_made_for_this_request_satisfies_any_max_age_even_a_second_later() {
        let req = AuthorizationRequest {
            max_age: Some(0),
            ..request()
        };
        assert_eq!(
            decide_with(&req, Some(&alice(100)), true, 101),
            Next::IssueCode
        );
    }

    #[test]
    fn max_age_counts_whole_seconds_since_auth_time() {
        let req = AuthorizationRequest {
            max_age: Some(60),
            ..request()
        };
        assert_eq!(
            decide_with(&req, Some(&alice(40)), false, 100),
            Next::IssueCode
        );
        assert_eq!(
            decide_with(&req, Some(&alice(39)), false, 100),
            Next::Login(PromptReason::MaxAgeExceeded)
        );
    }

    #[test]
    fn a_hint_naming_someone_else_asks_for_a_login_then_refuses_a_login_as_the_wrong_person() {
        let req = AuthorizationRequest {
            hint_subject: Some("bob".into()),
            ..request()
        };
        assert_eq!(
            decide_with(&req, Some(&alice(90)), false, 100),
            Next::Login(PromptReason::HintMismatch)
        );
        assert_eq!(
            decide_with(&req, Some(&alice(100)), true, 100),
            Next::Refuse(Refusal::NotTheHintedUser)
        );
    }

    #[test]
    fn a_hint_naming_the_signed_in_person_changes_nothing() {
        let req = AuthorizationRequest {
            hint_subject: Some("alice".into()),
            ..request()
        };
        assert_eq!(
            decide_with(&req, Some(&alice(90)), false, 100),
            Next::IssueCode
        );
    }

    #[test]
    fn scopes_not_granted_before_need_consent_until_the_person_allows() {
        let req = AuthorizationRequest {
            scope: Scopes::parse("openid profile").unwrap(),
            ..request()
        };
        let who = alice(90);
        assert_eq!(
            decide_with(&req, Some(&who), false, 100),
            Next::Consent(PromptReason::ScopesNotGranted)
        );
        let after = decide(&Facts {
            request: &req,
            skip_consent: false,
            subject: Some(&who),
            fresh: false,
            remembered: None,
            consented_now: true,
            required_acr: Acr::SingleFactor,
            now: 100,
        });
        assert_eq!(after, Next::IssueCode);
    }

    #[test]
    fn consent_never_stands_in_for_a_required_login() {
        let req = AuthorizationRequest {
            prompt: vec![Prompt::Login],
            ..request()
        };
        let next = decide(&Facts {
            request: &req,
            skip_consent: true,
            subject: Some(&alice(90)),
            fresh: false,
            remembered: None,
            consented_now: true,
            required_acr: Acr::SingleFactor,
            now: 100,
        });
        assert_eq!(next, Next::Login(PromptReason::PromptLogin));
    }

    #[test]
    fn prompt_consent_shows_the_page_even_to_a_first_party_client() {
        let req = AuthorizationRequest {
            prompt: vec![Prompt::Consent],
            ..request()
        };
        let next = decide(&Facts {
            request: &req,
            skip_consent: true,
            subject: Some(&alice(90)),
            fresh: false,
            remembered: None,
            consented_now: false,
            required_acr: Acr::SingleFactor,
            now: 100,
        });
        assert_eq!(next, Next::Consent(PromptReason::PromptConsent));
    }

    #[test]
    fn a_single_factor_session_is_stepped_up_when_the_request_asks_for_more() {
        let req = AuthorizationRequest {
            acr_values: vec![Acr::MultiFactor],
            ..request()
        };
        let required = required_acr(&req, false, false);
        assert_eq!(required, Acr::MultiFactor);
        let mut who = alice(90);
        let facts = |who: &AuthenticatedSubject| {
            decide(&Facts {
                request: &req,
                skip_consent: true,
                subject: Some(who),
                fresh: false,
                remembered: None,
                consented_now: false,
                required_acr: required,
                now: 100,
            })
        };
        assert_eq!(facts(&who), Next::StepUp);
        who.amr = vec![Amr::Pwd, Amr::Otp, Amr::Mfa];
        assert_eq!(facts(&who), Next::IssueCode);
    }

    #[test]
    fn a_client_or_the_provider_requiring_mfa_raises_what_a_request_asks_for() {
        let req = request();
        assert_eq!(required_acr(&req, false, false), Acr::SingleFactor);
        assert_eq!(required_acr(&req, true, false), Acr::MultiFactor);
        assert_eq!(required_acr(&req, false, true), Acr::MultiFactor);
        let asks_less = AuthorizationRequest {
            acr_values: vec![Acr::SingleFactor],
            ..request()
        };
        assert_eq!(required_acr(&asks_less, true, false), Acr::MultiFactor);
    }
}
