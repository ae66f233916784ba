//! What the second-factor tests share: TOTP codes computed from the secret a page shows,
//! enrolment on /account, and a person driving a sign-in through the code step.

use crate::helpers::*;
use ostiary::clock::Clock;
use reqwest::Client;
use url::Url;

pub const MFA_ACR: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";

/// The current code of an authenticator with this base32 secret, `offset` steps from now.
pub fn totp_code(app: &TestApp, secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32 secret");
    let t = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, "x".into())
        .expect("totp");
    t.generate((app.clock.now() + offset * 30) as u64)
}

/// Text between `start` and the next `end` after it.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(&html[from..from + len])
}

pub fn recovery_codes(html: &str) -> Vec<String> {
    let list = between(html, "id=\"recovery-codes\">", "</ul>").expect("recovery codes shown");
    list.split("<code>")
        .skip(1)
        .filter_map(|c| c.split("</code>").next())
        .map(str::to_owned)
        .collect()
}

pub async fn account_csrf(browser: &Client, app: &TestApp) -> String {
    let res = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    hidden(&res.text().await.unwrap(), "csrf")
}

/// Sign `app.browser` in and turn on an authenticator app on /account: its secret and the
/// recovery codes shown once.
pub async fn enrol(app: &TestApp) -> (String, Vec<String>) {
    app.code_for(&AuthorizeParams::new("webapp", "openid email"))
        .await;
    let csrf = account_csrf(&app.browser, app).await;
    let res = app
        .browser
        .post(app.url("/account/mfa/totp"))
        .form(&[("csrf", csrf.as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("<svg"), "a QR code is shown");
    let secret = between(&html, "id=\"totp-secret\">", "<")
        .unwrap()
        .to_owned();
    let code = totp_code(app, &secret, 0);
    let res = app
        .browser
        .post(app.url("/account/mfa/totp/confirm"))
        .form(&[("csrf", hidden(&html, "csrf")), ("code", code)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let codes = recovery_codes(&res.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Drive a sign-in in `browser` from `start`: the password, then `code` on the second-factor
/// page (whatever it returns decides), then consent. Returns the final redirect to the client,
/// or the second-factor page's status and HTML when a code was refused.
pub async fn sign_in_with(
    app: &TestApp,
    browser: &Client,
    start: Url,
    code: &mut dyn FnMut(&str) -> String,
) -> Result<Url, (u16, String)> {
    let mut next = start;
    for _ in 0..12 {
        if !next.as_str().starts_with(&app.address) {
            return Ok(next);
        }
        let res = browser.get(next.clone()).send().await.unwrap();
        if res.status() == 303 {
            next = location(&res);
            continue;
        }
        assert_eq!(res.status(), 200, "unexpected page at {next}");
        let html = res.text().await.unwrap();
        let (path, form) = match next.path() {
            "/login" => (
                "/login",
                vec![
                    ("req", hidden(&html, "req")),
                    ("csrf", hidden(&html, "csrf")),
                    ("email", EMAIL.into()),
                    ("password", PASSWORD.into()),
                ],
            ),
            "/mfa" => (
                "/mfa",
                vec![
                    ("req", hidden(&html, "req")),
                    ("csrf", hidden(&html, "csrf")),
                    ("code", code(&html)),
                ],
            ),
            "/consent" => (
                "/consent",
                vec![
                    ("req", hidden(&html, "req")),
                    ("csrf", hidden(&html, "csrf")),
                    ("decision", "allow".into()),
                ],
            ),
            other => panic!("unexpected page {other}:\n{html}"),
        };
        let res = browser
            .post(app.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            303 => next = location(&res),
            200 if path == "/mfa" => {
                // A page after a code (recovery codes, or codes left): press Continue.
                let html = res.text().await.unwrap();
                let res = browser
                    .post(app.url("/mfa/continue"))
                    .form(&[
                        ("req", hidden(&html, "req")),
                        ("csrf", hidden(&html, "csrf")),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 303);
                next = location(&res);
            }
            s => return Err((s, res.text().await.unwrap())),
        }
    }
    panic!("too many steps");
}

pub async fn id_token_claims(
    app: &TestApp,
    back: &Url,
) -> serde_json::Map<String, serde_json::Value> {
    let code = query(back, "code").unwrap_or_else(|| panic!("no code in {back}"));
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    app.verify_jwt(body["id_token"].as_str().unwrap()).await.0
}

pub fn webapp<'a>(app: &TestApp, extra: Vec<(&'a str, &'a str)>) -> Url {
    app.authorize_url(&AuthorizeParams {
        extra,
        ..AuthorizeParams::new("webapp", "openid email")
    })
}

/// The second-factor page a browser is at, after a password sign-in from a new request.
pub async fn login_page_at_mfa(app: &TestApp, browser: &Client) -> (Url, String) {
    let mut next = webapp(app, vec![]);
    loop {
        let res = browser.get(next.clone()).send().await.unwrap();
        if res.status() == 303 {
            next = location(&res);
            continue;
        }
        let html = res.text().await.unwrap();
        if next.path() == "/mfa" {
            return (next, html);
        }
        assert_eq!(next.path(), "/login");
        let res = app.submit_login(browser, &html, EMAIL, PASSWORD).await;
        assert_eq!(res.status(), 303);
        next = location(&res);
    }
}

pub fn account(app: &TestApp) -> ostiary::protocol::ids::AccountId {
    ostiary::protocol::ids::AccountId::new(app.account_id.clone())
}
