//! One function per authorization-request rule, called in order by `request::validate`
//! (RFC 6749 §4.1.1, §4.1.2.1; RFC 7636 §4.3; OIDC Core §3.1.2.1, §3.1.2.2; RFC 9700 §2.1).

use std::sync::Arc;

use crate::clients::{Client, ClientRegistry};
use crate::error::PageError;
use crate::protocol::error::{ErrorCode, OAuthError};
use crate::protocol::ids::AccountId;
use crate::protocol::params::Params;
use crate::protocol::vocab::{Acr, GrantType, OFFLINE_ACCESS, Prompt, Scopes};
use crate::state::AppState;
use crate::tokens::id_token;

/// Before the client and redirect URI are trusted, errors are shown, never redirected.
pub fn check_client(clients: &ClientRegistry, p: &Params) -> Result<Arc<Client>, PageError> {
    let bad = |m: &str| PageError::bad_request("Unknown application", m.to_owned());
    let id = p
        .get("client_id")
        .map_err(|_| bad("The request names more than one client."))?;
    let id = id.ok_or_else(|| {
        bad("The request does not say which application it comes from (client_id is missing).")
    })?;
    clients
        .get(id)
        .ok_or_else(|| bad("The application that sent you here is not registered."))
}

pub fn check_redirect_uri(client: &Client, p: &Params) -> Result<String, PageError> {
    let bad = |m: &str| PageError::bad_request("Invalid redirect address", m.to_owned());
    let uri = p
        .get("redirect_uri")
        .map_err(|_| bad("The request carries more than one redirect_uri."))?;
    let uri =
        uri.ok_or_else(|| bad("The request has no redirect_uri (OpenID Connect requires one)."))?;
    if !client.redirect_uri_registered(uri) {
        return Err(bad(
            "The redirect_uri is not registered for this application.",
        ));
    }
    Ok(uri.to_owned())
}

pub fn check_no_duplicates(p: &Params) -> Result<(), OAuthError> {
    match p.first_duplicate() {
        // The name is the sender's input: never echoed (RFC 6749 §4.1.2.1).
        Some(_) => Err(OAuthError::invalid_request("a parameter is repeated")),
        None => Ok(()),
    }
}

pub fn check_response_type(client: &Client, p: &Params) -> Result<(), OAuthError> {
    match p.require("response_type")? {
        "code" => {}
        _ => {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }
    match p.get("response_mode")? {
        None | Some("query") => Ok(()),
        Some(_) => Err(OAuthError::invalid_request(
            "only response_mode=query is supported",
        )),
    }
}

/// OIDC Core §6: request objects are not supported.
pub fn check_no_request_object(p: &Params) -> Result<(), OAuthError> {
    if p.has("request") {
        return Err(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if p.has("request_uri") {
        return Err(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    Ok(())
}

pub fn check_scope(client: &Client, p: &Params) -> Result<Scopes, OAuthError> {
    let raw = p
        .require("scope")
        .map_err(|_| OAuthError::invalid_scope("scope is required"))?;
    let scope =
        Scopes::parse(raw).ok_or_else(|| OAuthError::invalid_scope("scope is malformed"))?;
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope("scope is required"));
    }
    if !scope.is_subset(&client.scopes) {
        return Err(OAuthError::invalid_scope(
            "a requested scope is not allowed for this client",
        ));
    }
    // offline_access means nothing without the refresh_token grant: drop it (OIDC Core §11).
    if scope.contains(OFFLINE_ACCESS) && !client.allows_grant(GrantType::RefreshToken) {
        return Ok(scope.without(OFFLINE_ACCESS));
    }
    Ok(scope)
}

/// RFC 7636: S256 only; required for public clients, honoured for all. Returns the challenge
/// in the form oxide-auth's `Pkce` verifies later.
pub fn check_pkce(client: &Client, p: &Params) -> Result<Option<String>, OAuthError> {
    let challenge = p.get("code_challenge")?;
    let method = p.get("code_challenge_method")?;
    match (challenge, method) {
        (None, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(_), Some(m)) if m != "S256" => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256 (plain is refused)",
            ));
        }
        (Some(_), None) => {
            return Err(OAuthError::invalid_request(
                "code_challenge_method must be S256 (plain is refused)",
            ));
        }
        (None, None) if client.is_public() => {
            return Err(OAuthError::invalid_request(
                "PKCE (code_challenge with S256) is required for this client",
            ));
        }
        (None, None) => return Ok(None),
        _ => {}
    }
    let challenge = challenge.unwrap_or_default();
    // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters.
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(OAuthError::invalid_request("code_challenge is malformed"));
    }
    crate::oauth::pkce::stored(challenge)
        .map(Some)
        .ok_or_else(|| OAuthError::invalid_request("code_challenge is malformed"))
}

