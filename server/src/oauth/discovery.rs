//! GET /.well-known/openid-configuration — OpenID Connect Discovery 1.0 §3-§4; RFC 8414;
//! RFC 9207 §3. Built once from the settings and the vocabulary; every value is true.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use serde_json::json;

use crate::config::Settings;
use crate::protocol::vocab::STANDARD_SCOPES;
use crate::state::State;
use crate::tokens::claims::SUPPORTED_CLAIMS;

pub fn document(s: &Settings, custom_scopes: Vec<String>) -> Bytes {
    let base = s.issuer_base();
    let mut scopes: Vec<String> = STANDARD_SCOPES.iter().map(|s| s.to_string()).collect();
    for c in custom_scopes {
        if !scopes.contains(&c) {
            scopes.push(c);
        }
    }
    let doc = json!({
        "issuer": s.issuer,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "userinfo_endpoint": format!("{base}/userinfo"),
        "jwks_uri": format!("{base}/jwks.json"),
        "revocation_endpoint": format!("{base}/revoke"),
        "introspection_endpoint": format!("{base}/introspect"),
        "end_session_endpoint": format!("{base}/logout"),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": SUPPORTED_CLAIMS,
        "claims_parameter_supported": true,
        "acr_values_supported": crate::protocol::vocab::Acr::ALL.map(|a| a.as_str()),
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
    });
    Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
}

pub async fn discovery(state: State) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(state.discovery.clone())
}
