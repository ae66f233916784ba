//! grant_type=refresh_token: rotation on every use, reuse revokes the family, optional grace
//! window, scope narrows but never widens (RFC 6749 §6; RFC 9700 §4.14.2).

use crate::helpers::*;
use serde_json::Value;

async fn refresh(app: &TestApp, rt: &str, scope: Option<&str>) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    app.token(("webapp", Some(WEB_SECRET)), &form).await
}

async fn json(res: reqwest::Response) -> serde_json::Value {
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_refresh_token_rotates_on_every_use() {
    let app = spawn_app().await;
    let t0 = app.webapp_tokens().await;
    let r1 = refresh(&app, t0["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(r1.status(), 200);
    assert_eq!(r1.headers()["cache-control"], "no-store");
    let t1 = json(r1).await;
    assert_ne!(t1["refresh_token"], t0["refresh_token"]);
    let t2 = json(refresh(&app, t1["refresh_token"].as_str().unwrap(), None).await).await;
    assert!(t2["access_token"].is_string());
    assert_eq!(
        app.userinfo(t2["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn presenting_a_rotated_refresh_token_revokes_the_whole_family_and_is_recorded() {
    let app = spawn_app().await;
    let t0 = app.webapp_tokens().await;
    let rt0 = t0["refresh_token"].as_str().unwrap();
    let t1 = json(refresh(&app, rt0, None).await).await;

    let replay = refresh(&app, rt0, None).await;
    assert_eq!(replay.status(), 400);
    assert_eq!(json(replay).await["error"], "invalid_grant");

    // Every token descended from that sign-in is dead: the successor and both access tokens.
    assert_eq!(
        refresh(&app, t1["refresh_token"].as_str().unwrap(), None)
            .await
            .status(),
        400
    );
    assert_eq!(
        app.userinfo(t0["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(
        app.userinfo(t1["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
    assert_eq!(app.audit("refresh_token_reuse").await, 1);
}

#[tokio::test]
async fn a_replay_inside_the_grace_window_gets_the_same_successor() {
    let app = spawn_app_with(|s| s.tokens.refresh_token_reuse_grace_seconds = 10).await;
    let t0 = app.webapp_tokens().await;
    let rt0 = t0["refresh_token"].as_str().unwrap();
    let t1 = json(refresh(&app, rt0, None).await).await;
    let again = json(refresh(&app, rt0, None).await).await;
    assert_eq!(again["refresh_token"], t1["refresh_token"]);
    // After the window a replay revokes the family.
    app.clock.advance(11);
    assert_eq!(refresh(&app, rt0, None).await.status(), 400);
    assert_eq!(
        refresh(&app, t1["refresh_token"].as_str().unwrap(), None)
            .await
            .status(),
        400
    );
}

#[tokio::test]
async fn the_scope_of_a_refresh_may_narrow_but_never_widen() {
    let app = spawn_app().await;
    let t0 = app.webapp_tokens().await;
    let narrow = json(
        refresh(
            &app,
            t0["refresh_token"].as_str().unwrap(),
            Some("openid email"),
        )
        .await,
    )
    .await;
    assert_eq!(narrow["scope"], "email openid");
    let (claims, _) = app
        .verify_jwt(narrow["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["scope"], "email openid");
    // The rotated token keeps the original grant, so a later refresh can ask for it all again.
    let rt1 = narrow["refresh_token"].as_str().unwrap();
    let wide = refresh(&app, rt1, Some("openid email admin")).await;
    assert_eq!(wide.status(), 400);
    assert_eq!(json(wide).await["error"], "invalid_scope");
}

#[tokio::test]
async fn a_refresh_token_belongs_to_its_client() {
    let app = spawn_app().await;
    let t0 = app.webapp_tokens().await;
    let res = app
        .token(
            ("first-party", Some(OTHER_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", t0["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(json(res).await["error"], "invalid_grant");
    // And it still works for its own client.
    assert_eq!(
        refresh(&app, t0["refresh_token"].as_str().unwrap(), None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_refresh_token_expires_with_its_absolute_lifetime() {
    let app = spawn_app().await;
    let t0 = app.webapp_tokens().await;
    app.clock.advance(30 * 24 * 3600 + 1);
    let res = refresh(&app, t0["refresh_token"].as_str().unwrap(), None).await;
    assert_eq!(json(res).await["error"], "invalid_grant");
}

#[tokio::test]
async fn a_refresh_no_longer_mints_a_scope_removed_from_the_client() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    // The same database, restarted with `email` removed from webapp's scope.
    let restarted = restart(&app, |s| {
        let web = s
            .clients
            .iter_mut()
            .find(|c| c.client_id == "webapp")
            .unwrap();
        web.scope = Some("openid profile offline_access".into());
    })
    .await;

    let res = restarted
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;

    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["scope"], "offline_access openid profile");
    let (claims, _) = restarted
        .verify_jwt(body["id_token"].as_str().unwrap())
        .await;
    assert!(claims.get("email").is_none());
    // And asking for it explicitly is invalid_scope.
    let res = restarted
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", body["refresh_token"].as_str().unwrap()),
                ("scope", "openid email"),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "invalid_scope");
}
