//! Who signed in, and how (OIDC Core §2 `auth_time`, `amr`; RFC 8176): what every way of
//! signing in produces (password, upstream; later second factor, passkey, registration,
//! password reset, device approval).

use serde::{Deserialize, Serialize};

use crate::protocol::ids::{AccountId, UpstreamId};
use crate::protocol::vocab::Amr;
use crate::store::BrowserSession;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticatedSubject {
    pub account_id: AccountId,
    /// When the person last proved who they are (Unix seconds).
    pub auth_time: i64,
    pub amr: Vec<Amr>,
    /// The upstream (its configured id) that vouched for the person; `None` for a local account.
    pub idp: Option<UpstreamId>,
}

impl From<&BrowserSession> for AuthenticatedSubject {
    fn from(s: &BrowserSession) -> Self {
        Self {
            account_id: s.account_id.clone(),
            auth_time: s.auth_time,
            amr: s.amr.clone(),
            idp: s.idp.clone(),
        }
    }
}
