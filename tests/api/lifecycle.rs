//! The server's life: a graceful stop (what SIGTERM and SIGINT do) lets every request in
//! flight finish with a complete answer, then refuses connections and ends cleanly; jobs that
//! one instance at a time must do are leased; the signing key rotates on schedule.

use crate::helpers::*;
use ostiary::clock::Clock;

/// A login page's form in a new browser, ready to post.
async fn login_form(app: &TestApp) -> (reqwest::Client, Vec<(&'static str, String)>) {
    let b = browser();
    let res = b
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    let html = page_text(&b, location(&res)).await;
    let form = vec![
        ("req", hidden(&html, "req")),
        ("csrf", hidden(&html, "csrf")),
        ("email", EMAIL.to_owned()),
        ("password", PASSWORD.to_owned()),
    ];
    (b, form)
}

#[tokio::test]
async fn a_graceful_stop_answers_every_request_in_flight_then_refuses_new_ones() {
    let mut app = spawn_app().await;
    let mut forms = Vec::new();
    for _ in 0..12 {
        forms.push(login_form(&app).await);
    }
    // Twelve password sign-ins at once: argon2id keeps them in flight for a while.
    let url = app.url("/login");
    let in_flight: Vec<_> = forms
        .into_iter()
        .map(|(b, form)| {
            let url = url.clone();
            tokio::spawn(async move {
                let res = b.post(url).form(&form).send().await?;
                let status = res.status().as_u16();
                let location = res.headers().get("location").cloned();
                res.bytes().await?;
                Ok::<_, reqwest::Error>((status, location))
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let stopping = app.server.stop(true);

    for answer in in_flight {
        let (status, location) = answer.await.unwrap().expect("a complete answer");
        assert_eq!(status, 303, "the sign-in finished");
        assert!(location.is_some());
    }
    stopping.await;
    let served = app.serving.take().unwrap().await.unwrap();
    assert!(served.is_ok(), "{served:?}");
    let after = app.http.get(app.url("/healthz")).send().await;
    assert!(after.is_err_and(|e| e.is_connect()), "no longer accepting");
}

#[tokio::test]
async fn a_job_lease_is_held_by_one_instance_until_it_runs_out_or_is_given_up() {
    let app = spawn_app().await;
    let store = &app.app_state.store;
    let now = app.clock.now();
    assert!(store.take_lease("gc", "a", now, now + 60).await.unwrap());
    assert!(
        !store
            .take_lease("gc", "b", now + 10, now + 70)
            .await
            .unwrap(),
        "a holds it"
    );
    assert!(
        store
            .take_lease("gc", "a", now + 10, now + 70)
            .await
            .unwrap(),
        "a renews"
    );
    assert!(
        store
            .take_lease("gc", "b", now + 70, now + 130)
            .await
            .unwrap(),
        "a's ran out"
    );
    store.release_lease("gc", "b", now + 80).await.unwrap();
    assert!(
        store
            .take_lease("gc", "a", now + 80, now + 140)
            .await
            .unwrap(),
        "b gave it up"
    );
    assert!(
        store
            .take_lease("key-rotation", "b", now + 80, now + 140)
            .await
            .unwrap(),
        "per job"
    );
}

#[tokio::test]
async fn the_job_lease_lets_one_instance_collect_garbage_at_a_time() {
    let apps = spawn_cluster(2, |_| {}).await;
    ostiary::jobs::gc_pass(&apps[0].app_state, "instance-a").await;
    let now = apps[1].clock.now();
    assert!(
        !apps[1]
            .app_state
            .store
            .take_lease("gc", "instance-b", now, now + 1)
            .await
            .unwrap(),
        "instance a holds the collection"
    );
}

#[tokio::test]
async fn the_signing_key_rotates_on_schedule_and_is_published_before_it_signs() {
    let app = spawn_app_with(|s| s.keys.rotate_after_days = 30).await;
    let state = &app.app_state;
    let first = state.keys.current().signing_kid().to_owned();
    // Not due yet: nothing happens.
    app.clock.advance(29 * 86_400);
    ostiary::jobs::keys_pass(state, "me").await;
    assert_eq!(state.store.signing_keys().await.unwrap().len(), 1);
    assert_eq!(app.audit("key_rotated").await, 0);
    // Due: the next key is published, the old one still signs.
    app.clock.advance(86_400 + 1);
    ostiary::jobs::keys_pass(state, "me").await;
    assert_eq!(app.audit("key_rotated").await, 1);
    let keys = state.store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(app.jwks().await.keys().len(), 2);
    assert_eq!(state.keys.current().signing_kid(), first);
    // Once more before it signs: no third key.
    ostiary::jobs::keys_pass(state, "me").await;
    assert_eq!(state.store.signing_keys().await.unwrap().len(), 2);
    // After the publication delay the new key signs.
    app.clock.advance(ostiary::keys::ROTATION_DELAY_SECONDS);
    ostiary::jobs::keys_pass(state, "me").await;
    assert_ne!(state.keys.current().signing_kid(), first);
    assert_eq!(app.audit("key_rotated").await, 1);
}

#[tokio::test]
async fn scheduled_rotation_off_never_rotates() {
    let app = spawn_app_with(|s| s.keys.rotate_after_days = 0).await;
    app.clock.advance(400 * 86_400);
    ostiary::jobs::keys_pass(&app.app_state, "me").await;
    assert_eq!(app.app_state.store.signing_keys().await.unwrap().len(), 1);
}
