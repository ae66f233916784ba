//! GET / — the landing page: what this server is (issuer, version) and where its public
//! documents are; in a development config with `[dev] demo_app`, a link to the demo app.
//! Nothing about clients or configuration.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use crate::pages;
use crate::state::State;

#[tracing::instrument(skip_all)]
pub async fn show(state: State) -> HttpResponse {
    pages::render(
        StatusCode::OK,
        &pages::HomePage {
            issuer: state.issuer(),
            version: env!("CARGO_PKG_VERSION"),
            demo_app: state.settings.dev.demo_app,
        },
    )
}