pub fn check_prompt(p: &Params) -> Result<Vec<Prompt>, OAuthError> {
    let Some(raw) = p.get("prompt")? else {
        return Ok(Vec::new());
    };
    let mut prompts = Vec::new();
    for tok in raw.split(' ').filter(|t| !t.is_empty()) {
        let prompt = Prompt::parse(tok)
            .ok_or_else(|| OAuthError::invalid_request("unknown prompt value"))?;
        if !prompts.contains(&prompt) {
            prompts.push(prompt);
        }
    }
    if prompts.contains(&Prompt::None) && prompts.len() > 1 {
        return Err(OAuthError::invalid_request(
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompts)
}

/// OIDC Core §3.1.2.1 `acr_values`: space-separated classes in order of preference. Values
/// this provider does not know ask for nothing; the list is bounded.
pub fn check_acr_values(p: &Params) -> Result<Vec<Acr>, OAuthError> {
    let Some(raw) = p.get("acr_values")? else {
        return Ok(Vec::new());
    };
    if raw.len() > 2048 {
        return Err(OAuthError::invalid_request("acr_values is too long"));
    }
    let mut known = Vec::new();
    for a in raw.split(' ').filter_map(Acr::parse) {
        if !known.contains(&a) {
            known.push(a);
        }
    }
    Ok(known)
}

/// OIDC Core §5.5 `claims`: only its `id_token.acr` member is acted upon (§5.5.1.1): its
/// `value`/`values` join `acr_values`; an essential `acr` none of whose values this provider
/// knows cannot be met (`unmet_authentication_requirements`). Other requested claims follow
/// the scopes, as voluntary claims may. The parameter must be a JSON object.
pub fn check_claims_acr(p: &Params) -> Result<Vec<Acr>, OAuthError> {
    let Some(raw) = p.get("claims")? else {
        return Ok(Vec::new());
    };
    if raw.len() > 4096 {
        return Err(OAuthError::invalid_request("claims is too long"));
    }
    let doc: serde_json::Value = serde_json::from_str(raw)
        .map_err(|_| OAuthError::invalid_request("claims is not a JSON object"))?;
    if !doc.is_object() {
        return Err(OAuthError::invalid_request("claims is not a JSON object"));
    }
    let acr = &doc["id_token"]["acr"];
    if acr.is_null() {
        return Ok(Vec::new());
    }
    let mut asked: Vec<&str> = acr["values"]
        .as_array()
        .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    if let Some(one) = acr["value"].as_str() {
        asked.push(one);
    }
    let known: Vec<Acr> = asked.iter().filter_map(|a| Acr::parse(a)).collect();
    let essential = acr["essential"].as_bool().unwrap_or(false);
    if essential && !asked.is_empty() && known.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::UnmetAuthenticationRequirements,
            "none of the essential acr values is supported",
        ));
    }
    Ok(known)
}

pub fn check_max_age(p: &Params) -> Result<Option<i64>, OAuthError> {
    match p.get("max_age")? {
        None => Ok(None),
        Some(v) => v
            .parse::<u32>()
            .map(|n| Some(i64::from(n)))
            .map_err(|_| OAuthError::invalid_request("max_age must be a non-negative integer")),
    }
}

/// OIDC Core §3.1.2.1 `id_token_hint`: an ID token we issued (RS256, one of our keys, our
/// issuer, an audience that includes this client; it may have expired). Its `sub` is the
/// person the client expects; a hint that fails any check is `invalid_request`.
pub fn check_id_token_hint(
    state: &AppState,
    client: &Client,
    p: &Params,
) -> Result<Option<AccountId>, OAuthError> {
    let Some(hint) = p.get("id_token_hint")? else {
        return Ok(None);
    };
    if hint.len() > 8192 {
        return Err(OAuthError::invalid_request("id_token_hint is invalid"));
    }
    id_token::verify_hint(&state.keys.current(), hint, state.issuer())
        .ok()
        .filter(|h| h.audience.iter().any(|a| a == client.id.as_str()))
        .map(|h| Some(AccountId::new(h.subject)))
        .ok_or_else(|| OAuthError::invalid_request("id_token_hint is invalid"))
}

/// Bounded free-text parameters.
pub fn check_text(p: &Params, name: &str, max: usize) -> Result<Option<String>, OAuthError> {
    match p.get(name)? {
        Some(v) if v.len() > max => Err(OAuthError::invalid_request(format!("{name} is too long"))),
        v => Ok(v.map(str::to_owned)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_none_with_another_value_is_refused() {
        let p = Params::parse(b"prompt=none+login").unwrap();
        assert!(check_prompt(&p).is_err());
    }

    #[test]
    fn an_essential_acr_in_claims_joins_the_request_and_an_unknown_one_cannot_be_met() {
        let mfa = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
        let claims = |json: &str| {
            let body = format!(
                "claims={}",
                url::form_urlencoded::byte_serialize(json.as_bytes()).collect::<String>()
            );
            check_claims_acr(&Params::parse(body.as_bytes()).unwrap())
        };
        let asked = claims(&format!(
            r#"{{"id_token":{{"acr":{{"essential":true,"values":["x","{mfa}"]}}}}}}"#
        ));
        assert_eq!(asked.unwrap(), vec![Acr::MultiFactor]);
        let unmet = claims(r#"{"id_token":{"acr":{"essential":true,"value":"urn:unknown"}}}"#);
        assert_eq!(
            unmet.unwrap_err().code,
            ErrorCode::UnmetAuthenticationRequirements
        );
        assert!(claims(r#"{"userinfo":{"email":null}}"#).unwrap().is_empty());
        assert!(claims("[1]").is_err() && claims("{not json").is_err());
    }

    #[test]
    fn a_negative_max_age_is_refused() {
        let p = Params::parse(b"max_age=-1").unwrap();
        assert!(check_max_age(&p).is_err());
    }
}
