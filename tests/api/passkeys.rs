//! Passkeys over HTTP with a software authenticator (webauthn-authenticator-rs's SoftPasskey)
//! playing the browser's part: registration on /account, use as a second factor, passwordless
//! sign-in with a discoverable credential, and the answers that must be refused — a wrong
//! origin, a wrong relying-party id, a replayed assertion, a cloned authenticator's counter.
//! WebAuthn needs a domain, so these servers' issuer is `http://localhost:PORT`.

use crate::helpers::*;
use crate::mfa_harness::*;
use reqwest::Client;
use url::Url;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{
    Base64UrlSafeData, CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse,
};
use webauthn_rs_proto::AllowCredentials;

const PHR_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant";

pub async fn spawn_on_localhost() -> TestApp {
    spawn_on_localhost_with(|_| {}).await
}

pub async fn spawn_on_localhost_with(
    tweak: impl FnOnce(&mut ostiary::config::Settings),
) -> TestApp {
    let mut app = spawn_app_with(|s| {
        s.issuer = s.issuer.replace("127.0.0.1", "localhost");
        tweak(s);
    })
    .await;
    app.address = app.address.replace("127.0.0.1", "localhost");
    app
}

/// The person's authenticator, and what it registered.
pub struct Device {
    pub authenticator: WebauthnAuthenticator<SoftPasskey>,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
}

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The ceremony a page offers in its `data-options` attribute, and its sealed state.
fn ceremony(html: &str) -> (String, String) {
    let start = html.find("data-options=\"").expect("a passkey button") + 14;
    let len = html[start..].find('"').unwrap();
    (
        unescape(&html[start..start + len]),
        hidden(html, "ceremony"),
    )
}

fn origin(app: &TestApp) -> Url {
    Url::parse(&app.address).unwrap()
}

/// Sign `app.browser` in with the password and register a passkey on /account; the
/// recovery codes the first factor came with.
pub async fn register(app: &TestApp) -> (Device, Vec<String>) {
    app.code_for(&AuthorizeParams::new("webapp", "openid email"))
        .await;
    let (device, codes) = add_passkey(app, &[]).await;
    (
        device,
        codes.expect("the first factor shows recovery codes"),
    )
}

/// Register a passkey for the signed-in `app.browser` (`extra`: more proof, such as a code).
pub async fn add_passkey(app: &TestApp, extra: &[(&str, String)]) -> (Device, Option<Vec<String>>) {
    let csrf = account_csrf(&app.browser, app).await;
    let mut form = vec![("csrf", csrf), ("current_password", PASSWORD.to_owned())];
    form.extend(extra.iter().cloned());
    let res = app
        .browser
        .post(app.url("/account/passkeys"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let (options, sealed) = ceremony(&html);
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    let user_handle = ccr.public_key.user.id.to_vec();
    let mut authenticator = WebauthnAuthenticator::new(SoftPasskey::new(true));
    let reg = authenticator.do_registration(origin(app), ccr).unwrap();
    let credential_id = reg.raw_id.to_vec();
    let res = app
        .browser
        .post(app.url("/account/passkeys/finish"))
        .form(&[
            ("csrf", hidden(&html, "csrf")),
            ("ceremony", sealed),
            ("credential", serde_json::to_string(&reg).unwrap()),
            ("name", "Laptop".into()),
        ])
        .send()
        .await
        .unwrap();
    let codes = match res.status().as_u16() {
        200 => Some(recovery_codes(&res.text().await.unwrap())),
        303 => None,
        s => panic!("registration answered {s}: {}", res.text().await.unwrap()),
    };
    let device = Device {
        authenticator,
        credential_id,
        user_handle,
    };
    (device, codes)
}

/// Answer the passkey ceremony on `html` with `device`, as the browser at `at` would.
fn answer(device: &mut Device, html: &str, at: Url, discoverable: bool) -> (String, String) {
    let (options, sealed) = ceremony(html);
    let mut rcr: RequestChallengeResponse = serde_json::from_str(&options).unwrap();
    if discoverable {
        // The soft authenticator has no resident keys: name the credential for it, and add
        // the user handle a discoverable credential returns.
        assert!(rcr.public_key.allow_credentials.is_empty());
        rcr.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id: Base64UrlSafeData::from(device.credential_id.clone()),
            transports: None,
        }];
    }
    if at.host_str() != Some("localhost") {
        rcr.public_key.rp_id = at.host_str().unwrap().to_owned();
    }
    let mut assertion: PublicKeyCredential =
        device.authenticator.do_authentication(at, rcr).unwrap();
    if discoverable {
        assertion.response.user_handle = Some(Base64UrlSafeData::from(device.user_handle.clone()));
    }
    (serde_json::to_string(&assertion).unwrap(), sealed)
}

