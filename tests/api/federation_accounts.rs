//! Accounts and linking: an upstream identity belongs to one account; linking by email only
//! with `trust_email` and two verified emails; link and unlink from the account page; the login
//! page's buttons and the password switch.

use crate::federation_harness::*;
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_trusted_upstream_with_a_verified_email_signs_in_to_the_existing_account() {
    let fakes = start_fakes().await;
    let app = app_with(
        &fakes,
        &[("google", "google", json!({"trust_email": true}))],
    )
    .await;

    let claims = federated_id_token(&app, "google", &person("g-alice", Some(EMAIL), true)).await;

    assert_eq!(
        claims["sub"],
        json!(app.account_id),
        "linked to the local account"
    );
    assert_eq!(account_count(&app).await, 1);
    assert_eq!(app.audit("upstream_linked").await, 1);
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_through_an_upstream_either() {
    let fakes = start_fakes().await;
    let app = app_with(
        &fakes,
        &[("google", "google", json!({"trust_email": true}))],
    )
    .await;
    let alice = person("g-alice", Some(EMAIL), true);
    federated_id_token(&app, "google", &alice).await;
    let signed_in = app.audit("login_succeeded").await;
    assert_eq!(
        ostiary_cli(&app, &["users", "disable", "--email", EMAIL]).await,
        0
    );

    let res = callback_response(&app, &browser(), "google", &alice).await;

    assert_eq!(res.status(), 403);
    let page = res.text().await.unwrap();
    assert!(page.contains("This account cannot sign in"), "{page}");
    assert_eq!(
        app.audit("login_succeeded").await,
        signed_in,
        "no session started, no sign-in recorded"
    );
}

#[tokio::test]
async fn an_unverified_email_never_links_to_an_existing_account() {
    let fakes = start_fakes().await;
    let app = app_with(
        &fakes,
        &[("google", "google", json!({"trust_email": true}))],
    )
    .await;
    let browser = browser();

    let res = callback_response(
        &app,
        &browser,
        "google",
        &person("g-eve", Some(EMAIL), false),
    )
    .await;

    // A new account of its own, without the address, and nothing that says the address is
    // taken (security review finding 12: no account enumeration).
    assert_eq!(res.status(), 303);
    let page = page_text(&browser, location(&res)).await;
    assert!(!page.contains("already exists"), "{page}");
    assert_eq!(account_count(&app).await, 2);
    let linked = app
        .app_state
        .store
        .linked_identity(&"google".into(), "g-eve")
        .await
        .unwrap()
        .expect("the identity has its own account");
    assert_ne!(linked.account_id, app.account_id, "never linked to Alice");
    let eve = app
        .app_state
        .store
        .account(&linked.account_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(eve.email, None);
    assert_eq!(app.audit("upstream_linked").await, 0);
}

#[tokio::test]
async fn an_upstream_not_configured_to_trust_email_never_links_by_email() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let browser = browser();

    let res = callback_response(&app, &browser, "google", &person("g-3", Some(EMAIL), true)).await;

    assert_eq!(res.status(), 303);
    let linked = app
        .app_state
        .store
        .linked_identity(&"google".into(), "g-3")
        .await
        .unwrap()
        .expect("its own account");
    assert_ne!(linked.account_id, app.account_id);
    assert_eq!(app.audit("upstream_linked").await, 0);
}

#[tokio::test]
async fn a_signed_in_person_links_another_upstream_and_unlinks_it_but_not_the_last_way_in() {
    // Arrange: sign in with X (no email: a new account whose only way in is X).
    let fakes = start_fakes().await;
    let x = fakes.upstream("x", "x", json!({}));
    let g = fakes.upstream("google", "google", json!({}));
    let app = spawn_app_with(|s| {
        s.upstreams.push(x);
        s.upstreams.push(g);
    })
    .await;
    let browser = browser();
    federated_code(&app, &browser, "x", &person("x-1", None, false)).await;
    let page = page_text(&browser, app.url("/account")).await;
    assert!(page.contains("id=\"linked-x\""), "{page}");
    assert!(
        !page.contains("id=\"unlink-x\""),
        "the only way in cannot be unlinked"
    );

    // Act: link Google from the account page.
    let who = person("g-linked", Some("ada@g.example"), true);
    let res = link_from_account_page(&app, &browser, &page, "google", &who).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/account");

    // Assert: both link to the same account; now X may be unlinked, and then Google may not.
    let x_link = app
        .app_state
        .store
        .linked_identity(&"x".into(), "x-1")
        .await
        .unwrap()
        .unwrap();
    let g_link = app
        .app_state
        .store
        .linked_identity(&"google".into(), "g-linked")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(x_link.account_id, g_link.account_id);
    let page = page_text(&browser, app.url("/account")).await;
    let res = browser
        .post(app.url("/account/unlink"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("upstream", "x".into()),
            ("subject", "x-1".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        app.app_state
            .store
            .linked_identity(&"x".into(), "x-1")
            .await
            .unwrap()
            .is_none()
    );
    let res = browser
        .post(app.url("/account/unlink"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("upstream", "google".into()),
            ("subject", "g-linked".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "the last way to sign in stays");
    assert!(
        app.app_state
            .store
            .linked_identity(&"google".into(), "g-linked")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(app.audit("upstream_unlinked").await, 1);
}

#[tokio::test]
async fn an_identity_linked_to_one_account_cannot_be_linked_to_another() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    // Someone signs in with Google first: the identity has its own account.
    federated_code(
        &app,
        &browser(),
        "google",
        &person("g-taken", Some("bob@g.example"), true),
    )
    .await;
    // Alice signs in with her password and tries to link the same Google identity.
    let alice = browser();
    app.interact(
        &alice,
        app.authorize_url(&AuthorizeParams::new("webapp", "openid")),
        EMAIL,
        PASSWORD,
        Consent::Allow,
    )
    .await;
    let page = page_text(&alice, app.url("/account")).await;
    let who = person("g-taken", Some("bob@g.example"), true);
    let res = link_from_account_page(&app, &alice, &page, "google", &who).await;

    assert_eq!(res.status(), 409);
    let link = app
        .app_state
        .store
        .linked_identity(&"google".into(), "g-taken")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(link.account_id, app.account_id);
    assert_eq!(app.audit("upstream_link_refused").await, 1);
}

#[tokio::test]
async fn the_login_page_shows_a_button_per_upstream_in_config_order() {
    let fakes = start_fakes().await;
    let (x, g, a) = (
        fakes.upstream("x", "x", json!({})),
        fakes.upstream("google", "google", json!({})),
        fakes.upstream("apple", "apple", json!({})),
    );
    let app = spawn_app_with(|s| s.upstreams.extend([x, g, a])).await;
    let browser = browser();
    let (_, html) = login_page(&app, &browser).await;

    let pos = |id: &str| html.find(&format!("id=\"upstream-{id}\"")).expect(id);
    assert!(pos("x") < pos("google") && pos("google") < pos("apple"));
    assert!(html.contains("Continue with Google") && html.contains("/static/upstream/apple.svg"));
    assert!(
        html.contains("name=\"password\""),
        "the password form is on by default"
    );
    let icon = browser
        .get(app.url("/static/upstream/google.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
}

#[tokio::test]
async fn with_passwords_off_and_one_upstream_authorize_goes_straight_to_it() {
    let fakes = start_fakes().await;
    let g = fakes.upstream("google", "google", json!({}));
    let app = spawn_app_with(|s| {
        s.upstreams.push(g);
        s.login.password = false;
    })
    .await;
    let browser = browser();

    let res = browser
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    let login = location(&res);
    let res = browser.get(login.clone()).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).as_str().starts_with(&fakes.base));

    // A password POST is refused even with a valid form.
    let res = browser
        .post(app.url("/login"))
        .form(&[
            ("req", query(&login, "req").unwrap().as_str()),
            ("email", EMAIL),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Password sign-in is off")
    );
    assert_eq!(app.audit("login_succeeded").await, 0);
}

#[tokio::test]
async fn a_later_sign_in_on_the_same_session_still_names_the_upstream() {
    let fakes = start_fakes().await;
    let app = app_with(&fakes, &[("google", "google", json!({}))]).await;
    let browser = browser();
    federated_code(
        &app,
        &browser,
        "google",
        &person("g-s", Some("s@g.example"), true),
    )
    .await;

    // The session and the consent exist: prompt=none returns a code at once.
    let p = AuthorizeParams {
        challenge: Some(CHALLENGE),
        extra: vec![("prompt", "none")],
        ..AuthorizeParams::new("webapp", "openid profile email")
    };
    let res = browser.get(app.authorize_url(&p)).send().await.unwrap();
    let code = query(&location(&res), "code").expect("a code without any page");
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    let (claims, _) = app.verify_jwt(body["id_token"].as_str().unwrap()).await;

    assert_eq!(claims["idp"], json!("google"));
    assert_eq!(claims["amr"], json!(["fed"]));
}
