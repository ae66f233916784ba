//! RP-initiated logout: id_token_hint checked (alg none and HS256 refused), exact
//! post_logout_redirect_uri, state echoed, session ended.

use crate::helpers::*;
use crate::people::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn logout_url(app: &TestApp, hint: &str, redirect: &str) -> url::Url {
    let mut url = url::Url::parse(&app.url("/logout")).unwrap();
    url.query_pairs_mut()
        .append_pair("id_token_hint", hint)
        .append_pair("post_logout_redirect_uri", redirect)
        .append_pair("state", "bye-1");
    url
}

async fn signed_in(app: &TestApp) -> bool {
    let p = AuthorizeParams {
        extra: vec![("prompt", "none")],
        ..AuthorizeParams::new("webapp", "openid")
    };
    let res = app.browser.get(app.authorize_url(&p)).send().await.unwrap();
    query(&location(&res), "code").is_some()
}

#[tokio::test]
async fn logout_with_a_valid_hint_ends_the_session_and_returns_with_state() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    assert!(signed_in(&app).await);
    let res = app
        .browser
        .get(logout_url(
            &app,
            tokens["id_token"].as_str().unwrap(),
            REDIRECT,
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let loc = location(&res);
    assert!(loc.as_str().starts_with(REDIRECT));
    assert_eq!(query(&loc, "state").as_deref(), Some("bye-1"));
    assert!(!signed_in(&app).await, "the session must be over");
}

fn forge(header: serde_json::Value, payload: &serde_json::Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    )
}

#[tokio::test]
async fn tampered_unsigned_and_hs256_hints_are_refused_and_the_session_survives() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let real = tokens["id_token"].as_str().unwrap();
    let (claims, _) = app.verify_jwt(real).await;
    let payload = serde_json::Value::Object(claims);
    let kid = kid_of(real);
    let none = forge(serde_json::json!({"alg": "none", "kid": kid}), &payload, "");
    // HS256 keyed with the public modulus: the classic key-confusion attack.
    let hs_key = app.jwks().await.keys()[0]
        .parameter("n")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let hs_signer = josekit::jws::HS256
        .signer_from_bytes(hs_key.as_bytes())
        .unwrap();
    let mut hs_header = josekit::jws::JwsHeader::new();
    hs_header.set_key_id(kid.clone());
    let hs = josekit::jwt::encode_with_signer(
        &josekit::jwt::JwtPayload::from_map(payload.as_object().unwrap().clone()).unwrap(),
        &hs_header,
        &hs_signer,
    )
    .unwrap();
    let parts: Vec<&str> = real.split('.').collect();
    let mut other = payload.clone();
    other["sub"] = serde_json::json!("someone-else");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(other.to_string()),
        parts[2]
    );

    for hint in [none, hs, tampered] {
        let res = app
            .browser
            .get(logout_url(&app, &hint, REDIRECT))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{hint}");
        assert!(res.headers().get("location").is_none());
    }
    assert!(signed_in(&app).await);
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_uri_is_refused() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let res = app
        .browser
        .get(logout_url(
            &app,
            tokens["id_token"].as_str().unwrap(),
            "http://evil.example/",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    assert!(signed_in(&app).await);
}

#[tokio::test]
async fn logout_without_a_hint_asks_the_user_to_confirm() {
    let app = spawn_app().await;
    app.webapp_tokens().await;
    let res = app.browser.get(app.url("/logout")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(signed_in(&app).await, "a GET alone must not sign out");
    let res = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[("csrf", hidden(&html, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!signed_in(&app).await);
}

fn logout_url_for_webapp(app: &TestApp, hint: Option<&str>) -> url::Url {
    let mut url = url::Url::parse(&app.url("/logout")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        if let Some(h) = hint {
            q.append_pair("id_token_hint", h);
        } else {
            q.append_pair("client_id", "webapp");
        }
        q.append_pair("post_logout_redirect_uri", REDIRECT)
            .append_pair("state", "bye-2");
    }
    url
}

#[tokio::test]
async fn logout_with_someone_elses_id_token_asks_to_confirm_and_keeps_the_session() {
    let app = spawn_app().await;
    add_bob(&app).await;
    let bobs = id_token_of(&app, BOB).await;
    alice_signed_in(&app).await;

    let res = app
        .browser
        .get(logout_url_for_webapp(&app, Some(&bobs)))
        .send()
        .await
        .unwrap();

    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("action=\"/logout/confirm\""), "{html}");
    assert!(silent_code(&app).await, "Alice is still signed in");

    // Confirming signs out and returns to the registered URI with state.
    let res = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("client_id", hidden(&html, "client_id")),
            (
                "post_logout_redirect_uri",
                hidden(&html, "post_logout_redirect_uri"),
            ),
            ("state", hidden(&html, "state")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert!(back.as_str().starts_with(REDIRECT));
    assert_eq!(query(&back, "state").as_deref(), Some("bye-2"));
    assert!(!silent_code(&app).await);
}

#[tokio::test]
async fn logout_confirmation_never_redirects_to_an_unregistered_uri() {
    let app = spawn_app().await;
    alice_signed_in(&app).await;
    let res = app
        .browser
        .get(logout_url_for_webapp(&app, None))
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    let res = app
        .browser
        .post(app.url("/logout/confirm"))
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("client_id", "webapp".into()),
            (
                "post_logout_redirect_uri",
                "https://attacker.example/".into(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    assert!(silent_code(&app).await);
}
