//! SMTP delivery with lettre, configured from `[email] smtp_url`: `smtps://` is TLS from the
//! first byte (RFC 8314 §3.3, port 465 by default), `smtp://` requires STARTTLS (RFC 3207, port
//! 587 by default) except on a loopback host, where it may be plain (a local relay or a test
//! server, port 25 by default). Credentials come from the URL's user and `password_env` (or
//! the URL's password).

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

use crate::config::EmailSettings;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("email.smtp_url: {0}")]
    Config(String),
    #[error("the message could not be built: {0}")]
    Message(String),
    /// The SMTP server could not be reached or refused the message (the cause has no secrets).
    #[error("SMTP delivery failed: {0}")]
    Smtp(String),
}

/// One message to hand to the SMTP server.
pub struct Outgoing<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

/// A configured SMTP connection pool.
#[derive(Clone)]
pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// `smtp://` is not a special scheme to the URL parser: its host is an opaque string, so an
/// IP address is recognised here.
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl SmtpTransport {
    /// The transport `settings` describe; `None` when there is no SMTP server to use (no
    /// `smtp_url`, or the development outbox keeps the messages).
    pub fn from_settings(
        settings: &EmailSettings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, TransportError> {
        let Some(raw) = settings
            .smtp_url
            .as_deref()
            .filter(|_| !settings.dev_outbox)
        else {
            return Ok(None);
        };
        let bad = |m: &str| TransportError::Config(m.to_owned());
        let url = url::Url::parse(raw).map_err(|_| bad("not a URL"))?;
        let host_name = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_matches(['[', ']'])
            .to_owned();
        let mut builder = match url.scheme() {
            "smtps" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host_name)
                .map_err(|e| TransportError::Config(e.to_string()))?
                .port(url.port().unwrap_or(465)),
            "smtp" if is_loopback_host(&host_name) => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host_name)
                    .port(url.port().unwrap_or(25))
            }
            "smtp" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host_name)
                .map_err(|e| TransportError::Config(e.to_string()))?
                .port(url.port().unwrap_or(587)),
            _ => return Err(bad("must start with smtps:// or smtp://")),
        };
        let user = percent_decode(url.username());
        if !user.is_empty() {
            let password = match settings.password_env.as_deref() {
                Some(var) => env(var).ok_or_else(|| bad("password_env is not set"))?,
                None => percent_decode(url.password().unwrap_or_default()),
            };
            builder = builder.credentials(Credentials::new(user, password));
        }
        let timeout = Duration::from_secs(settings.timeout_seconds);
        let from: Mailbox = settings
            .sender()
            .parse()
            .map_err(|_| TransportError::Config("email.from is not an address".into()))?;
        Ok(Some(Self {
            inner: builder.timeout(Some(timeout)).build(),
            from,
        }))
    }

    /// Send one message (text and HTML alternatives).
    pub async fn send(&self, m: &Outgoing<'_>) -> Result<(), TransportError> {
        let to: Mailbox = m
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| TransportError::Message(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject)
            .multipart(MultiPart::alternative_plain_html(
                m.text.to_owned(),
                m.html.to_owned(),
            ))
            .map_err(|e| TransportError::Message(e.to_string()))?;
        self.inner
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| TransportError::Smtp(e.to_string()))
    }
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_this_machine_counts_as_loopback_for_plain_smtp() {
        for h in ["127.0.0.1", "127.1.2.3", "::1", "localhost"] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["10.0.0.1", "smtp.example.com", "127.0.0.1.example.com"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
