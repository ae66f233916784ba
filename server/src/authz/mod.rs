//! The authorization request's owner (architecture guide §6, C11; OIDC Core §3.1.2; RFC 6749
//! §4.1): the validated request, who signed in for it, the stage it is at, the policy that says
//! which step is still required, and code issuance. Every way of signing in ends in
//! [`complete_sign_in`]; pages only report what they verified.
//!
//! ```mermaid
//! stateDiagram-v2
//!     [*] --> AwaitingLogin: /authorize, a login is required (no session, prompt=login, max_age, id_token_hint)
//!     [*] --> AwaitingConsent: /authorize, signed in, scopes not granted or prompt=consent
//!     [*] --> CodeIssued: /authorize, nothing required
//!     [*] --> Failed: prompt=none but a page is required
//!     AwaitingLogin --> AwaitingConsent: complete_sign_in
//!     AwaitingConsent --> AwaitingConsent: complete_sign_in (signed in again)
//!     AwaitingLogin --> CodeIssued: complete_sign_in
//!     AwaitingConsent --> CodeIssued: consent allowed
//!     AwaitingConsent --> AwaitingLogin: consent, but the policy requires a login
//!     AwaitingConsent --> Failed: consent denied (access_denied)
//!     AwaitingLogin --> Failed: signed in as another user than id_token_hint names (login_required)
//!     AwaitingLogin --> AwaitingVerification: password sign-in or sign-up, email unverified
//!     AwaitingVerification --> AwaitingConsent: the emailed code (complete_sign_in)
//!     AwaitingVerification --> CodeIssued: the emailed code (complete_sign_in)
//!     AwaitingLogin --> AwaitingSecondFactor: first factor, the account has an authenticator or one is required
//!     [*] --> AwaitingSecondFactor: /authorize, the session is below the class needed (step-up)
//!     AwaitingSecondFactor --> AwaitingConsent: a code, or enrolment (complete_sign_in)
//!     AwaitingSecondFactor --> CodeIssued: a code, or enrolment (complete_sign_in)
//!     [*] --> Failed: prompt=none but a step-up is needed (interaction_required)
//! ```
//!
//! A pending request is stored (`auth_requests`) so any instance can continue it. Each
//! transition names the revision it read, so it consumes the old stage: of two concurrent
//! transitions from one stage exactly one applies, and a request completes at most once.

mod error;
mod flow;
pub mod issue;
pub mod passkey;
pub mod policy;
mod request;
pub mod second_factor;
pub mod session;
mod stage;
mod subject;
pub mod verify;

pub use error::AuthorizeError;
pub use flow::{
    ConsentDecision, ConsentView, LoginView, SignedIn, begin, complete_sign_in, consent_view,
    decide_consent, login_view,
};
pub use request::AuthorizationRequest;
pub use subject::AuthenticatedSubject;
