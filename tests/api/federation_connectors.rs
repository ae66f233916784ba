//! Every upstream kind against a local fake of its provider's wire format, and a second Ostiary
//! as the generic OpenID Connect upstream of the first. The relying party gets Ostiary's own
//! tokens, never the upstream's.

use crate::federation_harness::*;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_person_signs_in_with_google_and_the_app_gets_ostiary_tokens_naming_the_upstream() {
    // Arrange
    let fakes = start_fakes().await;
    let app = app_with(
        &fakes,
        &[("google", "google", json!({"trust_email": true}))],
    )
    .await;

    // Act
    let claims = federated_id_token(
        &app,
        "google",
        &person("g-1", Some("ada@example.org"), true),
    )
    .await;

    // Assert: our issuer and our subject, with amr and idp saying how.
    assert_eq!(claims["iss"], json!(app.address));
    assert_ne!(
        claims["sub"],
        json!("g-1"),
        "the subject is ours, not Google's"
    );
    assert_eq!(claims["amr"], json!(["fed"]));
    assert_eq!(claims["idp"], json!("google"));
    assert_eq!(claims["email"], json!("ada@example.org"));
    assert_eq!(claims["email_verified"], json!(true));
    assert_eq!(claims["name"], json!("Ada Lovelace"));
    assert_eq!(app.audit("account_created").await, 1);
}

#[tokio::test]
async fn google_hosted_domains_refuse_accounts_from_other_domains() {
    let fakes = start_fakes().await;
    let g = fakes.upstream(
        "google",
        "google",
        json!({"hosted_domains": ["corp.example"]}),
    );
    let app = spawn_app_with(|s| s.upstreams.push(g)).await;
    let before = account_count(&app).await;
    let browser = browser();

    let authorize = press_button(&app, &browser, "google").await;
    assert_eq!(query(&authorize, "hd").as_deref(), Some("corp.example"));
    let cb = at_provider(
        &app,
        &browser,
        &authorize,
        &person("g-2", Some("eve@other.example"), true),
        "allow",
    )
    .await;
    let res = browser.get(cb).send().await.unwrap();

    assert_eq!(res.status(), 403);
    assert_eq!(account_count(&app).await, before);
    assert_eq!(app.audit("upstream_refused_by_policy").await, 1);
}

#[tokio::test]
async fn apple_answers_with_form_post_and_the_name_arrives_only_the_first_time() {
    // Arrange: Apple asks for name and email, so it answers with a cross-site form POST, and
    // the fake checks the ES256 client secret Ostiary minted from the .p8 key.
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("apple", "apple", json!({"trust_email": true}))]).await;
    let browser = browser();

    // Act: the first sign-in (the name is in Apple's `user` field), then a second one.
    let authorize = press_button(&app, &browser, "apple").await;
    assert_eq!(
        query(&authorize, "response_mode").as_deref(),
        Some("form_post")
    );
    let mut who = person("apple-1", Some("x7@privaterelay.appleid.com"), false);
    who.push(("private_email".into(), "true".into()));
    let cb = at_provider(&app, &browser, &authorize, &who, "allow").await;
    let back = app.interact(&browser, cb, "", "", Consent::Allow).await;
    let code = query(&back, "code").expect("a code");
    let second = federated_id_token(&app, "apple", &who).await;

    // Assert: one account, named from the first form_post; the private relay address counts
    // as verified (Apple is trusted for email here).
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(second["name"], json!("Ada Lovelace"));
    assert_eq!(second["email"], json!("x7@privaterelay.appleid.com"));
    assert_eq!(second["email_verified"], json!(true));
    assert_eq!(second["idp"], json!("apple"));
    assert_eq!(app.audit("account_created").await, 1);
}

#[tokio::test]
async fn facebook_sign_in_reads_graph_me_with_an_appsecret_proof() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("facebook", "facebook", json!({}))]).await;

    // The fake refuses /me without the right appsecret_proof, so a sign-in proves we send it.
    let claims = federated_id_token(
        &app,
        "facebook",
        &person("fb-1", Some("ada@fb.example"), true),
    )
    .await;

    assert_eq!(claims["idp"], json!("facebook"));
    assert_eq!(claims["name"], json!("Ada Lovelace"));
    assert_eq!(claims["email"], json!("ada@fb.example"));
    // Facebook does not assert verification.
    assert_eq!(claims["email_verified"], json!(false));
}

#[tokio::test]
async fn facebook_without_an_email_still_signs_the_person_in() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("facebook", "facebook", json!({}))]).await;

    let claims = federated_id_token(&app, "facebook", &person("fb-2", None, false)).await;

    assert_eq!(claims["idp"], json!("facebook"));
    assert!(claims.get("email").is_none());
}

