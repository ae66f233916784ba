//! OpenID Connect Back-Channel Logout 1.0: an app registered with `backchannel_logout_uri`
//! gets a logout token (verified here from the JWKS, as the app would) whenever a session it
//! was issued tokens in ends — RP-initiated logout, /account, sign out everywhere, an admin,
//! the session limit — and a receiver that was down gets it once it is back.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::helpers::*;
use ostiary::clock::Clock;

/// An app's back-channel logout endpoint: records each `logout_token`, answers `status`.
#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Vec<String>>>,
    status: Arc<std::sync::atomic::AtomicU16>,
}

impl Receiver {
    fn start_on(listener: TcpListener) -> Self {
        let r = Receiver {
            got: Arc::default(),
            status: Arc::new(200.into()),
        };
        let shared = r.clone();
        let server = actix_web::HttpServer::new(move || {
            let r = shared.clone();
            actix_web::App::new().route(
                "/backchannel",
                actix_web::web::post().to(move |req: actix_web::HttpRequest, body: String| {
                    let r = r.clone();
                    async move {
                        let ct = req
                            .headers()
                            .get("content-type")
                            .unwrap()
                            .to_str()
                            .unwrap()
                            .to_owned();
                        assert_eq!(ct, "application/x-www-form-urlencoded");
                        let token = url::form_urlencoded::parse(body.as_bytes())
                            .find(|(k, _)| k == "logout_token")
                            .map(|(_, v)| v.into_owned())
                            .expect("a logout_token parameter");
                        r.got.lock().unwrap().push(token);
                        let status = r.status.load(std::sync::atomic::Ordering::SeqCst);
                        actix_web::HttpResponse::build(
                            actix_web::http::StatusCode::from_u16(status).unwrap(),
                        )
                        .finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        r
    }

    fn tokens(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }

    /// Wait (for the worker's half-second polls) until `n` tokens arrived.
    async fn wait_for(&self, n: usize) -> Vec<String> {
        for _ in 0..100 {
            if self.tokens().len() >= n {
                return self.tokens();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("expected {n} logout tokens, got {}", self.tokens().len());
    }
}

fn free_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// An app whose `webapp` client takes back-channel logouts at `port`.
async fn app_with_receiver_on(
    port: u16,
    tweak: impl FnOnce(&mut ostiary::config::Settings),
) -> TestApp {
    spawn_app_with(|s| {
        s.clients[0].backchannel_logout_uri = Some(format!("http://127.0.0.1:{port}/backchannel"));
        s.clients[0].backchannel_logout_session_required = true;
        tweak(s);
    })
    .await
}

async fn app_and_receiver() -> (TestApp, Receiver) {
    let listener = free_listener();
    let port = listener.local_addr().unwrap().port();
    let receiver = Receiver::start_on(listener);
    (app_with_receiver_on(port, |_| {}).await, receiver)
}

/// Verify a logout token as the app must (§2.6): signature from the JWKS, `typ`, issuer,
/// audience, the event, no nonce; its claims.
async fn verified(app: &TestApp, token: &str) -> serde_json::Map<String, serde_json::Value> {
    let (claims, header) = app.verify_jwt(token).await;
    assert_eq!(header.token_type(), Some("logout+jwt"));
    assert_eq!(claims["iss"], app.address.as_str());
    assert_eq!(claims["aud"], "webapp");
    assert_eq!(claims["sub"], app.account_id.as_str());
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(!claims.contains_key("nonce"), "a logout token has no nonce");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 16));
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 300);
    claims
}

/// Sign in as webapp in `browser`; the `sid` of the ID token it gets.
async fn sign_in(app: &TestApp, browser: &reqwest::Client) -> String {
    let p = AuthorizeParams {
        challenge: Some(CHALLENGE),
        ..AuthorizeParams::new("webapp", "openid offline_access")
    };
    let back = app
        .interact(
            browser,
            app.authorize_url(&p),
            EMAIL,
            PASSWORD,
            Consent::Allow,
        )
        .await;
    let code = query(&back, "code").unwrap();
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    let tokens: serde_json::Value = res.json().await.unwrap();
    let (claims, _) = app.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    claims["sid"]
        .as_str()
        .expect("ID tokens carry sid")
        .to_owned()
}

#[tokio::test]
async fn signing_out_at_the_logout_endpoint_sends_the_app_a_logout_token_it_verifies_from_the_jwks()
{
    let (app, receiver) = app_and_receiver().await;
    let tokens = app.webapp_tokens().await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let (claims, _) = app.verify_jwt(id_token).await;
    let sid = claims["sid"]
        .as_str()
        .expect("sid in the ID token")
        .to_owned();
    let res = app
        .browser
        .get(app.url("/logout"))
        .query(&[("id_token_hint", id_token)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let got = receiver.wait_for(1).await;
    let logout = verified(&app, &got[0]).await;
    assert_eq!(logout["sid"], sid.as_str());
    assert!(
        app.app_state
            .store
            .queued_logouts()
            .await
            .unwrap()
            .is_empty(),
        "delivered, gone"
    );
    // A logout token is not an ID token: offered as an id_token_hint it is refused.
    let res = app
        .browser
        .get(app.url("/logout"))
        .query(&[("id_token_hint", got[0].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn a_receiver_that_is_down_gets_the_logout_after_it_comes_back() {
    let port = free_listener().local_addr().unwrap().port(); // nobody listens there now
    let app = app_with_receiver_on(port, |_| {}).await;
    let sid = sign_in(&app, &app.browser).await;
    let html = page_text(&app.browser, app.url("/account")).await;
    let res = app
        .browser
        .post(app.url("/account/sessions/end-all"))
        .form(&[("csrf", hidden(&html, "csrf"))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The first attempt fails and is kept for a retry.
    let mut queued = Vec::new();
    for _ in 0..100 {
        queued = app.app_state.store.queued_logouts().await.unwrap();
        if queued.first().is_some_and(|l| l.attempts >= 1) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(queued.len(), 1);
    assert!(
        queued[0].attempts >= 1 && queued[0].last_error.is_some(),
        "{queued:?}"
    );
    assert_eq!(queued[0].sid, sid);
    // The app comes back; once the backoff has passed, the logout arrives.
    let receiver = Receiver::start_on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    app.clock.advance(600);
    let got = receiver.wait_for(1).await;
    assert_eq!(verified(&app, &got[0]).await["sid"], sid.as_str());
    assert_eq!(app.audit("backchannel_logout_failed").await, 0);
}

#[tokio::test]
async fn an_app_that_refuses_the_logout_token_is_recorded_and_not_asked_again() {
    let (app, receiver) = app_and_receiver().await;
    receiver
        .status
        .store(400, std::sync::atomic::Ordering::SeqCst);
    sign_in(&app, &app.browser).await;
    let html = page_text(&app.browser, app.url("/logout")).await;
    app.browser
        .post(app.url("/logout/confirm"))
        .form(&[("csrf", hidden(&html, "csrf"))])
        .send()
        .await
        .unwrap();
    receiver.wait_for(1).await;
    for _ in 0..50 {
        if app.audit("backchannel_logout_failed").await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.audit("backchannel_logout_failed").await, 1);
    app.clock.advance(3600);
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(receiver.tokens().len(), 1, "not retried");
    assert!(
        app.app_state
            .store
            .queued_logouts()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn ending_one_session_on_account_tells_the_app_about_that_session_only() {
    let (app, receiver) = app_and_receiver().await;
    let mine = sign_in(&app, &app.browser).await;
    let other = browser();
    let theirs = sign_in(&app, &other).await;
    assert_ne!(mine, theirs, "each browser session has its own sid");
    let store = &app.app_state.store;
    let account = ostiary::protocol::ids::AccountId::new(app.account_id.clone());
    let sessions = store.sessions_of(&account, app.clock.now()).await.unwrap();
    let target = sessions
        .iter()
        .find(|s| s.sid.as_deref() == Some(theirs.as_str()))
        .unwrap();
    let html = page_text(&app.browser, app.url("/account")).await;
    let res = app
        .browser
        .post(app.url("/account/sessions/end"))
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("session", target.id_hash.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let got = receiver.wait_for(1).await;
    assert_eq!(verified(&app, &got[0]).await["sid"], theirs.as_str());
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert_eq!(receiver.tokens().len(), 1, "my session was not ended");
}

#[tokio::test]
async fn removing_an_apps_access_on_account_sends_it_a_logout_for_each_session_and_keeps_mine() {
    let (app, receiver) = app_and_receiver().await;
    let mine = sign_in(&app, &app.browser).await;
    let other = browser();
    let theirs = sign_in(&app, &other).await;
    let html = page_text(&app.browser, app.url("/account")).await;
    let res = app
        .browser
        .post(app.url("/account/apps/revoke"))
        .form(&[("csrf", hidden(&html, "csrf")), ("client", "webapp".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let got = receiver.wait_for(2).await;
    let mut sids = Vec::new();
    for t in &got {
        sids.push(verified(&app, t).await["sid"].as_str().unwrap().to_owned());
    }
    sids.sort();
    let mut expected = vec![mine, theirs];
    expected.sort();
    assert_eq!(sids, expected);
    let res = app.browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 200, "still signed in to Ostiary");
}

#[tokio::test]
async fn signing_in_again_in_the_same_browser_keeps_the_sid_and_refreshed_id_tokens_carry_it() {
    let (app, _receiver) = app_and_receiver().await;
    let first = sign_in(&app, &app.browser).await;
    // prompt=login: a new session cookie, the same person, the same sid.
    let p = AuthorizeParams {
        challenge: Some(CHALLENGE),
        extra: vec![("prompt", "login")],
        ..AuthorizeParams::new("webapp", "openid offline_access")
    };
    let back = app
        .interact(
            &app.browser,
            app.authorize_url(&p),
            EMAIL,
            PASSWORD,
            Consent::Allow,
        )
        .await;
    let res = app
        .exchange(
            ("webapp", Some(WEB_SECRET)),
            &query(&back, "code").unwrap(),
            Some(VERIFIER),
        )
        .await;
    let tokens: serde_json::Value = res.json().await.unwrap();
    let (claims, _) = app.verify_jwt(tokens["id_token"].as_str().unwrap()).await;
    assert_eq!(claims["sid"], first.as_str());
    let res = app
        .token(
            ("webapp", Some(WEB_SECRET)),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    let refreshed: serde_json::Value = res.json().await.unwrap();
    let (claims, _) = app
        .verify_jwt(refreshed["id_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sid"], first.as_str());
    assert!(
        app.app_state
            .store
            .queued_logouts()
            .await
            .unwrap()
            .is_empty(),
        "nobody signed out"
    );
}

#[tokio::test]
async fn the_session_limit_ends_the_oldest_session_and_tells_its_app() {
    let listener = free_listener();
    let port = listener.local_addr().unwrap().port();
    let receiver = Receiver::start_on(listener);
    let app = app_with_receiver_on(port, |s| s.session.max_per_account = 2).await;
    let oldest = sign_in(&app, &app.browser).await;
    app.clock.advance(5);
    let second = browser();
    sign_in(&app, &second).await;
    app.clock.advance(5);
    let third = browser();
    sign_in(&app, &third).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(verified(&app, &got[0]).await["sid"], oldest.as_str());
    assert_eq!(
        app.browser
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        second
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        third
            .get(app.url("/account"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(app.audit("session_ended").await, 1);
}

#[tokio::test]
async fn disabling_an_account_sends_a_logout_for_each_of_its_sessions() {
    let (app, receiver) = app_and_receiver().await;
    let a = sign_in(&app, &app.browser).await;
    let b = sign_in(&app, &browser()).await;
    assert_eq!(
        ostiary_cli(&app, &["users", "disable", "--email", EMAIL]).await,
        0
    );
    // The command line stamps the queue with the system's time; the test clock catches up.
    app.clock.advance(60);
    let got = receiver.wait_for(2).await;
    let mut sids = Vec::new();
    for t in &got {
        sids.push(verified(&app, t).await["sid"].as_str().unwrap().to_owned());
    }
    sids.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(sids, want);
}

#[tokio::test]
async fn discovery_advertises_back_channel_logout_with_sessions() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}
