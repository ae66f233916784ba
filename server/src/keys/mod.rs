//! Signing keys (RS256, RFC 7518 §3.3) and the JWKS (RFC 7517). Keys are generated at first
//! start, stored with the private half encrypted, and shared by every instance on the same
//! database; each instance reloads them periodically. The JWKS is pre-serialised in memory.

mod encryption;
mod threads;

pub use encryption::{GENERATED_KEK_FILE, KekSource, KeyEncryptionKey};

use actix_web::web::Bytes;
use josekit::jws::alg::rsassa::{RsassaJwsSigner, RsassaJwsVerifier};
use josekit::jws::{JwsHeader, RS256};
use josekit::jwt::{self, JwtPayload};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::store::{Store, StoreError, StoredKey};
use threads::SigningThreads;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key-encryption key: {0}")]
    Kek(String),
    #[error("key material: {0}")]
    Crypto(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<josekit::JoseError> for KeyError {
    fn from(e: josekit::JoseError) -> Self {
        KeyError::Crypto(e.to_string())
    }
}

/// The keys one instance signs and verifies with.
pub struct KeyRing {
    signing_kid: String,
    signer: RsassaJwsSigner,
    verifiers: HashMap<String, RsassaJwsVerifier>,
    jwks: Bytes,
    kids: Vec<String>,
    /// When the signing key started signing.
    signing_since: i64,
}

impl KeyRing {
    /// A key ring held only in memory (the offline dev mode's fake providers sign with it).
    pub fn ephemeral() -> Result<Self, KeyError> {
        let pair = RS256.generate_key_pair(2048)?;
        let kid = uuid::Uuid::new_v4().simple().to_string();
        let mut jwk = pair.to_jwk_public_key();
        jwk.set_key_id(kid.clone());
        jwk.set_algorithm("RS256");
        jwk.set_key_use("sig");
        let mut signer = RS256.signer_from_pem(pair.to_pem_private_key())?;
        signer.set_key_id(kid.clone());
        let verifier = RS256.verifier_from_jwk(&jwk)?;
        let jwks = serde_json::to_vec(&serde_json::json!({ "keys": [jwk.as_ref()] }))
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        Ok(KeyRing {
            signing_kid: kid.clone(),
            signer,
            verifiers: HashMap::from([(kid.clone(), verifier)]),
            jwks: Bytes::from(jwks),
            kids: vec![kid],
            signing_since: 0,
        })
    }

    pub fn jwks(&self) -> Bytes {
        self.jwks.clone()
    }

    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// When the signing key started signing.
    pub fn signing_since(&self) -> i64 {
        self.signing_since
    }

    /// The key ids published in the JWKS.
    pub fn published_kids(&self) -> &[String] {
        &self.kids
    }

    /// Sign a JWT with the current key; `typ` is `JWT` for ID tokens, `at+jwt` for access tokens.
    pub fn sign(
        &self,
        claims: serde_json::Map<String, serde_json::Value>,
        typ: &str,
    ) -> Result<String, KeyError> {
        let payload = JwtPayload::from_map(claims)?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        header.set_key_id(self.signing_kid.clone());
        Ok(jwt::encode_with_signer(&payload, &header, &self.signer)?)
    }

    /// Sign with this ring's key but name another `kid` (the dev fakes forge signatures so
    /// tests can see them refused).
    pub fn sign_as(
        &self,
        claims: serde_json::Map<String, serde_json::Value>,
        typ: &str,
        kid: &str,
    ) -> Result<String, KeyError> {
        let payload = JwtPayload::from_map(claims)?;
        let mut header = JwsHeader::new();
        header.set_token_type(typ);
        let mut signer = self.signer.clone();
        signer.set_key_id(kid);
        Ok(jwt::encode_with_signer(&payload, &header, &signer)?)
    }

    /// Verify an RS256 JWT signed by one of our published keys. Any other algorithm (`none`,
    /// HS256 …) or an unknown `kid` fails. Returns the claims and the header's `typ`.
    pub fn verify(
        &self,
        token: &str,
    ) -> Result<(serde_json::Map<String, serde_json::Value>, Option<String>), KeyError> {
        let (payload, header) = jwt::decode_with_verifier_selector(token, |h| {
            if h.algorithm() != Some("RS256") {
                return Ok(None);
            }
            Ok(h.key_id()
                .and_then(|kid| self.verifiers.get(kid))
                .map(|v| v as &dyn josekit::jws::JwsVerifier))
        })?;
        Ok((
            payload.claims_set().clone(),
            header.token_type().map(str::to_owned),
        ))
    }
}

/// How often every instance reloads keys from the database.
pub const RELOAD_INTERVAL_SECONDS: u64 = 30;
/// A rotated-in key signs this long after it is published: two reloads, so every instance
/// publishes it first.
pub const ROTATION_DELAY_SECONDS: i64 = 2 * RELOAD_INTERVAL_SECONDS as i64;

/// The shared, swappable key ring.
#[derive(Clone)]
pub struct KeySet {
    ring: Arc<RwLock<Arc<KeyRing>>>,
    kek: Arc<KeyEncryptionKey>,
    /// Seconds a retired key stays published: the longest token lifetime.
    publish_window: i64,
    /// None: sign on the caller's thread.
    threads: Option<SigningThreads>,
}

/// The current key and the signing threads: what a token endpoint signs its tokens with.
pub struct Signer {
    ring: Arc<KeyRing>,
    threads: Option<SigningThreads>,
}

impl Signer {
    /// Sign a JWT with this key on a signing thread (see [`KeyRing::sign`]).
    pub async fn sign(
        &self,
        claims: serde_json::Map<String, serde_json::Value>,
        typ: &'static str,
    ) -> Result<String, KeyError> {
        self.run(move |ring| ring.sign(claims, typ)).await
    }

    /// `work` with this key, on a signing thread (several signatures one request needs, one
    /// after the other, in one turn of the queue), or here without signing threads.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&KeyRing) -> Result<T, KeyError> + Send + 'static,
    ) -> Result<T, KeyError> {
        match &self.threads {
            Some(threads) => {
                let ring = self.ring.clone();
                threads.run(move || work(&ring)).await
            }
            None => work(&self.ring),
        }
    }
}

