//! grant_type=authorization_code: single use, bound to client, redirect URI and PKCE; reuse
//! revokes what the code issued (RFC 6749 §4.1.2, §10.5; RFC 7636; RFC 9700 §4.2.4).

use crate::helpers::*;
use serde_json::Value;

async fn error_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    (status, body["error"].as_str().unwrap().to_owned())
}

fn with_pkce(client: &str) -> AuthorizeParams<'_> {
    AuthorizeParams {
        challenge: Some(CHALLENGE),
        ..AuthorizeParams::new(client, "openid offline_access")
    }
}

#[tokio::test]
async fn a_token_response_is_never_cached_and_carries_bearer_tokens() {
    let app = spawn_app().await;
    let code = app.code_for(&with_pkce("webapp")).await;
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["id_token"].is_string() && body["refresh_token"].is_string());
    let (id, _) = app.verify_jwt(body["id_token"].as_str().unwrap()).await;
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(id["aud"], "webapp");
}

#[tokio::test]
async fn a_public_client_redeems_its_code_with_the_verifier_and_no_secret() {
    let app = spawn_app().await;
    let code = app.code_for(&with_pkce("spa")).await;
    let res = app.exchange(("spa", None), &code, Some(VERIFIER)).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    let code = app.code_for(&with_pkce("spa")).await;
    let res = app
        .exchange(
            ("spa", None),
            &code,
            Some("wrong-verifier-wrong-verifier-wrong-verifier-0"),
        )
        .await;
    assert_eq!(error_of(res).await, (400, "invalid_grant".into()));
    // A failed attempt does not burn the code for the real client (no DoS by bad verifiers).
    assert_eq!(
        app.exchange(("spa", None), &code, Some(VERIFIER))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_missing_verifier_is_invalid_grant_and_a_verifier_without_challenge_is_a_downgrade() {
    let app = spawn_app().await;
    let code = app.code_for(&with_pkce("webapp")).await;
    assert_eq!(
        error_of(
            app.exchange(("webapp", Some(WEB_SECRET)), &code, None)
                .await
        )
        .await
        .1,
        "invalid_grant"
    );
    let code = app
        .code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    assert_eq!(
        error_of(
            app.exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
                .await
        )
        .await
        .1,
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_code_is_bound_to_its_client_and_redirect_uri() {
    let app = spawn_app().await;
    let code = app
        .code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let res = app
        .exchange(("first-party", Some(OTHER_SECRET)), &code, None)
        .await;
    assert_eq!(error_of(res).await.1, "invalid_grant");
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:4201/other"),
            ],
        )
        .await;
    assert_eq!(error_of(res).await.1, "invalid_grant");
    assert_eq!(
        app.exchange(("webapp", Some(WEB_SECRET)), &code, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_every_token_it_issued() {
    let app = spawn_app().await;
    let code = app.code_for(&with_pkce("webapp")).await;
    let first: serde_json::Value = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await
        .json()
        .await
        .unwrap();
    let at = first["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(at).await.status(), 200);

    let second = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    assert_eq!(error_of(second).await, (400, "invalid_grant".into()));

    assert_eq!(app.userinfo(at).await.status(), 401);
    let rt = first["refresh_token"].as_str().unwrap();
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
    assert_eq!(error_of(res).await.1, "invalid_grant");
    assert_eq!(app.audit("authorization_code_reuse").await, 1);
}

#[tokio::test]
async fn twenty_concurrent_redemptions_of_one_code_give_exactly_one_success() {
    let app = spawn_app().await;
    let code = app.code_for(&with_pkce("webapp")).await;
    let attempts =
        (0..20).map(|_| app.exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER)));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.status() == 200).count();
    let refused = results.iter().filter(|r| r.status() == 400).count();
    assert_eq!((ok, refused), (1, 19));
    // The other nineteen were valid replays: the tokens of the one success are revoked.
    let winner = results.into_iter().find(|r| r.status() == 200).unwrap();
    let body: serde_json::Value = winner.json().await.unwrap();
    assert_eq!(
        app.userinfo(body["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn wrong_verifiers_sent_with_the_right_one_at_once_neither_win_nor_revoke_the_code() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let code = app.code_for(&with_pkce("spa")).await;
        let wrong = "wrong-verifier-wrong-verifier-wrong-verifier-0";
        let attempts = (0..12).map(|i| {
            let verifier = if i == 5 { VERIFIER } else { wrong };
            app.exchange(("spa", None), &code, Some(verifier))
        });
        let results = futures_util::future::join_all(attempts).await;
        let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
        let mut expected = vec![400; 12];
        expected[5] = 200;
        assert_eq!(statuses, expected);
        let winner = results.into_iter().nth(5).unwrap();
        let body: serde_json::Value = winner.json().await.unwrap();
        assert_eq!(
            app.userinfo(body["access_token"].as_str().unwrap())
                .await
                .status(),
            200
        );
    }
    assert_eq!(app.audit("authorization_code_reuse").await, 0);
}

#[tokio::test]
async fn a_code_expires_after_sixty_seconds() {
    let app = spawn_app().await;
    let code = app
        .code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    app.clock.advance(61);
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;
    assert_eq!(error_of(res).await.1, "invalid_grant");
}

#[tokio::test]
async fn a_bad_client_secret_over_basic_is_401_with_a_challenge() {
    let app = spawn_app().await;
    let code = app
        .code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let res = app
        .exchange(
            ("webapp", Some("not-the-secret-000000000000000")),
            &code,
            None,
        )
        .await;
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(error_of(res).await.1, "invalid_client");
    // The code was not burnt by the failed attempt.
    assert_eq!(
        app.exchange(("webapp", Some(WEB_SECRET)), &code, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_bad_client_secret_in_the_body_is_400_invalid_client() {
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
            ("client_id", "first-party"),
            ("client_secret", "wrong-secret-000000000000000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await, (400, "invalid_client".into()));
}

#[tokio::test]
async fn two_client_authentication_methods_in_one_request_are_invalid_request() {
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url("/token"))
        .basic_auth("webapp", Some(WEB_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
            ("client_secret", WEB_SECRET),
            ("client_id", "webapp"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await, (400, "invalid_request".into()));
}

#[tokio::test]
async fn a_client_using_a_method_it_did_not_register_is_refused() {
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("redirect_uri", REDIRECT),
            ("client_id", "webapp"),
            ("client_secret", WEB_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(res).await.1, "invalid_client");
    let res = app
        .token(
            ("webapp", None),
            &[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_eq!(error_of(res).await.1, "invalid_client");
}

#[tokio::test]
async fn no_refresh_token_is_issued_without_offline_access() {
    let app = spawn_app().await;
    let code = app
        .code_for(&AuthorizeParams::new("webapp", "openid email"))
        .await;
    let body: serde_json::Value = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("refresh_token").is_none());
    assert!(body["id_token"].is_string());
}

#[tokio::test]
async fn a_code_replayed_after_its_expiry_still_revokes_its_grant() {
    let app = spawn_app().await;
    let code = app
        .code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;
    let body: Value = res.json().await.unwrap();
    let at = body["access_token"].as_str().unwrap();
    app.clock.advance(61);

    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;

    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_grant");
    assert_eq!(app.audit("authorization_code_reuse").await, 1);
    assert_eq!(app.userinfo(at).await.status(), 401);
}

#[tokio::test]
async fn a_grant_whose_code_cannot_be_stored_is_not_stored_either() {
    use crate::rows;
    use ostiary::clock::Clock as _;
    use ostiary::protocol::ids::GrantId;
    use ostiary::store::StoreError;
    let app = spawn_app().await;
    let store = &app.app_state.store;
    let now = app.clock.now();
    let grant = |id: &str| rows::grant(&app.account_id, id, now);
    let code = rows::code("the-same-code-hash", now);
    store
        .create_grant_with_code(&grant("first-grant"), &code, now)
        .await
        .unwrap();

    // Act: a second grant whose code collides with the first one's.
    let second = store
        .create_grant_with_code(&grant("second-grant"), &code, now)
        .await;

    // Assert: refused as a conflict, and neither row of the pair written.
    assert!(matches!(second, Err(StoreError::Conflict)), "{second:?}");
    let id = GrantId::new("second-grant".to_owned());
    assert!(store.grant(&id).await.unwrap().is_none());
    assert!(
        store
            .grant(&GrantId::new("first-grant".to_owned()))
            .await
            .unwrap()
            .is_some()
    );
    let kept = store.code("the-same-code-hash").await.unwrap().unwrap();
    assert_eq!(kept.grant_id.as_str(), "first-grant");
}
