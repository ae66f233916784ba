//! The garbage collector: expired rows go in batches, however many there are, and nothing
//! live goes with them.

use crate::helpers::*;
use crate::rows;
use ostiary::clock::Clock as _;
use ostiary::store::{FailureState, LOGIN_FAILURES_KEPT};

/// More than two of the collector's batches (500 rows each).
const EXPIRED: usize = 1201;

#[tokio::test]
async fn expired_codes_are_deleted_in_batches_while_a_live_code_still_redeems() {
    let app = spawn_app().await;
    let store = &app.app_state.store;
    let now = app.clock.now();
    for i in 0..EXPIRED {
        let grant = rows::grant(&app.account_id, &format!("old-grant-{i}"), now);
        let code = rows::code(&format!("old-code-{i}"), now);
        store
            .create_grant_with_code(&grant, &code, now)
            .await
            .unwrap();
    }
    // Past the codes' hour of reuse detection and the grants' lifetime.
    app.clock.advance(2 * 3600);
    let live = app
        .code_for(&AuthorizeParams {
            challenge: Some(CHALLENGE),
            ..AuthorizeParams::new("webapp", "openid")
        })
        .await;

    let removed = store.collect_garbage(app.clock.now()).await.unwrap().rows;
    assert!(
        removed >= 2 * EXPIRED as u64,
        "every expired code and grant removed, got {removed}"
    );
    assert!(store.code("old-code-0").await.unwrap().is_none());
    assert!(
        store
            .code(&format!("old-code-{}", EXPIRED - 1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.collect_garbage(app.clock.now()).await.unwrap().rows,
        0
    );

    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &live, Some(VERIFIER))
        .await;
    assert_eq!(res.status(), 200, "the live code still redeems");
}

#[tokio::test]
async fn login_failure_counters_are_deleted_a_day_after_their_window_started_and_not_before() {
    let app = spawn_app().await;
    let store = &app.app_state.store;
    let failed = |now: i64| {
        move |_: &FailureState| {
            let s = FailureState {
                failures: 3,
                window_start: now,
                lockouts: 1,
                locked_until: None,
            };
            (s, ())
        }
    };
    let start = app.clock.now();
    store
        .record_login_attempt("old-key", start, failed(start))
        .await
        .unwrap();
    app.clock.advance(LOGIN_FAILURES_KEPT - 10);
    let later = app.clock.now();
    store
        .record_login_attempt("recent-key", later, failed(later))
        .await
        .unwrap();
    store.collect_garbage(app.clock.now()).await.unwrap();
    assert_eq!(store.login_failures("old-key").await.unwrap().failures, 3);

    app.clock.advance(11);
    store.collect_garbage(app.clock.now()).await.unwrap();
    assert_eq!(
        store.login_failures("old-key").await.unwrap(),
        FailureState::default(),
        "a day old: spent"
    );
    assert_eq!(
        store.login_failures("recent-key").await.unwrap().failures,
        3
    );
}