impl KeySet {
    /// Load keys from the store, generating the first one if there is none; start
    /// `signing_threads` threads to sign on (none: callers sign on their own thread).
    pub async fn load_or_init(
        store: &Store,
        kek: KeyEncryptionKey,
        publish_window: i64,
        signing_threads: usize,
        now: i64,
    ) -> Result<Self, KeyError> {
        let mut stored = store.signing_keys().await?;
        if !stored
            .iter()
            .any(|k| k.retired_at.is_none() && k.revoked_at.is_none())
        {
            let k = generate(&kek, now, now)?;
            if store.add_first_signing_key(&k).await? {
                tracing::info!(kid = %k.kid, "generated the first signing key");
            }
            stored = store.signing_keys().await?;
        }
        let ring = build_ring(&kek, &stored, publish_window, now)?;
        Ok(Self {
            ring: Arc::new(RwLock::new(Arc::new(ring))),
            kek: Arc::new(kek),
            publish_window,
            threads: match signing_threads {
                0 => None,
                n => Some(SigningThreads::start(n)?),
            },
        })
    }

    /// The current key, to sign with on the signing threads (or on the caller's, without).
    pub fn signer(&self) -> Signer {
        Signer {
            ring: self.current(),
            threads: self.threads.clone(),
        }
    }

    pub fn current(&self) -> Arc<KeyRing> {
        match self.ring.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Pick up keys another instance (or `ostiary keys rotate`) added; cheap when nothing changed.
    pub async fn reload(&self, store: &Store, now: i64) -> Result<(), KeyError> {
        let stored = store.signing_keys().await?;
        let kids: Vec<String> = published(&stored, self.publish_window, now)
            .map(|k| k.kid.clone())
            .collect();
        let current = self.current();
        if kids == current.kids
            && active(&stored, now).is_some_and(|k| k.kid == current.signing_kid)
        {
            return Ok(());
        }
        let ring = build_ring(&self.kek, &stored, self.publish_window, now)?;
        tracing::info!(kid = %ring.signing_kid, published = ring.kids.len(), "signing keys reloaded");
        match self.ring.write() {
            Ok(mut g) => *g = Arc::new(ring),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(ring),
        }
        Ok(())
    }

    /// Publish a new signing key that signs from `now + delay` on, when the previous one
    /// retires (it stays in the JWKS until every token it signed has expired). A delay longer
    /// than the reload interval means every instance publishes the key before anyone signs
    /// with it; 0 switches at once (a compromised key).
    pub async fn rotate(
        store: &Store,
        kek: &KeyEncryptionKey,
        now: i64,
        delay: i64,
    ) -> Result<String, KeyError> {
        // With no key signing yet (a fresh database), there is nothing to wait for.
        let stored = store.signing_keys().await?;
        let delay = if stored.iter().any(|k| k.signs_at(now)) {
            delay.max(0)
        } else {
            0
        };
        let k = generate(kek, now, now + delay)?;
        store.add_signing_key(&k).await?;
        Ok(k.kid)
    }
}

impl KeySet {
    /// When the key signing at `now` is due to be replaced (it has signed for `max_age`
    /// seconds); `None` when a successor is already waiting to sign, or nothing signs.
    pub fn rotation_due(stored: &[StoredKey], max_age: i64, now: i64) -> Option<i64> {
        let signing = stored.iter().find(|k| k.signs_at(now))?;
        let waiting = stored
            .iter()
            .any(|k| k.revoked_at.is_none() && k.active_from > now);
        (!waiting).then_some(signing.active_from + max_age)
    }

