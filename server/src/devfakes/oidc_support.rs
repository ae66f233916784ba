//! HTTP Basic client credentials (RFC 6749 §2.3.1) as the fakes' token endpoints read them.

use actix_web::HttpRequest;

pub fn basic_credentials(r: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine;
    let h = r.headers().get("Authorization")?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(h.strip_prefix("Basic ")?)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let dec = |s: &str| {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((dec(id)?, dec(secret)?))
}
