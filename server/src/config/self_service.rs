//! The `[registration]`, `[passwords]` and `[email]` sections (self-service accounts and the
//! mail they need), and their checks. Password rules follow NIST SP 800-63B §3.1.1.2.

use serde::Deserialize;

use super::Settings;
use super::validate::{Problem, is_dev_issuer};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationSettings {
    /// "Create account" on the login page.
    pub enabled: bool,
    /// Only addresses at these domains may sign up (empty: any).
    pub allowed_email_domains: Vec<String>,
    /// A password sign-in of an account whose email is unverified stops for the emailed code.
    pub require_verified_email: bool,
}

impl Default for RegistrationSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            allowed_email_domains: Vec::new(),
            require_verified_email: true,
        }
    }
}

impl RegistrationSettings {
    /// Whether an address may sign up here (its domain compared in ASCII lower case).
    pub fn allows(&self, email: &str) -> bool {
        self.allowed_email_domains.is_empty()
            || email.rsplit_once('@').is_some_and(|(_, d)| {
                self.allowed_email_domains
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(d))
            })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Fewest characters a new password may have (NIST: at least 8; 15 without a second factor).
    pub min_length: usize,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self { min_length: 12 }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSettings {
    /// `smtps://user@smtp.example.com:465` (TLS), `smtp://user@host:587` (STARTTLS, required),
    /// `smtp://127.0.0.1:25` (plain: loopback only).
    pub smtp_url: Option<String>,
    /// The sender, `Name <address>` or an address.
    pub from: Option<String>,
    /// Environment variable holding the SMTP password (instead of one in `smtp_url`).
    pub password_env: Option<String>,
    /// Seconds to connect and to complete one message.
    pub timeout_seconds: u64,
    /// Development only: keep messages in the database and show them at /dev/outbox.
    pub dev_outbox: bool,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: None,
            password_env: None,
            timeout_seconds: 10,
            dev_outbox: false,
        }
    }
}

impl EmailSettings {
    /// Messages can go somewhere (a server, or the development outbox).
    pub fn configured(&self) -> bool {
        self.dev_outbox || self.smtp_url.is_some()
    }

    /// The sender address.
    pub fn sender(&self) -> &str {
        self.from
            .as_deref()
            .unwrap_or("Ostiary <no-reply@localhost>")
    }
}

/// Problems with the three sections.
pub fn validate(s: &Settings, env: &dyn Fn(&str) -> Option<String>, p: &mut Vec<Problem>) {
    let e = &s.email;
    if !(8..=64).contains(&s.passwords.min_length) {
        p.push(Problem::error(
            "passwords.min_length",
            "must be between 8 and 64 (NIST SP 800-63B)",
        ));
    }
    if e.dev_outbox && !is_dev_issuer(&s.issuer) {
        p.push(Problem::error(
            "email.dev_outbox",
            "the development outbox is for a development config only (an http://localhost or http://127.0.0.1 issuer)",
        ));
    } else if e.dev_outbox {
        p.push(Problem::warning(
            "email.dev_outbox",
            "keeps messages in the database and shows them at /dev/outbox: for development only",
        ));
    }
    if e.timeout_seconds == 0 || e.timeout_seconds > 300 {
        p.push(Problem::error(
            "email.timeout_seconds",
            "must be between 1 and 300",
        ));
    }
    if let Some(url) = &e.smtp_url {
        check_smtp_url(url, p);
        if e.from.is_none() {
            p.push(Problem::error(
                "email.from",
                "is required with email.smtp_url",
            ));
        }
    }
    if let Some(from) = &e.from
        && from.parse::<lettre::message::Mailbox>().is_err()
    {
        p.push(Problem::error(
            "email.from",
            "must be an address or `Name <address>`",
        ));
    }
    if let Some(var) = &e.password_env
        && env(var).is_none()
    {
        p.push(Problem::error(
            "email.password_env",
            format!("environment variable {var} is not set"),
        ));
    }
    if s.registration.enabled && !e.configured() {
        p.push(Problem::error(
            "registration.enabled",
            "needs [email] smtp_url (or dev_outbox in development) to send verification codes",
        ));
    }
    if s.registration.enabled && !s.login.password {
        p.push(Problem::warning(
            "registration.enabled",
            "has no effect with login.password = false (no sign-up form is shown)",
        ));
    }
}

fn check_smtp_url(url: &str, p: &mut Vec<Problem>) {
    let Ok(u) = url::Url::parse(url) else {
        p.push(Problem::error("email.smtp_url", "must be a URL"));
        return;
    };
    match u.scheme() {
        // smtp:// off loopback requires STARTTLS (the transport refuses a server without it).
        "smtps" | "smtp" => {}
        _ => p.push(Problem::error(
            "email.smtp_url",
            "must start with smtps:// (TLS) or smtp:// (STARTTLS; plain only on loopback)",
        )),
    }
    if u.host_str().is_none_or(str::is_empty) {
        p.push(Problem::error("email.smtp_url", "must name a host"));
    }
    if u.query().is_some() {
        p.push(Problem::error(
            "email.smtp_url",
            "takes no query: TLS follows from the scheme",
        ));
    }
}
