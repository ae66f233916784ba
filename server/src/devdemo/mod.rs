//! The development demo relying party (`[dev] demo_app`, under /dev/demo): a button per
//! scenario runs a real authorization code flow with PKCE, state and nonce against this server
//! as its registered clients `demo` and `demo-spa`, then shows the tokens decoded and verified
//! against the JWKS, userinfo, and buttons to refresh, revoke, introspect and log out — with
//! every HTTP request and response it made. It talks to the provider only over HTTP, as any
//! client would. Its own sessions live in memory: it stands in for someone else's app.

mod exchange;
mod flow;
mod jwt;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use openidconnect::reqwest;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::Settings;
use crate::error::PageError;
use crate::interaction::{cookie, see_other, with_cookie};
use crate::pages;
use crate::protocol::params::Params;
use crate::secret::Secret;
use flow::{Shown, Started, Tokens};

const COOKIE: &str = "ostiary_demo";
/// Demo sessions kept at most (the oldest go first).
const MAX_SESSIONS: usize = 1000;

/// What a "Sign in" button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    SignIn,
    Consent,
    Public,
}

impl Scenario {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "sign-in" => Some(Self::SignIn),
            "consent" => Some(Self::Consent),
            "public" => Some(Self::Public),
            _ => None,
        }
    }
}

/// One browser's state at the demo app.
#[derive(Default)]
struct DemoSession {
    started: Option<Started>,
    tokens: Option<Tokens>,
    shown: Shown,
    error: Option<String>,
    signed_out: bool,
    logout_state: Option<String>,
    created: u64,
}

pub struct DemoApp {
    issuer: String,
    client_id: String,
    client_secret: Secret,
    public_client_id: String,
    http: reqwest::Client,
    sessions: Mutex<HashMap<String, DemoSession>>,
    counter: std::sync::atomic::AtomicU64,
}

impl DemoApp {
    /// The demo app for a config with `dev.demo_app` (check-config made sure its clients exist).
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let secret = settings
            .clients
            .iter()
            .find(|c| c.client_id == crate::config::DEMO_CLIENT)
            .and_then(|c| c.client_secret.clone())
            .ok_or_else(|| anyhow::anyhow!("dev.demo_app needs the client `demo` with a secret"))?;
        Ok(Self {
            issuer: settings.issuer.clone(),
            client_id: crate::config::DEMO_CLIENT.into(),
            client_secret: secret,
            public_client_id: crate::config::DEMO_PUBLIC_CLIENT.into(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()?,
            sessions: Mutex::new(HashMap::new()),
            counter: Default::default(),
        })
    }

    /// Run `f` on this browser's demo session (a new one if it has none); the cookie to set.
    fn with_session<T>(
        &self,
        req: &HttpRequest,
        f: impl FnOnce(&mut DemoSession) -> T,
    ) -> (T, Option<Cookie<'static>>) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let existing = cookie(req, COOKIE).filter(|id| sessions.contains_key(id));
        let (id, new_cookie) = match existing {
            Some(id) => (id, None),
            None => {
                if sessions.len() >= MAX_SESSIONS
                    && let Some(oldest) = sessions
                        .iter()
                        .min_by_key(|(_, s)| s.created)
                        .map(|(k, _)| k.clone())
                {
                    sessions.remove(&oldest);
                }
                let id = crate::tokens::opaque::random_token().expose().to_owned();
                let created = self
                    .counter
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                sessions.insert(
                    id.clone(),
                    DemoSession {
                        created,
                        ..Default::default()
                    },
                );
                let c = Cookie::build(COOKIE, id.clone())
                    .path("/dev/demo")
                    .http_only(true)
                    .same_site(SameSite::Lax)
                    .finish();
                (id, Some(c))
            }
        };
        let out = sessions.get_mut(&id).map(f);
        (out.unwrap_or_else(|| unreachable!()), new_cookie)
    }

    fn take<T>(&self, req: &HttpRequest, f: impl FnOnce(&mut DemoSession) -> T) -> T {
        self.with_session(req, f).0
    }
}

/// The routes under /dev/demo.
pub fn configure(cfg: &mut web::ServiceConfig, app: Arc<DemoApp>) {
    cfg.app_data(web::Data::from(app))
        .route("", web::get().to(show))
        .route("/start", web::post().to(start))
        .route("/callback", web::get().to(callback))
        .route("/action", web::post().to(action));
}

fn page(app: &DemoApp, req: &HttpRequest) -> HttpResponse {
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let (res, new_cookie) = app.with_session(req, |s| {
        // Back from RP-initiated logout with the state it sent: the demo forgets its tokens.
        if let Some(st) = query.iter().find(|(k, _)| k == "state").map(|(_, v)| v)
            && s.logout_state.as_deref() == Some(st.as_str())
        {
            *s = DemoSession {
                created: s.created,
                signed_out: true,
                ..Default::default()
            };
        }
        pages::render(StatusCode::OK, &demo_page(s))
    });
    with_cookie(res, new_cookie)
}

