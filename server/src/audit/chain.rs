//! The audit log's hash chain: record `seq` carries HMAC-SHA256 (under a key derived from the
//! key-encryption key) over the previous record's hash, its place and its fields, so editing,
//! removing or inserting a record breaks the chain where it happened, and nobody who can only
//! write to the database can forge it again. Pruning old records leaves a signed checkpoint
//! (the last pruned place and hash) that the chain then starts from. `Store::verify_audit`
//! walks the log.

use hmac::{Hmac, Mac};
use serde_json::json;

use super::AuditEvent;

/// What the audit key is derived under (`KeyEncryptionKey::derive`).
pub const KEY_LABEL: &str = "ostiary audit chain v1";

fn mac(key: &[u8; 32], parts: &[&[u8]]) -> String {
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for p in parts {
        m.update(&(p.len() as u64).to_be_bytes());
        m.update(p);
    }
    hex::encode(m.finalize().into_bytes())
}

/// The hash of record `seq` after the record whose hash is `prev`.
pub fn record_hash(key: &[u8; 32], prev: &str, seq: i64, e: &AuditEvent) -> String {
    let fields = json!([
        seq,
        e.at,
        e.kind.as_str(),
        e.account_id.as_ref().map(|a| a.as_str()),
        e.client_id,
        e.upstream_id.as_ref().map(|u| u.as_str()),
        e.grant_id.as_ref().map(|g| g.as_str()),
        e.email,
        e.reason,
        e.origin.ip.map(|ip| ip.to_string()),
        e.origin.user_agent,
    ]);
    mac(
        key,
        &[b"record", prev.as_bytes(), fields.to_string().as_bytes()],
    )
}

/// The signature over a checkpoint (the chain starts after `seq`, whose hash was `hash`).
pub fn checkpoint_mac(key: &[u8; 32], seq: i64, hash: &str) -> String {
    mac(
        key,
        &[b"checkpoint", seq.to_string().as_bytes(), hash.as_bytes()],
    )
}

/// What `verify` found: the first problem, or that the chain is whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Intact {
        /// Records in the chain.
        records: u64,
        /// Records from before the chain existed (not covered).
        before_chain: u64,
    },
    /// The checkpoint's signature does not match (it was moved or forged).
    CheckpointForged,
    /// Record `seq` (row `id`) is not what was written.
    Altered { seq: i64, id: i64 },
    /// Record `seq` is gone.
    Removed { seq: i64 },
    /// Row `id` was not written by the chain (no place, or a place out of turn).
    Inserted { id: i64 },
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Intact {
                records,
                before_chain,
            } => {
                write!(f, "intact: {records} records in the chain")?;
                if *before_chain > 0 {
                    write!(f, " ({before_chain} older records predate it)")?;
                }
                Ok(())
            }
            Self::CheckpointForged => write!(f, "the checkpoint's signature does not match"),
            Self::Altered { seq, id } => write!(f, "record {seq} (row {id}) was altered"),
            Self::Removed { seq } => write!(f, "record {seq} was removed"),
            Self::Inserted { id } => write!(f, "row {id} was inserted outside the chain"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditKind, Origin};

    #[test]
    fn a_record_hash_changes_with_any_field_its_place_or_the_previous_hash() {
        let key = [3u8; 32];
        let e = AuditEvent::new(AuditKind::LoginSucceeded, 100, &Origin::default()).reason("x");
        let h = record_hash(&key, "p", 1, &e);
        assert_ne!(record_hash(&key, "p", 2, &e), h);
        assert_ne!(record_hash(&key, "q", 1, &e), h);
        assert_ne!(record_hash(&key, "p", 1, &e.clone().reason("y")), h);
        assert_ne!(record_hash(&[4u8; 32], "p", 1, &e), h);
        assert_eq!(record_hash(&key, "p", 1, &e), h);
    }
}
