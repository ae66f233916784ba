//! Connected apps on /account: each app with a remembered consent or a live refresh-token
//! family, with what it may do and when it was used; removing one forgets the consent (the app
//! asks again), ends its refresh tokens, and leaves the person signed in and other apps alone.

use crate::helpers::*;

async fn account_html(app: &TestApp) -> String {
    page_text(&app.browser, app.url("/account")).await
}

async fn remove_access(app: &TestApp, html: &str, client: &str) -> reqwest::Response {
    app.browser
        .post(app.url("/account/apps/revoke"))
        .form(&[("csrf", hidden(html, "csrf")), ("client", client.into())])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_app_with_consent_and_a_refresh_token_is_listed_with_its_scopes_and_uses() {
    let app = spawn_app().await;
    app.webapp_tokens().await;
    assert_eq!(app.audit("consent_granted").await, 1);
    let html = account_html(&app).await;
    let listed = &html[html.find("id=\"app-webapp\"").expect("webapp listed")..];
    let listed = &listed[..listed.find("</form>").unwrap()];
    assert!(listed.contains("See your email address"), "{listed}");
    assert!(listed.contains("Stay signed in"), "{listed}");
    assert!(listed.contains("stays signed in on 1 device"), "{listed}");
    assert!(listed.contains("signs you in without asking"), "{listed}");
    assert!(listed.contains("first used 20"), "{listed}");
    assert!(
        !html.contains("id=\"app-spa\""),
        "an app never used is not listed"
    );
}

#[tokio::test]
async fn removing_an_app_forgets_its_consent_ends_its_refresh_tokens_and_keeps_the_person_signed_in()
 {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let html = account_html(&app).await;
    let res = remove_access(&app, &html, "webapp").await;
    assert_eq!(res.status(), 303);
    let notice = page_text(&app.browser, location(&res)).await;
    assert!(notice.contains("no longer has access"));
    assert_eq!(app.audit("consent_revoked").await, 1);

    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    let access = tokens["access_token"].as_str().unwrap();
    let res = app
        .http
        .post(app.url("/introspect"))
        .basic_auth("webapp", Some(WEB_SECRET))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["active"], false,
        "the access token is revoked with its family"
    );

    let html = account_html(&app).await;
    assert!(!html.contains("id=\"app-webapp\""));
    // Still signed in, but the app asks for consent again.
    let res = app
        .browser
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid profile")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/consent");
}

#[tokio::test]
async fn removing_one_app_leaves_the_others() {
    let app = spawn_app().await;
    app.webapp_tokens().await;
    // A first-party app (no consent asked) is listed for its refresh token.
    let p = AuthorizeParams {
        challenge: Some(CHALLENGE),
        ..AuthorizeParams::new("first-party", "openid offline_access")
    };
    let code = app.code_for(&p).await;
    let res = app
        .exchange(("first-party", Some(OTHER_SECRET)), &code, Some(VERIFIER))
        .await;
    assert_eq!(res.status(), 200);
    let html = account_html(&app).await;
    let listed = &html[html.find("id=\"app-first-party\"").expect("listed")..];
    assert!(!listed[..listed.find("</form>").unwrap()].contains("without asking"));
    remove_access(&app, &html, "first-party").await;
    let html = account_html(&app).await;
    assert!(!html.contains("id=\"app-first-party\""));
    assert!(html.contains("id=\"app-webapp\""));
}

#[tokio::test]
async fn removing_an_app_that_has_no_access_changes_nothing_and_records_nothing() {
    let app = spawn_app().await;
    app.webapp_tokens().await;
    let html = account_html(&app).await;
    for client in ["reports-service", "spa", "no-such-app", ""] {
        let res = remove_access(&app, &html, client).await;
        assert_eq!(res.status(), 303);
    }
    assert_eq!(app.audit("consent_revoked").await, 0);
    assert!(account_html(&app).await.contains("id=\"app-webapp\""));
}

#[tokio::test]
async fn removing_an_app_without_the_csrf_token_is_refused() {
    let app = spawn_app().await;
    app.webapp_tokens().await;
    let res = remove_access(&app, "<input name=\"csrf\" value=\"forged\">", "webapp").await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.audit("consent_revoked").await, 0);
    assert!(account_html(&app).await.contains("id=\"app-webapp\""));
}
