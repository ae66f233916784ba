//! `[mfa] remember_device_days`: after a second factor a person may let the browser skip it
//! for a while; another browser is still asked, and ending the account's sessions (here a
//! password change) forgets every remembered browser.

use crate::helpers::*;
use crate::mfa_harness::*;
use reqwest::Client;
use url::Url;

/// From `start`, sign in with the password and stop at the page after it.
async fn password_step(app: &TestApp, browser: &Client, start: Url) -> reqwest::Response {
    let res = browser.get(start).send().await.unwrap();
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    let html = browser
        .get(login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = app.submit_login(browser, &html, EMAIL, PASSWORD).await;
    assert_eq!(res.status(), 303);
    res
}

#[tokio::test]
async fn a_remembered_browser_skips_the_code_until_the_accounts_sessions_end() {
    let app = spawn_app_with(|s| s.mfa.remember_device_days = 30).await;
    let (secret, _) = enrol(&app).await;
    app.clock.advance(60);
    let browser = browser();
    let res = password_step(&app, &browser, webapp(&app, vec![])).await;
    let mfa = location(&res);
    let page = browser.get(mfa).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("name=\"remember\""), "the choice is offered");
    let res = browser
        .post(app.url("/mfa"))
        .form(&[
            ("req", hidden(&page, "req")),
            ("csrf", hidden(&page, "csrf")),
            ("code", totp_code(&app, &secret, 0)),
            ("remember", "1".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let device = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("ostiary_device="))
        .expect("the browser got its cookie");
    let device = device.split(';').next().unwrap().to_owned();
    app.interact(&browser, location(&res), EMAIL, PASSWORD, Consent::Allow)
        .await;

    // A client asking for a fresh sign-in still gets the code asked.
    let fresh = password_step(&app, &browser, webapp(&app, vec![("prompt", "login")])).await;
    assert_eq!(
        browser.get(location(&fresh)).send().await.unwrap().status(),
        200
    );

    // The next sign-in in that browser (signed out: only the device cookie is left): the
    // password, then straight on.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&device, &Url::parse(&app.address).unwrap());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let again = password_step(&app, &browser, webapp(&app, vec![])).await;
    let next = browser.get(location(&again)).send().await.unwrap();
    assert_eq!(next.status(), 303, "no code page");
    let back = app
        .interact(&browser, location(&next), EMAIL, PASSWORD, Consent::Allow)
        .await;
    let claims = id_token_claims(&app, &back).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "mfa"]));

    // Another browser is asked.
    let other = self::browser();
    let res = password_step(&app, &other, webapp(&app, vec![])).await;
    let page = other.get(location(&res)).send().await.unwrap();
    assert_eq!(page.status(), 200);

    // A password change elsewhere ends the sessions and forgets the browser.
    app.clock.advance(60);
    let csrf = account_csrf(&app.browser, &app).await;
    let res = app
        .browser
        .post(app.url("/account/password"))
        .form(&[
            ("csrf", csrf),
            ("current_password", PASSWORD.to_owned()),
            ("new_password", "a brand new walrus cathedral".to_owned()),
            ("mfa_code", totp_code(&app, &secret, 0)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = browser.get(webapp(&app, vec![])).send().await.unwrap();
    let login = location(&res);
    let html = browser
        .get(login)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let res = app
        .submit_login(&browser, &html, EMAIL, "a brand new walrus cathedral")
        .await;
    let page = browser.get(location(&res)).send().await.unwrap();
    assert_eq!(page.status(), 200, "asked for the code again");
}

#[tokio::test]
async fn without_remember_device_days_the_choice_is_not_offered_and_a_forged_one_does_nothing() {
    let app = spawn_app().await;
    let (secret, _) = enrol(&app).await;
    app.clock.advance(60);
    let browser = browser();
    let res = password_step(&app, &browser, webapp(&app, vec![])).await;
    let page = browser
        .get(location(&res))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("name=\"remember\""));
    let res = browser
        .post(app.url("/mfa"))
        .form(&[
            ("req", hidden(&page, "req")),
            ("csrf", hidden(&page, "csrf")),
            ("code", totp_code(&app, &secret, 0)),
            ("remember", "1".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        !res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().contains("ostiary_device"))
    );
}
