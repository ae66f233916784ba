//! Second factors over HTTP: TOTP enrolment on /account with codes computed here from the
//! secret the page shows (skew, replay, lockout), recovery codes, MFA policy (per client, for
//! everyone, with enrolment on the way), `acr_values` step-up and `prompt=none`, the admin
//! commands, and an RP checking `amr` and `acr` in the ID token verified from the JWKS.

use crate::helpers::*;
use crate::mfa_harness::*;
use ostiary::clock::Clock;

#[tokio::test]
async fn an_account_with_an_authenticator_is_asked_for_a_code_after_its_password_and_the_id_token_says_so()
 {
    let app = spawn_app().await;
    let (secret, _) = enrol(&app).await;
    app.clock.advance(60);
    let browser = browser();
    let back = sign_in_with(&app, &browser, webapp(&app, vec![]), &mut |_| {
        totp_code(&app, &secret, 0)
    })
    .await
    .expect("signed in with the code");
    let claims = id_token_claims(&app, &back).await;
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(amr, ["pwd", "otp", "mfa"]);
    assert_eq!(claims["acr"], MFA_ACR);
    assert_eq!(app.audit("second_factor_succeeded").await, 1);
    assert_eq!(app.audit("factor_added").await, 1);
    let discovery: serde_json::Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        discovery["acr_values_supported"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(MFA_ACR))
    );
}

#[tokio::test]
async fn a_code_counts_within_one_step_of_skew_and_only_once() {
    let app = spawn_app().await;
    let (secret, _) = enrol(&app).await;
    app.clock.advance(120);
    // The previous step's code (a slow phone) is accepted.
    let previous = totp_code(&app, &secret, -1);
    let used = previous.clone();
    sign_in_with(&app, &browser(), webapp(&app, vec![]), &mut |_| {
        used.clone()
    })
    .await
    .expect("one step behind is accepted");
    // The same code again, in another browser: refused as a replay.
    let (status, html) = sign_in_with(&app, &browser(), webapp(&app, vec![]), &mut |_| {
        previous.clone()
    })
    .await
    .expect_err("a used code is refused");
    assert_eq!(status, 422);
    assert!(html.contains("used already"), "{html}");
    // Two steps ahead is outside the skew.
    let (status, _) = sign_in_with(&app, &browser(), webapp(&app, vec![]), &mut |_| {
        totp_code(&app, &secret, 2)
    })
    .await
    .expect_err("two steps ahead is refused");
    assert_eq!(status, 422);
    assert_eq!(app.audit("second_factor_failed").await, 2);
    // No session was started by the refused attempts: the account page is closed to them.
}

