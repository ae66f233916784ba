//! Sign-in through an upstream: POST /login/upstream starts it from the login page, and
//! GET|POST /upstream/{id}/callback finishes it (RFC 6749 §4.1.2, OIDC Core §3.1.2.5).
//! The pending sign-in is found by the hash of `state` and must come back to the browser that
//! started it (the binding cookie), so a stolen or forged callback goes nowhere (RFC 9700
//! §4.7). Apple's `form_post` arrives as a cross-site POST without our SameSite cookies: it is
//! kept on the pending sign-in and finished by a same-site GET; no other upstream's callback
//! is accepted as a POST, and a form_post upstream's code never comes from the query.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::sync::Arc;
use url::Url;

use super::csrf::{self, Purpose as CsrfPurpose};
use super::{account, cookie, record, see_other, with_cookie};
use crate::accounts::federation::{self, FederationError, How};
use crate::audit::{AuditEvent, AuditKind, Origin};
use crate::authz::{self, AuthenticatedSubject};
use crate::error::PageError;
use crate::protocol::ids::{AccountId, UpstreamId};
use crate::protocol::params::Params;
use crate::protocol::vocab::Amr;
use crate::state::{AppState, State};
use crate::store::PendingUpstreamRow;
use crate::tokens::opaque;
use crate::upstream::{
    CallbackContext, PendingUpstreamLogin, UpstreamCallback, UpstreamConnector, UpstreamError,
    UpstreamIdentity,
};

/// A pending upstream sign-in lives ten minutes.
const PENDING_LIFETIME: i64 = 600;

/// What a pending upstream sign-in is for.
pub enum Purpose {
    /// Signing in for a pending authorization request.
    SignIn { request_id: String },
    /// Linking another upstream to a signed-in account.
    Link { account_id: AccountId },
}

/// The redirect URI registered at the upstream: `{issuer}/upstream/{id}/callback`.
pub fn callback_url(state: &AppState, upstream_id: &UpstreamId) -> Result<Url, PageError> {
    Url::parse(&state.endpoint(&format!("/upstream/{upstream_id}/callback")))
        .map_err(PageError::internal)
}

/// An audit event about an upstream sign-in from this request.
pub fn upstream_event(
    state: &AppState,
    req: &HttpRequest,
    kind: AuditKind,
    upstream: &UpstreamId,
) -> AuditEvent {
    AuditEvent::new(kind, state.now(), &Origin::of(req)).upstream(upstream)
}

/// Where the upstream gives roles (`roles_from_claim`), make the account's roles from it what
/// this sign-in says; each change is audited.
async fn sync_roles(
    state: &AppState,
    req: &HttpRequest,
    connector: &dyn UpstreamConnector,
    account: &AccountId,
    identity: &UpstreamIdentity,
) -> Result<(), PageError> {
    if connector.common().roles_from_claim.is_none() {
        return Ok(());
    }
    let id = connector.id();
    let roles = connector.roles(identity);
    let synced = state
        .store
        .sync_upstream_roles(account, id, &roles, state.now())
        .await?;
    let changes = synced
        .added
        .iter()
        .map(|r| (AuditKind::RoleGranted, r))
        .chain(synced.removed.iter().map(|r| (AuditKind::RoleRevoked, r)));
    for (kind, role) in changes {
        let event = upstream_event(state, req, kind, id)
            .account(account)
            .reason(format!("upstream {id}: {role}"));
        record(state, event).await?;
    }
    Ok(())
}

/// The page a person sees when an upstream sign-in fails (the cause goes to the audit log).
fn failure_page(connector: &dyn UpstreamConnector, e: &UpstreamError) -> PageError {
    let name = connector.display_name();
    match e {
        UpstreamError::Unavailable(_) => PageError {
            status: StatusCode::BAD_GATEWAY,
            title: "The provider is not responding",
            message: format!("{name} did not answer in time. Please try again in a moment."),
            cause: None,
        },
        UpstreamError::Policy(_) => PageError {
            status: StatusCode::FORBIDDEN,
            title: "This account is not allowed",
            message: format!("This {name} account may not sign in here."),
            cause: None,
        },
        _ => PageError {
            status: StatusCode::BAD_GATEWAY,
            title: "Sign-in failed",
            message: format!(
                "Signing in with {name} could not be completed safely. Go back to the application and try again."
            ),
            cause: None,
        },
    }
}

