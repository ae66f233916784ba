//! One askama template struct per page in `templates/`. Pages work without JavaScript and load
//! nothing from third parties.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;

/// A "Sign in with …" button.
pub struct UpstreamButton {
    pub id: String,
    pub name: String,
    /// Path of the icon under /static.
    pub icon: &'static str,
}

impl UpstreamButton {
    pub fn of(c: &dyn crate::upstream::UpstreamConnector) -> Self {
        use crate::upstream::UpstreamKind::*;
        Self {
            id: c.id().to_string(),
            name: c.display_name().to_owned(),
            icon: match c.kind() {
                Google => "/static/upstream/google.svg",
                Apple => "/static/upstream/apple.svg",
                Facebook => "/static/upstream/facebook.svg",
                X => "/static/upstream/x.svg",
                Oidc | Oauth2 => "/static/upstream/generic.svg",
            },
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
    pub password: bool,
    pub upstreams: Vec<UpstreamButton>,
    /// The offline dev mode's fake providers are on.
    pub fakes: bool,
    /// Show "Create account".
    pub registration: bool,
    /// Show "Forgot password?".
    pub reset: bool,
    /// "Sign in with a passkey", when passkeys are on.
    pub passkey: Option<PasskeyCeremony>,
}

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage<'a> {
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub error: Option<&'a str>,
    pub min_length: usize,
}

#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage<'a> {
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub message: Option<&'a str>,
    pub dev_outbox: bool,
}

#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage<'a> {
    /// The pending authorization request, or empty.
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub sent: bool,
    pub dev_outbox: bool,
}

#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage<'a> {
    pub token: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub error: Option<&'a str>,
    pub min_length: usize,
}

/// A WebAuthn ceremony a page offers: the options for the browser and the sealed state.
pub struct PasskeyCeremony {
    pub options: String,
    pub sealed: String,
}

impl From<crate::accounts::factors::passkeys::Started> for PasskeyCeremony {
    fn from(s: crate::accounts::factors::passkeys::Started) -> Self {
        Self {
            options: s.options,
            sealed: s.sealed,
        }
    }
}

/// What the second-factor page is showing.
pub enum FactorMode<'a> {
    /// The code form, and a passkey button when the account has passkeys (only the passkey
    /// when the request needs a phishing-resistant sign-in).
    Ask {
        passkey: Option<&'a PasskeyCeremony>,
        passkey_only: bool,
    },
    /// Registering a passkey (from the account page).
    AddPasskey(&'a PasskeyCeremony),
    /// Enrolment: the QR code (an `<svg>` element rendered by us) and the secret as text.
    Enrol { qr_svg: &'a str, secret: &'a str },
    /// The new recovery codes, once, with a download and Continue.
    Codes(&'a [String]),
    /// A recovery code was used; this many are left.
    RecoveryUsed(u64),
}

#[derive(Template)]
#[template(path = "mfa.html")]
pub struct SecondFactorPage<'a> {
    pub client_name: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub mode: FactorMode<'a>,
    pub message: Option<&'a str>,
    /// Shown from the account page (forms go to /account/mfa/…), not in a sign-in.
    pub account: bool,
    /// `[mfa] remember_device_days`: offer "don't ask again in this browser" (0: no).
    pub remember_days: u32,
}

/// The recovery codes as a text file for `download` (data URL, no request needed).
pub fn codes_download(codes: &[String]) -> String {
    let text = format!(
        "Recovery codes. Each works once, in place of a code from your authenticator app.\n\n{}\n",
        codes.join("\n")
    );
    format!(
        "data:text/plain;charset=utf-8,{}",
        form_urlencoded::byte_serialize(text.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    )
}

/// A page that only tells something, with an optional way on.
#[derive(Template)]
#[template(path = "notice.html")]
pub struct NoticePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub link: Option<(&'a str, &'a str)>,
}

pub struct OutboxEntry {
    pub subject: String,
    pub recipient: String,
    pub when: String,
    pub text: String,
    /// The links in the message, to click.
    pub links: Vec<String>,
}

#[derive(Template)]
#[template(path = "dev_outbox.html")]
pub struct DevOutboxPage {
    pub messages: Vec<OutboxEntry>,
}