#[tokio::test]
async fn x_sign_in_uses_pkce_and_basic_auth_and_keys_the_account_by_xs_user_id() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("x", "x", json!({}))]).await;
    let browser = browser();

    // The fake X refuses an authorization request without S256 PKCE and a token request
    // without HTTP Basic and the verifier.
    let authorize = press_button(&app, &browser, "x").await;
    assert_eq!(
        query(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let claims = federated_id_token(&app, "x", &person("1234567890", None, false)).await;
    let again = federated_id_token(&app, "x", &person("1234567890", None, false)).await;

    assert_eq!(claims["idp"], json!("x"));
    assert_eq!(
        claims["sub"], again["sub"],
        "the same X user id is the same account"
    );
    assert!(claims.get("email").is_none());
    assert_eq!(app.audit("account_created").await, 1);
}

#[tokio::test]
async fn a_generic_oauth2_upstream_maps_its_profile_json_by_configured_paths() {
    let fakes = start_fakes().await;
    let o = fakes.upstream(
        "corp",
        "oauth2",
        json!({
            "display_name": "Corp SSO",
            "scopes": ["users.read", "tweet.read"],
            "claims": {"subject": "data.id", "name": "data.name"},
        }),
    );
    let app = spawn_app_with(|s| s.upstreams.push(o)).await;

    let claims = federated_id_token(&app, "corp", &person("42", None, false)).await;

    assert_eq!(claims["idp"], json!("corp"));
    assert_eq!(claims["name"], json!("Ada Lovelace"));
    let linked = app
        .app_state
        .store
        .linked_identity(&"corp".into(), "42")
        .await
        .unwrap();
    assert!(linked.is_some(), "keyed by the mapped subject");
}

#[tokio::test]
async fn a_second_ostiary_is_the_generic_openid_connect_upstream_of_the_first() {
    // Arrange: the upstream Ostiary knows the downstream as its client `webapp` (its redirect
    // URI is the downstream's callback), and has the test account.
    let (upstream, app) = ostiary_behind_ostiary(json!({
        "scopes": ["openid", "email", "profile"],
        "trust_email": true,
    }))
    .await;
    let browser = browser();

    // Act: press the button, sign in at the upstream Ostiary with a password and consent there,
    // come back, and consent at the downstream.
    let authorize = press_button(&app, &browser, "corp-idp").await;
    assert!(authorize.as_str().starts_with(&upstream.address));
    let callback = upstream
        .interact(&browser, authorize, EMAIL, PASSWORD, Consent::Allow)
        .await;
    let back = app
        .interact(&browser, callback, "", "", Consent::Allow)
        .await;
    let code = query(&back, "code").expect("a code");
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    let (claims, _) = app.verify_jwt(body["id_token"].as_str().unwrap()).await;

    // Assert: the downstream's own token, for the local account with the same verified email
    // (the upstream is trusted for email).
    assert_eq!(claims["iss"], json!(app.address));
    assert_eq!(claims["sub"], json!(app.account_id));
    assert_eq!(claims["idp"], json!("corp-idp"));
    assert_eq!(claims["email"], json!(EMAIL));
    assert_eq!(claims["email_verified"], json!(true));
    assert_eq!(claims["name"], json!("Alice Liddell"));
}

#[tokio::test]
async fn the_offline_dev_mode_signs_people_in_with_fakes_played_by_ostiary_itself() {
    // Arrange: a development config with fake_upstreams and no [[upstreams]] at all.
    let app = spawn_app_with(|s| s.dev.fake_upstreams = true).await;

    // Act: every fake provider signs a person in, all on this one server.
    let mut idps = Vec::new();
    for (id, who) in [
        (
            "fake-google",
            person("dev-g", Some("dev-g@example.com"), true),
        ),
        (
            "fake-apple",
            person("dev-a", Some("dev-a@example.com"), true),
        ),
        (
            "fake-facebook",
            person("dev-f", Some("dev-f@example.com"), false),
        ),
        ("fake-x", person("dev-x", None, false)),
    ] {
        let browser = browser();
        let authorize = press_button(&app, &browser, id).await;
        assert!(
            authorize.as_str().starts_with(&app.url("/dev/fake/")),
            "{authorize}"
        );
        let cb = at_provider(&app, &browser, &authorize, &who, "allow").await;
        let back = app.interact(&browser, cb, "", "", Consent::Allow).await;
        let code = query(&back, "code").expect("a code");
        let res = app
            .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
            .await;
        let body: serde_json::Value = res.json().await.unwrap();
        let (claims, _) = app.verify_jwt(body["id_token"].as_str().unwrap()).await;
        idps.push(claims["idp"].as_str().unwrap().to_owned());
    }

    // Assert: the page says they are fakes.
    assert_eq!(
        idps,
        ["fake-google", "fake-apple", "fake-facebook", "fake-x"]
    );
    let browser = browser();
    let (_, html) = login_page(&app, &browser).await;
    assert!(
        html.contains("Google (fake)") && html.contains("Development mode"),
        "{html}"
    );
}
