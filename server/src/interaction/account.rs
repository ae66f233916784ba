//! GET /account — the signed-in person's page: profile, email, password, the ways they can sign
//! in, with buttons to link another upstream and to unlink one (never the last way to sign in),
//! and account deletion. POST /account/link and POST /account/unlink carry a CSRF token;
//! linking goes through the upstream like a sign-in. The other forms are in `self_service`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use url::Url;

use super::csrf::{self, Purpose as CsrfPurpose};
use super::upstream::upstream_event;
use super::upstream::{self, Purpose};
use super::{cookie, record, see_other, with_cookie};
use crate::accounts::federation::{self, FederationError};
use crate::audit::AuditKind;
use crate::authz::session;
use crate::error::PageError;
use crate::pages;
use crate::protocol::ids::{AccountId, UpstreamId};
use crate::protocol::params::Params;
use crate::state::{AppState, State};
use crate::store::{BrowserSession, Unlink};
use crate::upstream::{UpstreamConnector, UpstreamIdentity};

pub async fn signed_in(state: &AppState, req: &HttpRequest) -> Result<BrowserSession, PageError> {
    session::load(state, cookie(req, session::cookie_name(state)).as_deref())
        .await?
        .ok_or_else(|| {
            PageError::bad_request(
                "You are not signed in",
                "Sign in through an application that uses this provider, then come back to this page.",
            )
        })
}

pub fn account_url(state: &AppState, notice: Option<(&str, &str)>) -> Result<Url, PageError> {
    let mut u = Url::parse(&state.endpoint("/account")).map_err(PageError::internal)?;
    if let Some((k, v)) = notice {
        u.query_pairs_mut().append_pair(k, v);
    }
    Ok(u)
}

/// The display name of a configured upstream; `None` for anything else (never echoed).
fn name_of(state: &AppState, upstream_id: &str) -> Option<String> {
    state
        .upstreams
        .get(upstream_id)
        .map(|c| c.display_name().to_owned())
}

#[tracing::instrument(skip_all)]
pub async fn show(state: State, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let s = signed_in(&state, &req).await?;
    let query = Params::parse(req.query_string().as_bytes()).map_err(PageError::from)?;
    let q = |k: &str| query.get(k).ok().flatten().and_then(|v| name_of(&state, v));
    let notice = if let Some(n) = q("linked") {
        Some(format!("{n} is now linked to your account."))
    } else if let Some(n) = q("unlinked") {
        Some(format!("{n} is no longer linked to your account."))
    } else if let Some(n) = q("cancelled") {
        Some(format!("Linking {n} was cancelled."))
    } else {
        query
            .get("done")
            .ok()
            .flatten()
            .and_then(super::self_service::notice_for)
            .map(str::to_owned)
    };
    let shown = Shown {
        notice: notice.as_deref(),
        error: None,
    };
    page(&state, &req, &s, shown, StatusCode::OK).await
}

/// What the account page shows besides the account.
#[derive(Default)]
pub struct Shown<'a> {
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The account page for the signed-in session `s`.
pub async fn page(
    state: &AppState,
    req: &HttpRequest,
    s: &BrowserSession,
    shown: Shown<'_>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let account = state
        .store
        .account(&s.account_id)
        .await?
        .ok_or_else(PageError::expired)?;
    let linked = state.store.identities_of(&account.id).await?;
    let (token, new_cookie) = csrf::issue(state, req, CsrfPurpose::Account, account.id.as_str());
    let password_counts = account.password_hash.is_some() && state.settings.login.password;
    let last_way = linked.len() == 1 && !password_counts;
    let linked_rows = linked
        .iter()
        .map(|l| pages::LinkedRow {
            upstream_id: l.upstream_id.to_string(),
            name: name_of(state, l.upstream_id.as_str())
                .unwrap_or_else(|| l.upstream_id.to_string()),
            subject: l.subject.clone(),
            email: l.email.clone().unwrap_or_default(),
            can_unlink: !last_way,
        })
        .collect();
    let available = state
        .upstreams
        .all()
        .iter()
        .filter(|c| !linked.iter().any(|l| l.upstream_id == *c.id()))
        .map(|c| pages::UpstreamButton::of(c.as_ref()))
        .collect();
    let pending_email = state
        .store
        .pending_proof(
            &account.id,
            crate::store::ProofPurpose::ChangeEmail,
            state.now(),
        )
        .await?
        .map(|p| p.email);
    let factors = state.store.factor_summary(&account.id).await?;
    let sessions = super::sessions::rows(state, s).await?;
    let day = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let passkeys = state
        .store
        .passkeys_of(&account.id)
        .await?
        .into_iter()
        .map(|p| pages::PasskeyRow {
            id: p.id,
            name: p.name,
            created: day(p.created_at),
            last_used: p.last_used_at.map(day).unwrap_or_default(),
            synced: p.backup_eligible,
        })
        .collect();
    let page = pages::AccountPage {
        label: account.label(),
        has_password: password_counts,
        linked: linked_rows,
        available,
        csrf: &token,
        notice: shown.notice,
        error: shown.error,
        name: account.name.as_deref().unwrap_or_default(),
        email: account.email.as_deref().unwrap_or_default(),
        email_verified: account.email_verified,
        local_password: account.password_hash.is_some(),
        password_sign_in: state.settings.login.password,
        email_changes: state.settings.email.configured(),
        pending_email: pending_email.as_deref(),
        min_length: state.settings.passwords.min_length,
        totp_on: factors.totp_since.is_some(),
        mfa_needed: super::self_service::second_factor_needed(state, s).await?,
        recovery_codes_left: factors.recovery_codes_left,
        mfa_required: state.settings.mfa.required,
        passkeys_on: state.passkeys.is_some(),
        passkeys,
        sessions,
        apps: super::apps::rows(state, &account.id).await?,
        activity: super::activity::rows(state, &account).await?,
    };
    Ok(with_cookie(pages::render(status, &page), new_cookie))
}

