//! The configuration file: the issue's example works exactly as written; typos are errors.

use ostiary::config::{Settings, Severity};
use ostiary::startup::check_config as validate;

const EXAMPLE: &str = r#"
issuer = "http://127.0.0.1:18080"

[server]
bind = "127.0.0.1:18080"

[database]
url = "sqlite://data/ostiary.db?mode=rwc"

[[clients]]
client_id = "webapp"
client_name = "Web app"
client_secret = "webapp-secret-0123456789abcdef"
redirect_uris = ["http://127.0.0.1:4201/cb"]
post_logout_redirect_uris = ["http://127.0.0.1:4201/cb"]
grant_types = ["authorization_code", "refresh_token"]
response_types = ["code"]
scope = "openid profile email offline_access"
token_endpoint_auth_method = "client_secret_basic"

[[clients]]
client_id = "spa"
client_name = "Single-page app"
redirect_uris = ["http://127.0.0.1:4201/cb"]
grant_types = ["authorization_code", "refresh_token"]
response_types = ["code"]
scope = "openid profile email offline_access"
token_endpoint_auth_method = "none"

[[clients]]
client_id = "reports-service"
client_name = "Reports service"
client_secret = "reports-secret-0123456789abcdef0123"
grant_types = ["client_credentials"]
scope = "api"
token_endpoint_auth_method = "client_secret_basic"
"#;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn the_example_configuration_from_the_documentation_is_valid() {
    let s = Settings::parse(
        std::path::Path::new("example.toml"),
        EXAMPLE,
        std::iter::empty(),
    )
    .unwrap();
    let problems = validate(&s, &no_env);
    assert!(
        problems.iter().all(|p| p.severity == Severity::Warning),
        "{problems:?}"
    );
    assert_eq!(s.clients.len(), 3);
}

#[test]
fn the_shipped_configurations_are_valid() {
    for file in ["../config/dev.toml", "../config/ostiary.example.toml"] {
        let s =
            Settings::load(std::path::Path::new(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let problems = validate(&s, &|k: &str| {
            (k == "WEBAPP_CLIENT_SECRET").then(|| "from-the-environment-0123456789".to_owned())
        });
        assert!(
            problems.iter().all(|p| p.severity == Severity::Warning),
            "{file}: {problems:?}"
        );
    }
}

#[test]
fn check_config_reports_every_problem_with_its_key() {
    let broken = EXAMPLE.replace("redirect_uris = [\"http://127.0.0.1:4201/cb\"]\ngrant_types = [\"authorization_code\", \"refresh_token\"]\nresponse_types = [\"code\"]\nscope = \"openid profile email offline_access\"\ntoken_endpoint_auth_method = \"none\"", "redirect_uris = [\"http://evil.example/cb#frag\"]\ngrant_types = [\"authorization_code\", \"client_credentials\"]\ntoken_endpoint_auth_method = \"none\"")
        .replace("issuer = \"http://127.0.0.1:18080\"", "issuer = \"http://example.com\"");
    let s = Settings::parse(std::path::Path::new("x.toml"), &broken, std::iter::empty()).unwrap();
    let errors: Vec<String> = validate(&s, &no_env)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.key)
        .collect();
    assert!(errors.contains(&"issuer".to_owned()), "{errors:?}");
    assert!(
        errors.iter().any(|k| k == "clients[1].redirect_uris[0]"),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|k| k == "clients[1].grant_types"),
        "{errors:?}"
    );
}

#[test]
fn a_garbage_collector_that_never_runs_is_refused_with_its_key() {
    let text =
        format!("{EXAMPLE}\n").replacen("[database]\n", "[database]\ngc_interval_seconds = 0\n", 1);
    let s = Settings::parse(std::path::Path::new("x.toml"), &text, std::iter::empty()).unwrap();
    let errors: Vec<String> = validate(&s, &no_env)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.key)
        .collect();
    assert_eq!(errors, ["database.gc_interval_seconds"]);
}

