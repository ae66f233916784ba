//! Roles in tokens: accounts hold roles (`ostiary users roles`), released as the `roles` claim
//! in the ID token, userinfo and access token to a client that may and does ask for the
//! `roles` scope; a client-credentials client's access tokens carry its configured roles.

use crate::helpers::*;

fn with_roles_scope(s: &mut ostiary::config::Settings) {
    for c in &mut s.clients {
        if c.client_id == "webapp" {
            c.scope = Some("openid profile email offline_access roles".into());
        }
        if c.client_id == "reports-service" {
            c.roles = vec!["reports:read".into()];
        }
    }
}

async fn cli(app: &TestApp, args: &[&str]) -> i32 {
    let mut all = vec!["users", "roles"];
    all.extend_from_slice(args);
    ostiary_cli(app, &all).await
}

async fn tokens(app: &TestApp, scope: &str) -> serde_json::Value {
    let code = app.code_for(&AuthorizeParams::new("webapp", scope)).await;
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn roles_given_on_the_command_line_reach_the_tokens_and_userinfo_with_the_roles_scope() {
    let app = spawn_app_with(with_roles_scope).await;
    assert_eq!(cli(&app, &["add", "--email", EMAIL, "admin"]).await, 0);
    assert_eq!(
        cli(&app, &["add", "--email", EMAIL, "billing:write"]).await,
        0
    );
    assert_eq!(cli(&app, &["add", "--email", EMAIL, "bad role!"]).await, 1);
    assert_eq!(
        cli(&app, &["add", "--email", "nobody@example.com", "x"]).await,
        1
    );
    assert_eq!(cli(&app, &["list", "--email", EMAIL]).await, 0);
    assert_eq!(app.audit("role_granted").await, 2);

    let t = tokens(&app, "openid roles").await;
    let (id, _) = app.verify_jwt(t["id_token"].as_str().unwrap()).await;
    assert_eq!(id["roles"], serde_json::json!(["admin", "billing:write"]));
    let (at, _) = app.verify_jwt(t["access_token"].as_str().unwrap()).await;
    assert_eq!(at["roles"], serde_json::json!(["admin", "billing:write"]));
    let info: serde_json::Value = app
        .userinfo(t["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["roles"], serde_json::json!(["admin", "billing:write"]));

    // Without the scope, no roles.
    let t = tokens(&app, "openid").await;
    let (id, _) = app.verify_jwt(t["id_token"].as_str().unwrap()).await;
    assert!(id.get("roles").is_none());

    assert_eq!(cli(&app, &["remove", "--email", EMAIL, "admin"]).await, 0);
    let t = tokens(&app, "openid roles").await;
    let (id, _) = app.verify_jwt(t["id_token"].as_str().unwrap()).await;
    assert_eq!(id["roles"], serde_json::json!(["billing:write"]));
}

#[tokio::test]
async fn a_client_that_may_not_see_roles_cannot_ask_for_them_and_a_service_carries_its_own() {
    let app = spawn_app_with(with_roles_scope).await;
    // spa's scope does not list roles.
    let res = app
        .browser
        .get(app.authorize_url(&AuthorizeParams {
            challenge: Some(CHALLENGE),
            ..AuthorizeParams::new("spa", "openid roles")
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&res), "error").as_deref(),
        Some("invalid_scope")
    );
    let (at, _) = app.verify_jwt(&service_access_token(&app).await).await;
    assert_eq!(at["roles"], serde_json::json!(["reports:read"]));
}