async fn login_page(app: &TestApp, browser: &Client) -> String {
    let res = browser.get(webapp(app, vec![])).send().await.unwrap();
    let res = browser.get(location(&res)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

async fn passwordless(
    app: &TestApp,
    browser: &Client,
    html: &str,
    credential: (String, String),
) -> reqwest::Response {
    browser
        .post(app.url("/login/passkey"))
        .form(&[
            ("req", hidden(html, "req")),
            ("csrf", hidden(html, "csrf")),
            ("credential", credential.0),
            ("ceremony", credential.1),
        ])
        .send()
        .await
        .unwrap()
}

/// Follow redirects and the consent page to the client.
async fn to_client(app: &TestApp, browser: &Client, res: reqwest::Response) -> Url {
    assert_eq!(res.status(), 303);
    app.interact(browser, location(&res), EMAIL, PASSWORD, Consent::Allow)
        .await
}

#[tokio::test]
async fn a_passkey_signs_in_without_a_password_and_the_id_token_says_phishing_resistant() {
    let app = spawn_on_localhost().await;
    let (mut device, _) = register(&app).await;
    assert_eq!(app.audit("factor_added").await, 1);
    let browser = browser();
    let html = login_page(&app, &browser).await;
    let answer = answer(&mut device, &html, origin(&app), true);
    let res = passwordless(&app, &browser, &html, answer).await;
    let back = to_client(&app, &browser, res).await;
    let claims = id_token_claims(&app, &back).await;
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "mfa"]));
    assert_eq!(claims["acr"], PHR_ACR);
    let passkeys = app
        .app_state
        .store
        .passkeys_of(&ostiary::protocol::ids::AccountId::new(
            app.account_id.clone(),
        ))
        .await
        .unwrap();
    assert_eq!(passkeys.len(), 1);
    assert!(passkeys[0].last_used_at.is_some());
    assert_eq!(passkeys[0].name, "Laptop");
}

#[tokio::test]
async fn after_a_password_a_passkey_is_the_second_factor() {
    let app = spawn_on_localhost().await;
    let (mut device, _) = register(&app).await;
    let browser = browser();
    let html = login_page(&app, &browser).await;
    let res = app.submit_login(&browser, &html, EMAIL, PASSWORD).await;
    assert_eq!(location(&res).path(), "/mfa");
    let res = browser.get(location(&res)).send().await.unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains("Use a passkey"), "{page}");
    let (credential, sealed) = answer(&mut device, &page, origin(&app), false);
    let res = browser
        .post(app.url("/mfa/passkey"))
        .form(&[
            ("req", hidden(&page, "req")),
            ("csrf", hidden(&page, "csrf")),
            ("credential", credential),
            ("ceremony", sealed),
        ])
        .send()
        .await
        .unwrap();
    let back = to_client(&app, &browser, res).await;
    let claims = id_token_claims(&app, &back).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "hwk", "mfa"]));
    assert_eq!(claims["acr"], PHR_ACR);
}

#[tokio::test]
async fn an_answer_from_a_wrong_origin_or_for_a_wrong_rp_id_is_refused() {
    let app = spawn_on_localhost().await;
    let (mut device, _) = register(&app).await;
    let port = origin(&app).port().unwrap();
    for at in [
        format!("https://localhost:{port}"),
        format!("https://evil.localhost:{port}"),
    ] {
        let browser = browser();
        let html = login_page(&app, &browser).await;
        let answer = answer(&mut device, &html, Url::parse(&at).unwrap(), true);
        let res = passwordless(&app, &browser, &html, answer).await;
        assert_eq!(res.status(), 401, "{at}");
        assert!(res.text().await.unwrap().contains("not accepted"));
    }
    assert_eq!(app.audit("login_failed").await, 2);
    assert_eq!(
        app.audit("login_succeeded").await,
        1,
        "only the first sign-in"
    );
}

