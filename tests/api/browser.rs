//! A person signs in and consents in a real headless Chromium (Debian's chromium and
//! chromium-driver). Skipped with a reason when they are missing, except under CI=true.

use crate::helpers::*;
use fantoccini::{ClientBuilder, Locator};
use std::process::Stdio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) fn browser_available() -> bool {
    if std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but {CHROMIUM} or {CHROMEDRIVER} is missing: apt-get install chromium chromium-driver"
        );
    }
    eprintln!("skipping the browser test: install Debian's chromium and chromium-driver to run it");
    false
}

/// A stand-in relying-party callback that answers every request with a small page.
pub(crate) async fn callback_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body = "<!doctype html><title>callback</title><h1>Back at the app</h1>";
                let res = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(res.as_bytes()).await;
            });
        }
    });
    port
}

/// A running chromedriver, and the URL it listens on.
pub(crate) struct Driver(tokio::process::Child, String);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

async fn start_chromedriver() -> (Driver, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = tokio::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/status")).await.is_ok() {
            return (Driver(child, url.clone()), url);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// A headless Chromium session (and the chromedriver behind it) with a fresh profile.
pub(crate) async fn chromium(profile: std::path::PathBuf) -> (Driver, fantoccini::Client) {
    let (driver, driver_url) = start_chromedriver().await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     format!("--user-data-dir={}", profile.display())],
        }),
    );
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("a WebDriver session");
    (driver, client)
}

/// An authorization request of `webapp` with PKCE, state `<tag>-state` and nonce `<tag>-nonce`.
pub(crate) fn webapp_authorize(app: &TestApp, redirect: &str, tag: &str) -> url::Url {
    let mut start = url::Url::parse(&app.url("/authorize")).unwrap();
    start
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "webapp")
        .append_pair("redirect_uri", redirect)
        .append_pair("scope", "openid email profile")
        .append_pair("state", &format!("{tag}-state"))
        .append_pair("nonce", &format!("{tag}-nonce"))
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    start
}

