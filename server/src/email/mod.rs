//! Email: the messages (`messages`, askama templates), the SMTP transport (`transport`,
//! lettre) and the delivery worker (`worker`). A page never talks to SMTP: it writes the
//! message to the outbox in the same transaction as what the message announces, and the worker
//! delivers it, with retries, so a mail server that is down never slows or fails a page and
//! loses nothing.

pub mod messages;
pub mod transport;
pub mod worker;

use crate::config::EmailSettings;
use crate::store::NewEmail;
pub use messages::Rendered;
pub use transport::{Outgoing, SmtpTransport, TransportError};

/// Where messages go: an SMTP server, or (`dev_outbox`) the database only.
#[derive(Clone)]
pub struct Mailer {
    transport: Option<SmtpTransport>,
    held: bool,
    site: String,
}

impl Mailer {
    pub fn new(
        settings: &EmailSettings,
        issuer: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, TransportError> {
        let site = url::Url::parse(issuer)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                })
            })
            .unwrap_or_else(|| issuer.to_owned());
        Ok(Self {
            transport: SmtpTransport::from_settings(settings, env)?,
            held: settings.dev_outbox,
            site,
        })
    }

    /// The name messages call this provider by (the issuer's host).
    pub fn site(&self) -> &str {
        &self.site
    }

    pub fn transport(&self) -> Option<&SmtpTransport> {
        self.transport.as_ref()
    }

    /// Messages are kept for /dev/outbox instead of being sent.
    pub fn holds_messages(&self) -> bool {
        self.held
    }

    /// The outbox row for a rendered message to `to`, dropped if not delivered by `expires_at`.
    pub fn outgoing(&self, to: &str, m: Rendered, expires_at: i64) -> NewEmail {
        NewEmail {
            kind: m.kind,
            recipient: to.to_owned(),
            subject: m.subject.to_owned(),
            text: m.text,
            html: m.html,
            expires_at,
            held: self.held,
        }
    }
}