#[tokio::test]
async fn a_replayed_assertion_and_a_cloned_authenticators_old_counter_are_refused() {
    let app = spawn_on_localhost().await;
    let (mut device, _) = register(&app).await;
    // Two ceremonies answered; the later one (counter 2) is used first.
    let (b1, b2) = (browser(), browser());
    let (h1, h2) = (login_page(&app, &b1).await, login_page(&app, &b2).await);
    let first = answer(&mut device, &h1, origin(&app), true);
    let second = answer(&mut device, &h2, origin(&app), true);
    let res = passwordless(&app, &b2, &h2, second.clone()).await;
    assert_eq!(res.status(), 303);
    // The same answer again: its sign-in is over, and its challenge is spent.
    let res = passwordless(&app, &b2, &h2, second).await;
    assert_eq!(res.status(), 400);
    // An answer with an older counter (what a copy of the key would send): refused.
    let res = passwordless(&app, &b1, &h1, first).await;
    assert_eq!(res.status(), 401);
    assert_eq!(app.audit("login_failed").await, 1);
    assert_eq!(
        app.audit("login_succeeded").await,
        2,
        "the registration's and one more"
    );
}

#[tokio::test]
async fn a_tampered_or_foreign_ceremony_and_junk_credentials_are_refused_without_a_500() {
    let app = spawn_on_localhost().await;
    let (mut device, _) = register(&app).await;
    let browser = browser();
    let html = login_page(&app, &browser).await;
    let (credential, sealed) = answer(&mut device, &html, origin(&app), true);
    let other = login_page(&app, &self::browser()).await;
    let cases = [
        (credential.clone(), "garbage".to_owned()),
        (credential.clone(), hidden(&other, "ceremony")),
        ("{}".to_owned(), sealed.clone()),
        ("not json".to_owned(), sealed.clone()),
        (String::new(), String::new()),
    ];
    for case in cases {
        let res = passwordless(&app, &browser, &html, case).await;
        assert_eq!(res.status(), 401);
    }
    assert_eq!(
        app.audit("login_succeeded").await,
        1,
        "only the registration's sign-in"
    );
}

#[tokio::test]
async fn a_request_for_phishing_resistance_steps_up_with_a_passkey_and_is_unmet_without_one() {
    let app = spawn_on_localhost().await;
    let (mut device, _) = register(&app).await;
    // The registering browser signed in with a password: asked for a passkey, not a code.
    let url = webapp(&app, vec![("acr_values", PHR_ACR)]);
    let res = app.browser.get(url).send().await.unwrap();
    assert_eq!(location(&res).path(), "/mfa");
    let page = app
        .browser
        .get(location(&res))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("asks for a passkey") && !page.contains("name=\"code\""),
        "{page}"
    );
    let (credential, sealed) = answer(&mut device, &page, origin(&app), false);
    let res = app
        .browser
        .post(app.url("/mfa/passkey"))
        .form(&[
            ("req", hidden(&page, "req")),
            ("csrf", hidden(&page, "csrf")),
            ("credential", credential),
            ("ceremony", sealed),
        ])
        .send()
        .await
        .unwrap();
    let back = to_client(&app, &app.browser, res).await;
    assert_eq!(id_token_claims(&app, &back).await["acr"], PHR_ACR);

    // An account with no passkey cannot reach it: the client hears so.
    let other = spawn_on_localhost().await;
    let back = other
        .interact(
            &browser(),
            webapp(&other, vec![("acr_values", PHR_ACR)]),
            EMAIL,
            PASSWORD,
            Consent::Allow,
        )
        .await;
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
}

