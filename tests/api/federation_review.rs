//! The security review's findings on upstream sign-in: untrusted emails, callbacks, issuer
//! checks, transport, and concurrent unlinks. Each test failed before its fix.

use crate::federation_harness::*;
use crate::helpers::*;
use ostiary::config::{Settings, Severity};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn an_untrusted_upstreams_verified_email_is_stored_and_released_unverified_and_never_links() {
    // Arrange: `google` is not trusted for email; `trusted` is.
    let fakes = start_fakes().await;
    let app = app_with(
        &fakes,
        &[
            ("google", "google", json!({})),
            ("trusted", "google", json!({"trust_email": true})),
        ],
    )
    .await;

    // Act: someone signs in through the untrusted upstream asserting a verified address…
    let claims = federated_id_token(
        &app,
        "google",
        &person("g-mallory", Some("victim@example.org"), true),
    )
    .await;

    // Assert: released as unverified, stored as unverified.
    assert_eq!(claims["email"], json!("victim@example.org"));
    assert_eq!(claims["email_verified"], json!(false));
    let first = app
        .app_state
        .store
        .account_by_email("victim@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(!first.email_verified);

    // …and the real owner, signing in later through a trusted upstream, gets an account of
    // their own: no link into the first one (pre-account hijacking).
    let owner = federated_id_token(
        &app,
        "trusted",
        &person("t-victim", Some("victim@example.org"), true),
    )
    .await;
    assert_ne!(owner["sub"], json!(first.id));
    assert_eq!(owner["email_verified"], json!(true));
    assert_eq!(app.audit("upstream_linked").await, 0);
}

#[tokio::test]
async fn a_form_post_callback_is_refused_for_an_upstream_that_answers_with_a_query() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let browser = browser();
    let authorize = press_button(&app, &browser, "google").await;
    let st = query(&authorize, "state").unwrap();

    // Act: a cross-site POST tries to attach its own code to the pending sign-in.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/upstream/google/callback"))
        .form(&[("state", st.as_str()), ("code", "attacker-code")])
        .send()
        .await
        .unwrap();

    // Assert: refused, and the real sign-in still completes with the person's own code.
    assert_eq!(res.status(), 400);
    assert_eq!(app.audit("upstream_invalid_callback").await, 1);
    let cb = at_provider(
        &app,
        &browser,
        &authorize,
        &person("g-1", Some("ada@example.org"), true),
        "allow",
    )
    .await;
    let res = browser.get(cb).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn an_upstream_that_advertises_iss_must_send_it_exactly() {
    let (upstream, app) = ostiary_behind_ostiary(json!({})).await;
    for tamper in ["drop", "trailing slash"] {
        let browser = browser();
        let authorize = press_button(&app, &browser, "corp-idp").await;
        let callback = upstream
            .interact(&browser, authorize, EMAIL, PASSWORD, Consent::Allow)
            .await;
        let iss = query(&callback, "iss").expect("Ostiary sends iss");
        let mut bad = callback.clone();
        {
            let mut q = bad.query_pairs_mut();
            q.clear();
            for (k, v) in callback.query_pairs() {
                match (k.as_ref(), tamper) {
                    ("iss", "drop") => {}
                    ("iss", _) => {
                        q.append_pair("iss", &format!("{iss}/"));
                    }
                    _ => {
                        q.append_pair(&k, &v);
                    }
                }
            }
        }
        let res = browser.get(bad).send().await.unwrap();
        assert_eq!(res.status(), 400, "{tamper}");
    }
    assert_eq!(app.audit("upstream_issuer_mismatch").await, 2);
    assert_eq!(app.audit("login_succeeded").await, 0);
}

/// A server on loopback for an OpenID Connect upstream whose discovery document is valid but
/// padded to `size` bytes; its JWKS is small and valid (so only the cap can refuse it).
async fn oversized_discovery(size: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "padding": "x".repeat(size),
    })
    .to_string();
    tokio::spawn(async move {
        for _ in 0..8 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let doc = doc.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let body = if head.starts_with("GET /jwks") {
                    r#"{"keys":[]}"#.to_owned()
                } else {
                    doc
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            });
        }
    });
    issuer
}

