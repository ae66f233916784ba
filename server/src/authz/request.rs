//! The validated authorization request (RFC 6749 §4.1.1; OIDC Core §3.1.2.1), produced once by
//! `oauth::authorize` and stored as JSON while the person signs in and consents. Nothing
//! downstream reads the raw parameters.

use serde::{Deserialize, Serialize};

use crate::protocol::ids::AccountId;
use crate::protocol::vocab::{Prompt, Scopes};

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
}

impl AuthorizationRequest {
    pub fn prompts(&self, p: Prompt) -> bool {
        self.prompt.contains(&p)
    }
}
