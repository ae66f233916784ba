//! HTTPS served directly (`[server.tls]`, rustls): the certificate chain and key are read from
//! their PEM files at start and again whenever either file changes (checked every few
//! seconds), so a renewed certificate is served without a restart. A renewal that does not
//! parse, or whose key does not fit, is logged and the running certificate stays.

use anyhow::Context;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// How often the files are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

fn load(cert: &Path, key: &Path) -> anyhow::Result<Arc<CertifiedKey>> {
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("reading {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing {}", cert.display()))?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate", cert.display());
    }
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading {}", key.display()))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key)
        .context("the key is of no supported type")?;
    let certified = CertifiedKey::new(certs, signer);
    certified
        .keys_match()
        .context("the key does not belong to the certificate")?;
    Ok(Arc::new(certified))
}

fn stamp(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The certificate to serve, swapped when its files change.
#[derive(Debug)]
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    stamps: RwLock<(Option<SystemTime>, Option<SystemTime>)>,
}

impl ReloadingCert {
    pub fn new(cert: &Path, key: &Path) -> anyhow::Result<Arc<Self>> {
        let loaded = load(cert, key)?;
        Ok(Arc::new(Self {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(loaded),
            stamps: RwLock::new((stamp(cert), stamp(key))),
        }))
    }

    /// Load the files again if either changed; true if a new certificate is served now.
    pub fn check(&self) -> bool {
        let now = (stamp(&self.cert), stamp(&self.key));
        let seen = self.stamps.read().map(|s| *s).unwrap_or_default();
        if now == seen {
            return false;
        }
        if let Ok(mut s) = self.stamps.write() {
            *s = now;
        }
        match load(&self.cert, &self.key) {
            Ok(loaded) => {
                if let Ok(mut c) = self.current.write() {
                    *c = loaded;
                }
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                true
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "the changed TLS certificate was not loaded; the running one stays");
                false
            }
        }
    }

    /// Check the files every `CHECK_EVERY` for as long as the task runs.
    pub async fn watch(self: Arc<Self>) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tick.tick().await;
            self.check();
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.clone())
    }
}

/// The rustls configuration serving `cert` (reloaded as it changes).
pub fn server_config(cert: Arc<ReloadingCert>) -> rustls::ServerConfig {
    rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(cert)
}
