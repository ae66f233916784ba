//! The validated authorization request (RFC 6749 §4.1.1; OIDC Core §3.1.2.1), produced once by
//! `oauth::authorize` and stored as JSON while the person signs in and consents. Nothing
//! downstream reads the raw parameters.

use serde::{Deserialize, Serialize};

use crate::protocol::ids::AccountId;
use crate::protocol::vocab::{Acr, Prompt, Scopes};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: Scopes,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The PKCE challenge in oxide-auth's encoded form.
    pub code_challenge: Option<String>,
    pub prompt: Vec<Prompt>,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// The `sub` of a verified `id_token_hint` (OIDC Core §3.1.2.1): the person the client
    /// expects to be signed in.
    #[serde(default)]
    pub hint_subject: Option<AccountId>,
    /// The known classes of `acr_values`, in the request's order of preference (unknown
    /// values are left out: they ask for nothing).
    #[serde(default)]
    pub acr_values: Vec<Acr>,
}

impl AuthorizationRequest {
    pub fn prompts(&self, p: Prompt) -> bool {
        self.prompt.contains(&p)
    }

    /// The weakest class the request accepts (any of its `acr_values` will do).
    pub fn asked_acr(&self) -> Acr {
        self.acr_values
            .iter()
            .copied()
            .min()
            .unwrap_or(Acr::SingleFactor)
    }

    /// The `acr` to tell the client for a sign-in that reached `reached`: the first of its
    /// `acr_values` that the sign-in satisfies, or what it reached.
    pub fn acr_for(&self, reached: Acr) -> Acr {
        self.acr_values
            .iter()
            .copied()
            .find(|a| *a <= reached)
            .unwrap_or(reached)
    }
}