/// Record why a callback was refused, and the page the person sees for it.
async fn refuse(
    state: &AppState,
    req: &HttpRequest,
    kind: AuditKind,
    upstream: &UpstreamId,
    reason: Option<&str>,
) -> PageError {
    let mut event = upstream_event(state, req, kind, upstream);
    if let Some(r) = reason {
        event = event.reason(r);
    }
    match record(state, event).await {
        Ok(()) => unverifiable(),
        Err(e) => e,
    }
}

fn unverifiable() -> PageError {
    PageError::bad_request(
        "This sign-in could not be verified",
        "The answer from the sign-in provider does not match a sign-in started in this browser. Go back to the application and start again.",
    )
}

/// Redirect the browser to the upstream, remembering what to check on its return.
pub async fn begin(
    state: &AppState,
    req: &HttpRequest,
    connector: &Arc<dyn UpstreamConnector>,
    purpose: Purpose,
) -> Result<HttpResponse, PageError> {
    let (binding, new_cookie) = csrf::binding(state, req);
    let redirect_uri = callback_url(state, connector.id())?;
    let begun = match connector.begin(&redirect_uri).await {
        Ok(b) => b,
        Err(e) => {
            let event = AuditEvent::new(e.audit_kind(), state.now(), &Origin::of(req))
                .upstream(connector.id())
                .reason(e.to_string());
            record(state, event).await?;
            return Err(failure_page(connector.as_ref(), &e));
        }
    };
    let now = state.now();
    let (auth_request_id, link_account_id) = match purpose {
        Purpose::SignIn { request_id } => (Some(request_id), None),
        Purpose::Link { account_id } => (None, Some(account_id)),
    };
    state
        .store
        .save_upstream_login(&PendingUpstreamRow {
            state_hash: opaque::hash(&begun.state),
            upstream_id: connector.id().to_owned(),
            binding_hash: opaque::hash(&binding),
            auth_request_id,
            link_account_id,
            pending_json: serde_json::to_string(&begun.pending).map_err(PageError::internal)?,
            callback_json: None,
            created_at: now,
            expires_at: now + PENDING_LIFETIME,
        })
        .await?;
    Ok(with_cookie(see_other(&begun.url), new_cookie))
}

/// POST /login/upstream — a button on the login page.
#[tracing::instrument(skip_all)]
pub async fn start(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let id = form.get("req").ok().flatten().unwrap_or_default();
    let view = authz::login_view(&state, id).await?;
    csrf::check(&state, &req, CsrfPurpose::Login, &view.request_id, &form)?;
    let upstream = form.get("upstream").ok().flatten().unwrap_or_default();
    let connector = state.upstreams.get(upstream).cloned().ok_or_else(|| {
        PageError::bad_request("Unknown sign-in provider", "Go back and choose another.")
    })?;
    let purpose = Purpose::SignIn {
        request_id: view.request_id,
    };
    begin(&state, &req, &connector, purpose).await
}

/// The configured upstream the path names (only configured ids reach logs and the store).
fn known_upstream(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Arc<dyn UpstreamConnector>, PageError> {
    let id = req.match_info().get("id").unwrap_or_default();
    state.upstreams.get(id).cloned().ok_or_else(|| {
        PageError::bad_request(
            "Unknown sign-in provider",
            "This provider is not configured.",
        )
    })
}

/// The callback's fields, from the query (GET) or a form post kept on the pending sign-in.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct CallbackFields {
    code: Option<String>,
    error: Option<String>,
    user: Option<String>,
}

fn fields(p: &Params) -> CallbackFields {
    let get = |k: &str| p.get(k).ok().flatten().map(str::to_owned);
    CallbackFields {
        code: get("code"),
        error: get("error"),
        user: get("user"),
    }
}

