//! The HTTP client connectors use to reach upstreams: bounded connect and total timeouts, no
//! redirects followed (an upstream cannot bounce us to another host), responses capped.

use openidconnect::reqwest;
use std::time::Duration;

use super::UpstreamError;

/// Largest upstream response body we read (discovery, JWKS, tokens, profiles).
const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
pub struct HttpClient {
    pub(crate) inner: reqwest::Client,
}

impl HttpClient {
    pub fn new(timeout: Duration) -> Result<Self, UpstreamError> {
        let inner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .timeout(timeout)
            .user_agent(concat!("Ostiary/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpstreamError::Config(format!("HTTP client: {e}")))?;
        Ok(Self { inner })
    }

    /// GET a JSON document, with a bearer token and query parameters if given.
    pub async fn get_json(
        &self,
        url: &url::Url,
        bearer: Option<&str>,
        query: &[(&str, &str)],
    ) -> Result<serde_json::Value, UpstreamError> {
        let mut req = self.inner.get(url.clone()).query(query);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.map_err(unavailable)?;
        let status = res.status();
        let body = read_capped(res).await?;
        if !status.is_success() {
            return Err(UpstreamError::Profile(format!(
                "{} answered HTTP {status}",
                url.path()
            )));
        }
        serde_json::from_slice(&body)
            .map_err(|e| UpstreamError::Profile(format!("{} is not JSON: {e}", url.path())))
    }
}

/// Every request the openidconnect and oauth2 crates make for a connector (discovery, JWKS,
/// token exchange) goes through here too: the same timeouts, no redirects, the same cap.
impl<'c> openidconnect::AsyncHttpClient<'c> for HttpClient {
    type Error = openidconnect::HttpClientError<reqwest::Error>;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, Self::Error>>
                + Send
                + Sync
                + 'c,
        >,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        use openidconnect::HttpClientError;
        Box::pin(async move {
            let mut res = self
                .inner
                .execute(request.try_into().map_err(Box::new)?)
                .await
                .map_err(Box::new)?;
            let mut builder = openidconnect::http::Response::builder()
                .status(res.status())
                .version(res.version());
            for (name, value) in res.headers() {
                builder = builder.header(name, value);
            }
            let mut body = Vec::new();
            while let Some(chunk) = res.chunk().await.map_err(Box::new)? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(HttpClientError::Other("response too large".into()));
                }
                body.extend_from_slice(&chunk);
            }
            builder.body(body).map_err(HttpClientError::Http)
        })
    }
}

async fn read_capped(mut res: reqwest::Response) -> Result<Vec<u8>, UpstreamError> {
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(unavailable)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(UpstreamError::Profile("response too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A transport failure: refused, reset, or over the time limit.
pub fn unavailable(e: reqwest::Error) -> UpstreamError {
    // Only the kind and the host: request URLs can carry codes or tokens.
    let host = e
        .url()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    UpstreamError::Unavailable(format!("{host}: {what}"))
}