    /// The scheduled rotation (`[keys] rotate_after_days`): when the signing key is due,
    /// publish its successor now, to sign after `ROTATION_DELAY_SECONDS` (every instance
    /// publishes it first). The new key's id, if one was made.
    pub async fn rotate_if_due(
        &self,
        store: &Store,
        max_age: i64,
        now: i64,
    ) -> Result<Option<String>, KeyError> {
        let stored = store.signing_keys().await?;
        match Self::rotation_due(&stored, max_age, now) {
            Some(due) if due <= now => {
                let kid = Self::rotate(store, &self.kek, now, ROTATION_DELAY_SECONDS).await?;
                Ok(Some(kid))
            }
            _ => Ok(None),
        }
    }
}

/// What `revoke` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// The key was revoked; `replaced_by` is the new key that signs at once, when the revoked
    /// one was signing (or about to).
    Revoked { replaced_by: Option<String> },
    /// No such key, or it was revoked already.
    Unknown,
}

impl KeySet {
    /// Revoke a key (a compromised key: `ostiary keys revoke KID`). It leaves the JWKS and
    /// every instance's verifiers at their next reload, so tokens it signed stop working at
    /// userinfo, introspection and as an id_token_hint. If it was signing, or was about to,
    /// a new key signs at once.
    pub async fn revoke(
        store: &Store,
        kek: &KeyEncryptionKey,
        kid: &str,
        now: i64,
    ) -> Result<Revoked, KeyError> {
        let stored = store.signing_keys().await?;
        let Some(target) = stored
            .iter()
            .find(|k| k.kid == kid && k.revoked_at.is_none())
        else {
            return Ok(Revoked::Unknown);
        };
        let replaced_by = if target.retired_at.is_none() || target.signs_at(now) {
            let k = generate(kek, now, now)?;
            store.add_signing_key(&k).await?;
            Some(k.kid)
        } else {
            None
        };
        if !store.revoke_signing_key(kid, now).await? {
            return Ok(Revoked::Unknown);
        }
        Ok(Revoked::Revoked { replaced_by })
    }

    /// Delete keys retired long enough ago that no token they signed is still valid.
    pub async fn collect(&self, store: &Store, now: i64) -> Result<u64, KeyError> {
        Ok(store
            .delete_keys_retired_before(now - self.publish_window)
            .await?)
    }
}

fn published(stored: &[StoredKey], window: i64, now: i64) -> impl Iterator<Item = &StoredKey> {
    stored
        .iter()
        .filter(move |k| k.revoked_at.is_none() && k.retired_at.is_none_or(|r| r + window > now))
}

/// The key that signs at `now`: the latest activated and not retired (or, if clocks disagree,
/// the newest not retired).
fn active(stored: &[StoredKey], now: i64) -> Option<&StoredKey> {
    stored
        .iter()
        .filter(|k| k.signs_at(now))
        .max_by_key(|k| k.active_from)
        .or_else(|| {
            stored
                .iter()
                .find(|k| k.retired_at.is_none() && k.revoked_at.is_none())
        })
}

fn generate(kek: &KeyEncryptionKey, now: i64, active_from: i64) -> Result<StoredKey, KeyError> {
    let pair = RS256.generate_key_pair(2048)?;
    let kid = uuid::Uuid::new_v4().simple().to_string();
    let mut jwk = pair.to_jwk_public_key();
    jwk.set_key_id(kid.clone());
    jwk.set_algorithm("RS256");
    jwk.set_key_use("sig");
    Ok(StoredKey {
        kid,
        public_jwk: serde_json::to_string(jwk.as_ref())
            .map_err(|e| KeyError::Crypto(e.to_string()))?,
        private_key_enc: kek.seal(&pair.to_pem_private_key())?,
        created_at: now,
        retired_at: None,
        active_from,
        revoked_at: None,
    })
}

fn build_ring(
    kek: &KeyEncryptionKey,
    stored: &[StoredKey],
    window: i64,
    now: i64,
) -> Result<KeyRing, KeyError> {
    let active =
        active(stored, now).ok_or_else(|| KeyError::Crypto("no active signing key".into()))?;
    let pem = kek.open(&active.private_key_enc)?;
    let mut signer = RS256.signer_from_pem(&pem)?;
    signer.set_key_id(active.kid.clone());
    let mut verifiers = HashMap::new();
    let mut keys = Vec::new();
    let mut kids = Vec::new();
    for k in published(stored, window, now) {
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&k.public_jwk).map_err(|e| KeyError::Crypto(e.to_string()))?;
        let jwk = josekit::jwk::Jwk::from_map(map.clone())?;
        verifiers.insert(k.kid.clone(), RS256.verifier_from_jwk(&jwk)?);
        keys.push(serde_json::Value::Object(map));
        kids.push(k.kid.clone());
    }
    let jwks = serde_json::to_vec(&serde_json::json!({ "keys": keys }))
        .map_err(|e| KeyError::Crypto(e.to_string()))?;
    Ok(KeyRing {
        signing_kid: active.kid.clone(),
        signer,
        verifiers,
        jwks: Bytes::from(jwks),
        kids,
        signing_since: active.active_from,
    })
}
