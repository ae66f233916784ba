//! A browser's requests (the sign-in pages, the code exchange) on a bare keep-alive HTTP/1.1
//! connection, responses parsed with `httparse` alone. The load generator shares the machine
//! with the server; with reqwest it took a tenth of two cores from the server in the code
//! exchange, a third of that on this path.

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Jar;

/// A response: its status, `Location`, `Set-Cookie` headers and body.
pub struct Response {
    pub status: u16,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub body: Vec<u8>,
}

/// One connection to the server, reopened if the server closes it.
pub struct Conn {
    addr: String,
    host: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
}

impl Conn {
    /// `base` is `http://host:port`.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let host = base
            .strip_prefix("http://")
            .context("the raw client speaks plain http only")?
            .trim_end_matches('/')
            .to_owned();
        Ok(Conn {
            addr: host.clone(),
            host,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Send `method path` with `headers` (each ending in CRLF) and `body`; read the response.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &str,
        body: &[u8],
    ) -> anyhow::Result<Response> {
        let mut req = Vec::with_capacity(256 + path.len() + headers.len() + body.len());
        req.extend_from_slice(
            format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n{headers}\r\n",
                self.host,
                body.len()
            )
            .as_bytes(),
        );
        req.extend_from_slice(body);
        let stream = match &mut self.stream {
            Some(s) => s,
            None => self.stream.insert(TcpStream::connect(&self.addr).await?),
        };
        stream.set_nodelay(true)?;
        if let Err(e) = stream.write_all(&req).await {
            self.stream = None;
            return Err(e.into());
        }
        match read_response(stream, &mut self.buf).await {
            Ok((res, keep)) => {
                if !keep {
                    self.stream = None;
                }
                Ok(res)
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }
}

/// Read one response (`Content-Length` framed); true in the second place if the connection
/// stays open.
async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> anyhow::Result<(Response, bool)> {
    buf.clear();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = parsed.parse(buf)? {
            let status = parsed.code.context("no status")?;
            let mut length = 0usize;
            let mut keep = true;
            let mut location = None;
            let mut cookies = Vec::new();
            for h in parsed.headers.iter() {
                let value = std::str::from_utf8(h.value)?;
                if h.name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not read here");
                } else if h.name.eq_ignore_ascii_case("connection") {
                    keep = !value.eq_ignore_ascii_case("close");
                } else if h.name.eq_ignore_ascii_case("location") {
                    location = Some(value.to_owned());
                } else if h.name.eq_ignore_ascii_case("set-cookie") {
                    cookies.push(value.to_owned());
                }
            }
            while buf.len() < head + length {
                if read_more(stream, buf).await? == 0 {
                    bail!("the server closed the connection mid-response");
                }
            }
            let body = buf[head..head + length].to_vec();
            return Ok((
                Response {
                    status,
                    location,
                    cookies,
                    body,
                },
                keep,
            ));
        }
        if read_more(stream, buf).await? == 0 {
            bail!("the server closed the connection");
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> anyhow::Result<usize> {
    let start = buf.len();
    buf.resize(start + 8192, 0);
    let n = stream.read(&mut buf[start..]).await?;
    buf.truncate(start + n);
    Ok(n)
}

impl Jar {
    /// Keep the cookies a raw response set.
    pub fn take_raw(&mut self, res: &Response) {
        for text in &res.cookies {
            self.set(text);
        }
    }
}