/// Exchange the code as the app `webapp` would and verify its ID token from the JWKS.
async fn id_token_claims(
    app: &TestApp,
    code: &str,
    redirect: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let res = app
        .http
        .post(app.url("/token"))
        .basic_auth("webapp", Some(WEB_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    app.verify_jwt(body["id_token"].as_str().unwrap()).await.0
}

/// Click the element with this id and wait until the page has navigated away.
pub(crate) async fn click_and_wait(browser: &fantoccini::Client, id: &str) -> url::Url {
    let before = browser.current_url().await.unwrap();
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("no #{id} at {before}"))
        .click()
        .await
        .unwrap();
    for _ in 0..100 {
        let now = browser.current_url().await.unwrap();
        if now != before {
            // Let the new document finish loading before anyone looks for elements in it.
            let _ = browser
                .wait()
                .at_most(std::time::Duration::from_secs(5))
                .for_element(Locator::Css("body"))
                .await;
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("clicking #{id} did not leave {before}");
}

#[tokio::test]
async fn a_person_signs_in_and_consents_in_headless_chromium_and_the_app_gets_tokens() {
    if !browser_available() {
        return;
    }
    // Arrange: the app's callback, Ostiary registered with it, and a browser.
    let cb_port = callback_server().await;
    let redirect = format!("http://127.0.0.1:{cb_port}/cb");
    let app = spawn_app_with_redirect(&redirect, |_| {}).await;
    let (_driver, browser) = chromium(app.dir.join("chromium-profile")).await;
    let start = webapp_authorize(&app, &redirect, "browser");

    // Act: the person types their email and password and allows access.
    browser.goto(start.as_str()).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/login");
    browser
        .find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(EMAIL)
        .await
        .unwrap();
    browser
        .find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    let consent_url = click_and_wait(&browser, "sign-in").await;
    assert_eq!(consent_url.path(), "/consent");
    let consent = browser.source().await.unwrap();
    assert!(consent.contains("Web app") && consent.contains("See your email address"));
    let back = click_and_wait(&browser, "allow").await;
    browser.close().await.unwrap();

    // Assert: the app is back with a code and state, and the code buys verified tokens.
    assert_eq!(back.port(), Some(cb_port), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some("browser-state"));
    let code = query(&back, "code").expect("a code");
    let id = id_token_claims(&app, &code, &redirect).await;
    assert_eq!(id["email"], EMAIL);
    assert_eq!(id["nonce"], "browser-nonce");
}

#[tokio::test]
async fn a_person_signs_in_with_fake_apple_in_headless_chromium_through_form_post() {
    if !browser_available() {
        return;
    }
    // Arrange: the app's callback, the fake providers, and Ostiary with Apple as an upstream.
    let cb_port = callback_server().await;
    let redirect = format!("http://127.0.0.1:{cb_port}/cb");
    let fakes = crate::federation_harness::start_fakes().await;
    let apple = fakes.upstream("apple", "apple", serde_json::json!({}));
    let app = spawn_app_with_redirect(&redirect, |s| s.upstreams.push(apple)).await;
    let (_driver, browser) = chromium(app.dir.join("chromium-profile")).await;
    let mut start = url::Url::parse(&app.url("/authorize")).unwrap();
    start
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "webapp")
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", "openid email profile")
        .append_pair("state", "apple-state")
        .append_pair("nonce", "apple-nonce")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");

    // Act: press "Continue with Apple", continue at the fake Apple, submit its form_post page,
    // and allow at the consent page.
    browser.goto(start.as_str()).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/login");
    let at_apple = click_and_wait(&browser, "upstream-apple").await;
    assert!(at_apple.as_str().starts_with(&fakes.base), "{at_apple}");
    let form_post = click_and_wait(&browser, "fake-continue").await;
    assert!(
        browser.source().await.unwrap().contains("form_post"),
        "{form_post}"
    );
    let consent = click_and_wait(&browser, "form-post-continue").await;
    assert_eq!(consent.path(), "/consent", "{consent}");
    let back = click_and_wait(&browser, "allow").await;
    browser.close().await.unwrap();

    // Assert: the app gets a code whose ID token names Apple as the upstream.
    assert_eq!(back.port(), Some(cb_port), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some("apple-state"));
    let code = query(&back, "code").expect("a code");
    let id = id_token_claims(&app, &code, &redirect).await;
    assert_eq!(id["idp"], "apple");
    assert_eq!(id["amr"], serde_json::json!(["fed"]));
    assert_eq!(id["name"], "Ada Lovelace");
    assert_eq!(id["email"], "ada@example.com");
}

/// Click the element with this id and wait until the page shows `text`.
async fn click_until(browser: &fantoccini::Client, id: &str, text: &str) -> String {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("no #{id}"))
        .click()
        .await
        .unwrap();
    for _ in 0..200 {
        if let Ok(source) = browser.source().await
            && source.contains(text)
        {
            return source;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "after clicking #{id} the page never showed {text:?}:\n{}",
        browser.source().await.unwrap_or_default()
    );
}

#[tokio::test]
async fn a_newcomer_follows_the_landing_page_to_the_demo_app_and_sees_a_whole_sign_in() {
    if !browser_available() {
        return;
    }
    // Arrange: the development setup's demo app, and a browser.
    let app = spawn_app_with(crate::landing::with_demo_app).await;
    let (_driver, browser) = chromium(app.dir.join("chromium-profile")).await;

    // Act: from the landing page to the demo app, sign in and consent.
    browser.goto(&app.url("/")).await.unwrap();
    let demo = click_and_wait(&browser, "demo-app").await;
    assert_eq!(demo.path(), "/dev/demo");
    let login = click_and_wait(&browser, "scenario-sign-in").await;
    assert_eq!(login.path(), "/login");
    for (id, value) in [("email", EMAIL), ("password", PASSWORD)] {
        browser
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    let consent = click_and_wait(&browser, "sign-in").await;
    assert_eq!(consent.path(), "/consent");
    let back = click_and_wait(&browser, "allow").await;

    // Assert: the demo app shows both tokens verified against the JWKS and the userinfo answer.
    assert_eq!(back.path(), "/dev/demo", "{back}");
    let page = browser.source().await.unwrap();
    assert_eq!(
        page.matches("signature verified with key").count(),
        2,
        "{page}"
    );
    let userinfo = text_of(&browser, "userinfo").await;
    assert!(userinfo.contains(EMAIL), "{userinfo}");

    // Then: refresh (rotation), revoke, and log out (back at the demo app).
    click_until(
        &browser,
        "do-refresh",
        "The old refresh token is not active.",
    )
    .await;
    click_until(&browser, "do-revoke", "Revocation answered 200.").await;
    click_until(&browser, "do-logout", "id=\"signed-out\"").await;
    assert_eq!(browser.current_url().await.unwrap().path(), "/dev/demo");
    browser.close().await.unwrap();
}

/// Type into the field with this id.
pub(crate) async fn type_into(browser: &fantoccini::Client, id: &str, text: &str) {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("no #{id}"))
        .send_keys(text)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_person_signs_up_in_headless_chromium_confirms_the_emailed_code_and_the_app_gets_a_verified_email()
 {
    if !browser_available() {
        return;
    }
    let cb_port = callback_server().await;
    let redirect = format!("http://127.0.0.1:{cb_port}/cb");
    let inbox = crate::smtp::Inbox::start();
    let smtp = inbox.url();
    let app = spawn_app_with_redirect(&redirect, move |s| {
        s.registration.enabled = true;
        s.email.smtp_url = Some(smtp);
        s.email.from = Some("Ostiary <id@example.com>".into());
    })
    .await;
    let (_driver, browser) = chromium(app.dir.join("chromium-profile")).await;
    let start = webapp_authorize(&app, &redirect, "signup");

    browser.goto(start.as_str()).await.unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/login");
    assert_eq!(
        click_and_wait(&browser, "register").await.path(),
        "/register"
    );
    type_into(&browser, "email", "dana@example.org").await;
    type_into(&browser, "name", "Dana Scully").await;
    type_into(&browser, "password", "x-files trust no one 1013").await;
    assert_eq!(
        click_and_wait(&browser, "create-account").await.path(),
        "/verify"
    );
    let code = inbox.wait_for("dana@example.org", 1).await.code();
    type_into(&browser, "code", &code).await;
    assert_eq!(click_and_wait(&browser, "verify").await.path(), "/consent");
    let back = click_and_wait(&browser, "allow").await;
    browser.close().await.unwrap();

    assert_eq!(back.port(), Some(cb_port), "{back}");
    assert_eq!(query(&back, "state").as_deref(), Some("signup-state"));
    let id = id_token_claims(&app, &query(&back, "code").unwrap(), &redirect).await;
    assert_eq!(id["email"], "dana@example.org");
    assert_eq!(id["email_verified"], true);
    assert_eq!(id["name"], "Dana Scully");
}

#[tokio::test]
async fn a_person_turns_on_an_authenticator_app_in_headless_chromium_and_signs_in_with_its_code() {
    if !browser_available() {
        return;
    }
    let cb_port = callback_server().await;
    let redirect = format!("http://127.0.0.1:{cb_port}/cb");
    let app = spawn_app_with_redirect(&redirect, |_| {}).await;
    let (_driver, browser) = chromium(app.dir.join("chromium-profile")).await;

    // Signed in once with the password, the person sets up the app on /account.
    sign_in_and_allow(&browser, &webapp_authorize(&app, &redirect, "first")).await;
    browser.goto(&app.url("/account")).await.unwrap();
    type_into(&browser, "mfa-password", PASSWORD).await;
    click_and_wait(&browser, "add-totp").await;
    let page = browser.source().await.unwrap();
    assert!(page.contains("<svg"), "the QR code is on the page");
    let secret = text_of(&browser, "totp-secret").await;
    let code = crate::mfa_harness::totp_code(&app, &secret, 0);
    type_into(&browser, "code", &code).await;
    click_and_wait(&browser, "confirm-totp").await;
    let codes = text_of(&browser, "recovery-codes").await;
    assert_eq!(
        codes.lines().filter(|l| !l.trim().is_empty()).count(),
        10,
        "{codes}"
    );
    assert_eq!(
        click_and_wait(&browser, "continue").await.path(),
        "/account"
    );
    let status = text_of(&browser, "mfa-status").await;
    assert!(status.starts_with("On"), "{status}");

    // A new browser session: the password, then the app's next code.
    browser.delete_all_cookies().await.unwrap();
    app.clock.advance(30);
    browser
        .goto(webapp_authorize(&app, &redirect, "second").as_str())
        .await
        .unwrap();
    type_into(&browser, "email", EMAIL).await;
    type_into(&browser, "password", PASSWORD).await;
    assert_eq!(click_and_wait(&browser, "sign-in").await.path(), "/mfa");
    let code = crate::mfa_harness::totp_code(&app, &secret, 0);
    type_into(&browser, "code", &code).await;
    let back = click_and_wait(&browser, "verify-code").await;
    browser.close().await.unwrap();
    assert_eq!(back.port(), Some(cb_port), "{back}");
    let id = id_token_claims(&app, &query(&back, "code").unwrap(), &redirect).await;
    assert_eq!(
        id["acr"],
        "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
    );
    assert_eq!(id["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
}

/// Give the WebDriver session a virtual CTAP2 authenticator with resident keys and user
/// verification (the WebAuthn extension commands chromedriver supports).
async fn add_virtual_authenticator(driver: &Driver, browser: &fantoccini::Client) {
    let session = browser.session_id().await.unwrap().expect("a session id");
    let res = reqwest::Client::new()
        .post(format!(
            "{}/session/{session}/webauthn/authenticator",
            driver.1
        ))
        .json(&serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "automaticPresenceSimulation": true,
        }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn a_person_adds_a_passkey_in_headless_chromium_and_signs_in_with_it_alone() {
    if !browser_available() {
        return;
    }
    let cb_port = callback_server().await;
    let redirect = format!("http://127.0.0.1:{cb_port}/cb");
    // WebAuthn needs a domain: this server's issuer is localhost.
    let mut app = spawn_app_with_redirect(&redirect, |s| {
        s.issuer = s.issuer.replace("127.0.0.1", "localhost");
    })
    .await;
    app.address = app.address.replace("127.0.0.1", "localhost");
    let (driver, browser) = chromium(app.dir.join("chromium-profile")).await;
    add_virtual_authenticator(&driver, &browser).await;

    sign_in_and_allow(&browser, &webapp_authorize(&app, &redirect, "first")).await;
    browser.goto(&app.url("/account")).await.unwrap();
    type_into(&browser, "passkey-password", PASSWORD).await;
    assert_eq!(
        click_and_wait(&browser, "add-passkey").await.path(),
        "/account/passkeys"
    );
    assert_eq!(
        click_and_wait(&browser, "create-passkey").await.path(),
        "/account/passkeys/finish"
    );
    let codes = text_of(&browser, "recovery-codes").await;
    assert_eq!(codes.lines().filter(|l| !l.trim().is_empty()).count(), 10);
    assert_eq!(
        click_and_wait(&browser, "continue").await.path(),
        "/account"
    );
    let listed = text_of(&browser, "passkeys").await;
    assert!(listed.contains("Passkey"), "{listed}");

    // Signed out, the person signs in with the passkey alone.
    browser.delete_all_cookies().await.unwrap();
    browser
        .goto(webapp_authorize(&app, &redirect, "second").as_str())
        .await
        .unwrap();
    assert_eq!(browser.current_url().await.unwrap().path(), "/login");
    let back = click_and_wait(&browser, "passkey-sign-in").await;
    browser.close().await.unwrap();
    assert_eq!(back.port(), Some(cb_port), "{back}");
    let id = id_token_claims(&app, &query(&back, "code").unwrap(), &redirect).await;
    assert_eq!(
        id["acr"],
        "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"
    );
    let amr = id["amr"].as_array().unwrap();
    assert!(amr.contains(&serde_json::json!("mfa")), "{amr:?}");
}

/// The text of the element with this id.
async fn text_of(browser: &fantoccini::Client, id: &str) -> String {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("no #{id}"))
        .text()
        .await
        .unwrap()
}

/// Sign in with the test account's password from `start` and allow the app.
pub(crate) async fn sign_in_and_allow(browser: &fantoccini::Client, start: &url::Url) {
    browser.goto(start.as_str()).await.unwrap();
    type_into(browser, "email", EMAIL).await;
    type_into(browser, "password", PASSWORD).await;
    assert_eq!(click_and_wait(browser, "sign-in").await.path(), "/consent");
    click_and_wait(browser, "allow").await;
}
