//! Passkeys (WebAuthn Level 3 with webauthn-rs): registration on /account, use as a second
//! factor after a password, and as a passwordless first factor with discoverable credentials.
//! User verification is required throughout; the relying-party id is the issuer's host (an
//! issuer on an IP address has no passkeys: WebAuthn needs a domain).
//!
//! A ceremony's state travels with the page, sealed (AES-256-GCM under the second-factor key)
//! together with its purpose, what it is bound to and its expiry, so any instance can finish
//! it without a row per page view; the challenge is claimed once when it is answered
//! (`Store::claim_challenge`), so an assertion or registration cannot be replayed. A
//! signature counter that does not move forward is refused as a possibly cloned
//! authenticator.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder, WebauthnError,
};

use super::FactorKeys;
use crate::protocol::ids::AccountId;
use crate::protocol::vocab::Amr;
use crate::store::{PasskeyUse, Store, StoreError, StoredPasskey};
use crate::tokens::opaque;

/// How long a page has to finish a ceremony.
const CEREMONY_LIFETIME: i64 = 5 * 60;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// Expired, tampered with, for another purpose or another context.
    #[error("the passkey ceremony is not valid here")]
    Ceremony,
    /// The browser's answer did not verify (origin, rp id, challenge, signature, flags).
    #[error("the passkey answer did not verify: {0}")]
    Rejected(String),
    #[error("the challenge was answered already")]
    Replayed,
    #[error("unknown passkey")]
    Unknown,
    /// The signature counter did not move forward: possibly a cloned authenticator.
    #[error("the passkey's signature counter went backwards")]
    Cloned,
    #[error("this passkey is registered already")]
    Taken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("passkey state: {0}")]
    Internal(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Purpose {
    Register,
    SecondFactor,
    SignIn,
}

/// What is sealed into the page.
#[derive(Serialize, Deserialize)]
struct Ceremony {
    purpose: Purpose,
    /// What the ceremony is for: `account:<id>`, `mfa:<request>:<account>`, `login:<request>`.
    context: String,
    challenge: String,
    expires_at: i64,
    state: serde_json::Value,
}

/// A ceremony to hand to the browser: the options for `navigator.credentials` (JSON) and the
/// sealed state the form sends back.
pub struct Started {
    pub options: String,
    pub sealed: String,
}

/// What the browser sent back: the sealed ceremony from the page and its answer (JSON).
#[derive(Clone, Copy)]
pub struct Answer<'a> {
    pub sealed: &'a str,
    pub credential: &'a str,
}

/// A passkey that just answered.
pub struct Used {
    pub account_id: AccountId,
    /// `hwk` for a device-bound passkey, `swk` for a synced one (backup eligible).
    pub method: Amr,
}

/// The passkey relying party of this issuer.
pub struct Passkeys {
    webauthn: Webauthn,
}

