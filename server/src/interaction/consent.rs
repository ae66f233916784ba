//! GET|POST /consent — the consent page: the client's name and the requested scopes in plain
//! words; allow remembers the grant per user, client and scope set; deny returns access_denied
//! (RFC 6749 §4.1.2.1).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{cookie, csrf, flow, pages, session};
use crate::error::PageError;
use crate::oauth::authorize::see_other;
use crate::oauth::params::Params;
use crate::oauth::vocab::Scopes;
use crate::state::AppState;
use crate::store::BrowserSession;

const PURPOSE: &str = "consent";

async fn signed_in(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<BrowserSession>, PageError> {
    Ok(session::load(state, cookie(req, session::cookie_name(state)).as_deref()).await?)
}

fn to_login(state: &AppState, id: &str) -> Result<HttpResponse, PageError> {
    let mut url = url::Url::parse(&state.endpoint("/login")).map_err(PageError::internal)?;
    url.query_pairs_mut().append_pair("req", id);
    Ok(see_other(&url))
}

#[tracing::instrument(skip_all)]
pub async fn show(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let params = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let id = params
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default();
    let (_, client, ar) = flow::pending(&state, id).await?;
    let Some(s) = signed_in(&state, &req).await? else {
        return to_login(&state, id);
    };
    let account = state
        .store
        .account(&s.account_id)
        .await?
        .ok_or_else(PageError::expired)?;
    let (binding, new_cookie) =
        csrf::binding(&state, cookie(&req, csrf::cookie_name(&state)).as_deref());
    let token = csrf::token(&state, &binding, PURPOSE, id);
    let scopes = ar.scope.iter().map(pages::describe_scope).collect();
    let page = pages::ConsentPage {
        client_name: &client.name,
        account_email: account.label(),
        request_id: id,
        csrf: &token,
        scopes,
    };
    let mut res = pages::render(StatusCode::OK, &page);
    if let Some(c) = new_cookie {
        let _ = res.add_cookie(&c);
    }
    Ok(res)
}

#[tracing::instrument(skip_all)]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let id = form
        .get("req")
        .map_err(PageError::from)?
        .unwrap_or_default()
        .to_owned();
    let (stored, _, ar) = flow::pending(&state, &id).await?;
    let binding = cookie(&req, csrf::cookie_name(&state));
    if !csrf::verify(
        &state,
        binding.as_deref(),
        PURPOSE,
        &id,
        form.get("csrf").ok().flatten(),
    ) {
        return Err(PageError::bad_request(
            "Form expired",
            "The form could not be verified. Go back and try again.",
        ));
    }
    let Some(s) = signed_in(&state, &req).await? else {
        return to_login(&state, &id);
    };
    let outcome = match form.get("decision").map_err(PageError::from)? {
        Some("allow") => {
            let previous = state
                .store
                .consent(&s.account_id, &ar.client_id)
                .await?
                .and_then(|p| Scopes::parse(&p))
                .unwrap_or_default();
            let granted = previous.union(&ar.scope);
            state
                .store
                .save_consent(
                    &s.account_id,
                    &ar.client_id,
                    &granted.to_string(),
                    state.now(),
                )
                .await?;
            flow::finish(&state, &stored, &ar, &(&s).into()).await
        }
        Some("deny") => flow::deny(&state, &stored, &ar).await,
        _ => {
            return Err(PageError::bad_request(
                "Invalid request",
                "Choose Allow or Deny.",
            ));
        }
    };
    Ok(match outcome {
        Ok(step) => step.into_response(&state),
        Err(e) => e.into_response(&state),
    })
}
