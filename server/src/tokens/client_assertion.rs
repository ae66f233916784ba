//! ES256 JWTs that authenticate Ostiary to an upstream as its client secret (Apple's
//! "client secret" JWT: iss team id, sub client id, aud Apple, kid key id; RFC 7523 §3 shape),
//! and their verification, which the offline dev mode's fake Apple performs.

use josekit::jws::{ES256, JwsHeader};
use josekit::jwt::{self, JwtPayload};
use serde_json::{Map, Value, json};

use crate::keys::KeyError;

/// Longest lifetime Apple accepts for a client secret: six months (15,777,000 seconds).
pub const MAX_LIFETIME: i64 = 15_777_000;

/// A P-256 private key (PKCS#8 PEM, Apple's `.p8`) that signs client secrets.
pub struct Es256Key {
    signer: josekit::jws::alg::ecdsa::EcdsaJwsSigner,
}

impl Es256Key {
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        Ok(Self {
            signer: ES256.signer_from_pem(pem)?,
        })
    }

    /// Mint a client secret JWT.
    pub fn mint(
        &self,
        kid: &str,
        issuer: &str,
        subject: &str,
        audience: &str,
        now: i64,
        lifetime: i64,
    ) -> Result<String, KeyError> {
        let mut header = JwsHeader::new();
        header.set_key_id(kid);
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(issuer));
        claims.insert("sub".into(), json!(subject));
        claims.insert("aud".into(), json!(audience));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + lifetime.min(MAX_LIFETIME)));
        Ok(jwt::encode_with_signer(
            &JwtPayload::from_map(claims)?,
            &header,
            &self.signer,
        )?)
    }
}

/// A new P-256 key pair as (private PKCS#8 PEM, public SPKI PEM).
pub fn generate_es256() -> Result<(Vec<u8>, Vec<u8>), KeyError> {
    let pair = ES256.generate_key_pair()?;
    Ok((pair.to_pem_private_key(), pair.to_pem_public_key()))
}

/// Verify an ES256 JWT with a public key (PEM); returns its `kid` and claims.
pub fn verify_es256(
    token: &str,
    public_pem: &[u8],
) -> Result<(Option<String>, Map<String, Value>), KeyError> {
    let verifier = ES256.verifier_from_pem(public_pem)?;
    let (payload, header) = jwt::decode_with_verifier(token, &verifier)?;
    Ok((
        header.key_id().map(str::to_owned),
        payload.claims_set().clone(),
    ))
}
