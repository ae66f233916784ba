//! GET /jwks.json — RFC 7517 §5: the public signing keys (kid, alg RS256, use sig), served
//! from memory. A short max-age lets verifiers pick up rotated keys promptly.

use actix_web::HttpResponse;
use actix_web::http::header;

use crate::state::State;

pub async fn jwks(state: State) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CACHE_CONTROL,
            "public, max-age=300, must-revalidate",
        ))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(state.keys.current().jwks())
}
