//! HTTPS served directly: the certificate is reloaded when its files change (a renewal needs no
//! restart), and a renewal that does not load leaves the running certificate in place.

use crate::helpers::*;

fn self_signed() -> (String, String) {
    let rcgen::CertifiedKey { cert, key_pair } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    (cert.pem(), key_pair.serialize_pem())
}

/// A client that trusts only `cert_pem`, over a new connection each time.
async fn healthz_trusting(app: &TestApp, cert_pem: &str) -> Result<u16, reqwest::Error> {
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = app.url("/healthz").replacen("http://", "https://", 1);
    Ok(client.get(url).send().await?.status().as_u16())
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart_and_a_broken_one_is_not() {
    let dir = std::env::temp_dir().join(format!("ostiary-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_path, key_path) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    let (first_cert, first_key) = self_signed();
    std::fs::write(&cert_path, &first_cert).unwrap();
    std::fs::write(&key_path, &first_key).unwrap();
    let (c, k) = (cert_path.clone(), key_path.clone());
    let app = spawn_app_with(move |s| {
        s.server.tls = Some(ostiary::config::TlsSettings { cert: c, key: k })
    })
    .await;
    assert_eq!(healthz_trusting(&app, &first_cert).await.unwrap(), 200);

    // Renew: the new certificate is served within a few seconds.
    let (second_cert, second_key) = self_signed();
    std::fs::write(&key_path, &second_key).unwrap();
    std::fs::write(&cert_path, &second_cert).unwrap();
    let mut served = false;
    for _ in 0..50 {
        if healthz_trusting(&app, &second_cert).await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(served, "the renewed certificate was not picked up");
    assert!(
        healthz_trusting(&app, &first_cert).await.is_err(),
        "the old one is gone"
    );

    // A broken renewal: the running certificate stays.
    std::fs::write(
        &cert_path,
        "-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    tokio::time::sleep(ostiary::tls::CHECK_EVERY * 2).await;
    assert_eq!(healthz_trusting(&app, &second_cert).await.unwrap(), 200);
    let _ = std::fs::remove_dir_all(dir);
}
