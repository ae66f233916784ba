//! Fake upstream providers for the federation tests, started on their own port (the same fakes
//! the offline dev mode serves), `[[upstreams]]` entries that point at them, and a driver that
//! presses a "Continue with …" button and plays the person at the fake provider.

use crate::helpers::*;
use ostiary::config::UpstreamConfig;
use ostiary::devfakes::FakeProviders;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::sync::Arc;
use url::Url;

pub struct Fakes {
    pub providers: Arc<FakeProviders>,
    pub base: String,
    pub dir: std::path::PathBuf,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Fakes {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn start_fakes() -> Fakes {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let providers = FakeProviders::new(&base, Arc::new(ostiary::clock::SystemClock)).unwrap();
    let handle = ostiary::devfakes::spawn(listener, providers.clone()).unwrap();
    let dir = std::env::temp_dir().join(format!("ostiary-fakes-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("AuthKey_FAKE.p8"), &providers.apple_private_pem).unwrap();
    Fakes {
        providers,
        base,
        dir,
        handle,
    }
}

impl Fakes {
    /// An `[[upstreams]]` entry of `kind` pointing at the fakes, with `extra` keys on top.
    pub fn upstream(&self, id: &str, kind: &str, extra: Value) -> UpstreamConfig {
        let p = &self.providers;
        let mut v = json!({
            "id": id,
            "kind": kind,
            "client_id": p.client_id,
            "client_secret": p.client_secret,
            "timeout_seconds": 5,
        });
        let m = v.as_object_mut().unwrap();
        let b = &self.base;
        match kind {
            "google" => {
                m.insert("issuer".into(), json!(format!("{b}/google")));
            }
            "apple" => {
                m.remove("client_secret");
                m.insert("issuer".into(), json!(format!("{b}/apple")));
                m.insert("team_id".into(), json!(p.apple_team_id));
                m.insert("key_id".into(), json!(p.apple_key_id));
                m.insert(
                    "private_key_file".into(),
                    json!(self.dir.join("AuthKey_FAKE.p8")),
                );
            }
            "facebook" => {
                m.insert(
                    "authorization_endpoint".into(),
                    json!(format!("{b}/facebook/dialog/oauth")),
                );
                m.insert(
                    "token_endpoint".into(),
                    json!(format!("{b}/facebook/oauth/access_token")),
                );
                m.insert(
                    "userinfo_endpoint".into(),
                    json!(format!("{b}/facebook/me")),
                );
            }
            "x" | "oauth2" => {
                m.insert(
                    "authorization_endpoint".into(),
                    json!(format!("{b}/x/i/oauth2/authorize")),
                );
                m.insert(
                    "token_endpoint".into(),
                    json!(format!("{b}/x/2/oauth2/token")),
                );
                m.insert(
                    "userinfo_endpoint".into(),
                    json!(format!("{b}/x/2/users/me")),
                );
            }
            _ => {}
        }
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        serde_json::from_value(v).expect("a valid [[upstreams]] entry")
    }
}

/// Who the person says they are at the fake provider.
pub fn person(sub: &str, email: Option<&str>, verified: bool) -> Vec<(String, String)> {
    let mut f = vec![
        ("sub".to_owned(), sub.to_owned()),
        ("name".to_owned(), "Ada Lovelace".to_owned()),
        ("email".to_owned(), email.unwrap_or("").to_owned()),
    ];
    if verified {
        f.push(("email_verified".into(), "true".into()));
    }
    f
}

/// Start an authorization request as `webapp`: the login page it leads to, and its HTML.
pub async fn login_page(app: &TestApp, browser: &reqwest::Client) -> (Url, String) {
    let p = AuthorizeParams {
        challenge: Some(CHALLENGE),
        ..AuthorizeParams::new("webapp", "openid profile email")
    };
    let res = browser.get(app.authorize_url(&p)).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let login = location(&res);
    assert_eq!(login.path(), "/login");
    let res = browser.get(login.clone()).send().await.unwrap();
    (login, res.text().await.unwrap())
}

/// Start an authorization request as `webapp` and press the button of `upstream`: the upstream
/// authorization URL Ostiary redirects to.
pub async fn press_button(app: &TestApp, browser: &reqwest::Client, upstream: &str) -> Url {
    let (_, html) = login_page(app, browser).await;
    assert!(
        html.contains(&format!("value=\"{upstream}\"")),
        "no button for {upstream}:\n{html}"
    );
    let res = press_button_response(app, browser, upstream).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    location(&res)
}

/// Play the person at the fake provider (`allow` or `cancel`) and return the URL of Ostiary's
/// callback the browser lands on (for Apple, after submitting the form_post page).
pub async fn at_provider(
    app: &TestApp,
    browser: &reqwest::Client,
    authorize: &Url,
    who: &[(String, String)],
    action: &str,
) -> Url {
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.extend(who.iter().cloned());
    form.push(("action".into(), action.into()));
    let mut target = authorize.clone();
    target.set_query(None);
    let res = browser.post(target).form(&form).send().await.unwrap();
    if res.status() == 302 {
        return location(&res);
    }
    // Apple's response_mode=form_post: an HTML form that posts to our callback.
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let action_start = html.find("action=\"").unwrap() + 8;
    let action_url = &html[action_start..action_start + html[action_start..].find('"').unwrap()];
    let mut fields = vec![("state", hidden(&html, "state"))];
    for name in ["code", "user", "error"] {
        if html.contains(&format!("name=\"{name}\"")) {
            fields.push((name, unescape(&hidden(&html, name))));
        }
    }
    // The provider's page posts cross-site: no cookies of ours go with it.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(action_url)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    let next = location(&res);
    assert!(next.as_str().starts_with(&app.address));
    next
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x22;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A whole federated sign-in as `webapp` with consent: the code for the relying party.
pub async fn federated_code(
    app: &TestApp,
    browser: &reqwest::Client,
    upstream: &str,
    who: &[(String, String)],
) -> String {
    let authorize = press_button(app, browser, upstream).await;
    let callback = at_provider(app, browser, &authorize, who, "allow").await;
    let back = app
        .interact(browser, callback, "", "", Consent::Allow)
        .await;
    query(&back, "code").unwrap_or_else(|| panic!("no code in {back}"))
}

/// The ID token's claims after a federated sign-in, verified from the JWKS.
pub async fn federated_id_token(
    app: &TestApp,
    upstream: &str,
    who: &[(String, String)],
) -> serde_json::Map<String, Value> {
    let code = federated_code(app, &browser(), upstream, who).await;
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, Some(VERIFIER))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    app.verify_jwt(body["id_token"].as_str().unwrap()).await.0
}

/// Accounts in the store.
pub async fn account_count(app: &TestApp) -> usize {
    app.app_state.store.list_accounts().await.unwrap().len()
}

/// An Ostiary whose `[[upstreams]]` are these (id, kind, extra keys) entries on the fakes.
pub async fn app_with(fakes: &Fakes, entries: &[(&str, &str, Value)]) -> TestApp {
    let upstreams: Vec<_> = entries
        .iter()
        .map(|(id, kind, extra)| fakes.upstream(id, kind, extra.clone()))
        .collect();
    spawn_app_with(|s| s.upstreams.extend(upstreams)).await
}

/// Press the button, sign in at the fake as `who`, and return Ostiary's answer to the callback.
pub async fn callback_response(
    app: &TestApp,
    browser: &reqwest::Client,
    upstream: &str,
    who: &[(String, String)],
) -> reqwest::Response {
    let authorize = press_button(app, browser, upstream).await;
    let cb = at_provider(app, browser, &authorize, who, "allow").await;
    browser.get(cb).send().await.unwrap()
}

/// Press "Link …" on the account page (`page`), sign in at the fake as `who`, and return
/// Ostiary's answer to the callback.
pub async fn link_from_account_page(
    app: &TestApp,
    browser: &reqwest::Client,
    page: &str,
    upstream: &str,
    who: &[(String, String)],
) -> reqwest::Response {
    let res = browser
        .post(app.url("/account/link"))
        .form(&[
            ("csrf", hidden(page, "csrf")),
            ("upstream", upstream.to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cb = at_provider(app, browser, &location(&res), who, "allow").await;
    browser.get(cb).send().await.unwrap()
}

/// A second Ostiary as the `corp-idp` OpenID Connect upstream of a first one (it knows the
/// downstream as its client `webapp`, redirecting to the downstream's callback, and has the
/// test account); `extra` adds keys to the downstream's `[[upstreams]]` entry. Returns
/// (upstream, downstream).
pub async fn ostiary_behind_ostiary(extra: Value) -> (TestApp, TestApp) {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let callback = format!("http://127.0.0.1:{port}/upstream/corp-idp/callback");
    let upstream = spawn_app_with_redirect(&callback, |_| {}).await;
    let mut entry = json!({
        "id": "corp-idp",
        "kind": "oidc",
        "display_name": "Corp",
        "issuer": upstream.address,
        "client_id": "webapp",
        "client_secret": WEB_SECRET,
    });
    if let (Value::Object(e), Value::Object(x)) = (&mut entry, extra) {
        e.extend(x);
    }
    let app = spawn_app_on_port(port, move |s| {
        s.upstreams
            .push(serde_json::from_value(entry).expect("a valid [[upstreams]] entry"))
    })
    .await;
    (upstream, app)
}

/// Press the button of `upstream` on a new login page: Ostiary's answer, whatever it is.
pub async fn press_button_response(
    app: &TestApp,
    browser: &reqwest::Client,
    upstream: &str,
) -> reqwest::Response {
    let (_, html) = login_page(app, browser).await;
    browser
        .post(app.url("/login/upstream"))
        .form(&[
            ("req", hidden(&html, "req")),
            ("csrf", hidden(&html, "csrf")),
            ("upstream", upstream.to_owned()),
        ])
        .send()
        .await
        .unwrap()
}
