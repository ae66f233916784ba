//! Recent security activity on /account: the last 30 days of sign-ins with device and IP (a
//! device not seen before marked new), failed and locked attempts made with the account's
//! email, and changes such as apps allowed and sessions ended; older records are not shown.

use crate::helpers::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn browser_as(user_agent: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap()
}

/// The activity list of the account page.
async fn activity(app: &TestApp, b: &reqwest::Client) -> Vec<String> {
    let html = page_text(b, app.url("/account")).await;
    let list = &html[html.find("id=\"activity\"").expect("an activity list")..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<li")
        .skip(1)
        .map(|li| {
            let mut text = String::new();
            let mut in_tag = false;
            for c in li.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

async fn wrong_password(app: &TestApp, email: &str) {
    let b = browser_as(FIREFOX);
    let res = b
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    let html = page_text(&b, location(&res)).await;
    let res = app.submit_login(&b, &html, email, "not the password").await;
    assert_eq!(res.status(), 401);
}

async fn sign_in(app: &TestApp, b: &reqwest::Client) {
    app.interact(
        b,
        app.authorize_url(&AuthorizeParams::new("webapp", "openid")),
        EMAIL,
        PASSWORD,
        Consent::Allow,
    )
    .await;
}

#[tokio::test]
async fn sign_ins_failed_attempts_and_a_new_device_are_shown_newest_first() {
    let app = spawn_app().await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    app.clock.advance(60);
    wrong_password(&app, EMAIL).await;
    wrong_password(&app, "someone-else@example.com").await;
    app.clock.advance(60);
    let firefox = browser_as(FIREFOX);
    sign_in(&app, &firefox).await;

    let lines = activity(&app, &firefox).await;
    assert!(
        lines[0].contains("Signed in to Web app")
            && lines[0].contains("(new device)")
            && lines[0].contains("Firefox on Linux from 127.0.0.1"),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("Failed sign-in: wrong password") && lines[1].contains("Firefox"),
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("Failed sign-in"))
            .count(),
        1,
        "another email's failure is not this account's: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("Allowed Web app")),
        "{lines:#?}"
    );
    let first = lines.last().unwrap();
    assert!(
        first.contains("Signed in to Web app") && !first.contains("new device"),
        "the first sign-in is no new device: {lines:#?}"
    );
}

#[tokio::test]
async fn a_lockout_and_an_ended_session_are_shown() {
    let app = spawn_app().await;
    for _ in 0..10 {
        wrong_password(&app, EMAIL).await;
    }
    app.clock.advance(3600);
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let lines = activity(&app, &app.browser).await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Sign-in locked after too many failed attempts")),
        "{lines:#?}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.contains("Failed sign-in"))
            .count(),
        10,
        "{lines:#?}"
    );
}

#[tokio::test]
async fn records_older_than_thirty_days_are_not_shown_but_their_devices_stay_known() {
    let app = spawn_app().await;
    let firefox = browser_as(FIREFOX);
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    sign_in(&app, &firefox).await;
    wrong_password(&app, EMAIL).await;
    app.clock.advance(31 * 24 * 3600);
    let again = browser_as(FIREFOX);
    sign_in(&app, &again).await;
    let lines = activity(&app, &again).await;
    assert_eq!(lines.len(), 1, "only the sign-in of today: {lines:#?}");
    assert!(lines[0].contains("Signed in to Web app"), "{lines:#?}");
    assert!(
        !lines[0].contains("new device"),
        "Firefox on Linux signed in before: {lines:#?}"
    );
}