#[test]
fn a_misspelled_key_inside_a_client_is_an_error() {
    let typo = EXAMPLE.replace("client_name = \"Web app\"", "client_nmae = \"Web app\"");
    let Err(err) = Settings::parse(std::path::Path::new("x.toml"), &typo, std::iter::empty())
    else {
        panic!("a typo is an error")
    };
    assert!(
        err.to_string().contains("clients[0]") && err.to_string().contains("client_nmae"),
        "{err}"
    );
}

fn upstream_errors(extra_toml: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let text = format!("{EXAMPLE}\n{extra_toml}");
    let s = Settings::parse(std::path::Path::new("x.toml"), &text, std::iter::empty()).unwrap();
    validate(&s, env)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect()
}

#[test]
fn check_config_validates_each_upstream_with_the_key_it_concerns() {
    let dir = std::env::temp_dir().join(format!("ostiary-cfg-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad_key = dir.join("bad.p8");
    std::fs::write(
        &bad_key,
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let errors = upstream_errors(
        &format!(
            r#"
[[upstreams]]
id = "corp"
kind = "oidc"
client_id = "c"
client_secret = "s"

[[upstreams]]
id = "apple"
kind = "apple"
client_id = "com.example.web"
team_id = "TEAM123456"
key_id = "KEY1234567"
private_key_file = "{}"

[[upstreams]]
id = "facebook"
kind = "facebook"
client_id = "123"
client_secret_env = "NO_SUCH_FACEBOOK_SECRET"
hosted_domains = ["example.com"]

[[upstreams]]
id = "Bad Id"
kind = "x"
client_id = "x"
client_secret = "s"
"#,
            bad_key.display()
        ),
        &no_env,
    );
    let has = |prefix: &str| errors.iter().any(|e| e.starts_with(prefix));
    assert!(has("upstreams[0].issuer"), "{errors:?}");
    assert!(has("upstreams[1].private_key_file"), "{errors:?}");
    assert!(has("upstreams[2].client_secret_env"), "{errors:?}");
    assert!(has("upstreams[2].hosted_domains"), "{errors:?}");
    assert!(has("upstreams[3].id"), "{errors:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn roles_from_an_upstream_need_an_allow_list_of_role_names_and_a_kind_that_can_carry_them() {
    let errors = upstream_errors(
        r#"
[[upstreams]]
id = "corp"
kind = "oidc"
issuer = "https://sso.example.com"
display_name = "Corp"
client_id = "c"
client_secret = "s"
roles_from_claim = "groups"

[[upstreams]]
id = "facebook"
kind = "facebook"
client_id = "123"
client_secret = "s"
roles_from_claim = "groups"
roles_allowed = ["admins"]

[[upstreams]]
id = "corp2"
kind = "oidc"
issuer = "https://sso2.example.com"
display_name = "Corp"
client_id = "c"
client_secret = "s"
roles_from_claim = "groups"
roles_allowed = ["not a role!"]

[[upstreams]]
id = "corp3"
kind = "oidc"
issuer = "https://sso3.example.com"
display_name = "Corp"
client_id = "c"
client_secret = "s"
roles_allowed = ["admins"]
"#,
        &no_env,
    );
    let has = |prefix: &str| errors.iter().any(|e| e.starts_with(prefix));
    assert!(has("upstreams[0].roles_allowed"), "{errors:?}");
    assert!(has("upstreams[1].roles_from_claim"), "{errors:?}");
    assert!(has("upstreams[2].roles_allowed"), "{errors:?}");
    assert!(has("upstreams[3].roles_allowed"), "{errors:?}");
    assert_eq!(errors.len(), 4, "{errors:?}");
}

#[test]
fn an_apple_key_that_parses_and_signs_passes_check_config() {
    let dir = std::env::temp_dir().join(format!("ostiary-cfg-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (private, _) = ostiary::tokens::client_assertion::generate_es256().unwrap();
    let key = dir.join("AuthKey_KEY1234567.p8");
    std::fs::write(&key, private).unwrap();
    let errors = upstream_errors(
        &format!(
            r#"
[[upstreams]]
id = "apple"
kind = "apple"
client_id = "com.example.web"
team_id = "TEAM123456"
key_id = "KEY1234567"
private_key_file = "{}"
"#,
            key.display()
        ),
        &no_env,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_misspelled_key_inside_an_upstream_is_an_error() {
    let text = format!(
        "{EXAMPLE}\n[[upstreams]]\nid = \"g\"\nkind = \"google\"\nclient_id = \"c\"\nclient_secert = \"s\"\n"
    );
    let Err(err) = Settings::parse(std::path::Path::new("x.toml"), &text, std::iter::empty())
    else {
        panic!("a typo is an error")
    };
    assert!(
        err.to_string().contains("upstreams[0]") && err.to_string().contains("client_secert"),
        "{err}"
    );
}

#[test]
fn fake_upstreams_are_refused_outside_a_development_config() {
    let text = EXAMPLE.replace(
        "issuer = \"http://127.0.0.1:18080\"",
        "issuer = \"https://id.example.com\"\n[dev]\nfake_upstreams = true",
    );
    let s = Settings::parse(std::path::Path::new("x.toml"), &text, std::iter::empty()).unwrap();
    let problems = validate(&s, &no_env);
    assert!(
        problems
            .iter()
            .any(|p| p.key == "dev.fake_upstreams" && p.severity == Severity::Error),
        "{problems:?}"
    );
}

#[test]
fn turning_passwords_off_without_any_upstream_is_an_error() {
    let errors = upstream_errors("[login]\npassword = false\n", &no_env);
    assert!(
        errors.iter().any(|e| e.starts_with("login.password")),
        "{errors:?}"
    );
}

#[test]
fn check_config_reports_the_client_rules_the_server_enforces_at_start() {
    let text = r#"
issuer = "https://id.example.com"
[database]
url = "sqlite://x.db"

[[clients]]
client_id = "spa"
redirect_uris = ["https://spa.example.com/cb"]
scope = "openid \"quoted\""
token_endpoint_auth_method = "none"
introspect_any_token = true
"#;
    let s = Settings::parse(std::path::Path::new("x.toml"), text, std::iter::empty()).unwrap();
    let errors: Vec<String> = validate(&s, &|_| None)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.key)
        .collect();
    assert!(
        errors.contains(&"clients[0].scope".to_owned()),
        "{errors:?}"
    );
    assert!(
        errors.contains(&"clients[0].introspect_any_token".to_owned()),
        "{errors:?}"
    );
    // The server refuses to start on the same rules.
    assert!(ostiary::clients::ClientRegistry::from_config(&s.clients, &|_| None).is_err());
}

#[test]
fn a_back_channel_logout_uri_must_be_https_and_belongs_to_a_client_that_signs_people_in() {
    let text = r#"
issuer = "https://id.example.com"
[database]
url = "sqlite://x.db"

[[clients]]
client_id = "web"
client_secret = "web-secret-0123456789abcdef0123456789"
redirect_uris = ["https://web.example.com/cb"]
backchannel_logout_uri = "http://web.example.com/logout"

[[clients]]
client_id = "svc"
client_secret = "svc-secret-0123456789abcdef0123456789"
grant_types = ["client_credentials"]
backchannel_logout_uri = "https://svc.example.com/logout"

[[clients]]
client_id = "other"
client_secret = "other-secret-0123456789abcdef012345678"
redirect_uris = ["https://other.example.com/cb"]
backchannel_logout_session_required = true

[[clients]]
client_id = "good"
client_secret = "good-secret-0123456789abcdef0123456789"
redirect_uris = ["https://good.example.com/cb"]
backchannel_logout_uri = "https://good.example.com/backchannel?tenant=1"
backchannel_logout_session_required = true
"#;
    let s = Settings::parse(std::path::Path::new("x.toml"), text, std::iter::empty()).unwrap();
    let errors: Vec<String> = validate(&s, &|_| None)
        .into_iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.key)
        .collect();
    assert_eq!(
        errors,
        [
            "clients[0].backchannel_logout_uri",
            "clients[1].backchannel_logout_uri",
            "clients[2].backchannel_logout_session_required",
        ],
    );
}