#[tokio::test]
async fn wrong_codes_lock_the_second_factor_even_against_the_right_code() {
    let app = spawn_app_with(|s| {
        s.login.lockout_threshold = 3;
    })
    .await;
    let (secret, _) = enrol(&app).await;
    app.clock.advance(60);
    let browser = browser();
    let result = sign_in_with(&app, &browser, webapp(&app, vec![]), &mut |_| {
        "000000".into()
    })
    .await;
    assert_eq!(result.expect_err("wrong code").0, 422);
    // Two more wrong codes on the same page lock it; then even the right code is refused.
    let (_, html) = login_page_at_mfa(&app, &browser).await;
    for code in [
        "111111".to_owned(),
        "222222".to_owned(),
        totp_code(&app, &secret, 0),
    ] {
        let res = browser
            .post(app.url("/mfa"))
            .form(&[
                ("req", hidden(&html, "req")),
                ("csrf", hidden(&html, "csrf")),
                ("code", code),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let body = res.text().await.unwrap();
        if body.contains("Too many wrong codes") {
            assert_eq!(app.audit("second_factor_locked").await, 1);
            return;
        }
    }
    panic!("the right code was accepted after the lockout");
}

#[tokio::test]
async fn a_recovery_code_works_once_and_new_codes_replace_the_old_set() {
    let app = spawn_app().await;
    let (secret, codes) = enrol(&app).await;
    let first = codes[0].clone();
    let used = first.clone();
    sign_in_with(&app, &browser(), webapp(&app, vec![]), &mut |_| {
        used.clone()
    })
    .await
    .expect("a recovery code signs in");
    assert_eq!(app.audit("recovery_code_used").await, 1);
    let again = first.clone();
    let err = sign_in_with(&app, &browser(), webapp(&app, vec![]), &mut |_| {
        again.clone()
    })
    .await
    .expect_err("a used recovery code is refused");
    assert_eq!(err.0, 422);
    // New codes on the account page, after a fresh code of the app.
    app.clock.advance(60);
    let csrf = account_csrf(&app.browser, &app).await;
    let res = app
        .browser
        .post(app.url("/account/mfa/recovery"))
        .form(&[("csrf", csrf), ("mfa_code", totp_code(&app, &secret, 0))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let fresh = recovery_codes(&res.text().await.unwrap());
    assert_eq!(fresh.len(), 10);
    let old = codes[1].clone();
    let err = sign_in_with(&app, &browser(), webapp(&app, vec![]), &mut |_| old.clone())
        .await
        .expect_err("the old set no longer works");
    assert_eq!(err.0, 422);
    let new = fresh[0].clone();
    sign_in_with(&app, &browser(), webapp(&app, vec![]), &mut |_| new.clone())
        .await
        .expect("a new code works");
    assert_eq!(app.audit("recovery_codes_regenerated").await, 1);
}

#[tokio::test]
async fn a_client_that_requires_mfa_leads_a_person_without_a_factor_through_enrolment() {
    let app = spawn_app_with(|s| {
        for c in &mut s.clients {
            if c.client_id == "webapp" {
                c.require_mfa = true;
            }
        }
    })
    .await;
    let mut secret = None;
    let back = sign_in_with(&app, &app.browser, webapp(&app, vec![]), &mut |html| {
        // The enrolment form shows the secret; its first code turns it on.
        let s = between(html, "id=\"totp-secret\">", "<")
            .expect("enrolment is shown")
            .to_owned();
        let code = totp_code(&app, &s, 0);
        secret = Some(s);
        code
    })
    .await
    .expect("enrolled and signed in");
    let claims = id_token_claims(&app, &back).await;
    assert_eq!(claims["acr"], MFA_ACR);
    assert!(secret.is_some());
    assert_eq!(app.audit("factor_added").await, 1);
    // Another client that does not require it still asks: the account has a factor now.
    app.clock.advance(60);
    let secret = secret.unwrap();
    let spa = app.authorize_url(&AuthorizeParams {
        challenge: Some(CHALLENGE),
        ..AuthorizeParams::new("first-party", "openid")
    });
    sign_in_with(&app, &browser(), spa, &mut |html| {
        assert!(html.contains("Enter a code"), "{html}");
        totp_code(&app, &secret, 0)
    })
    .await
    .expect("asked for a code");
}

#[tokio::test]
async fn acr_values_step_up_a_password_session_and_prompt_none_answers_interaction_required() {
    let app = spawn_app().await;
    // A password-only session (enrolment happens after it; the session keeps its one factor).
    let (secret, _) = enrol(&app).await;
    let with_acr = |extra: Vec<(&'static str, &'static str)>| {
        let mut e = vec![("acr_values", MFA_ACR)];
        e.extend(extra);
        webapp(&app, e)
    };
    let res = app
        .browser
        .get(with_acr(vec![("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let back = location(&res);
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("interaction_required")
    );
    // Without prompt=none: straight to the code (no password again), then a code for the app.
    app.clock.advance(60);
    let res = app.browser.get(with_acr(vec![])).send().await.unwrap();
    assert_eq!(location(&res).path(), "/mfa");
    let back = sign_in_with(&app, &app.browser, with_acr(vec![]), &mut |_| {
        totp_code(&app, &secret, 0)
    })
    .await
    .expect("stepped up");
    let claims = id_token_claims(&app, &back).await;
    assert_eq!(claims["acr"], MFA_ACR);
    // The stepped-up session now satisfies the same request without a page.
    let res = app
        .browser
        .get(with_acr(vec![("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert!(query(&location(&res), "code").is_some());
}

#[tokio::test]
async fn turning_the_factor_off_needs_a_fresh_code_and_is_refused_while_mfa_is_required() {
    let app = spawn_app().await;
    let (secret, _) = enrol(&app).await;
    app.clock.advance(60);
    let csrf = account_csrf(&app.browser, &app).await;
    let res = app
        .browser
        .post(app.url("/account/mfa/remove"))
        .form(&[("csrf", csrf.as_str()), ("mfa_code", "123456")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(
        app.app_state
            .store
            .factor_summary(&account(&app))
            .await
            .unwrap()
            .any()
    );
    let res = app
        .browser
        .post(app.url("/account/mfa/remove"))
        .form(&[("csrf", csrf), ("mfa_code", totp_code(&app, &secret, 0))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        !app.app_state
            .store
            .factor_summary(&account(&app))
            .await
            .unwrap()
            .any()
    );
    assert_eq!(app.audit("factor_removed").await, 1);

    // With `[mfa] required` the next sign-in enrols again, and the factor cannot be removed.
    let strict = restart(&app, |s| s.mfa.required = true).await;
    let mut secret = String::new();
    sign_in_with(
        &strict,
        &strict.browser,
        webapp(&strict, vec![]),
        &mut |html| {
            secret = between(html, "id=\"totp-secret\">", "<")
                .expect("enrolment is required")
                .to_owned();
            totp_code(&strict, &secret, 0)
        },
    )
    .await
    .expect("enrolled on the way");
    strict.clock.advance(60);
    let csrf = account_csrf(&strict.browser, &strict).await;
    let res = strict
        .browser
        .post(strict.url("/account/mfa/remove"))
        .form(&[("csrf", csrf), ("mfa_code", totp_code(&strict, &secret, 0))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    assert!(
        strict
            .app_state
            .store
            .factor_summary(&account(&strict))
            .await
            .unwrap()
            .any()
    );
}

#[tokio::test]
async fn a_second_factor_step_from_another_browser_or_a_forged_form_writes_nothing() {
    let app = spawn_app().await;
    enrol(&app).await;
    let browser = browser();
    let (url, html) = login_page_at_mfa(&app, &browser).await;
    // Another browser following the same link is sent to the login page.
    let res = self::browser().get(url).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res).path(), "/login");
    // A form without its CSRF token is refused without counting a failure.
    let res = browser
        .post(app.url("/mfa"))
        .form(&[("req", hidden(&html, "req")), ("code", "123456".into())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // Garbage codes are a refused code, not an error.
    for junk in ["", "12345678901234567890", "abc-def", "\u{0}\u{1}"] {
        let res = browser
            .post(app.url("/mfa"))
            .form(&[
                ("req", hidden(&html, "req")),
                ("csrf", hidden(&html, "csrf")),
                ("code", junk.into()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "{junk:?}");
    }
    assert_eq!(app.audit("second_factor_succeeded").await, 0);
}

#[tokio::test]
async fn users_mfa_lists_the_factors_and_reset_removes_them_and_ends_every_session() {
    let app = spawn_app().await;
    enrol(&app).await;
    let run = |args: &'static [&'static str]| ostiary_cli(&app, args);
    assert_eq!(run(&["users", "mfa", "--email", EMAIL]).await, 0);
    assert_eq!(
        run(&["users", "mfa", "--email", "nobody@example.com"]).await,
        1
    );
    assert_eq!(run(&["users", "mfa", "reset", "--email", EMAIL]).await, 0);
    assert!(
        !app.app_state
            .store
            .factor_summary(&account(&app))
            .await
            .unwrap()
            .any()
    );
    assert_eq!(app.audit("factors_reset").await, 1);
    // The browser that was signed in is not any more; the next sign-in needs only the password.
    let res = app.browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let back = app
        .interact(
            &browser(),
            webapp(&app, vec![]),
            EMAIL,
            PASSWORD,
            Consent::Allow,
        )
        .await;
    assert!(query(&back, "code").is_some());
}

#[tokio::test]
async fn an_essential_acr_in_the_claims_parameter_asks_for_mfa_and_an_unknown_one_is_unmet() {
    let app = spawn_app().await;
    enrol(&app).await;
    let essential =
        |acr: &str| format!(r#"{{"id_token":{{"acr":{{"essential":true,"values":["{acr}"]}}}}}}"#);
    let mfa = essential(MFA_ACR);
    let res = app
        .browser
        .get(webapp(&app, vec![("claims", &mfa), ("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&res), "error").as_deref(),
        Some("interaction_required")
    );
    let unknown = essential("urn:example:gold");
    let res = app
        .browser
        .get(webapp(&app, vec![("claims", &unknown)]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&res), "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    let res = app
        .browser
        .get(webapp(&app, vec![("claims", "{not json")]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        query(&location(&res), "error").as_deref(),
        Some("invalid_request")
    );
}

#[tokio::test]
async fn max_age_zero_asks_for_the_password_and_the_code_again() {
    let app = spawn_app().await;
    let (secret, _) = enrol(&app).await;
    app.clock.advance(60);
    // The enrolling browser is signed in; max_age=0 still wants every factor, now.
    let mut asked = 0;
    let back = sign_in_with(
        &app,
        &app.browser,
        webapp(&app, vec![("max_age", "0")]),
        &mut |_| {
            asked += 1;
            totp_code(&app, &secret, 0)
        },
    )
    .await
    .expect("signed in again");
    assert_eq!(asked, 1, "the code was asked");
    let claims = id_token_claims(&app, &back).await;
    assert_eq!(claims["auth_time"], app.clock.now());
    assert_eq!(claims["acr"], MFA_ACR);
}
