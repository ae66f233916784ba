//! A real SMTP server for the tests (mailin-embedded, in-process, on a loopback port): Ostiary's
//! outbox worker delivers to it over TCP exactly as to a provider's relay, and a test reads the
//! code or link from what it received.

use mailin_embedded::{Handler, Server, SslConfig, response};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Received {
    /// The first 6-digit number in the text part.
    pub fn code(&self) -> String {
        self.text
            .split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap_or_else(|| panic!("no code in {:?}", self.text))
            .to_owned()
    }

    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        self.text
            .split_whitespace()
            .find(|w| w.starts_with(prefix))
            .unwrap_or_else(|| panic!("no link {prefix} in {:?}", self.text))
            .to_owned()
    }
}

#[derive(Clone)]
struct Collect {
    inbox: Arc<Mutex<Vec<Received>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collect {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let parsed = mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parsable message");
        let received = Received {
            to: self.to.clone(),
            subject: parsed.subject().unwrap_or_default().to_owned(),
            text: parsed
                .body_text(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
            html: parsed
                .body_html(0)
                .map(|t| t.into_owned())
                .unwrap_or_default(),
        };
        self.inbox.lock().unwrap().push(received);
        response::OK
    }
}

/// A running SMTP server and what it has received.
#[derive(Clone)]
pub struct Inbox {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
}

impl Inbox {
    /// Start on a free port.
    pub fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Start on a port picked earlier (the "server was down, now it is up" case).
    pub fn start_on_port(port: u16) -> Self {
        Self::start_on(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn start_on(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let handler = Collect {
            inbox: messages.clone(),
            to: Vec::new(),
            data: Vec::new(),
        };
        let mut server = Server::new(handler);
        server
            .with_name("smtp.test")
            .with_ssl(SslConfig::None)
            .unwrap()
            .with_num_threads(16)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, messages }
    }

    /// The `smtp_url` of this server (plain SMTP: allowed on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Everything received for `to` so far.
    pub fn for_address(&self, to: &str) -> Vec<Received> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .cloned()
            .collect()
    }

    /// Wait (the outbox worker delivers in the background) until `to` has received `n`
    /// messages, and return the n-th.
    pub async fn wait_for(&self, to: &str, n: usize) -> Received {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.for_address(to);
            if got.len() >= n {
                return got[n - 1].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no message #{n} for {to} in 20 s: {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A free loopback port with nothing listening on it (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
