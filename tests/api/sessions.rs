//! Sessions a person can see and end on /account: each with its browser, address and times,
//! "this browser" marked; signing one out; and "sign out everywhere", which ends every browser
//! session and refresh-token family of the account.

use crate::helpers::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn firefox() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(FIREFOX)
        .build()
        .unwrap()
}

async fn account_page(app: &TestApp, b: &reqwest::Client) -> reqwest::Response {
    b.get(app.url("/account")).send().await.unwrap()
}

#[tokio::test]
async fn the_account_page_lists_each_browser_and_one_can_sign_the_other_out() {
    let app = spawn_app().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let other = firefox();
    app.interact(
        &other,
        app.authorize_url(&AuthorizeParams::new("webapp", "openid")),
        EMAIL,
        PASSWORD,
        Consent::Allow,
    )
    .await;
    let html = account_page(&app, &app.browser).await.text().await.unwrap();
    assert!(
        html.contains("Firefox on Linux"),
        "the other browser, named"
    );
    assert!(html.contains("(this browser)"));
    assert!(html.contains("from 127.0.0.1"));
    assert_eq!(html.matches("name=\"session\"").count(), 2);
    // Sign the Firefox session out from here.
    let sessions = app
        .app_state
        .store
        .sessions_of(
            &ostiary::protocol::ids::AccountId::new(app.account_id.clone()),
            ostiary::clock::Clock::now(&app.clock),
        )
        .await
        .unwrap();
    let theirs = sessions
        .iter()
        .find(|s| s.user_agent.as_deref() == Some(FIREFOX))
        .unwrap();
    let res = app
        .browser
        .post(app.url("/account/sessions/end"))
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("session", theirs.id_hash.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(account_page(&app, &other).await.status(), 400, "signed out");
    assert_eq!(
        account_page(&app, &app.browser).await.status(),
        200,
        "still in"
    );
    assert_eq!(app.audit("session_ended").await, 1);
    // A session id of someone else's (or made up) ends nothing.
    let res = app
        .browser
        .post(app.url("/account/sessions/end"))
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("session", "not-a-session".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(app.audit("session_ended").await, 1);
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_browser_and_every_refresh_token() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let other = firefox();
    app.interact(
        &other,
        app.authorize_url(&AuthorizeParams::new("webapp", "openid")),
        EMAIL,
        PASSWORD,
        Consent::Allow,
    )
    .await;
    let html = account_page(&app, &app.browser).await.text().await.unwrap();
    let res = app
        .browser
        .post(app.url("/account/sessions/end-all"))
        .form(&[("csrf", hidden(&html, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("signed out everywhere"));
    assert_eq!(account_page(&app, &app.browser).await.status(), 400);
    assert_eq!(account_page(&app, &other).await.status(), 400);
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(app.audit("signed_out_everywhere").await, 1);
}

#[tokio::test]
async fn a_session_unused_past_the_idle_timeout_ends_and_one_in_use_lives_on() {
    let app = spawn_app_with(|s| s.session.idle_timeout_seconds = 600).await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    // Used every five minutes: still signed in after twenty.
    for _ in 0..4 {
        app.clock.advance(300);
        assert_eq!(account_page(&app, &app.browser).await.status(), 200);
    }
    // Then left alone for longer than the timeout: signed out.
    app.clock.advance(601);
    assert_eq!(account_page(&app, &app.browser).await.status(), 400);
    let res = app
        .browser
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res).path(), "/login", "a login is asked again");
}
