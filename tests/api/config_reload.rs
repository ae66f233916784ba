//! Config hot reload (what SIGHUP does): a good file is swapped in whole — a new client works at
//! once, a removed client's tokens stop working — while a file with any problem changes
//! nothing and says which keys are wrong; what only a restart can change is reported and kept.

use crate::helpers::*;
use ostiary::reload::{Reloaded, apply};

fn no_env(_: &str) -> Option<String> {
    None
}

fn running(app: &TestApp) -> ostiary::config::Settings {
    (*app.live.current().settings).clone()
}

#[tokio::test]
async fn a_reloaded_file_adds_a_client_at_once_and_a_removed_clients_tokens_stop_working() {
    let app = spawn_app().await;
    let tokens = app.webapp_tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access).await.status(), 200);

    let mut new = running(&app);
    let mut added = new.clients[0].clone();
    added.client_id = "newapp".into();
    added.client_name = Some("New app".into());
    new.clients.retain(|c| c.client_id != "webapp");
    new.clients.push(added);
    new.session.idle_timeout_seconds = 900;
    let outcome = apply(&app.live, new, &no_env).await;
    assert!(
        matches!(&outcome, Reloaded::Applied { needs_restart } if needs_restart.is_empty()),
        "{outcome:?}"
    );
    assert_eq!(app.audit("config_reloaded").await, 1);
    assert_eq!(
        app.live.current().settings.session.idle_timeout_seconds,
        900
    );

    // The new client signs people in at once; the removed one's tokens are dead.
    let res = app
        .browser
        .get(app.authorize_url(&AuthorizeParams::new("newapp", "openid")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        query(&location(&res), "error").is_none(),
        "{}",
        location(&res)
    );
    assert_eq!(app.userinfo(access).await.status(), 401);
    let res = app
        .browser
        .get(app.authorize_url(&AuthorizeParams::new("webapp", "openid")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        400,
        "an unknown client is refused on the page"
    );
    let discovery: serde_json::Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], app.address.as_str());
}

#[tokio::test]
async fn a_file_with_a_problem_changes_nothing_and_names_the_key() {
    let app = spawn_app_with(|s| s.metrics.bind = Some("127.0.0.1:0".into())).await;
    let mut new = running(&app);
    new.clients[0].redirect_uris = vec!["not a url".into()];
    new.session.idle_timeout_seconds = 900;
    let Reloaded::Refused(problems) = apply(&app.live, new, &no_env).await else {
        panic!("a bad redirect URI was accepted");
    };
    assert!(
        problems
            .iter()
            .any(|p| p.key.starts_with("clients[0].redirect_uris")),
        "{problems:?}"
    );
    assert_eq!(app.live.current().settings.session.idle_timeout_seconds, 0);
    assert_eq!(app.audit("config_reload_failed").await, 1);
    assert_eq!(app.audit("config_reloaded").await, 0);
    // The running configuration still serves.
    app.webapp_tokens().await;
    let metrics = app
        .http
        .get(app.metrics_url.as_deref().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"ostiary_config_reloads_total{outcome="refused"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn what_needs_a_restart_is_reported_and_keeps_its_running_value() {
    let app = spawn_app().await;
    let mut new = running(&app);
    let url = new.database.url.clone();
    new.database.url = "sqlite://elsewhere.db?mode=rwc".into();
    new.server.bind = "127.0.0.1:1".into();
    new.tokens.access_token_lifetime_seconds = 600;
    let Reloaded::Applied { needs_restart } = apply(&app.live, new, &no_env).await else {
        panic!("refused");
    };
    assert_eq!(needs_restart, ["server.bind", "database"]);
    let now = app.live.current();
    assert_eq!(now.settings.database.url, url, "not half-applied");
    assert_eq!(
        now.settings.tokens.access_token_lifetime_seconds, 600,
        "the rest applies"
    );
    let tokens = app.webapp_tokens().await;
    assert_eq!(tokens["expires_in"], 600);
}

#[tokio::test]
async fn a_missing_or_broken_file_is_refused() {
    let app = spawn_app().await;
    let outcome = ostiary::reload::from_file(&app.live, &app.dir.join("nope.toml")).await;
    assert!(matches!(outcome, Reloaded::Refused(_)), "{outcome:?}");
    let broken = app.dir.join("broken.toml");
    std::fs::write(&broken, "issuer = [").unwrap();
    let outcome = ostiary::reload::from_file(&app.live, &broken).await;
    assert!(matches!(outcome, Reloaded::Refused(_)), "{outcome:?}");
    assert_eq!(app.audit("config_reload_failed").await, 2);
}

#[tokio::test]
async fn a_reloaded_clients_web_origin_may_call_the_token_endpoint_at_once() {
    let app = spawn_app().await;
    let preflight = || {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/token"))
            .header("origin", "https://spa.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let before = preflight().await.unwrap();
    assert!(
        before
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let mut new = running(&app);
    let mut spa = new.clients[0].clone();
    spa.client_id = "new-spa".into();
    spa.redirect_uris = vec!["https://spa.example/callback".into()];
    new.clients.push(spa);
    let outcome = apply(&app.live, new, &no_env).await;
    assert!(matches!(outcome, Reloaded::Applied { .. }), "{outcome:?}");
    let after = preflight().await.unwrap();
    assert_eq!(
        after.headers()["access-control-allow-origin"],
        "https://spa.example"
    );
}

#[tokio::test]
async fn a_changed_mail_server_password_variable_is_reported_as_needing_a_restart() {
    let app = spawn_app().await;
    let mut new = running(&app);
    new.email.password_env = Some("OTHER_SMTP_PASSWORD".into());
    let Reloaded::Applied { needs_restart } = apply(&app.live, new, &no_env).await else {
        panic!("refused");
    };
    assert_eq!(needs_restart, ["email"]);
    assert_eq!(app.live.current().settings.email.password_env, None);
}
