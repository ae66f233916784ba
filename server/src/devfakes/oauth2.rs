//! Fake Facebook and X. Facebook: the login dialog, `oauth/access_token` with the secret in the
//! request, and Graph `/me?fields=…` that refuses a missing or wrong `appsecret_proof`. X: an
//! authorization page that refuses requests without an S256 PKCE challenge, a token endpoint
//! that requires HTTP Basic client authentication and the code verifier, and `/2/users/me`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::{
    FakeProviders, Provider, access_token, authorize_step, basic_credentials, bearer_token,
    bearer_user, form, json_error, maybe_slow, query, redeem,
};
use crate::upstream::facebook::appsecret_proof;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/facebook/dialog/oauth",
        web::get().to(|f: web::Data<FakeProviders>, r: HttpRequest| async move {
            authorize_step(
                &f,
                Provider::Facebook,
                false,
                query(r.query_string()),
                false,
            )
        }),
    )
    .route(
        "/facebook/dialog/oauth",
        web::post().to(|f: web::Data<FakeProviders>, b: web::Bytes| async move {
            authorize_step(&f, Provider::Facebook, true, form(&b), false)
        }),
    )
    .route(
        "/facebook/oauth/access_token",
        web::post().to(|f: web::Data<FakeProviders>, b: web::Bytes| async move {
            facebook_token(&f, &b).await
        }),
    )
    .route(
        "/facebook/me",
        web::get()
            .to(|f: web::Data<FakeProviders>, r: HttpRequest| async move { facebook_me(&f, &r) }),
    )
    .route(
        "/x/i/oauth2/authorize",
        web::get().to(|f: web::Data<FakeProviders>, r: HttpRequest| async move {
            authorize_step(&f, Provider::X, false, query(r.query_string()), true)
        }),
    )
    .route(
        "/x/i/oauth2/authorize",
        web::post().to(|f: web::Data<FakeProviders>, b: web::Bytes| async move {
            authorize_step(&f, Provider::X, true, form(&b), true)
        }),
    )
    .route(
        "/x/2/oauth2/token",
        web::post().to(
            |f: web::Data<FakeProviders>, r: HttpRequest, b: web::Bytes| async move {
                x_token(&f, &r, &b).await
            },
        ),
    )
    .route(
        "/x/2/users/me",
        web::get().to(|f: web::Data<FakeProviders>, r: HttpRequest| async move { x_me(&f, &r) }),
    );
}

fn graph_error(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({
        "error": {"message": message, "type": "OAuthException", "code": 100}
    }))
}

async fn facebook_token(f: &FakeProviders, body: &[u8]) -> HttpResponse {
    maybe_slow(f).await;
    let body = form(body);
    let client_id = body.get("client_id").cloned().unwrap_or_default();
    if client_id != f.client_id || body.get("client_secret") != Some(&f.client_secret) {
        return graph_error("Error validating client secret.");
    }
    match redeem(f, Provider::Facebook, &body, &client_id) {
        Ok(issued) => HttpResponse::Ok().json(json!({
            "access_token": access_token(f, Provider::Facebook, &issued),
            "token_type": "bearer",
            "expires_in": 5_183_944,
        })),
        Err(_) => graph_error("Invalid verification code format."),
    }
}

fn facebook_me(f: &FakeProviders, r: &HttpRequest) -> HttpResponse {
    let Some((user, scope)) = bearer_user(f, Provider::Facebook, r) else {
        return graph_error("Invalid OAuth access token.");
    };
    let token = bearer_token(r).unwrap_or_default();
    let q = query(r.query_string());
    if q.get("appsecret_proof") != Some(&appsecret_proof(&f.client_secret, &token)) {
        return graph_error("Invalid appsecret_proof provided in the API argument");
    }
    let fields = q.get("fields").cloned().unwrap_or_else(|| "id,name".into());
    let mut me = serde_json::Map::new();
    for field in fields.split(',') {
        match field {
            "id" => {
                me.insert("id".into(), json!(user.sub));
            }
            "name" => {
                if let Some(n) = &user.name {
                    me.insert("name".into(), json!(n));
                }
            }
            "email" if scope.split([' ', ',']).any(|s| s == "email") => {
                if let Some(e) = &user.email {
                    me.insert("email".into(), json!(e));
                }
            }
            "picture" => {
                me.insert(
                    "picture".into(),
                    json!({"data": {"height": 50, "width": 50, "is_silhouette": true, "url": f.url(Provider::Facebook, "/picture.png")}}),
                );
            }
            _ => {}
        }
    }
    HttpResponse::Ok().json(me)
}

async fn x_token(f: &FakeProviders, r: &HttpRequest, body: &[u8]) -> HttpResponse {
    maybe_slow(f).await;
    let body = form(body);
    // A confidential client must use HTTP Basic; X refuses credentials in the body.
    let Some((client_id, secret)) = basic_credentials(r) else {
        return json_error(StatusCode::UNAUTHORIZED, "unauthorized_client");
    };
    if client_id != f.client_id || secret != f.client_secret {
        return json_error(StatusCode::UNAUTHORIZED, "unauthorized_client");
    }
    if !body.contains_key("code_verifier") {
        return json_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    match redeem(f, Provider::X, &body, &client_id) {
        Ok(issued) => HttpResponse::Ok().json(json!({
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": access_token(f, Provider::X, &issued),
            "scope": issued.scope,
        })),
        Err(error) => json_error(StatusCode::BAD_REQUEST, error),
    }
}

fn x_me(f: &FakeProviders, r: &HttpRequest) -> HttpResponse {
    let Some((user, _)) = bearer_user(f, Provider::X, r) else {
        return HttpResponse::Unauthorized().json(json!({
            "title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"
        }));
    };
    let username = user
        .name
        .as_deref()
        .unwrap_or("someone")
        .to_lowercase()
        .replace(' ', "_");
    let mut data = json!({"id": user.sub, "name": user.name.clone().unwrap_or_else(|| username.clone()), "username": username});
    if let Some(groups) = &user.groups {
        data["groups"] = json!(groups.split(' ').collect::<Vec<_>>());
    }
    HttpResponse::Ok().json(json!({ "data": data }))
}
