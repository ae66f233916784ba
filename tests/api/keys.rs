//! Signing-key rotation: a new key is published before it signs; the old public key stays
//! published until its tokens expire.

use crate::helpers::*;
use ostiary::clock::Clock;
use serde_json::{Value, json};

#[tokio::test]
async fn after_rotation_the_new_key_is_published_first_then_signs_and_the_old_one_stays() {
    let app = spawn_app().await;
    let before = app.webapp_tokens().await;
    let old_kid = kid_of(before["id_token"].as_str().unwrap());

    let state = &app.app_state;
    let (kek, _) = ostiary::keys::KeyEncryptionKey::from_settings(&state.settings).unwrap();
    let new_kid = ostiary::keys::KeySet::rotate(
        &state.store,
        &kek,
        app.clock.now(),
        ostiary::keys::ROTATION_DELAY_SECONDS,
    )
    .await
    .unwrap();
    state
        .keys
        .reload(&state.store, app.clock.now())
        .await
        .unwrap();

    // The new key is published at once, but the old one signs until the new one activates,
    // so no verifier meets a kid that some instance does not publish yet.
    let jwks = app.jwks().await;
    assert!(jwks.get(&old_kid).len() == 1 && jwks.get(&new_kid).len() == 1);
    assert_eq!(service_token_kid(&app).await, old_kid);
    app.clock.advance(ostiary::keys::ROTATION_DELAY_SECONDS);
    state
        .keys
        .reload(&state.store, app.clock.now())
        .await
        .unwrap();
    assert_eq!(service_token_kid(&app).await, new_kid);
    // Tokens signed by the old key still verify.
    assert_eq!(
        app.userinfo(before["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // Once every token the old key signed has expired, it leaves the JWKS.
    app.clock.advance(3600 + 301);
    state
        .keys
        .reload(&state.store, app.clock.now())
        .await
        .unwrap();
    let jwks = app.jwks().await;
    assert!(jwks.get(&old_kid).is_empty());
}

#[tokio::test]
async fn private_keys_are_stored_encrypted() {
    let app = spawn_app().await;
    let stored = app.app_state.store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(!stored[0].private_key_enc.contains("PRIVATE KEY"));
    assert!(!stored[0].public_jwk.contains("\"d\""));
}

#[tokio::test]
async fn a_revoked_key_leaves_every_instances_jwks_and_its_tokens_stop_working() {
    let app = spawn_app().await;
    // A second instance on the same database.
    let other = restart(&app, |_| {}).await;
    let tokens = app.webapp_tokens().await;
    let at = tokens["access_token"].as_str().unwrap();
    let kid = kid_of(at);
    assert_eq!(app.userinfo(at).await.status(), 200);
    assert!(!other.jwks().await.get(&kid).is_empty());

    let state = &app.app_state;
    let (kek, _) = ostiary::keys::KeyEncryptionKey::from_settings(&state.settings).unwrap();
    let now = app.clock.now();
    let outcome = ostiary::keys::KeySet::revoke(&state.store, &kek, &kid, now)
        .await
        .unwrap();
    let ostiary::keys::Revoked::Revoked {
        replaced_by: Some(new_kid),
    } = outcome
    else {
        panic!("the signing key is replaced: {outcome:?}");
    };
    // The next reload (every instance does one every 30 s).
    state.keys.reload(&state.store, now).await.unwrap();
    let theirs = &other.app_state;
    theirs.keys.reload(&theirs.store, now).await.unwrap();
    assert!(
        other.jwks().await.get(&kid).is_empty(),
        "the other instance"
    );

    let jwks = app.jwks().await;
    assert!(jwks.get(&kid).is_empty(), "revoked key still published");
    assert!(!jwks.get(&new_kid).is_empty());
    assert_eq!(app.userinfo(at).await.status(), 401);
    let res = app
        .http
        .post(app.url("/introspect"))
        .basic_auth("webapp", Some(WEB_SECRET))
        .form(&[("token", at)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"active": false}));
    let listed = state.store.signing_keys().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|k| k.kid == kid && k.revoked_at.is_some())
    );
    // New tokens are signed by the new key and work.
    let fresh = app.webapp_tokens().await;
    assert_eq!(
        app.userinfo(fresh["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn rotating_and_revoking_keys_on_the_command_line_is_audited() {
    let app = spawn_app().await;
    assert_eq!(ostiary_cli(&app, &["keys", "rotate", "--now"]).await, 0);
    assert_eq!(app.audit("key_rotated").await, 1);
    let kid = app.app_state.store.signing_keys().await.unwrap()[0]
        .kid
        .clone();
    assert_eq!(ostiary_cli(&app, &["keys", "revoke", &kid]).await, 0);
    assert_eq!(app.audit("key_revoked").await, 1);
    assert_eq!(
        ostiary_cli(&app, &["keys", "revoke", "no-such-kid"]).await,
        1
    );
    assert_eq!(
        app.audit("key_revoked").await,
        1,
        "nothing revoked, nothing recorded"
    );
}