#[tokio::test]
async fn passkeys_are_listed_renamed_and_removed_after_a_fresh_second_factor() {
    let app = spawn_on_localhost().await;
    let (_, codes) = register(&app).await;
    let account = ostiary::protocol::ids::AccountId::new(app.account_id.clone());
    let id = app.app_state.store.passkeys_of(&account).await.unwrap()[0]
        .id
        .clone();
    let page = app
        .browser
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Laptop"), "listed");
    let csrf = hidden(&page, "csrf");
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let req = app.browser.post(app.url(path)).form(&form);
        async move { req.send().await.unwrap() }
    };
    let res = post(
        "/account/passkeys/rename",
        vec![
            ("csrf", csrf.clone()),
            ("passkey", id.clone()),
            ("name", "Work laptop".into()),
        ],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        app.app_state.store.passkeys_of(&account).await.unwrap()[0].name,
        "Work laptop"
    );
    // The password alone is not enough: a second factor (here a recovery code) too.
    let remove = |code: Option<String>| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("passkey", id.clone()),
            ("current_password", PASSWORD.to_owned()),
        ];
        if let Some(c) = code {
            form.push(("mfa_code", c));
        }
        post("/account/passkeys/remove", form)
    };
    assert_eq!(remove(None).await.status(), 422);
    assert_eq!(remove(Some("WRONG-CODE1".into())).await.status(), 422);
    assert_eq!(
        app.app_state
            .store
            .passkeys_of(&account)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(remove(Some(codes[0].clone())).await.status(), 303);
    assert!(
        app.app_state
            .store
            .passkeys_of(&account)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.audit("factor_removed").await, 1);
    let summary = app.app_state.store.factor_summary(&account).await.unwrap();
    assert!(!summary.any() && summary.recovery_codes_left == 0);
}

#[tokio::test]
async fn while_mfa_is_required_the_last_factor_cannot_be_removed() {
    let app = spawn_on_localhost_with(|s| s.mfa.required = true).await;
    let mut secret = String::new();
    sign_in_with(&app, &app.browser, webapp(&app, vec![]), &mut |html| {
        secret = between(html, "id=\"totp-secret\">", "<")
            .unwrap()
            .to_owned();
        totp_code(&app, &secret, 0)
    })
    .await
    .expect("enrolled on the way");
    app.clock.advance(30);
    let (_, codes) = add_passkey(&app, &[("mfa_code", totp_code(&app, &secret, 0))]).await;
    assert!(codes.is_none(), "the app's recovery codes stay");
    // The app can go (the passkey remains) ...
    app.clock.advance(30);
    let csrf = account_csrf(&app.browser, &app).await;
    let res = app
        .browser
        .post(app.url("/account/mfa/remove"))
        .form(&[
            ("csrf", csrf.clone()),
            ("mfa_code", totp_code(&app, &secret, 0)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    // ... but not the last passkey.
    let account = ostiary::protocol::ids::AccountId::new(app.account_id.clone());
    let id = app.app_state.store.passkeys_of(&account).await.unwrap()[0]
        .id
        .clone();
    let res = app
        .browser
        .post(app.url("/account/passkeys/remove"))
        .form(&[
            ("csrf", csrf),
            ("passkey", id),
            ("current_password", PASSWORD.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("add another factor"));
    assert_eq!(
        app.app_state
            .store
            .passkeys_of(&account)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_registration_answer_sent_twice_counts_once_because_its_challenge_is_spent() {
    let app = spawn_on_localhost().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid email"))
        .await;
    let csrf = account_csrf(&app.browser, &app).await;
    let html = app
        .browser
        .post(app.url("/account/passkeys"))
        .form(&[("csrf", csrf.as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (options, sealed) = ceremony(&html);
    let ccr: CreationChallengeResponse = serde_json::from_str(&options).unwrap();
    let mut authenticator = WebauthnAuthenticator::new(SoftPasskey::new(true));
    let reg =
        serde_json::to_string(&authenticator.do_registration(origin(&app), ccr).unwrap()).unwrap();
    let form = [
        ("csrf", hidden(&html, "csrf")),
        ("ceremony", sealed),
        ("credential", reg),
        ("name", "Phone".to_owned()),
    ];
    let first = app
        .browser
        .post(app.url("/account/passkeys/finish"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let again = app
        .browser
        .post(app.url("/account/passkeys/finish"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 422);
    let account = ostiary::protocol::ids::AccountId::new(app.account_id.clone());
    assert_eq!(
        app.app_state
            .store
            .passkeys_of(&account)
            .await
            .unwrap()
            .len(),
        1
    );
    let events = app
        .app_state
        .store
        .audit_events(ostiary::audit::AuditKind::SecondFactorFailed)
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("answered already"))),
        "{events:?}"
    );
}
