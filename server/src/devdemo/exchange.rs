//! The demo relying party's HTTP client: every request it makes to the provider is recorded
//! as the page shows it (method, URL, headers, form body; response status and JSON), with
//! the client secret masked.

use openidconnect::reqwest;
use serde_json::Value;

/// One request and its response, for the page.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub title: &'static str,
    pub request: String,
    pub status: u16,
    pub response: String,
}

/// A failure to reach the provider at all (shown on the page, not a 500).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DemoError(pub String);

/// A value shown in a request: long ones are shortened, secrets masked.
fn shown(name: &str, value: &str) -> String {
    if name == "client_secret" {
        return "••••••".into();
    }
    if value.chars().count() > 60 {
        let head: String = value.chars().take(40).collect();
        return format!("{head}…");
    }
    value.to_owned()
}

fn render_request(req: &reqwest::Request) -> String {
    let mut out = format!("{} {}\n", req.method(), req.url());
    for (name, value) in req.headers() {
        let v = if name == reqwest::header::AUTHORIZATION {
            match value.to_str().unwrap_or("").split_once(' ') {
                Some(("Basic", _)) => "Basic ••••••  (client_id:client_secret)".to_owned(),
                Some((scheme, token)) => format!("{scheme} {}", shown("token", token)),
                None => "••••••".to_owned(),
            }
        } else {
            value.to_str().unwrap_or("").to_owned()
        };
        out.push_str(&format!("{name}: {v}\n"));
    }
    if let Some(body) = req.body().and_then(|b| b.as_bytes()) {
        out.push('\n');
        let pairs: Vec<String> = form_urlencoded::parse(body)
            .map(|(k, v)| format!("{k}={}", shown(&k, &v)))
            .collect();
        out.push_str(&pairs.join("&"));
        out.push('\n');
    }
    out
}

/// Send a request, record it in `log`, and return the status and the JSON body (or `null`).
pub async fn send(
    http: &reqwest::Client,
    log: &mut Vec<Exchange>,
    title: &'static str,
    req: reqwest::RequestBuilder,
) -> Result<(u16, Value), DemoError> {
    let req = req
        .build()
        .map_err(|e| DemoError(format!("{title}: {e}")))?;
    let request = render_request(&req);
    let res = http
        .execute(req)
        .await
        .map_err(|e| DemoError(format!("{title}: the provider did not answer ({e})")))?;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let response = if json.is_null() {
        format!("HTTP {status}\n\n{text}")
    } else {
        format!(
            "HTTP {status}\n\n{}",
            serde_json::to_string_pretty(&json).unwrap_or(text)
        )
    };
    log.push(Exchange {
        title,
        request,
        status,
        response,
    });
    Ok((status, json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_request_masks_the_client_secret_and_the_basic_credentials() {
        let req = reqwest::Client::new()
            .post("http://127.0.0.1/token")
            .basic_auth("demo", Some("s3cret"))
            .form(&[("client_secret", "s3cret"), ("code", "abc")])
            .build()
            .unwrap();
        let shown = render_request(&req);
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("code=abc"));
    }
}
