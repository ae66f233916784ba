//! An upstream's own second factor: it counts here only when the upstream is configured with
//! `trust_mfa` and its ID token says so (`amr` has `mfa`, or an `acr` listed in
//! `mfa_acr_values`); otherwise an account with a factor is asked for its code after the
//! upstream, as after a password.

use crate::federation_harness::*;
use crate::helpers::*;
use crate::mfa_harness::*;
use serde_json::json;

fn alice_at_the_upstream(amr: &str) -> Vec<(String, String)> {
    let mut who = person("g-alice", Some(EMAIL), true);
    who.push(("amr".into(), amr.into()));
    who
}

#[tokio::test]
async fn a_trusted_upstreams_mfa_counts_and_an_untrusted_ones_does_not() {
    let fakes = start_fakes().await;
    let app = app_with(
        &fakes,
        &[
            (
                "trusted",
                "google",
                json!({"trust_email": true, "trust_mfa": true}),
            ),
            ("plain", "google", json!({"trust_email": true})),
        ],
    )
    .await;
    enrol(&app).await;

    // Trusted, and the upstream says mfa: no code here, and the ID token says so.
    let claims = federated_id_token(&app, "trusted", &alice_at_the_upstream("pwd mfa")).await;
    assert_eq!(claims["amr"], json!(["fed", "mfa"]));
    assert_eq!(claims["acr"], MFA_ACR);

    // Trusted, but the upstream used one factor: the account's own code is asked.
    let browser = browser();
    let authorize = press_button(&app, &browser, "trusted").await;
    let cb = at_provider(
        &app,
        &browser,
        &authorize,
        &alice_at_the_upstream("pwd"),
        "allow",
    )
    .await;
    let res = browser.get(cb).send().await.unwrap();
    assert_eq!(location(&res).path(), "/mfa");

    // Not trusted for it: the upstream's word is not enough either.
    let browser = self::browser();
    let authorize = press_button(&app, &browser, "plain").await;
    let cb = at_provider(
        &app,
        &browser,
        &authorize,
        &alice_at_the_upstream("pwd mfa"),
        "allow",
    )
    .await;
    let res = browser.get(cb).send().await.unwrap();
    assert_eq!(location(&res).path(), "/mfa");
}