/// POST /upstream/{id}/callback — `response_mode=form_post` (Apple): keep the fields on the
/// pending sign-in, then continue with a same-site GET that carries our cookies.
#[tracing::instrument(skip_all)]
pub async fn callback_post(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let connector = known_upstream(&state, &req)?;
    let id = connector.id().to_owned();
    if !connector.form_post() {
        return Err(refuse(
            &state,
            &req,
            AuditKind::UpstreamInvalidCallback,
            &id,
            Some("a form_post callback for an upstream that answers with a query"),
        )
        .await);
    }
    let form = Params::parse(&body).map_err(PageError::from)?;
    let st = form.get("state").ok().flatten().unwrap_or_default();
    let kept = !st.is_empty()
        && st.len() <= 128
        && state
            .store
            .attach_upstream_callback(
                &opaque::hash(st),
                &id,
                &serde_json::to_string(&fields(&form)).map_err(PageError::internal)?,
                state.now(),
            )
            .await?;
    if !kept {
        return Err(refuse(
            &state,
            &req,
            AuditKind::UpstreamStateMismatch,
            &id,
            Some("form_post with an unknown, expired or answered state"),
        )
        .await);
    }
    let mut next = callback_url(&state, &id)?;
    next.query_pairs_mut().append_pair("state", st);
    Ok(see_other(&next))
}

/// GET /upstream/{id}/callback — finish the sign-in (or the linking) the state names.
#[tracing::instrument(skip_all)]
pub async fn callback(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let connector = known_upstream(&state, &req)?;
    let id = connector.id().to_owned();
    let query = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let st = query.get("state").ok().flatten().unwrap_or_default();
    let row = if st.is_empty() || st.len() > 128 {
        None
    } else {
        state
            .store
            .take_upstream_login(&opaque::hash(st), &id, state.now())
            .await?
    };
    let binding = cookie(&req, csrf::cookie_name(&state)).map(|b| opaque::hash(&b));
    let Some(row) = row.filter(|r| binding.as_deref() == Some(r.binding_hash.as_str())) else {
        return Err(refuse(
            &state,
            &req,
            AuditKind::UpstreamStateMismatch,
            &id,
            Some("unknown or expired state, or another browser"),
        )
        .await);
    };
    let pending: PendingUpstreamLogin =
        serde_json::from_str(&row.pending_json).map_err(PageError::internal)?;
    // RFC 9207 §2.4: an `iss` must equal the upstream's issuer exactly (a mix-up attack
    // otherwise), and one the upstream advertises must be there.
    let iss = query.get("iss").ok().flatten();
    let iss_ok = match (iss, connector.issuer()) {
        (Some(iss), Some(expected)) => iss == expected,
        (None, _) => !pending.iss_required,
        (Some(_), None) => true,
    };
    if !iss_ok {
        return Err(refuse(&state, &req, AuditKind::UpstreamIssuerMismatch, &id, None).await);
    }
    // A form_post upstream's answer is the one kept from its POST; any other's is the query.
    let f: CallbackFields = match (connector.form_post(), &row.callback_json) {
        (true, Some(json)) => serde_json::from_str(json).map_err(PageError::internal)?,
        (true, None) => CallbackFields::default(),
        (false, _) => fields(&query),
    };
    if let Some(error) = f.error.as_deref() {
        return upstream_said_no(&state, &req, connector.as_ref(), &row, error).await;
    }
    let Some(code) = f.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        let kind = AuditKind::UpstreamInvalidCallback;
        return Err(refuse(&state, &req, kind, &id, Some("no code")).await);
    };
    let redirect_uri = callback_url(&state, &id)?;
    let ctx = CallbackContext {
        redirect_uri: &redirect_uri,
        now: state.now(),
    };
    let cb = UpstreamCallback { code, user: f.user };
    let started = std::time::Instant::now();
    let finished = connector.finish(cb, pending, &ctx).await;
    state
        .metrics
        .upstream_duration
        .with_label_values(&[id.as_str()])
        .observe(started.elapsed().as_secs_f64());
    let identity = match finished {
        Ok(i) => i,
        Err(e) => {
            state
                .metrics
                .upstream_errors
                .with_label_values(&[id.as_str(), e.audit_kind().as_str()])
                .inc();
            let event = upstream_event(&state, &req, e.audit_kind(), &id)
                .account_opt(row.link_account_id.as_ref())
                .reason(e.to_string());
            record(&state, event).await?;
            return Err(failure_page(connector.as_ref(), &e));
        }
    };
    match (&row.auth_request_id, &row.link_account_id) {
        (_, Some(account_id)) => {
            account::finish_link(&state, &req, connector.as_ref(), account_id, &identity).await
        }
        (Some(request_id), None) => {
            sign_in(&state, &req, connector.as_ref(), request_id, &identity).await
        }
        (None, None) => Err(unverifiable()),
    }
}

