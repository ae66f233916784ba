//! TOTP authenticators (RFC 6238 with RFC 4226 codes): SHA-1, 6 digits, 30-second steps, one
//! step of skew either way (§5.2), each step accepted once (replays refused, ASVS 6.5.1).
//! Enrolment shows the secret as text and as a QR code of its `otpauth://` URI, rendered here
//! as SVG, and completes only with a correct code.

use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use super::{FactorError, FactorKeys, recovery};
use crate::protocol::ids::AccountId;
use crate::store::Store;

pub const DIGITS: usize = 6;
pub const STEP: i64 = 30;
const SKEW: i64 = 1;
/// 160 bits, as RFC 4226 §4 recommends.
const SECRET_BYTES: usize = 20;

/// What the enrolment page shows.
pub struct Enrolment {
    /// The secret in base32, for typing into an app.
    pub secret: String,
    pub uri: String,
    /// An `<svg>` element (no XML declaration), safe to embed.
    pub qr_svg: String,
}

fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> Result<TOTP, FactorError> {
    // The otpauth label separates issuer and account with ':'; neither may contain one.
    let clean = |s: &str| s.replace(':', " ");
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        SKEW as u8,
        STEP as u64,
        secret,
        Some(clean(issuer)),
        clean(account),
    )
    .map_err(|e| FactorError::Sealed(format!("bad TOTP parameters: {e:?}")))
}

fn enrolment(secret: Vec<u8>, issuer: &str, account: &str) -> Result<Enrolment, FactorError> {
    let t = totp(secret, issuer, account)?;
    let uri = t.get_url();
    let qr =
        QrCode::new(uri.as_bytes()).map_err(|e| FactorError::Sealed(format!("QR code: {e}")))?;
    let rendered = qr
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let qr_svg = match rendered.find("<svg") {
        Some(i) => rendered[i..].to_owned(),
        None => rendered,
    };
    Ok(Enrolment {
        secret: t.get_secret_base32(),
        uri,
        qr_svg,
    })
}

fn open(keys: &FactorKeys, sealed: &str) -> Result<Vec<u8>, FactorError> {
    keys.seal
        .open(sealed)
        .map_err(|e| FactorError::Sealed(e.to_string()))
}

/// The time step `code` belongs to, within the skew around `now`.
fn matching_step(secret: &[u8], code: &str, now: i64) -> Option<i64> {
    let t = totp(secret.to_vec(), "x", "x").ok()?;
    let current = now.div_euclid(STEP);
    (current - SKEW..=current + SKEW).find(|step| {
        let expected = t.generate((step * STEP).max(0) as u64);
        crate::secret::ct_eq(expected.as_bytes(), code.as_bytes())
    })
}

/// Start an enrolment with a new secret (replacing an unconfirmed one); `None` when the
/// account has a confirmed authenticator already.
pub async fn begin(
    store: &Store,
    keys: &FactorKeys,
    account_id: &AccountId,
    labels: (&str, &str),
    now: i64,
) -> Result<Option<Enrolment>, FactorError> {
    let mut secret = vec![0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let sealed = keys
        .seal
        .seal(&secret)
        .map_err(|e| FactorError::Sealed(e.to_string()))?;
    match store.begin_totp(account_id, &sealed, now).await {
        Ok(()) => Ok(Some(enrolment(secret, labels.0, labels.1)?)),
        Err(crate::store::StoreError::Conflict) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The enrolment awaiting its first code, shown again (after a wrong code).
pub async fn pending(
    store: &Store,
    keys: &FactorKeys,
    account_id: &AccountId,
    labels: (&str, &str),
) -> Result<Option<Enrolment>, FactorError> {
    match store.totp_factor(account_id).await? {
        Some(f) if f.confirmed_at.is_none() => Ok(Some(enrolment(
            open(keys, &f.secret_sealed)?,
            labels.0,
            labels.1,
        )?)),
        _ => Ok(None),
    }
}

/// Finish an enrolment with a correct code: the new recovery codes (shown once), or `None`
/// when the code is wrong or nothing awaits it.
pub async fn confirm(
    store: &Store,
    keys: &FactorKeys,
    account_id: &AccountId,
    code: &str,
    now: i64,
) -> Result<Option<Vec<String>>, FactorError> {
    let Some(f) = store
        .totp_factor(account_id)
        .await?
        .filter(|f| f.confirmed_at.is_none())
    else {
        return Ok(None);
    };
    let code: String = code.chars().filter(|c| c.is_ascii_digit()).collect();
    let Some(step) = matching_step(&open(keys, &f.secret_sealed)?, &code, now) else {
        return Ok(None);
    };
    let codes = recovery::generate();
    let hashes = recovery::hashes(keys, account_id, &codes);
    Ok(store
        .confirm_totp(account_id, step, &hashes, now)
        .await?
        .then_some(codes))
}

/// What a code of a confirmed authenticator did.
pub enum Checked {
    Accepted,
    /// Right, but its step (or a later one) was used already.
    Replayed,
    Wrong,
}

pub(super) async fn check(
    store: &Store,
    keys: &FactorKeys,
    account_id: &AccountId,
    code: &str,
    now: i64,
) -> Result<Checked, FactorError> {
    let Some(f) = store
        .totp_factor(account_id)
        .await?
        .filter(|f| f.confirmed_at.is_some())
    else {
        return Ok(Checked::Wrong);
    };
    let Some(step) = matching_step(&open(keys, &f.secret_sealed)?, code, now) else {
        return Ok(Checked::Wrong);
    };
    if store.use_totp_step(account_id, step, now).await? {
        Ok(Checked::Accepted)
    } else {
        Ok(Checked::Replayed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1, truncated to 6 digits.
    const SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn the_rfc_6238_test_vectors_match_within_one_step_of_skew() {
        assert_eq!(matching_step(SECRET, "287082", 59), Some(1));
        assert_eq!(
            matching_step(SECRET, "081804", 1_111_111_109),
            Some(37_037_036)
        );
        // One step either side still matches; two do not.
        assert_eq!(
            matching_step(SECRET, "081804", 1_111_111_109 + 30),
            Some(37_037_036)
        );
        assert_eq!(matching_step(SECRET, "081804", 1_111_111_109 + 60), None);
        assert_eq!(matching_step(SECRET, "000000", 59), None);
    }

    #[test]
    fn the_enrolment_qr_code_is_an_svg_element_and_the_uri_names_issuer_and_account() {
        let e = enrolment(SECRET.to_vec(), "id.example", "alice@example.com").unwrap();
        assert!(e.qr_svg.starts_with("<svg"), "{}", &e.qr_svg[..40]);
        assert!(e.uri.starts_with("otpauth://totp/"), "{}", e.uri);
        assert!(e.uri.contains("issuer=id.example"), "{}", e.uri);
        assert_eq!(e.secret, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }
}
