//! Audit records as typed values: who, which client, from where (ASVS 16.2, 16.3).

use crate::helpers::*;
use crate::people::*;

#[tokio::test]
async fn audit_records_are_typed_with_who_which_client_and_where_from() {
    let app = spawn_app().await;
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("TestBrowser/1.0\r\nX-Injected: yes")
        .build();
    // reqwest refuses a header value with CR/LF: use a plain one, the bound is unit-tested.
    assert!(b.is_err());
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("TestBrowser/1.0")
        .build()
        .unwrap();
    let res = b.get(authorize_with(&app, vec![])).send().await.unwrap();
    let html = page_text(&b, location(&res)).await;
    app.submit_login(&b, &html, EMAIL, "wrong password").await;
    app.submit_login(
        &b,
        &page_text(
            &b,
            location(&b.get(authorize_with(&app, vec![])).send().await.unwrap()),
        )
        .await,
        EMAIL,
        PASSWORD,
    )
    .await;

    use ostiary::audit::AuditKind;
    let store = &app.app_state.store;
    let failed = store.audit_events(AuditKind::LoginFailed).await.unwrap();
    assert_eq!(failed.len(), 1);
    let f = &failed[0];
    assert_eq!(f.email.as_deref(), Some(EMAIL));
    assert_eq!(f.client_id.as_deref(), Some("webapp"));
    assert_eq!(f.account_id, None, "a failure names no account");
    assert_eq!(f.origin.ip, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(f.origin.user_agent.as_deref(), Some("TestBrowser/1.0"));
    let ok = store.audit_events(AuditKind::LoginSucceeded).await.unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].account_id, Some(app.account_id.as_str().into()));
    assert_eq!(ok[0].upstream_id, None);
    assert!(!format!("{:?}", ok[0]).contains(PASSWORD));
}

#[tokio::test]
async fn a_failed_client_authentication_is_audited_naming_only_a_registered_client() {
    let app = spawn_app().await;
    let wrong = app
        .token(
            ("webapp", Some("not-the-secret")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let unknown = app
        .token(
            ("made-up-client", Some("whatever")),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(unknown.status(), 401);
    let revoke = app
        .http
        .post(app.url("/revoke"))
        .basic_auth("reports-service", Some("wrong"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 401);

    use ostiary::audit::AuditKind;
    let failed = app
        .app_state
        .store
        .audit_events(AuditKind::ClientAuthFailed)
        .await
        .unwrap();
    assert_eq!(failed.len(), 3, "{failed:?}");
    assert_eq!(failed[0].client_id.as_deref(), Some("webapp"));
    assert_eq!(failed[0].reason.as_deref(), Some("POST /token"));
    assert_eq!(failed[1].client_id, None, "an unknown id is not recorded");
    assert_eq!(
        failed[1].reason.as_deref(),
        Some("POST /token: unknown client")
    );
    assert_eq!(failed[2].client_id.as_deref(), Some("reports-service"));
    assert_eq!(failed[2].reason.as_deref(), Some("POST /revoke"));
    assert!(failed.iter().all(|e| e.origin.ip.is_some()));
}
