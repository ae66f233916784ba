//! The policy on every step of an authorization request (OIDC Core §3.1.2.1): prompt=login,
//! max_age and id_token_hint cannot be skipped through another page, a consent completes once,
//! and errors never echo input (RFC 6749 §4.1.2.1).

use crate::helpers::*;
use crate::people::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

#[tokio::test]
async fn the_consent_page_cannot_skip_the_login_that_prompt_login_requires() {
    // Arrange: a session and remembered consent, then a request that demands a fresh login.
    let app = spawn_app().await;
    alice_signed_in(&app).await;
    let res = authorize_as_alice(&app, vec![("prompt", "login")]).await;
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    let id = query(&login, "req").unwrap();

    // Act: open the consent page for the same request instead of signing in.
    let res = app
        .browser
        .get(consent_url(&app, &id))
        .send()
        .await
        .unwrap();

    // Assert: back to the login page, no consent form (and so no token to press Allow with).
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/login");
    let grants_before = app.audit("login_succeeded").await;
    let res = app
        .browser
        .post(app.url("/consent"))
        .form(&[("req", id.as_str()), ("decision", "allow"), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(app.audit("login_succeeded").await, grants_before);
}

#[tokio::test]
async fn the_consent_page_cannot_skip_the_login_that_max_age_requires() {
    let app = spawn_app().await;
    alice_signed_in(&app).await;
    app.clock.advance(120);
    let res = authorize_as_alice(&app, vec![("max_age", "60")]).await;
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    let consent = consent_url(&app, &query(&login, "req").unwrap());
    let res = app.browser.get(consent).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/login");
}

#[tokio::test]
async fn max_age_zero_asks_for_a_login_even_with_a_session_from_the_same_second() {
    let app = spawn_app().await;
    alice_signed_in(&app).await;
    let res = authorize_as_alice(&app, vec![("max_age", "0")]).await;
    assert_eq!(location(&res).path(), "/login");
}

#[tokio::test]
async fn a_login_made_for_the_request_satisfies_max_age_zero_when_the_clock_crosses_a_second() {
    let app = spawn_app().await;
    alice_signed_in(&app).await;
    let res = authorize_as_alice(&app, vec![("max_age", "0")]).await;
    let html = page_text(&app.browser, location(&res)).await;
    app.clock.advance(1);
    let res = app.submit_login(&app.browser, &html, EMAIL, PASSWORD).await;
    let back = location(&res);
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert!(query(&back, "code").is_some());
}

/// Forged hints, each one that must not pass as our ID token.
async fn forged_hints(app: &TestApp) -> Vec<(&'static str, String)> {
    let real = id_token_of(app, EMAIL).await;
    let (claims, _) = app.verify_jwt(&real).await;
    let payload = Value::Object(claims.clone());
    let kid = kid_of(&real);
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let parts: Vec<&str> = real.split('.').collect();
    let signed_with = |key: &josekit::jws::alg::rsassa::RsassaJwsSigner, header: Value| {
        let mut h = josekit::jws::JwsHeader::from_map(header.as_object().unwrap().clone()).unwrap();
        h.set_algorithm("RS256");
        josekit::jwt::encode_with_signer(
            &josekit::jwt::JwtPayload::from_map(claims.clone()).unwrap(),
            &h,
            key,
        )
        .unwrap()
    };
    let foreign = josekit::jws::RS256.generate_key_pair(2048).unwrap();
    let foreign_signer = josekit::jws::RS256
        .signer_from_der(foreign.to_der_private_key())
        .unwrap();
    let mut foreign_jwk = foreign.to_jwk_public_key();
    foreign_jwk.set_key_id("attacker");
    let hs_key = app.jwks().await.keys()[0]
        .parameter("n")
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let hs = {
        let signer = josekit::jws::HS256
            .signer_from_bytes(hs_key.as_bytes())
            .unwrap();
        let mut h = josekit::jws::JwsHeader::new();
        h.set_key_id(kid.clone());
        h.set_token_type("JWT");
        josekit::jwt::encode_with_signer(
            &josekit::jwt::JwtPayload::from_map(claims.clone()).unwrap(),
            &h,
            &signer,
        )
        .unwrap()
    };
    let mut wrong_iss = claims.clone();
    wrong_iss.insert("iss".into(), json!("https://attacker.example"));
    let ring = app.app_state.keys.current();
    let foreign_iss = ring.sign(wrong_iss, "JWT").unwrap();
    let access_token = app.webapp_tokens().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    vec![
        (
            "alg none",
            format!("{}.{}.", b64(&json!({"alg": "none", "kid": kid})), parts[1]),
        ),
        ("HS256 with our public key", hs),
        (
            "a wrong signature",
            format!(
                "{}.{}.{}",
                parts[0],
                parts[1],
                &parts[2][..parts[2].len() - 4]
            ),
        ),
        (
            "a foreign key under our kid",
            signed_with(&foreign_signer, json!({"kid": kid, "typ": "JWT"})),
        ),
        (
            "an unknown kid",
            signed_with(&foreign_signer, json!({"kid": "no-such-kid", "typ": "JWT"})),
        ),
        (
            "an embedded jwk",
            signed_with(
                &foreign_signer,
                json!({"typ": "JWT", "jwk": foreign_jwk.as_ref()}),
            ),
        ),
        (
            "a jku header",
            signed_with(
                &foreign_signer,
                json!({"typ": "JWT", "kid": "attacker", "jku": "https://attacker.example/jwks"}),
            ),
        ),
        ("a foreign iss", foreign_iss),
        ("an access token", access_token),
        (
            "a tampered payload",
            format!(
                "{}.{}.{}",
                parts[0],
                b64(&json!({"sub": "someone-else", "iss": app.address, "aud": "webapp"})),
                parts[2]
            ),
        ),
        ("not a JWT", "garbage".into()),
    ]
    .into_iter()
    .chain(std::iter::once(("unused", payload.to_string())))
    .filter(|(name, _)| *name != "unused")
    .collect()
}

#[tokio::test]
async fn a_forged_or_foreign_id_token_hint_at_authorize_is_invalid_request_and_issues_no_code() {
    let app = spawn_app().await;
    alice_signed_in(&app).await;
    for (what, hint) in forged_hints(&app).await {
        let res =
            authorize_as_alice(&app, vec![("prompt", "none"), ("id_token_hint", &hint)]).await;
        assert_eq!(res.status(), 303, "{what}");
        let back = location(&res);
        assert!(back.as_str().starts_with(REDIRECT), "{what}: {back}");
        assert_eq!(
            query(&back, "error").as_deref(),
            Some("invalid_request"),
            "{what}"
        );
        assert!(query(&back, "code").is_none(), "{what}");
    }
}

#[tokio::test]
async fn an_id_token_hint_for_the_signed_in_person_gives_a_silent_code_even_expired() {
    let app = spawn_app().await;
    let hint = id_token_of(&app, EMAIL).await;
    alice_signed_in(&app).await;
    app.clock.advance(7200);
    // The session lasts longer than the ID token: only the hint has expired.
    let res = authorize_as_alice(&app, vec![("prompt", "none"), ("id_token_hint", &hint)]).await;
    let back = location(&res);
    assert!(query(&back, "code").is_some(), "{back}");
}

#[tokio::test]
async fn an_id_token_hint_for_someone_else_is_login_required_silently_and_a_login_otherwise() {
    let app = spawn_app().await;
    add_bob(&app).await;
    let bobs = id_token_of(&app, BOB).await;
    alice_signed_in(&app).await;

    let res = authorize_as_alice(&app, vec![("prompt", "none"), ("id_token_hint", &bobs)]).await;
    let back = location(&res);
    assert_eq!(query(&back, "error").as_deref(), Some("login_required"));

    let res = authorize_as_alice(&app, vec![("id_token_hint", &bobs)]).await;
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    // Signing in as Alice again does not answer for Bob.
    let html = page_text(&app.browser, login).await;
    let res = app.submit_login(&app.browser, &html, EMAIL, PASSWORD).await;
    let back = location(&res);
    assert_eq!(query(&back, "error").as_deref(), Some("login_required"));
    assert!(query(&back, "code").is_none());
}

#[tokio::test]
async fn an_error_description_never_echoes_a_repeated_parameters_name() {
    let app = spawn_app().await;
    let mut url = authorize_with(&app, vec![]);
    let evil = "\u{202e}<script>evil\"x";
    url.query_pairs_mut()
        .append_pair(evil, "1")
        .append_pair(evil, "2");
    let res = app.http.get(url).send().await.unwrap();
    let back = location(&res);
    assert_eq!(query(&back, "error").as_deref(), Some("invalid_request"));
    let description = query(&back, "error_description").unwrap();
    assert!(!description.contains("evil"), "{description}");
    assert!(
        description
            .chars()
            .all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e')),
        "{description}"
    );
}

#[tokio::test]
async fn the_account_page_shows_only_known_notices() {
    let app = spawn_app().await;
    alice_signed_in(&app).await;
    for key in ["linked", "unlinked", "cancelled"] {
        let html = page_text(
            &app.browser,
            app.url(&format!("/account?{key}=%3Cb%3EFree%20money%3C%2Fb%3E")),
        )
        .await;
        assert!(!html.contains("Free money"), "{key}: {html}");
    }
}

#[tokio::test]
async fn two_concurrent_allows_of_one_consent_issue_exactly_one_code() {
    let app = spawn_app().await;
    let res = authorize_as_alice(&app, vec![]).await;
    let html = page_text(&app.browser, location(&res)).await;
    let res = app.submit_login(&app.browser, &html, EMAIL, PASSWORD).await;
    let consent = location(&res);
    assert_eq!(consent.path(), "/consent");
    let html = page_text(&app.browser, consent).await;
    let form = [
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("decision", "allow".into()),
    ];
    let press = || app.browser.post(app.url("/consent")).form(&form).send();
    let (a, b) = tokio::join!(press(), press());
    let codes = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|r| r.status() == 303 && query(&location(r), "code").is_some())
        .count();
    assert_eq!(codes, 1, "exactly one code");
}

/// A new browser of Alice's at the login page of a request whose consent she gave before (in
/// another browser), so that the form's answer is the code itself: the browser and the page.
async fn login_form_answered_by_a_code(app: &TestApp) -> (reqwest::Client, String) {
    alice_signed_in(app).await;
    let other = browser();
    let res = other.get(authorize_with(app, vec![])).send().await.unwrap();
    let html = page_text(&other, location(&res)).await;
    (other, html)
}

#[tokio::test]
async fn a_login_form_sent_twice_at_once_issues_exactly_one_code_and_the_other_finds_the_request_ended()
 {
    let app = spawn_app().await;
    let (other, html) = login_form_answered_by_a_code(&app).await;
    let (a, b) = tokio::join!(
        app.submit_login(&other, &html, EMAIL, PASSWORD),
        app.submit_login(&other, &html, EMAIL, PASSWORD),
    );
    let has_code =
        |r: &reqwest::Response| r.status() == 303 && query(&location(r), "code").is_some();
    let (won, lost) = if has_code(&a) { (a, b) } else { (b, a) };
    assert!(has_code(&won), "one of the two gets the code");
    assert!(!has_code(&lost), "exactly one code");
    expect_error_page(lost, 400, "This sign-in has expired").await;
    // The code the winner got is good.
    let code = query(&location(&won), "code").unwrap();
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;
    assert_eq!(res.status(), 200);
}

/// Make every INSERT into `table` fail, on either database (a fault the server cannot foresee).
async fn refuse_inserts_into(app: &TestApp, table: &str) {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(&app.db_url).await.unwrap();
    let statements = if app.db_url.starts_with("postgres") {
        vec![
            "CREATE FUNCTION injected_fault() RETURNS trigger AS $$ BEGIN \
             RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql"
                .to_owned(),
            format!(
                "CREATE TRIGGER injected_fault BEFORE INSERT ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION injected_fault()"
            ),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER injected_fault BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        )]
    };
    for s in statements {
        db.execute_unprepared(&s).await.unwrap();
    }
    db.close().await.unwrap();
}

#[tokio::test]
async fn a_code_that_cannot_be_written_at_the_end_of_a_sign_in_sends_the_client_server_error_and_nothing_of_the_sign_in_is_kept()
 {
    let app = spawn_app().await;
    let (other, html) = login_form_answered_by_a_code(&app).await;
    let signed_in_before = app.audit("login_succeeded").await;
    refuse_inserts_into(&app, "auth_codes").await;

    let res = app.submit_login(&other, &html, EMAIL, PASSWORD).await;

    // RFC 6749 §4.1.2.1: the error goes to the client, with its state and our issuer.
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(query(&back, "error").as_deref(), Some("server_error"));
    assert_eq!(query(&back, "state").as_deref(), Some("st-123"));
    assert_eq!(query(&back, "iss").as_deref(), Some(app.address.as_str()));
    assert_eq!(query(&back, "code"), None);
    // The sign-in was one transaction: no record of it, and no session in that browser.
    assert_eq!(app.audit("login_succeeded").await, signed_in_before);
    assert_eq!(
        silent_error(&app, &other).await.as_deref(),
        Some("login_required")
    );
}
