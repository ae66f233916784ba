//! The persisted stage of a pending authorization request, and its transitions. A transition
//! consumes the `Pending` it starts from and applies only if the stored revision is still the
//! one read (compare-and-swap), so a stage is left once and a request completes once.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::AuthorizationRequest;
use super::issue::Issued;
use super::policy::PromptReason;
use super::subject::AuthenticatedSubject;
use crate::clients::Client;
use crate::error::PageError;
use crate::state::AppState;
use crate::store::{CodeForRequest, StoreError, StoredAuthRequest};
use crate::tokens::opaque;

/// Lifetime of a pending authorization request.
const PENDING_LIFETIME: i64 = 30 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
#[allow(clippy::enum_variant_names)] // every stage is something the request awaits
pub enum Stage {
    AwaitingLogin {
        reason: PromptReason,
    },
    AwaitingConsent {
        reason: PromptReason,
        signed_in: SignedInFor,
    },
    /// A code was sent to `email`; the sign-in continues when it is entered, in the browser
    /// that started it. `subject` is `None` after a sign-up with a taken address: no code
    /// matches then, and `decoys` counts the tries as a real proof would.
    AwaitingVerification {
        email: String,
        subject: Option<AuthenticatedSubject>,
        browser: String,
        #[serde(default)]
        decoys: u8,
    },
    /// The first factor is done (`subject`); a code of a second factor, or enrolment, comes
    /// next, from the browser (or, for a step-up, the session) `browser` names.
    AwaitingSecondFactor {
        subject: AuthenticatedSubject,
        browser: String,
        step: super::second_factor::FactorStep,
    },
}

/// The sign-in a stage relies on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInFor {
    /// Hash of the session cookie the sign-in lives in: the next step must come from it.
    pub session_hash: String,
    pub subject: AuthenticatedSubject,
    /// Made for this very request (satisfies prompt=login and any max_age).
    pub fresh: bool,
}

/// A pending request as read from the store, at one revision.
pub struct Pending {
    pub id: String,
    pub client: Arc<Client>,
    pub request: AuthorizationRequest,
    pub stage: Stage,
    revision: i64,
}

impl Pending {
    /// Store a new pending request at its first stage.
    pub async fn create(
        state: &AppState,
        client: Arc<Client>,
        request: AuthorizationRequest,
        stage: Stage,
    ) -> Result<Pending, StoreError> {
        let now = state.now();
        let id = opaque::random_token().expose().to_owned();
        let stored = StoredAuthRequest {
            id: id.clone(),
            client_id: request.client_id.clone(),
            request_json: to_json(&request)?,
            stage_json: Some(to_json(&stage)?),
            revision: 0,
            created_at: now,
        };
        state
            .store
            .save_auth_request(&stored, now + PENDING_LIFETIME)
            .await?;
        Ok(Pending {
            id,
            client,
            request,
            stage,
            revision: 0,
        })
    }

    /// The live pending request with this id; an "expired" page if there is none.
    pub async fn load(state: &AppState, id: &str) -> Result<Pending, PageError> {
        if id.is_empty() || id.len() > 64 {
            return Err(PageError::expired());
        }
        let stored = state
            .store
            .auth_request(id, state.now())
            .await?
            .ok_or_else(PageError::expired)?;
        let request: AuthorizationRequest =
            serde_json::from_str(&stored.request_json).map_err(PageError::internal)?;
        let stage: Stage = match &stored.stage_json {
            Some(json) => serde_json::from_str(json).map_err(PageError::internal)?,
            // Written by a version without stages: start again.
            None => return Err(PageError::expired()),
        };
        // A client removed from the config since: the request ends here.
        let client = state
            .clients
            .get(&request.client_id)
            .ok_or_else(PageError::expired)?;
        Ok(Pending {
            id: stored.id,
            client,
            request,
            stage,
            revision: stored.revision,
        })
    }

    /// Move to `stage`; fails (as expired) if another transition left this stage first.
    pub async fn advance(self, state: &AppState, stage: Stage) -> Result<Pending, PageError> {
        let json = to_json(&stage)?;
        if !state
            .store
            .advance_auth_request(&self.id, self.revision, &json, state.now())
            .await?
        {
            return Err(PageError::expired());
        }
        Ok(Pending {
            stage,
            revision: self.revision + 1,
            ..self
        })
    }

    /// This request, at the revision it was read at, ended by the code `issued` (written with
    /// the rest of a sign-in's end: `Store::record_sign_in`).
    pub fn ended_by<'a>(&'a self, issued: &'a Issued) -> CodeForRequest<'a> {
        CodeForRequest {
            request_id: &self.id,
            revision: self.revision,
            grant: &issued.grant,
            code: &issued.stored,
        }
    }

    /// End the request (code issued, denied or refused): once, and only from this stage.
    pub async fn finish(self, state: &AppState) -> Result<AuthorizationRequest, PageError> {
        if !state
            .store
            .take_auth_request(&self.id, self.revision, state.now())
            .await?
        {
            return Err(PageError::expired());
        }
        Ok(self.request)
    }
}

fn to_json(v: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Encoding(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::vocab::Amr;

    #[test]
    fn a_stage_round_trips_through_its_stored_json() {
        let stage = Stage::AwaitingConsent {
            reason: PromptReason::ScopesNotGranted,
            signed_in: SignedInFor {
                session_hash: "h".into(),
                subject: AuthenticatedSubject {
                    account_id: "a".into(),
                    auth_time: 5,
                    amr: vec![Amr::Fed],
                    idp: Some("google".into()),
                },
                fresh: true,
            },
        };
        let json = serde_json::to_string(&stage).unwrap();
        assert!(json.contains("\"stage\":\"awaiting_consent\""), "{json}");
        assert_eq!(serde_json::from_str::<Stage>(&json).unwrap(), stage);
    }
}
