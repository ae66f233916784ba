//! Roles from an upstream: `[[upstreams]] roles_from_claim` names the claim (ID token for
//! OpenID Connect, a path in the profile for OAuth 2.0) whose values become the account's roles,
//! only those `roles_allowed` lists; synced at every sign-in through that upstream (added and
//! removed, each audited) without touching the roles an administrator gave.

use crate::federation_harness::*;
use crate::helpers::*;
use serde_json::{Value, json};

fn corp_sso(fakes: &Fakes) -> (&'static str, &'static str, Value) {
    (
        "corp",
        "oidc",
        json!({
            "issuer": format!("{}/google", fakes.base),
            "display_name": "Corp SSO",
            "roles_from_claim": "groups",
            "roles_allowed": ["admins", "reports:read"],
        }),
    )
}

fn member_of(groups: &str) -> Vec<(String, String)> {
    let mut who = person("corp-ada", Some("ada@corp.example"), true);
    who.push(("groups".into(), groups.into()));
    who
}

async fn app_with_roles_scope(fakes: &Fakes, entry: (&str, &str, Value)) -> TestApp {
    let upstream = fakes.upstream(entry.0, entry.1, entry.2);
    spawn_app_with(move |s| {
        s.upstreams.push(upstream);
        for c in &mut s.clients {
            if c.client_id == "webapp" {
                c.scope = Some("openid profile email offline_access roles".into());
            }
        }
    })
    .await
}

/// Sign in through `upstream` as `who` in a new browser, then ask for the `roles` scope: the
/// `roles` claim of the ID token (`None` if there is none).
async fn roles_after_sign_in(app: &TestApp, upstream: &str, who: &[(String, String)]) -> Value {
    let b = browser();
    federated_code(app, &b, upstream, who).await;
    let back = app
        .interact(
            &b,
            app.authorize_url(&AuthorizeParams::new("webapp", "openid roles")),
            "",
            "",
            Consent::Allow,
        )
        .await;
    let code = query(&back, "code").unwrap();
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let (claims, _) = app.verify_jwt(body["id_token"].as_str().unwrap()).await;
    claims.get("roles").cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_upstreams_groups_become_roles_where_allowed_and_follow_each_sign_in() {
    let fakes = start_fakes().await;
    let app = app_with_roles_scope(&fakes, corp_sso(&fakes)).await;
    let roles =
        roles_after_sign_in(&app, "corp", &member_of("engineering admins reports:read")).await;
    assert_eq!(
        roles,
        json!(["admins", "reports:read"]),
        "engineering is not allowed"
    );
    assert_eq!(app.audit("role_granted").await, 2);

    // An administrator's role stays whatever the upstream says.
    assert_eq!(
        ostiary_cli(
            &app,
            &[
                "users",
                "roles",
                "add",
                "--email",
                "ada@corp.example",
                "billing"
            ]
        )
        .await,
        0
    );
    let roles = roles_after_sign_in(&app, "corp", &member_of("admins")).await;
    assert_eq!(roles, json!(["admins", "billing"]));
    assert_eq!(app.audit("role_revoked").await, 1, "reports:read went");

    // No groups at all: every role from the upstream goes.
    let roles = roles_after_sign_in(
        &app,
        "corp",
        &person("corp-ada", Some("ada@corp.example"), true),
    )
    .await;
    assert_eq!(roles, json!(["billing"]));
    assert_eq!(app.audit("role_revoked").await, 2);
}

#[tokio::test]
async fn a_role_an_administrator_gave_is_not_taken_away_by_the_upstream() {
    let fakes = start_fakes().await;
    let app = app_with_roles_scope(&fakes, corp_sso(&fakes)).await;
    roles_after_sign_in(&app, "corp", &member_of("engineering")).await;
    assert_eq!(
        ostiary_cli(
            &app,
            &[
                "users",
                "roles",
                "add",
                "--email",
                "ada@corp.example",
                "admins"
            ]
        )
        .await,
        0
    );
    // The upstream lists it too, then stops listing it: the administrator's grant holds.
    roles_after_sign_in(&app, "corp", &member_of("admins")).await;
    let roles = roles_after_sign_in(&app, "corp", &member_of("engineering")).await;
    assert_eq!(roles, json!(["admins"]));
}

#[tokio::test]
async fn an_oauth2_upstream_gives_roles_from_a_path_in_its_profile() {
    let fakes = start_fakes().await;
    let entry = (
        "corp",
        "oauth2",
        json!({
            "display_name": "Corp SSO",
            "scopes": ["users.read"],
            "claims": {"subject": "data.id", "name": "data.name"},
            "roles_from_claim": "data.groups",
            "roles_allowed": ["reports:read"],
        }),
    );
    let app = app_with_roles_scope(&fakes, entry).await;
    let roles = roles_after_sign_in(&app, "corp", &member_of("reports:read admins")).await;
    assert_eq!(roles, json!(["reports:read"]));
}

#[tokio::test]
async fn an_upstream_without_roles_from_claim_gives_no_roles_whatever_it_sends() {
    let fakes = start_fakes().await;
    let (id, kind, mut extra) = corp_sso(&fakes);
    let m = extra.as_object_mut().unwrap();
    m.remove("roles_from_claim");
    m.remove("roles_allowed");
    let app = app_with_roles_scope(&fakes, (id, kind, extra)).await;
    let roles = roles_after_sign_in(&app, "corp", &member_of("admins")).await;
    assert_eq!(roles, json!([]));
    assert_eq!(app.audit("role_granted").await, 0);
}