fn demo_page(s: &DemoSession) -> pages::DemoPage<'_> {
    let panel = |title, d: &jwt::Decoded| pages::TokenPanel {
        title,
        header: d.header.clone(),
        claims: d.claims_text(),
        verified: d.signature.is_ok(),
        verdict: match &d.signature {
            Ok(kid) => format!("signature verified with key {kid} from the JWKS"),
            Err(why) => why.clone(),
        },
    };
    let shown = &s.shown;
    let mut tokens = Vec::new();
    if let Some(d) = &shown.id_token {
        tokens.push(panel("ID token", d));
    }
    if let Some(d) = &shown.access_token {
        tokens.push(panel("Access token", d));
    }
    pages::DemoPage {
        signed_in: s.tokens.is_some(),
        signed_out: s.signed_out,
        client_id: s.tokens.as_ref().map_or("", |t| t.client_id.as_str()),
        refresh_token: s
            .tokens
            .as_ref()
            .and_then(|t| t.refresh_token.as_deref())
            .unwrap_or(""),
        error: s.error.as_deref(),
        tokens,
        checks: shown.id_checks.clone(),
        userinfo: shown.userinfo.as_deref(),
        notes: &shown.notes,
        steps: shown
            .steps
            .iter()
            .map(|e| pages::StepPanel {
                title: e.title,
                request: e.request.clone(),
                response: e.response.clone(),
                ok: e.status < 400,
            })
            .collect(),
    }
}

async fn show(app: web::Data<DemoApp>, req: HttpRequest) -> HttpResponse {
    page(&app, &req)
}

fn back_to_demo(app: &DemoApp) -> Result<HttpResponse, PageError> {
    let url = url::Url::parse(&format!("{}/dev/demo", app.issuer.trim_end_matches('/')))
        .map_err(PageError::internal)?;
    Ok(see_other(&url))
}

/// POST /dev/demo/start — a scenario button: off to the provider's authorization endpoint.
async fn start(
    app: web::Data<DemoApp>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let scenario = form
        .get("scenario")
        .ok()
        .flatten()
        .and_then(Scenario::parse)
        .ok_or_else(|| PageError::bad_request("Unknown scenario", "Choose a button."))?;
    let mut log = Vec::new();
    let started = app.start(scenario, &mut log).await;
    let (res, new_cookie) = app.with_session(&req, |s| match started {
        Ok((url, started)) => {
            s.started = Some(started);
            s.error = None;
            s.signed_out = false;
            Ok(see_other(&url))
        }
        Err(e) => {
            s.error = Some(e.0);
            s.shown = Shown {
                steps: log,
                ..Default::default()
            };
            back_to_demo(&app)
        }
    });
    Ok(with_cookie(res?, new_cookie))
}

/// GET /dev/demo/callback — the provider sent the browser back with a code (or an error).
async fn callback(app: web::Data<DemoApp>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let code = query
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone());
    let (started, new_cookie) = app.with_session(&req, |s| {
        let started = s.started.take();
        if started.is_none() {
            // A code for a sign-in the demo did not start (the README's curl walkthrough):
            // show it, unredeemed, for the person to exchange by hand.
            s.shown = Shown::default();
            s.error = None;
            if let Some(code) = &code {
                s.shown.notes.push(format!(
                    "A code arrived for a sign-in this demo app did not start: {code} (exchange it at /token within 60 seconds)"
                ));
            }
        }
        started
    });
    let Some(started) = started else {
        return Ok(with_cookie(back_to_demo(&app)?, new_cookie));
    };
    let mut shown = Shown::default();
    let result = app.finish(&started, &query, &mut shown).await;
    app.take(&req, |s| {
        match result {
            Ok(tokens) => {
                s.tokens = Some(tokens);
                s.error = None;
            }
            Err(e) => s.error = Some(e.0),
        }
        s.shown = shown;
    });
    back_to_demo(&app)
}

/// POST /dev/demo/action — refresh, revoke, introspect or log out.
async fn action(
    app: web::Data<DemoApp>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let form = Params::parse(&body).map_err(PageError::from)?;
    let what = form.get("do").ok().flatten().unwrap_or_default().to_owned();
    let Some(mut tokens) = app.take(&req, |s| s.tokens.clone()) else {
        return back_to_demo(&app);
    };
    let mut shown = Shown::default();
    let result = match what.as_str() {
        "refresh" => app.refresh(&mut tokens, &mut shown).await,
        "revoke" => app.revoke(&mut tokens, &mut shown).await,
        "introspect" => app.introspect(&tokens, &mut shown).await,
        "logout" => {
            let state = openidconnect::CsrfToken::new_random().secret().clone();
            let url = app.logout_url(&tokens, &state).await;
            app.take(&req, |s| s.logout_state = Some(state));
            return match url {
                Ok(url) => Ok(see_other(&url)),
                Err(e) => {
                    app.take(&req, |s| s.error = Some(e.0));
                    back_to_demo(&app)
                }
            };
        }
        _ => return Err(PageError::bad_request("Unknown action", "Choose a button.")),
    };
    app.take(&req, |s| {
        // A refresh shows the new tokens; revoke and introspect keep the tokens on view.
        if what != "refresh" {
            s.shown.notes = shown.notes;
            s.shown.steps = shown.steps;
        } else {
            s.shown = shown;
        }
        s.error = result.err().map(|e| e.0);
        s.tokens = Some(tokens);
    });
    back_to_demo(&app)
}
