//! grant_type=client_credentials (RFC 6749 §4.4) with RFC 9068 access tokens.

use crate::helpers::*;

#[tokio::test]
async fn a_service_gets_an_rfc9068_access_token_that_an_api_verifies_from_the_jwks() {
    let app = spawn_app().await;
    let res = app
        .token(
            ("reports-service", Some(REPORTS_SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let (claims, header) = app.verify_jwt(body["access_token"].as_str().unwrap()).await;
    assert_eq!(header.token_type(), Some("at+jwt"));
    assert_eq!(claims["sub"], "reports-service");
    assert_eq!(claims["client_id"], "reports-service");
    assert_eq!(claims["scope"], "api");
    assert_eq!(claims["iss"], app.address.as_str());
    let exp = claims["exp"].as_i64().unwrap();
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(exp - iat, 3600);
}

#[tokio::test]
async fn a_service_cannot_widen_its_scope() {
    let app = spawn_app().await;
    let res = app
        .token(
            ("reports-service", Some(REPORTS_SECRET)),
            &[("grant_type", "client_credentials"), ("scope", "api admin")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_scope");
}

#[tokio::test]
async fn a_client_that_did_not_declare_client_credentials_is_unauthorized_client() {
    let app = spawn_app().await;
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn unknown_and_forbidden_grant_types_are_unsupported_grant_type() {
    let app = spawn_app().await;
    for g in [
        "password",
        "implicit",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let res = app
            .token(
                ("webapp", Some(WEB_SECRET)),
                &[("grant_type", g), ("username", "a"), ("password", "b")],
            )
            .await;
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unsupported_grant_type", "{g}");
    }
}
