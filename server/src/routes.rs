//! The route table: every path, method and handler of Ostiary in one place (the attack surface
//! at a glance). Pages and endpoints share the security headers set in `startup`.

use actix_cors::Cors;
use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::interaction::{
    account, consent, forgot, home, login, register, second_factor, upstream, verify,
};
use crate::oauth::{discovery, introspection, jwks, revocation, token, userinfo};
use crate::state::Live;

/// CORS for the back-channel endpoints a single-page app calls (never for /authorize, RFC 9700
/// §2.6): only the origins of registered redirect URIs, as the request's configuration has
/// them (a reloaded client list applies at once).
fn cors(live: &web::Data<Live>) -> Cors {
    let live = live.clone();
    Cors::default()
        .allowed_origin_fn(move |origin, _| {
            origin
                .to_str()
                .is_ok_and(|o| live.current().clients.is_web_origin(o))
        })
        .allowed_methods(["GET", "POST"])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(600)
}

/// Every route. A development config adds two scopes in `startup` when switched on: the fake
/// providers under /dev/fake (`[dev] fake_upstreams`, `devfakes::configure`) and the demo app
/// under /dev/demo (`[dev] demo_app`, `devdemo::configure`).
pub fn configure(cfg: &mut web::ServiceConfig, live: &web::Data<Live>) {
    cfg.route("/", web::get().to(home::show))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(discovery::discovery),
        )
        .route("/jwks.json", web::get().to(jwks::jwks))
        // Operators (load balancers, orchestrators).
        .route("/healthz", web::get().to(crate::ops::health::healthz))
        .route("/readyz", web::get().to(crate::ops::health::readyz))
        // Front channel (browser).
        .route("/authorize", web::get().to(with_body::authorize))
        .route("/authorize", web::post().to(with_body::authorize))
        .route("/login", web::get().to(login::show))
        .route("/login", web::post().to(with_body::login))
        .route("/login/upstream", web::post().to(with_body::upstream_start))
        .route("/login/passkey", web::post().to(with_body::login_passkey))
        .route("/register", web::get().to(register::show))
        .route("/register", web::post().to(with_body::register))
        .route("/verify", web::get().to(verify::show))
        .route("/verify", web::post().to(with_body::verify))
        .route("/verify/resend", web::post().to(with_body::verify_resend))
        .route("/verify/link", web::get().to(verify::link))
        .route("/mfa", web::get().to(second_factor::show))
        .route("/mfa", web::post().to(with_body::second_factor))
        .route(
            "/mfa/continue",
            web::post().to(with_body::second_factor_continue),
        )
        .route(
            "/mfa/passkey",
            web::post().to(with_body::second_factor_passkey),
        )
        .route("/forgot", web::get().to(forgot::show))
        .route("/forgot", web::post().to(with_body::forgot))
        .route("/reset", web::get().to(forgot::show_reset))
        .route("/reset", web::post().to(with_body::reset))
        .route("/upstream/{id}/callback", web::get().to(upstream::callback))
        .route(
            "/upstream/{id}/callback",
            web::post().to(with_body::upstream_callback),
        )
        .route("/account", web::get().to(account::show))
        .route("/account/link", web::post().to(with_body::account_link))
        .route("/account/unlink", web::post().to(with_body::account_unlink))
        .route(
            "/account/mfa/totp",
            web::post().to(with_body::factors_begin),
        )
        .route(
            "/account/mfa/totp/confirm",
            web::post().to(with_body::factors_confirm),
        )
        .route(
            "/account/mfa/recovery",
            web::post().to(with_body::factors_recovery),
        )
        .route(
            "/account/mfa/remove",
            web::post().to(with_body::factors_remove),
        )
        .route(
            "/account/passkeys",
            web::post().to(with_body::passkeys_begin),
        )
        .route(
            "/account/sessions/end",
            web::post().to(with_body::sessions_end),
        )
        .route(
            "/account/sessions/end-all",
            web::post().to(with_body::sessions_end_all),
        )
        .route(
            "/account/apps/revoke",
            web::post().to(with_body::apps_revoke),
        )
        .route(
            "/account/passkeys/finish",
            web::post().to(with_body::passkeys_finish),
        )
        .route(
            "/account/passkeys/rename",
            web::post().to(with_body::passkeys_rename),
        )
        .route(
            "/account/passkeys/remove",
            web::post().to(with_body::passkeys_remove),
        )
        .route(
            "/account/profile",
            web::post().to(with_body::account_profile),
        )
        .route(
            "/account/password",
            web::post().to(with_body::account_password),
        )
        .route("/account/email", web::post().to(with_body::account_email))
        .route(
            "/account/email/confirm",
            web::post().to(with_body::account_email_confirm),
        )
        .route("/account/delete", web::post().to(with_body::account_delete))
        .route("/consent", web::get().to(consent::show))
        .route("/consent", web::post().to(with_body::consent))
        .route("/logout", web::get().to(with_body::end_session))
        .route("/logout", web::post().to(with_body::end_session))
        .route("/logout/confirm", web::post().to(with_body::logout_confirm))
        // Back channel (clients and APIs).
        .service(
            web::resource("/token")
                .wrap(cors(live))
                .route(web::post().to(token::token)),
        )
        .service(
            web::resource("/userinfo")
                .wrap(cors(live))
                .route(web::get().to(userinfo::userinfo))
                .route(web::post().to(userinfo::userinfo)),
        )
        .service(
            web::resource("/revoke")
                .wrap(cors(live))
                .route(web::post().to(revocation::revoke)),
        )
        .route("/introspect", web::post().to(introspection::introspect))
        // Assets.
        .route(
            "/static/ostiary.css",
            web::get().to(|| {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../../static/ostiary.css"),
                )
            }),
        )
        .route(
            "/static/passkey.js",
            web::get().to(|| {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../../static/passkey.js"),
                )
            }),
        )
        .route("/static/upstream/{name}", web::get().to(upstream_icon))
        .route(
            "/static/ostiary.svg",
            web::get().to(|| asset("image/svg+xml", include_str!("../../static/ostiary.svg"))),
        )
        .default_service(web::to(not_found));
}

async fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}

async fn upstream_icon(name: web::Path<String>) -> HttpResponse {
    let body = match name.as_str() {
        "google.svg" => include_str!("../../static/upstream/google.svg"),
        "apple.svg" => include_str!("../../static/upstream/apple.svg"),
        "facebook.svg" => include_str!("../../static/upstream/facebook.svg"),
        "x.svg" => include_str!("../../static/upstream/x.svg"),
        "generic.svg" => include_str!("../../static/upstream/generic.svg"),
        _ => return not_found().await,
    };
    asset("image/svg+xml", body).await
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"error": "not_found"}))
}

/// Handlers that read a form body through the size-capped reader.
mod with_body {
    use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

    use crate::error::PageError;
    use crate::interaction::{
        account as ac, apps as ap, consent as c, factors as fa, forgot as f, login as l,
        logout as e, passkeys as pk, register as r, second_factor as sf, self_service as ss,
        sessions as se, upstream as u, verify as v,
    };
    use crate::oauth::authorize as a;
    use crate::protocol::params::read_body;
    use crate::state::State;

    macro_rules! page {
        ($name:ident, $target:path) => {
            pub async fn $name(
                state: State,
                req: HttpRequest,
                payload: web::Payload,
            ) -> HttpResponse {
                match read_body(payload).await {
                    Ok(body) => match $target(state, req, body).await {
                        Ok(res) => res,
                        Err(err) => err.error_response(),
                    },
                    Err(err) => PageError::from(err).error_response(),
                }
            }
        };
    }

    pub async fn authorize(state: State, req: HttpRequest, payload: web::Payload) -> HttpResponse {
        match read_body(payload).await {
            Ok(body) => a::authorize(state, req, body).await,
            Err(err) => PageError::from(err).error_response(),
        }
    }

    page!(login, l::submit);
    page!(upstream_start, u::start);
    page!(upstream_callback, u::callback_post);
    page!(account_link, ac::link);
    page!(account_unlink, ac::unlink);
    page!(account_profile, ss::profile);
    page!(account_password, ss::password);
    page!(account_email, ss::email);
    page!(account_email_confirm, ss::email_confirm);
    page!(account_delete, ss::delete);
    page!(register, r::submit);
    page!(verify, v::submit);
    page!(verify_resend, v::resend);
    page!(second_factor, sf::submit);
    page!(second_factor_continue, sf::proceed);
    page!(factors_begin, fa::begin);
    page!(factors_confirm, fa::confirm);
    page!(factors_recovery, fa::regenerate);
    page!(factors_remove, fa::remove);
    page!(second_factor_passkey, sf::passkey);
    page!(login_passkey, l::passkey);
    page!(passkeys_begin, pk::begin);
    page!(passkeys_finish, pk::finish);
    page!(passkeys_rename, pk::rename);
    page!(passkeys_remove, pk::remove);
    page!(sessions_end, se::end);
    page!(apps_revoke, ap::revoke);
    page!(sessions_end_all, se::end_all);
    page!(forgot, f::submit);
    page!(reset, f::submit_reset);
    page!(consent, c::submit);
    page!(end_session, e::end_session);
    page!(logout_confirm, e::confirm);
}