/// The user handle an account's passkeys carry: derived from the account id, not the id.
fn user_handle(account_id: &AccountId) -> Uuid {
    let digest = sha2::Sha256::digest(format!("ostiary user handle:{account_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn rejected(e: WebauthnError) -> PasskeyError {
    match e {
        WebauthnError::CredentialPossibleCompromise => PasskeyError::Cloned,
        e => PasskeyError::Rejected(e.to_string()),
    }
}

fn internal(e: impl std::fmt::Display) -> PasskeyError {
    PasskeyError::Internal(e.to_string())
}

impl Passkeys {
    /// The relying party for `issuer` (its host is the rp id, its origin the one allowed);
    /// `None` when the issuer's host is not a domain name.
    pub fn for_issuer(issuer: &str, name: &str) -> Option<Self> {
        let url = Url::parse(issuer).ok()?;
        let host = url.domain()?.to_owned();
        let origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
        let webauthn = WebauthnBuilder::new(&host, &origin)
            .ok()?
            .rp_name(name)
            .build()
            .ok()?;
        Some(Self { webauthn })
    }

    fn seal(
        &self,
        keys: &FactorKeys,
        purpose: Purpose,
        context: &str,
        options: serde_json::Value,
        state: serde_json::Value,
        now: i64,
    ) -> Result<Started, PasskeyError> {
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .ok_or_else(|| internal("options without a challenge"))?
            .to_owned();
        let ceremony = Ceremony {
            purpose,
            context: context.to_owned(),
            challenge,
            expires_at: now + CEREMONY_LIFETIME,
            state,
        };
        let plain = serde_json::to_vec(&ceremony).map_err(internal)?;
        Ok(Started {
            options: options.to_string(),
            sealed: keys.seal.seal(&plain).map_err(internal)?,
        })
    }

    fn open(
        &self,
        keys: &FactorKeys,
        sealed: &str,
        purpose: Purpose,
        context: &str,
        now: i64,
    ) -> Result<Ceremony, PasskeyError> {
        let plain = keys.seal.open(sealed).map_err(|_| PasskeyError::Ceremony)?;
        let c: Ceremony = serde_json::from_slice(&plain).map_err(|_| PasskeyError::Ceremony)?;
        let same = crate::secret::ct_eq(c.context.as_bytes(), context.as_bytes());
        if c.purpose != purpose || !same || c.expires_at <= now {
            return Err(PasskeyError::Ceremony);
        }
        Ok(c)
    }

    /// The challenge is answered now, once.
    async fn claim(store: &Store, c: &Ceremony) -> Result<(), PasskeyError> {
        let hash = opaque::hash(&format!("webauthn:{}", c.challenge));
        if store.claim_challenge(&hash, c.expires_at).await? {
            Ok(())
        } else {
            Err(PasskeyError::Replayed)
        }
    }

    /// Start registering a passkey for an account (its existing ones excluded).
    pub fn begin_registration(
        &self,
        keys: &FactorKeys,
        account_id: &AccountId,
        label: (&str, &str),
        existing: &[StoredPasskey],
        now: i64,
    ) -> Result<Started, PasskeyError> {
        let exclude = existing
            .iter()
            .filter_map(|p| URL_SAFE_NO_PAD.decode(&p.credential_id).ok())
            .map(Into::into)
            .collect::<Vec<_>>();
        let (ccr, state) = self
            .webauthn
            .start_passkey_registration(user_handle(account_id), label.0, label.1, Some(exclude))
            .map_err(rejected)?;
        let mut options = serde_json::to_value(&ccr).map_err(internal)?;
        // Ask for a discoverable credential, so the passkey can also sign in without a
        // password (webauthn-rs leaves it to the authenticator).
        options["publicKey"]["authenticatorSelection"]["residentKey"] = "preferred".into();
        let state = serde_json::to_value(&state).map_err(internal)?;
        let context = format!("account:{account_id}");
        self.seal(keys, Purpose::Register, &context, options, state, now)
    }

    /// Finish a registration: the verified passkey, stored under `name`.
    pub async fn finish_registration(
        &self,
        store: &Store,
        keys: &FactorKeys,
        account_id: &AccountId,
        answer: Answer<'_>,
        name: &str,
        now: i64,
    ) -> Result<StoredPasskey, PasskeyError> {
        let c = self.open(
            keys,
            answer.sealed,
            Purpose::Register,
            &format!("account:{account_id}"),
            now,
        )?;
        let state: PasskeyRegistration =
            serde_json::from_value(c.state.clone()).map_err(|_| PasskeyError::Ceremony)?;
        let answer: RegisterPublicKeyCredential = serde_json::from_str(answer.credential)
            .map_err(|e| PasskeyError::Rejected(format!("malformed credential: {e}")))?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(rejected)?;
        Self::claim(store, &c).await?;
        let json = serde_json::to_value(&passkey).map_err(internal)?;
        let flag = |k: &str| json["cred"][k].as_bool().unwrap_or(false);
        let stored = StoredPasskey {
            id: uuid::Uuid::new_v4().to_string(),
            account_id: account_id.clone(),
            credential_id: b64(passkey.cred_id().as_ref()),
            name: name.to_owned(),
            credential_json: json.to_string(),
            sign_count: json["cred"]["counter"].as_i64().unwrap_or(0),
            backup_eligible: flag("backup_eligible"),
            backup_state: flag("backup_state"),
            created_at: now,
            last_used_at: None,
        };
        match store.add_passkey(&stored).await {
            Ok(()) => Ok(stored),
            Err(StoreError::Conflict) => Err(PasskeyError::Taken),
            Err(e) => Err(e.into()),
        }
    }

    /// Start using one of an account's passkeys as the second factor of sign-in `request_id`.
    pub fn begin_second_factor(
        &self,
        keys: &FactorKeys,
        request_id: &str,
        account_id: &AccountId,
        existing: &[StoredPasskey],
        now: i64,
    ) -> Result<Started, PasskeyError> {
        let creds = existing
            .iter()
            .map(|p| serde_json::from_str::<Passkey>(&p.credential_json).map_err(internal))
            .collect::<Result<Vec<_>, _>>()?;
        let (rcr, state) = self
            .webauthn
            .start_passkey_authentication(&creds)
            .map_err(rejected)?;
        let options = serde_json::to_value(&rcr).map_err(internal)?;
        let state = serde_json::to_value(&state).map_err(internal)?;
        let context = format!("mfa:{request_id}:{account_id}");
        self.seal(keys, Purpose::SecondFactor, &context, options, state, now)
    }

    /// Start a passwordless sign-in for request `request_id` (any discoverable passkey).
    pub fn begin_sign_in(
        &self,
        keys: &FactorKeys,
        request_id: &str,
        now: i64,
    ) -> Result<Started, PasskeyError> {
        let (rcr, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(rejected)?;
        let mut options = serde_json::to_value(&rcr).map_err(internal)?;
        // A button the person presses, not the autofill (conditional) prompt.
        if let Some(o) = options.as_object_mut() {
            o.remove("mediation");
        }
        let state = serde_json::to_value(&state).map_err(internal)?;
        let context = format!("login:{request_id}");
        self.seal(keys, Purpose::SignIn, &context, options, state, now)
    }

    /// Finish a second-factor use for `account_id` in sign-in `request_id`.
    pub async fn finish_second_factor(
        &self,
        store: &Store,
        keys: &FactorKeys,
        request_id: &str,
        account_id: &AccountId,
        answer: Answer<'_>,
        now: i64,
    ) -> Result<Used, PasskeyError> {
        let context = format!("mfa:{request_id}:{account_id}");
        let c = self.open(keys, answer.sealed, Purpose::SecondFactor, &context, now)?;
        let state: PasskeyAuthentication =
            serde_json::from_value(c.state.clone()).map_err(|_| PasskeyError::Ceremony)?;
        let answer = parse_assertion(answer.credential)?;
        let stored = self.stored_for(store, &answer).await?;
        if stored.account_id != *account_id {
            return Err(PasskeyError::Unknown);
        }
        let result = self
            .webauthn
            .finish_passkey_authentication(&answer, &state)
            .map_err(rejected)?;
        self.used(store, &c, stored, &result, now).await
    }

    /// Finish a passwordless sign-in for request `request_id`: whose passkey answered.
    pub async fn finish_sign_in(
        &self,
        store: &Store,
        keys: &FactorKeys,
        request_id: &str,
        answer: Answer<'_>,
        now: i64,
    ) -> Result<Used, PasskeyError> {
        let context = format!("login:{request_id}");
        let c = self.open(keys, answer.sealed, Purpose::SignIn, &context, now)?;
        let state: DiscoverableAuthentication =
            serde_json::from_value(c.state.clone()).map_err(|_| PasskeyError::Ceremony)?;
        let answer = parse_assertion(answer.credential)?;
        let (handle, _) = self
            .webauthn
            .identify_discoverable_authentication(&answer)
            .map_err(rejected)?;
        let stored = self.stored_for(store, &answer).await?;
        if handle != user_handle(&stored.account_id) {
            return Err(PasskeyError::Unknown);
        }
        let passkey: Passkey = serde_json::from_str(&stored.credential_json).map_err(internal)?;
        let result = self
            .webauthn
            .finish_discoverable_authentication(&answer, state, &[DiscoverableKey::from(&passkey)])
            .map_err(rejected)?;
        self.used(store, &c, stored, &result, now).await
    }

    async fn stored_for(
        &self,
        store: &Store,
        answer: &PublicKeyCredential,
    ) -> Result<StoredPasskey, PasskeyError> {
        store
            .passkey_by_credential(&b64(answer.get_credential_id()))
            .await?
            .ok_or(PasskeyError::Unknown)
    }

    async fn used(
        &self,
        store: &Store,
        c: &Ceremony,
        stored: StoredPasskey,
        result: &webauthn_rs::prelude::AuthenticationResult,
        now: i64,
    ) -> Result<Used, PasskeyError> {
        if !result.user_verified() {
            return Err(PasskeyError::Rejected(
                "user verification is required".into(),
            ));
        }
        Self::claim(store, c).await?;
        let mut passkey: Passkey =
            serde_json::from_str(&stored.credential_json).map_err(internal)?;
        passkey.update_credential(result);
        let json = serde_json::to_string(&passkey).map_err(internal)?;
        let counter = i64::from(result.counter());
        let recorded = store
            .record_passkey_use(
                PasskeyUse {
                    id: &stored.id,
                    credential_json: &json,
                    sign_count: counter,
                    backup_state: result.backup_state(),
                },
                now,
            )
            .await?;
        // Another use with this counter or a newer one was recorded first: a clone.
        if !recorded && counter > 0 {
            return Err(PasskeyError::Cloned);
        }
        Ok(Used {
            account_id: stored.account_id,
            method: if result.backup_eligible() {
                Amr::Swk
            } else {
                Amr::Hwk
            },
        })
    }
}

fn parse_assertion(json: &str) -> Result<PublicKeyCredential, PasskeyError> {
    serde_json::from_str(json)
        .map_err(|e| PasskeyError::Rejected(format!("malformed assertion: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issuer_on_a_domain_has_passkeys_and_one_on_an_ip_address_has_none() {
        assert!(Passkeys::for_issuer("https://id.example.com", "Example").is_some());
        assert!(Passkeys::for_issuer("http://localhost:8080", "Dev").is_some());
        assert!(Passkeys::for_issuer("http://127.0.0.1:8080", "Dev").is_none());
    }

    #[test]
    fn user_handles_are_stable_per_account_and_differ_between_accounts() {
        let a = AccountId::new("a");
        assert_eq!(user_handle(&a), user_handle(&a));
        assert_ne!(user_handle(&a), user_handle(&AccountId::new("b")));
    }
}
