//! The client's address in the audit log behind reverse proxies: `X-Forwarded-For` and
//! `Forwarded` count only from a peer in `[server] trusted_proxies`.

use crate::helpers::*;
use ostiary::audit::AuditKind;

/// A failed sign-in sent with these extra headers; the IP the audit log recorded for it.
async fn recorded_ip(app: &TestApp, headers: &[(&str, &str)]) -> Option<String> {
    let b = browser();
    let res = b
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    let html = page_text(&b, location(&res)).await;
    let mut req = b.post(app.url("/login")).form(&[
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("email", EMAIL.to_owned()),
        ("password", "wrong".to_owned()),
    ]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    assert_eq!(req.send().await.unwrap().status(), 401);
    let events = app
        .app_state
        .store
        .audit_events(AuditKind::LoginFailed)
        .await
        .unwrap();
    events
        .last()
        .and_then(|e| e.origin.ip.map(|ip| ip.to_string()))
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app().await;
    let ip = recorded_ip(&app, &[("X-Forwarded-For", "203.0.113.7")]).await;
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_address_is_recorded() {
    let app = spawn_app_with(|s| s.server.trusted_proxies = vec!["127.0.0.0/8".into()]).await;
    let ip = recorded_ip(&app, &[("X-Forwarded-For", "6.6.6.6, 203.0.113.7")]).await;
    assert_eq!(ip.as_deref(), Some("203.0.113.7"));
    let ip = recorded_ip(
        &app,
        &[("Forwarded", "for=\"[2001:db8::7]:4711\";proto=https")],
    )
    .await;
    assert_eq!(ip.as_deref(), Some("2001:db8::7"));
    let ip = recorded_ip(&app, &[("X-Forwarded-For", "garbage")]).await;
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));
}

#[test]
fn check_config_names_a_trusted_proxy_that_is_not_an_address() {
    let text = "issuer = \"https://id.example.com\"\n[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]\n";
    let s =
        ostiary::config::Settings::parse(std::path::Path::new("t.toml"), text, std::iter::empty())
            .unwrap();
    let problems = ostiary::startup::check_config(&s, &|_| None);
    assert!(
        problems
            .iter()
            .any(|p| p.key == "server.trusted_proxies[1]"),
        "{problems:?}"
    );
    assert!(
        !problems
            .iter()
            .any(|p| p.key == "server.trusted_proxies[0]")
    );
}
