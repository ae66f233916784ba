//! /userinfo (OIDC Core §5.3, RFC 6750), /revoke (RFC 7009) and /introspect (RFC 7662).

use crate::helpers::*;
use serde_json::{Value, json};

fn assert_invalid_token(res: &reqwest::Response) {
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn userinfo_releases_claims_by_granted_scope() {
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
    let info: serde_json::Value = app
        .userinfo(body["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["sub"], app.account_id.as_str());
    assert_eq!(info["email"], EMAIL);
    assert!(info.get("name").is_none(), "profile was not granted");
    // POST works too.
    let res = app
        .http
        .post(app.url("/userinfo"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn userinfo_refuses_missing_malformed_tampered_and_expired_tokens() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let at = tokens["access_token"].as_str().unwrap();
    // RFC 6750 §3.1: a request with no credentials gets a challenge without an error code.
    let res = app.http.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        "Bearer realm=\"ostiary\""
    );
    assert_invalid_token(&app.userinfo("not-a-jwt").await);
    let mut tampered: Vec<char> = at.chars().collect();
    let i = tampered.len() - 10;
    tampered[i] = if tampered[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    assert_invalid_token(&app.userinfo(&tampered).await);
    // An ID token is not an access token.
    assert_invalid_token(&app.userinfo(tokens["id_token"].as_str().unwrap()).await);
    app.clock.advance(3601);
    assert_invalid_token(&app.userinfo(at).await);
}

#[tokio::test]
async fn a_client_credentials_token_cannot_read_userinfo() {
    let app = spawn_app().await;
    let res = app.userinfo(&service_access_token(&app).await).await;
    assert_eq!(res.status(), 403);
}

async fn revoke(app: &TestApp, client: (&str, &str), token: &str) -> reqwest::Response {
    let req = app.http.post(app.url("/revoke"));
    let req = if client.0 == "first-party" {
        // Registered for client_secret_post.
        req.form(&[
            ("token", token),
            ("client_id", client.0),
            ("client_secret", client.1),
        ])
    } else {
        req.basic_auth(client.0, Some(client.1))
            .form(&[("token", token)])
    };
    req.send().await.unwrap()
}

async fn introspect(app: &TestApp, client: (&str, &str), token: &str) -> serde_json::Value {
    let res = app
        .http
        .post(app.url("/introspect"))
        .basic_auth(client.0, Some(client.1))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_revoked_access_token_fails_userinfo_and_introspection() {
    // reports-service is the resource server that may introspect webapp's tokens.
    let app = spawn_app_with(|s| {
        for c in s
            .clients
            .iter_mut()
            .filter(|c| c.client_id == "reports-service")
        {
            c.introspect_any_token = true;
        }
    })
    .await;
    let tokens = app.webapp_tokens().await;
    let at = tokens["access_token"].as_str().unwrap();
    let active = introspect(&app, ("reports-service", REPORTS_SECRET), at).await;
    assert_eq!(active["active"], true);
    assert_eq!(active["client_id"], "webapp");
    assert_eq!(active["sub"], app.account_id.as_str());

    assert_eq!(revoke(&app, ("webapp", WEB_SECRET), at).await.status(), 200);

    assert_invalid_token(&app.userinfo(at).await);
    assert_eq!(
        introspect(&app, ("reports-service", REPORTS_SECRET), at).await["active"],
        false
    );
}

#[tokio::test]
async fn revoking_one_access_token_leaves_the_other_tokens_of_its_grant_working() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let first = tokens["access_token"].as_str().unwrap();
    let refreshed: serde_json::Value = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let second = refreshed["access_token"].as_str().unwrap();

    assert_eq!(
        revoke(&app, ("webapp", WEB_SECRET), first).await.status(),
        200
    );

    assert_invalid_token(&app.userinfo(first).await);
    assert_eq!(app.userinfo(second).await.status(), 200);
    assert_eq!(
        introspect(
            &app,
            ("webapp", WEB_SECRET),
            refreshed["refresh_token"].as_str().unwrap()
        )
        .await["active"],
        true
    );
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(
        introspect(&app, ("webapp", WEB_SECRET), rt).await["active"],
        true
    );
    assert_eq!(revoke(&app, ("webapp", WEB_SECRET), rt).await.status(), 200);
    assert_eq!(
        introspect(&app, ("webapp", WEB_SECRET), rt).await["active"],
        false
    );
    assert_invalid_token(&app.userinfo(tokens["access_token"].as_str().unwrap()).await);
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn another_clients_token_is_refused_and_an_unknown_token_is_fine() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let res = revoke(
        &app,
        ("first-party", OTHER_SECRET),
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(
        introspect(
            &app,
            ("webapp", WEB_SECRET),
            tokens["refresh_token"].as_str().unwrap()
        )
        .await["active"],
        true
    );

    assert_eq!(
        revoke(&app, ("webapp", WEB_SECRET), "no-such-token")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn revocation_and_introspection_require_client_authentication() {
    let app = spawn_app().await;
    let res = app
        .http
        .post(app.url("/revoke"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let res = app
        .http
        .post(app.url("/introspect"))
        .basic_auth("webapp", Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        introspect(&app, ("webapp", WEB_SECRET), "garbage").await,
        serde_json::json!({"active": false})
    );
}

#[tokio::test]
async fn a_client_cannot_introspect_another_clients_token_unless_declared_a_resource_server() {
    let app = spawn_app_with(|s| {
        let reports = s
            .clients
            .iter_mut()
            .find(|c| c.client_id == "reports-service")
            .unwrap();
        reports.introspect_any_token = true;
    })
    .await;
    let tokens = app.webapp_tokens().await;
    let at = tokens["access_token"].as_str().unwrap();
    let rt = tokens["refresh_token"].as_str().unwrap();

    // first-party is confidential but not a resource server.
    let res = app
        .http
        .post(app.url("/introspect"))
        .form(&[
            ("token", at),
            ("client_id", "first-party"),
            ("client_secret", OTHER_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"active": false}));
    assert_eq!(
        introspect(&app, ("webapp", WEB_SECRET), at).await["active"],
        true
    );
    assert_eq!(
        introspect(&app, ("reports-service", REPORTS_SECRET), at).await["active"],
        true
    );
    // Refresh tokens only ever to their own client.
    assert_eq!(
        introspect(&app, ("reports-service", REPORTS_SECRET), rt).await,
        json!({"active": false})
    );
}
