//! The configuration file: the issue's example works exactly as written; typos are errors.

use ostiary::config::{Settings, Severity, validate};

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
