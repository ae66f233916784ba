//! Two real headless Chromium browsers signed in to one account: the first sees both sessions
//! on /account and signs the second out from there; the second is signed out at once, the first
//! stays in.

use crate::browser::*;
use crate::helpers::*;
use fantoccini::Locator;

#[tokio::test]
async fn a_person_signed_in_on_two_browsers_signs_one_out_from_the_others_account_page() {
    if !browser_available() {
        return;
    }
    // Arrange: the app's callback, and two browsers with their own profiles, both signed in.
    let cb_port = callback_server().await;
    let redirect = format!("http://127.0.0.1:{cb_port}/cb");
    let app = spawn_app_with_redirect(&redirect, |_| {}).await;
    let (_driver_a, laptop) = chromium(app.dir.join("chromium-laptop")).await;
    let (_driver_b, phone) = chromium(app.dir.join("chromium-phone")).await;
    sign_in_and_allow(&laptop, &webapp_authorize(&app, &redirect, "laptop")).await;
    phone
        .goto(webapp_authorize(&app, &redirect, "phone").as_str())
        .await
        .unwrap();
    type_into(&phone, "email", EMAIL).await;
    type_into(&phone, "password", PASSWORD).await;
    let back = click_and_wait(&phone, "sign-in").await;
    assert_eq!(back.port(), Some(cb_port), "consent is remembered: {back}");

    // Act: on the laptop's account page, sign out the session that is not this browser.
    laptop.goto(&app.url("/account")).await.unwrap();
    let rows = laptop
        .find_all(Locator::Css("#sessions > li"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "both browsers are listed");
    let mut other = None;
    for (i, row) in rows.iter().enumerate() {
        let text = row.text().await.unwrap();
        assert!(text.contains("Chrome"), "the device is named: {text}");
        if !text.contains("(this browser)") {
            other = Some(i + 1);
        }
    }
    let other = other.expect("one row is the other browser");
    let after = click_and_wait(&laptop, &format!("end-session-{other}")).await;
    assert_eq!(after.path(), "/account");

    // Assert: the phone is signed out, the laptop is not, and one session is left.
    assert!(
        laptop
            .source()
            .await
            .unwrap()
            .contains("That browser is signed out.")
    );
    let left = laptop
        .find_all(Locator::Css("#sessions > li"))
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert!(left[0].text().await.unwrap().contains("(this browser)"));
    phone.goto(&app.url("/account")).await.unwrap();
    let page = phone.source().await.unwrap();
    assert!(page.contains("You are not signed in"), "{page}");
    laptop.close().await.unwrap();
    phone.close().await.unwrap();
}
