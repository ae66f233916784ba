//! Fake Google and Apple: OpenID Connect discovery, JWKS, an authorization page, and a token
//! endpoint that returns RS256 ID tokens. Apple's token endpoint authenticates the client with
//! an ES256 JWT (checked against the key Ostiary signs with), answers with form_post when asked,
//! and sends string booleans (`email_verified`, `is_private_email`) as Apple does.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

use super::{
    FakeProviders, IssuedCode, Misbehaviour, Provider, access_token, authorize_step,
    basic_credentials, form, json_error, maybe_slow, query, redeem,
};
use crate::keys::KeyRing;
use crate::tokens::client_assertion::{MAX_LIFETIME, verify_es256};

pub fn configure(cfg: &mut web::ServiceConfig) {
    for p in [Provider::Google, Provider::Apple] {
        let base = format!("/{}", p.path());
        cfg.route(
            &format!("{base}/.well-known/openid-configuration"),
            web::get().to(move |f: web::Data<FakeProviders>| async move { discovery(&f, p) }),
        )
        .route(
            &format!("{base}/jwks"),
            web::get().to(|f: web::Data<FakeProviders>| async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(f.keys().jwks())
            }),
        )
        .route(
            &format!("{base}/authorize"),
            web::get().to(
                move |f: web::Data<FakeProviders>, r: HttpRequest| async move {
                    authorize_step(&f, p, false, query(r.query_string()), false)
                },
            ),
        )
        .route(
            &format!("{base}/authorize"),
            web::post().to(
                move |f: web::Data<FakeProviders>, b: web::Bytes| async move {
                    authorize_step(&f, p, true, form(&b), false)
                },
            ),
        )
        .route(
            &format!("{base}/token"),
            web::post().to(
                move |f: web::Data<FakeProviders>, r: HttpRequest, b: web::Bytes| async move {
                    token(&f, p, &r, &b).await
                },
            ),
        );
    }
}

fn discovery(f: &FakeProviders, p: Provider) -> HttpResponse {
    let auth_methods: &[&str] = match p {
        Provider::Apple => &["client_secret_post"],
        _ => &["client_secret_post", "client_secret_basic"],
    };
    HttpResponse::Ok().json(json!({
        "issuer": f.url(p, ""),
        "authorization_endpoint": f.url(p, "/authorize"),
        "token_endpoint": f.url(p, "/token"),
        "jwks_uri": f.url(p, "/jwks"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "name"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "claims_supported": ["aud", "email", "email_verified", "exp", "iat", "iss", "name", "sub", "nonce"],
        "code_challenge_methods_supported": ["S256"],
    }))
}

/// Apple's client secret: an ES256 JWT from the team, for this client, not too long-lived.
fn apple_client_ok(f: &FakeProviders, secret: &str) -> bool {
    let Ok((kid, claims)) = verify_es256(secret, &f.apple_public_pem) else {
        return false;
    };
    let now = f.now();
    let num = |k: &str| claims.get(k).and_then(Value::as_i64).unwrap_or(0);
    let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    kid.as_deref() == Some(f.apple_key_id.as_str())
        && text("iss") == f.apple_team_id
        && text("sub") == f.client_id
        && text("aud") == f.url(Provider::Apple, "")
        && num("iat") <= now + 60
        && num("exp") > now
        && num("exp") - num("iat") <= MAX_LIFETIME
}

async fn token(f: &FakeProviders, p: Provider, r: &HttpRequest, body: &[u8]) -> HttpResponse {
    maybe_slow(f).await;
    let body = form(body);
    let (client_id, secret) = match (basic_credentials(r), p) {
        (Some(_), Provider::Apple) => return json_error(StatusCode::BAD_REQUEST, "invalid_client"),
        (Some(c), _) => c,
        (None, _) => (
            body.get("client_id").cloned().unwrap_or_default(),
            body.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    let authenticated = client_id == f.client_id
        && match p {
            Provider::Apple => apple_client_ok(f, &secret),
            _ => secret == f.client_secret,
        };
    if !authenticated {
        return json_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let issued = match redeem(f, p, &body, &client_id) {
        Ok(i) => i,
        Err(error) => return json_error(StatusCode::BAD_REQUEST, error),
    };
    let at = access_token(f, p, &issued);
    match id_token(f, p, &issued) {
        Ok(id_token) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({
                "access_token": at,
                "token_type": "Bearer",
                "expires_in": 3600,
                "id_token": id_token,
            })),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

fn id_token(f: &FakeProviders, p: Provider, issued: &IssuedCode) -> anyhow::Result<String> {
    let now = f.now();
    let m = f.misbehaviour();
    let u = &issued.user;
    let mut c = Map::new();
    c.insert("iss".into(), json!(f.url(p, "")));
    let aud = if m == Misbehaviour::WrongAudience {
        "someone-else".to_owned()
    } else {
        issued.client_id.clone()
    };
    c.insert("aud".into(), json!(aud));
    c.insert("sub".into(), json!(u.sub));
    let (iat, exp) = if m == Misbehaviour::Expired {
        (now - 3600, now - 60)
    } else {
        (now, now + 3600)
    };
    c.insert("iat".into(), json!(iat));
    c.insert("exp".into(), json!(exp));
    if let Some(n) = &issued.nonce {
        let n = if m == Misbehaviour::WrongNonce {
            "not-the-nonce"
        } else {
            n
        };
        c.insert("nonce".into(), json!(n));
    }
    if let Some(amr) = &u.amr {
        c.insert("amr".into(), json!(amr.split(' ').collect::<Vec<_>>()));
    }
    if let Some(groups) = &u.groups {
        c.insert(
            "groups".into(),
            json!(groups.split(' ').collect::<Vec<_>>()),
        );
    }
    let scopes: HashMap<&str, ()> = issued.scope.split(' ').map(|s| (s, ())).collect();
    if let Some(email) = &u.email
        && scopes.contains_key("email")
    {
        c.insert("email".into(), json!(email));
        match p {
            // Apple sends booleans as strings.
            Provider::Apple => {
                c.insert("email_verified".into(), json!(u.email_verified.to_string()));
                if u.private_email {
                    c.insert("is_private_email".into(), json!("true"));
                }
            }
            _ => {
                c.insert("email_verified".into(), json!(u.email_verified));
                if let Some((_, domain)) = email.split_once('@')
                    && domain != "gmail.com"
                {
                    c.insert("hd".into(), json!(domain));
                }
            }
        }
    }
    if m == Misbehaviour::ForeignAzp {
        c.insert("azp".into(), json!("another-client"));
    } else if p == Provider::Google {
        c.insert("azp".into(), json!(issued.client_id));
    }
    if p == Provider::Google
        && let Some(name) = &u.name
        && scopes.contains_key("profile")
    {
        c.insert("name".into(), json!(name));
    }
    let ring = if m == Misbehaviour::BadSignature {
        // Another key under the published kid: the signature cannot verify.
        let forged = KeyRing::ephemeral()?;
        return Ok(forged.sign_as(c, "JWT", f.keys().signing_kid())?);
    } else {
        f.keys()
    };
    Ok(ring.sign(c, "JWT")?)
}