#[tokio::test]
async fn an_oversized_upstream_discovery_document_is_not_read_whole() {
    // Control: the same document under the cap is a working upstream.
    let small = oversized_discovery(1000).await;
    let app = spawn_app_with(move |s| {
        s.upstreams.push(
            serde_json::from_value(json!({
                "id": "small", "kind": "oidc", "display_name": "Small", "issuer": small,
                "client_id": "c", "client_secret": "s",
            }))
            .unwrap(),
        )
    })
    .await;
    let res = press_button_response(&app, &browser(), "small").await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());

    let issuer = oversized_discovery(2 << 20).await;
    let app = spawn_app_with(move |s| {
        s.upstreams.push(
            serde_json::from_value(json!({
                "id": "big", "kind": "oidc", "display_name": "Big", "issuer": issuer,
                "client_id": "c", "client_secret": "s",
            }))
            .unwrap(),
        )
    })
    .await;
    let res = press_button_response(&app, &browser(), "big").await;
    assert_eq!(res.status(), 502);
    assert!(res.headers().get("location").is_none());
}

#[test]
fn check_config_refuses_plain_http_upstreams_except_on_loopback() {
    let base = "issuer = \"https://id.example.com\"\n[database]\nurl = \"sqlite://x.db\"\n";
    let upstream = |issuer: &str| {
        format!(
            "{base}\n[[upstreams]]\nid = \"corp\"\nkind = \"oidc\"\ndisplay_name = \"Corp\"\nissuer = \"{issuer}\"\nclient_id = \"c\"\nclient_secret = \"s\"\n"
        )
    };
    let errors = |text: String| -> Vec<String> {
        let s = Settings::parse(std::path::Path::new("x.toml"), &text, std::iter::empty()).unwrap();
        ostiary::startup::check_config(&s, &|_| None)
            .into_iter()
            .filter(|p| p.severity == Severity::Error)
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect()
    };
    let remote = errors(upstream("http://idp.example.com"));
    assert!(
        remote.iter().any(|e| e.starts_with("upstreams[0].issuer")),
        "{remote:?}"
    );
    assert!(errors(upstream("http://127.0.0.1:9000")).is_empty());
    assert!(errors(upstream("https://idp.example.com")).is_empty());
}

#[tokio::test]
async fn two_concurrent_unlinks_never_leave_an_account_without_a_way_to_sign_in() {
    let fakes = start_fakes().await;
    let app = app_with(
        &fakes,
        &[
            ("google", "google", json!({})),
            ("other", "google", json!({})),
        ],
    )
    .await;
    for round in 0..4 {
        // An upstream-only account with two identities.
        let browser = browser();
        let ada = format!("g-ada-{round}");
        federated_code(&app, &browser, "google", &person(&ada, None, false)).await;
        let page = page_text(&browser, app.url("/account")).await;
        let linked = link_from_account_page(
            &app,
            &browser,
            &page,
            "other",
            &person(&format!("o-ada-{round}"), None, false),
        )
        .await;
        assert_eq!(linked.status(), 303);
        let page = page_text(&browser, app.url("/account")).await;
        let account = app
            .app_state
            .store
            .linked_identity(&"google".into(), &ada)
            .await
            .unwrap()
            .unwrap()
            .account_id;

        // Act: unlink both at once.
        let unlink = |upstream: &'static str, subject: String| {
            let browser = browser.clone();
            let url = app.url("/account/unlink");
            let csrf = hidden(&page, "csrf");
            async move {
                browser
                    .post(url)
                    .form(&[
                        ("csrf", csrf),
                        ("upstream", upstream.into()),
                        ("subject", subject),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let (a, b) = tokio::join!(
            unlink("google", ada.clone()),
            unlink("other", format!("o-ada-{round}"))
        );

        // Assert: one removed, one refused as the last way in; never a 500.
        let mut statuses = [a, b];
        statuses.sort();
        assert_eq!(statuses, [303, 409], "round {round}");
        let left = app.app_state.store.identities_of(&account).await.unwrap();
        assert_eq!(left.len(), 1, "round {round}");
    }
}

#[tokio::test]
async fn a_second_form_post_cannot_attach_another_code_to_a_pending_sign_in() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("apple", "apple", json!({"trust_email": true}))]).await;
    let browser = browser();
    let authorize = press_button(&app, &browser, "apple").await;
    let st = query(&authorize, "state").unwrap();
    // The real answer arrives first (as Apple posts it)…
    let who = person("apple-2", Some("a2@privaterelay.appleid.com"), false);
    let cb = at_provider(&app, &browser, &authorize, &who, "allow").await;

    // …then a forged second form_post for the same state.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/upstream/apple/callback"))
        .form(&[("state", st.as_str()), ("code", "attacker-code")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.audit("upstream_state_mismatch").await, 1);

    // The sign-in completes with the person's own code, even if the GET carries another one.
    let mut tampered = cb.clone();
    tampered
        .query_pairs_mut()
        .append_pair("code", "attacker-code");
    let res = browser.get(tampered).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(app.audit("login_succeeded").await, 1);
}