pub struct LinkedRow {
    pub upstream_id: String,
    pub name: String,
    pub subject: String,
    pub email: String,
    pub can_unlink: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage<'a> {
    pub label: &'a str,
    pub has_password: bool,
    pub linked: Vec<LinkedRow>,
    pub available: Vec<UpstreamButton>,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    pub name: &'a str,
    pub email: &'a str,
    pub email_verified: bool,
    /// The account has a password of its own (whether or not password sign-in is on).
    pub local_password: bool,
    pub password_sign_in: bool,
    /// Email is configured: the address can be changed (with a code).
    pub email_changes: bool,
    /// A change of address awaits its code.
    pub pending_email: Option<&'a str>,
    pub min_length: usize,
    /// An authenticator app is on.
    pub totp_on: bool,
    /// Sensitive changes also ask for a code (an app's or a recovery code).
    pub mfa_needed: bool,
    pub recovery_codes_left: u64,
    /// `[mfa] required`: the last factor cannot be removed.
    pub mfa_required: bool,
    /// Passkeys are on (the issuer is on a domain name).
    pub passkeys_on: bool,
    pub passkeys: Vec<PasskeyRow>,
    pub sessions: Vec<SessionRow>,
    pub apps: Vec<AppRow>,
    pub activity: Vec<ActivityRow>,
}

/// An app with access to the account.
pub struct AppRow {
    /// The client id (what the revoke form names).
    pub id: String,
    pub name: String,
    /// What it may do, in words.
    pub scopes: Vec<String>,
    /// The consent is remembered: it signs the person in without asking.
    pub remembered: bool,
    /// Refresh-token families it can still use.
    pub families: usize,
    pub first_used: String,
    pub last_used: String,
}

/// One line of recent security activity.
pub struct ActivityRow {
    pub when: String,
    pub what: String,
    pub device: String,
    pub ip: String,
    /// A sign-in from a device not seen at an earlier sign-in.
    pub new_device: bool,
    /// Something the person should check was them.
    pub warning: bool,
}

pub struct SessionRow {
    /// The session's id hash (what the sign-out form names).
    pub id: String,
    pub device: String,
    pub ip: String,
    pub started: String,
    pub last_seen: String,
    /// How the person signed in there (`amr`), and through which upstream.
    pub how: String,
    pub this_device: bool,
}

pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    /// Synced between devices (backup eligible).
    pub synced: bool,
}

pub struct ScopeLine {
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub client_name: &'a str,
    pub account_email: &'a str,
    pub request_id: &'a str,
    pub csrf: &'a str,
    pub scopes: Vec<ScopeLine>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    pub csrf: &'a str,
    /// Carried to the confirmation, which checks them again.
    pub client_id: &'a str,
    pub post_logout_redirect_uri: &'a str,
    pub state: &'a str,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
pub struct LoggedOutPage;

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage<'a> {
    pub issuer: &'a str,
    pub version: &'a str,
    /// The dev config's demo app is on: link to it.
    pub demo_app: bool,
}

/// A decoded token on the demo page.
pub struct TokenPanel {
    pub title: &'static str,
    pub header: String,
    pub claims: String,
    pub verified: bool,
    pub verdict: String,
}

/// One request and response the demo app made.
pub struct StepPanel {
    pub title: &'static str,
    pub request: String,
    pub response: String,
    pub ok: bool,
}

#[derive(Template)]
#[template(path = "demo.html")]
pub struct DemoPage<'a> {
    pub signed_in: bool,
    pub signed_out: bool,
    pub client_id: &'a str,
    pub refresh_token: &'a str,
    pub error: Option<&'a str>,
    pub tokens: Vec<TokenPanel>,
    /// (check, passed)
    pub checks: Vec<(String, bool)>,
    pub userinfo: Option<&'a str>,
    pub notes: &'a [String],
    pub steps: Vec<StepPanel>,
}

/// Render a page with the pages' security headers (RFC 9700 §4.16, §4.2.4).
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(cause = %e, "template rendering failed");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!doctype html><title>Error</title><p>Something went wrong.</p>".into(),
            )
        }
    }
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ))
        .body(body)
}

/// The words a person sees for each scope on the consent page.
pub fn describe_scope(scope: &str) -> ScopeLine {
    let description = match scope {
        "openid" => "Know who you are (your account identifier)",
        "profile" => "See your name",
        "email" => "See your email address",
        "offline_access" => "Stay signed in and access your data while you are away",
        other => {
            return ScopeLine {
                name: other.to_owned(),
                description: format!("Access \u{201c}{other}\u{201d}"),
            };
        }
    };
    ScopeLine {
        name: scope.to_owned(),
        description: description.to_owned(),
    }
}
