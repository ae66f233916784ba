//! The key-encryption key (KEK) that protects signing keys at rest with AES-256-GCM. It comes
//! from an environment variable, a configured file, or a file generated in the data directory.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use std::path::{Path, PathBuf};

use super::KeyError;
use crate::config::Settings;

pub struct KeyEncryptionKey {
    cipher: Aes256Gcm,
    raw: [u8; 32],
}

/// Where the KEK came from, for logs and `check-config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekSource {
    Env(String),
    File(PathBuf),
    Generated(PathBuf),
}

pub const GENERATED_KEK_FILE: &str = "key-encryption.key";

impl KeyEncryptionKey {
    pub fn from_settings(s: &Settings) -> Result<(Self, KekSource), KeyError> {
        if let Ok(v) = std::env::var(&s.keys.encryption_key_env) {
            return Ok((
                Self::from_base64(&v)?,
                KekSource::Env(s.keys.encryption_key_env.clone()),
            ));
        }
        if let Some(path) = &s.keys.encryption_key_file {
            return Ok((Self::read(path)?, KekSource::File(path.clone())));
        }
        let path = s.server.data_dir.join(GENERATED_KEK_FILE);
        if !path.exists() {
            std::fs::create_dir_all(&s.server.data_dir)
                .map_err(|e| KeyError::Kek(format!("cannot create data dir: {e}")))?;
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            write_private(&path, STANDARD.encode(key).as_bytes())?;
            tracing::warn!(path = %path.display(), "generated a key-encryption key file; set a KEK in the environment for production");
        }
        Ok((Self::read(&path)?, KekSource::Generated(path)))
    }

    fn read(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| KeyError::Kek(format!("cannot read {}: {e}", path.display())))?;
        Self::from_base64(text.trim())
    }

    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|_| KeyError::Kek("the key-encryption key is not base64".into()))?;
        let raw: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Kek("the key-encryption key must be 32 bytes".into()))?;
        let cipher = Aes256Gcm::new_from_slice(&raw)
            .map_err(|_| KeyError::Kek("bad key-encryption key".into()))?;
        Ok(Self { cipher, raw })
    }

    /// A 32-byte key for another purpose (CSRF, refresh-token successors), derived from the KEK
    /// so that every instance sharing the KEK derives the same one.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.raw)
            .unwrap_or_else(|_| unreachable!());
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A key of its own for sealing another kind of secret (second factors), derived from the
    /// KEK: a secret sealed for one purpose never opens for another.
    pub fn subkey(&self, label: &str) -> KeyEncryptionKey {
        let raw = self.derive(label);
        let cipher = Aes256Gcm::new_from_slice(&raw).unwrap_or_else(|_| unreachable!());
        Self { cipher, raw }
    }

    pub fn seal(&self, plaintext: &[u8]) -> Result<String, KeyError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .map_err(|_| KeyError::Crypto("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let raw = STANDARD
            .decode(sealed)
            .map_err(|_| KeyError::Crypto("stored key is not base64".into()))?;
        if raw.len() < 12 {
            return Err(KeyError::Crypto("stored key is truncated".into()));
        }
        let (nonce, ct) = raw.split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| {
                KeyError::Kek("cannot decrypt a signing key: wrong key-encryption key?".into())
            })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(|e| KeyError::Kek(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(bytes)
        .map_err(|e| KeyError::Kek(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_kek() {
        let a = KeyEncryptionKey::from_base64(&STANDARD.encode([1u8; 32])).unwrap();
        let b = KeyEncryptionKey::from_base64(&STANDARD.encode([2u8; 32])).unwrap();
        let sealed = a.seal(b"private").unwrap();
        assert_eq!(a.open(&sealed).unwrap(), b"private");
        assert!(b.open(&sealed).is_err());
    }
}
