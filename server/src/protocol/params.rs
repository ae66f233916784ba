//! Form and query parameters as the protocol reads them (RFC 6749 §3.1, §3.2): a parameter
//! sent twice is an error, one sent without a value counts as absent, and sizes are capped.

use std::collections::HashMap;

use super::error::OAuthError;

/// Largest query string or form body an endpoint reads.
pub const MAX_PARAMS_BYTES: usize = 16 * 1024;

#[derive(Debug, Default)]
pub struct Params {
    values: HashMap<String, String>,
    duplicated: Vec<String>,
}

impl Params {
    pub fn parse(raw: &[u8]) -> Result<Self, OAuthError> {
        if raw.len() > MAX_PARAMS_BYTES {
            return Err(OAuthError::invalid_request(
                "request parameters are too large",
            ));
        }
        let mut p = Params::default();
        for (k, v) in form_urlencoded::parse(raw) {
            if v.is_empty() {
                continue;
            }
            if p.values.insert(k.to_string(), v.into_owned()).is_some() {
                p.duplicated.push(k.into_owned());
            }
        }
        Ok(p)
    }

    /// The value of a parameter that must appear at most once.
    pub fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        if self.duplicated.iter().any(|d| d == name) {
            return Err(OAuthError::invalid_request(format!(
                "parameter {name} is repeated"
            )));
        }
        Ok(self.values.get(name).map(String::as_str))
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("parameter {name} is missing")))
    }

    /// Any repeated parameter at all (RFC 6749 §3.1: "MUST NOT be included more than once").
    pub fn first_duplicate(&self) -> Option<&str> {
        self.duplicated.first().map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }
}

/// Read a request body up to the cap; a larger one is `invalid_request`, not a 413 page.
pub async fn read_body(
    mut payload: actix_web::web::Payload,
) -> Result<actix_web::web::Bytes, OAuthError> {
    use futures_util::StreamExt;
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| OAuthError::invalid_request("the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_PARAMS_BYTES {
            return Err(OAuthError::invalid_request("the request body is too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_parameter_is_refused() {
        let p = Params::parse(b"a=1&a=2&b=3").unwrap();
        assert!(p.get("a").is_err());
        assert_eq!(p.get("b").unwrap(), Some("3"));
    }

    #[test]
    fn an_empty_value_counts_as_absent() {
        let p = Params::parse(b"a=&b=x").unwrap();
        assert_eq!(p.get("a").unwrap(), None);
    }

    #[test]
    fn oversized_parameters_are_refused() {
        let big = vec![b'a'; MAX_PARAMS_BYTES + 1];
        assert!(Params::parse(&big).is_err());
    }
}