pub async fn checked_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(BrowserSession, Params), PageError> {
    let s = signed_in(state, req).await?;
    let form = Params::parse(body).map_err(PageError::from)?;
    csrf::check(
        state,
        req,
        CsrfPurpose::Account,
        s.account_id.as_str(),
        &form,
    )?;
    Ok((s, form))
}

/// POST /account/link — go to the upstream to link it.
#[tracing::instrument(skip_all)]
pub async fn link(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let upstream = form.get("upstream").ok().flatten().unwrap_or_default();
    let connector = state.upstreams.get(upstream).cloned().ok_or_else(|| {
        PageError::bad_request("Unknown sign-in provider", "Go back and choose another.")
    })?;
    upstream::begin(
        &state,
        &req,
        &connector,
        Purpose::Link {
            account_id: s.account_id,
        },
    )
    .await
}

/// POST /account/unlink — remove a linked upstream unless it is the last way to sign in.
#[tracing::instrument(skip_all)]
pub async fn unlink(
    state: State,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let (s, form) = checked_form(&state, &req, &body).await?;
    let upstream = form.get("upstream").ok().flatten().unwrap_or_default();
    let subject = form.get("subject").ok().flatten().unwrap_or_default();
    let account = state
        .store
        .account(&s.account_id)
        .await?
        .ok_or_else(PageError::expired)?;
    let password_counts = account.password_hash.is_some() && state.settings.login.password;
    match state
        .store
        .unlink_identity(&account.id, upstream, subject, password_counts)
        .await?
    {
        Unlink::Removed => {
            let unlinked = UpstreamId::new(upstream);
            let event = upstream_event(&state, &req, AuditKind::UpstreamUnlinked, &unlinked)
                .account(&account.id);
            record(&state, event).await?;
            Ok(see_other(&account_url(
                &state,
                Some(("unlinked", upstream)),
            )?))
        }
        Unlink::NotLinked => Ok(see_other(&account_url(&state, None)?)),
        Unlink::LastWay => Err(PageError {
            status: StatusCode::CONFLICT,
            title: "This is your only way to sign in",
            message: "Link another provider before you remove this one.".into(),
            cause: None,
        }),
    }
}

/// The upstream came back for a linking started on the account page.
pub async fn finish_link(
    state: &AppState,
    req: &HttpRequest,
    connector: &dyn UpstreamConnector,
    account_id: &AccountId,
    identity: &UpstreamIdentity,
) -> Result<HttpResponse, PageError> {
    let s = signed_in(state, req).await?;
    if s.account_id != *account_id {
        let event = upstream_event(state, req, AuditKind::UpstreamStateMismatch, connector.id())
            .account(account_id)
            .reason("linking finished in another session");
        record(state, event).await?;
        return Err(PageError::bad_request(
            "This sign-in could not be verified",
            "You are signed in as someone else now. Start again from your account page.",
        ));
    }
    match federation::link(
        &state.store,
        account_id,
        connector.id(),
        identity,
        state.now(),
    )
    .await
    {
        Ok(()) => {
            let event = upstream_event(state, req, AuditKind::UpstreamLinked, connector.id())
                .account(account_id);
            record(state, event).await?;
            Ok(see_other(&account_url(
                state,
                Some(("linked", connector.id().as_str())),
            )?))
        }
        Err(FederationError::LinkedElsewhere) => {
            let event = upstream_event(state, req, AuditKind::UpstreamLinkRefused, connector.id())
                .account(account_id)
                .reason("linked to another account");
            record(state, event).await?;
            Err(PageError {
                status: StatusCode::CONFLICT,
                title: "Already linked to another account",
                message: format!(
                    "This {} account already signs in to another account here.",
                    connector.display_name()
                ),
                cause: None,
            })
        }
        Err(FederationError::Store(e)) => Err(e.into()),
    }
}
