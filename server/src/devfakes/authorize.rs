//! The fakes' authorization step: the page where the person picks who to be (or cancels), and
//! the answer to the relying party — a redirect with `code` and `state`, or Apple's form_post
//! page (`response_mode=form_post`).

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use std::collections::HashMap;
use url::Url;

use super::{FakeProviders, FakeUser, IssuedCode, Provider, json_error, lock};

/// The fake's sign-in page: pick who to be, continue or cancel.
#[derive(Template)]
#[template(path = "fake_provider.html")]
struct FakePage<'a> {
    provider: &'a str,
    action: &'a str,
    hidden: Vec<(String, String)>,
    private_relay: bool,
    default_email: &'a str,
}

/// After the person chose: the redirect back, or Apple's form_post page.
#[derive(Template)]
#[template(path = "fake_form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: Vec<(String, String)>,
}

fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// The user the fake page's form describes.
fn chosen_user(f: &HashMap<String, String>) -> FakeUser {
    let text = |k: &str| f.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let private_email = f.get("private_email").is_some_and(|v| v == "true");
    // Apple's "Hide my email" hands out a private-relay address instead of the real one.
    let email = match text("email") {
        Some(e) if private_email && !e.ends_with("@privaterelay.appleid.com") => Some(format!(
            "{}@privaterelay.appleid.com",
            &crate::tokens::opaque::hash(&e)[..10].to_lowercase()
        )),
        other => other,
    };
    FakeUser {
        sub: text("sub").unwrap_or_else(|| {
            format!(
                "{:x}",
                sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
                    email.clone().unwrap_or_default()
                ))
            )[..20]
                .to_owned()
        }),
        email_verified: email.is_some() && f.get("email_verified").is_some_and(|v| v == "true"),
        email,
        name: text("name"),
        private_email,
        amr: text("amr"),
        groups: text("groups"),
    }
}

/// Show the page, or (POST) act on the person's choice: redirect back with a code or an error.
pub(super) fn authorize_step(
    fakes: &FakeProviders,
    provider: Provider,
    method_post: bool,
    params: HashMap<String, String>,
    require_pkce: bool,
) -> HttpResponse {
    let get = |k: &str| params.get(k).cloned();
    let (Some(client_id), Some(redirect_uri)) = (get("client_id"), get("redirect_uri")) else {
        return json_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    if client_id != fakes.client_id {
        return json_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let Ok(mut back) = Url::parse(&redirect_uri) else {
        return json_error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let state = get("state").unwrap_or_default();
    let form_post = get("response_mode").as_deref() == Some("form_post");
    let challenge = get("code_challenge");
    if get("response_type").as_deref() != Some("code")
        || (require_pkce
            && (challenge.is_none() || get("code_challenge_method").as_deref() != Some("S256")))
    {
        back.query_pairs_mut()
            .append_pair("error", "invalid_request")
            .append_pair("state", &state);
        return HttpResponse::Found()
            .insert_header(("Location", back.as_str()))
            .finish();
    }
    if !method_post {
        let hidden = params
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "sub"
                        | "email"
                        | "name"
                        | "email_verified"
                        | "private_email"
                        | "amr"
                        | "groups"
                        | "action"
                )
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let action = fakes.url(provider, "");
        let path = Url::parse(&action)
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let action_path = match provider {
            Provider::Google | Provider::Apple => format!("{path}/authorize"),
            Provider::Facebook => format!("{path}/dialog/oauth"),
            Provider::X => format!("{path}/i/oauth2/authorize"),
        };
        return html(
            StatusCode::OK,
            &FakePage {
                provider: provider.label(),
                action: &action_path,
                hidden,
                private_relay: provider == Provider::Apple,
                default_email: "ada@example.com",
            },
        );
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    if get("action").as_deref() == Some("cancel") {
        pairs.push(("error".into(), "access_denied".into()));
        if provider == Provider::Facebook {
            pairs.push(("error_reason".into(), "user_denied".into()));
        }
    } else {
        let user = chosen_user(&params);
        let code = crate::tokens::opaque::random_token().expose().to_owned();
        let first_time = lock(&fakes.apple_seen).insert(user.sub.clone());
        if provider == Provider::Apple && first_time && user.name.is_some() {
            let name = user.name.clone().unwrap_or_default();
            let (first, last) = name.split_once(' ').unwrap_or((&name, ""));
            pairs.push((
                "user".into(),
                serde_json::json!({"name": {"firstName": first, "lastName": last}, "email": user.email})
                    .to_string(),
            ));
        }
        lock(&fakes.codes).insert(
            code.clone(),
            IssuedCode {
                provider,
                client_id,
                redirect_uri: redirect_uri.clone(),
                nonce: get("nonce"),
                code_challenge: challenge,
                scope: get("scope").unwrap_or_default(),
                user,
            },
        );
        pairs.insert(0, ("code".into(), code));
    }
    pairs.push(("state".into(), state));
    if form_post {
        return html(
            StatusCode::OK,
            &FormPostPage {
                action: &redirect_uri,
                fields: pairs,
            },
        );
    }
    back.query_pairs_mut().extend_pairs(pairs.iter());
    HttpResponse::Found()
        .insert_header(("Location", back.as_str()))
        .finish()
}