/// The upstream answered with an error: a cancel goes back to where the person came from.
async fn upstream_said_no(
    state: &AppState,
    req: &HttpRequest,
    connector: &dyn UpstreamConnector,
    row: &PendingUpstreamRow,
    error: &str,
) -> Result<HttpResponse, PageError> {
    // Only a safe rendering of the code reaches the log.
    let code: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    let cancelled = code == "access_denied" || code == "user_cancelled_authorize";
    let kind = if cancelled {
        AuditKind::UpstreamCancelled
    } else {
        AuditKind::UpstreamError
    };
    let event = upstream_event(state, req, kind, connector.id())
        .account_opt(row.link_account_id.as_ref())
        .reason(format!("error={code}"));
    record(state, event).await?;
    if !cancelled {
        return Err(failure_page(connector, &UpstreamError::TokenRequest(code)));
    }
    let mut next = match &row.auth_request_id {
        Some(req_id) => {
            let mut u = Url::parse(&state.endpoint("/login")).map_err(PageError::internal)?;
            u.query_pairs_mut().append_pair("req", req_id);
            u
        }
        None => Url::parse(&state.endpoint("/account")).map_err(PageError::internal)?,
    };
    next.query_pairs_mut()
        .append_pair("cancelled", connector.id().as_str());
    Ok(see_other(&next))
}

/// The upstream vouched for the person: find or create their account and continue the request.
async fn sign_in(
    state: &AppState,
    req: &HttpRequest,
    connector: &dyn UpstreamConnector,
    request_id: &str,
    identity: &crate::upstream::UpstreamIdentity,
) -> Result<HttpResponse, PageError> {
    let view = authz::login_view(state, request_id).await?;
    let client_id = view.client.id.0.as_str();
    let now = state.now();
    let id = connector.id();
    let (account, how) =
        match federation::sign_in(&state.store, id, connector.trust_email(), identity, now).await {
            Ok(found) => found,
            Err(FederationError::LinkedElsewhere) => return Err(unverifiable()),
            Err(FederationError::Store(e)) => return Err(e.into()),
        };
    match how {
        How::Created => {
            let event = upstream_event(state, req, AuditKind::AccountCreated, id)
                .account(&account.id)
                .client(client_id);
            record(state, event).await?
        }
        How::LinkedByEmail => {
            let event = upstream_event(state, req, AuditKind::UpstreamLinked, id)
                .account(&account.id)
                .client(client_id)
                .reason("by verified email");
            record(state, event).await?
        }
        How::Known => {}
    }
    sync_roles(state, req, connector, &account.id, identity).await?;
    // The upstream's own second factor counts only where it is trusted for it.
    let amr = if connector.vouches_for_mfa(identity) {
        vec![Amr::Fed, Amr::Mfa]
    } else {
        vec![Amr::Fed]
    };
    let who = AuthenticatedSubject {
        account_id: account.id,
        auth_time: now,
        amr,
        idp: Some(id.to_owned()),
    };
    super::finish_sign_in(state, req, view, who).await
}
