//! The demo relying party's steps, as an ordinary client of the provider over HTTP (OIDC Core
//! §3.1 with PKCE, RFC 7636; refresh, RFC 6749 §6; revocation, RFC 7009; introspection,
//! RFC 7662; RP-initiated logout). Each step records the requests it made.

use openidconnect::{CsrfToken, Nonce, PkceCodeChallenge, reqwest};
use serde_json::Value;
use url::Url;

use super::exchange::{DemoError, Exchange, send};
use super::jwt::{self, Decoded};
use super::{DemoApp, Scenario};

/// A sign-in the demo started and waits to come back.
#[derive(Debug, Clone)]
pub struct Started {
    pub scenario: Scenario,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

/// What the demo holds after a sign-in.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    pub client_id: String,
    pub confidential: bool,
    pub id_token: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
}

/// What the page shows after a step.
#[derive(Debug, Clone, Default)]
pub struct Shown {
    pub id_token: Option<Decoded>,
    /// The ID token checks of OIDC Core §3.1.3.7 and whether each passed.
    pub id_checks: Vec<(String, bool)>,
    pub access_token: Option<Decoded>,
    pub userinfo: Option<String>,
    pub notes: Vec<String>,
    pub steps: Vec<Exchange>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl DemoApp {
    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }

    fn callback(&self) -> String {
        self.endpoint(crate::config::DEMO_CALLBACK)
    }

    /// The provider's metadata (OIDC Discovery §4).
    async fn discover(&self, log: &mut Vec<Exchange>) -> Result<Value, DemoError> {
        let url = self.endpoint("/.well-known/openid-configuration");
        let (_, doc) = send(&self.http, log, "Discovery", self.http.get(url)).await?;
        Ok(doc)
    }

    fn meta(doc: &Value, key: &str) -> Result<String, DemoError> {
        text(doc, key).ok_or_else(|| DemoError(format!("discovery has no {key}")))
    }

    /// The authorization request for `scenario`: where to send the browser, and what to keep.
    pub async fn start(
        &self,
        scenario: Scenario,
        log: &mut Vec<Exchange>,
    ) -> Result<(Url, Started), DemoError> {
        let doc = self.discover(log).await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let state = CsrfToken::new_random().secret().clone();
        let nonce = Nonce::new_random().secret().clone();
        let mut url = Url::parse(&Self::meta(&doc, "authorization_endpoint")?)
            .map_err(|e| DemoError(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", self.client_for(scenario).0)
                .append_pair("redirect_uri", &self.callback())
                .append_pair("scope", "openid profile email offline_access")
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", challenge.as_str())
                .append_pair("code_challenge_method", "S256");
            if scenario == Scenario::Consent {
                q.append_pair("prompt", "consent");
            }
        }
        let started = Started {
            scenario,
            state,
            nonce,
            verifier: verifier.secret().clone(),
        };
        Ok((url, started))
    }

    /// The client a scenario signs in as: (client_id, secret for a confidential one).
    fn client_for(&self, scenario: Scenario) -> (&str, Option<&str>) {
        match scenario {
            Scenario::Public => (&self.public_client_id, None),
            _ => (&self.client_id, Some(self.client_secret.expose())),
        }
    }

    fn authenticate(
        &self,
        req: reqwest::RequestBuilder,
        tokens: &Tokens,
        form: &mut Vec<(&'static str, String)>,
    ) -> reqwest::RequestBuilder {
        if tokens.confidential {
            req.basic_auth(&self.client_id, Some(self.client_secret.expose()))
        } else {
            form.push(("client_id", tokens.client_id.clone()));
            req
        }
    }

    /// The browser came back: check `state` and `iss` (RFC 9207), redeem the code with the
    /// PKCE verifier, verify the ID token, and ask userinfo.
    pub async fn finish(
        &self,
        started: &Started,
        query: &[(String, String)],
        shown: &mut Shown,
    ) -> Result<Tokens, DemoError> {
        let get = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if get("state").as_deref() != Some(started.state.as_str()) {
            return Err(DemoError("the state does not match this sign-in".into()));
        }
        if get("iss").as_deref() != Some(self.issuer.as_str()) {
            return Err(DemoError(
                "the iss parameter is not this provider (RFC 9207)".into(),
            ));
        }
        if let Some(e) = get("error") {
            return Err(DemoError(format!("the provider answered {e}")));
        }
        let code = get("code").ok_or_else(|| DemoError("no code".into()))?;
        let log = &mut shown.steps;
        let doc = self.discover(log).await?;
        let (client_id, secret) = self.client_for(started.scenario);
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", self.callback()),
            ("code_verifier", started.verifier.clone()),
        ];
        let mut req = self.http.post(Self::meta(&doc, "token_endpoint")?);
        match secret {
            Some(s) => req = req.basic_auth(client_id, Some(s)),
            None => form.push(("client_id", client_id.to_owned())),
        }
        let (status, body) = send(&self.http, log, "Token request", req.form(&form)).await?;
        if status != 200 {
            return Err(DemoError(format!("the token endpoint answered {status}")));
        }
        let tokens = Tokens {
            client_id: client_id.to_owned(),
            confidential: secret.is_some(),
            id_token: text(&body, "id_token").unwrap_or_default(),
            access_token: text(&body, "access_token").unwrap_or_default(),
            refresh_token: text(&body, "refresh_token"),
        };
        self.show_tokens(&doc, &tokens, Some(&started.nonce), shown)
            .await?;
        Ok(tokens)
    }

    /// Decode and verify both tokens against the JWKS, and read userinfo.
    async fn show_tokens(
        &self,
        doc: &Value,
        tokens: &Tokens,
        nonce: Option<&str>,
        shown: &mut Shown,
    ) -> Result<(), DemoError> {
        let log = &mut shown.steps;
        let (_, jwks) = send(
            &self.http,
            log,
            "JWKS",
            self.http.get(Self::meta(doc, "jwks_uri")?),
        )
        .await?;
        let id = jwt::decode(&tokens.id_token, &jwks);
        let c = &id.claims;
        let now = chrono::Utc::now().timestamp();
        let mut checks = vec![
            (
                "signature (RS256, key from the JWKS)".to_owned(),
                id.signature.is_ok(),
            ),
            (
                format!("iss is {}", self.issuer),
                text(c, "iss").as_deref() == Some(self.issuer.as_str()),
            ),
            (
                format!("aud is {}", tokens.client_id),
                text(c, "aud").as_deref() == Some(tokens.client_id.as_str()),
            ),
            (
                "exp is in the future".to_owned(),
                c.get("exp")
                    .and_then(Value::as_i64)
                    .is_some_and(|e| e > now),
            ),
        ];
        if let Some(n) = nonce {
            checks.push((
                "nonce is the one this sign-in sent".to_owned(),
                text(c, "nonce").as_deref() == Some(n),
            ));
        }
        shown.id_checks = checks;
        shown.id_token = Some(id);
        shown.access_token = Some(jwt::decode(&tokens.access_token, &jwks));
        let (_, info) = send(
            &self.http,
            log,
            "Userinfo",
            self.http
                .get(Self::meta(doc, "userinfo_endpoint")?)
                .bearer_auth(&tokens.access_token),
        )
        .await?;
        shown.userinfo = Some(serde_json::to_string_pretty(&info).unwrap_or_default());
        Ok(())
    }

    /// Ask introspection about `token` (confidential clients only), noting whether it is active.
    async fn introspect_one(
        &self,
        doc: &Value,
        tokens: &Tokens,
        token: &str,
        what: &str,
        shown: &mut Shown,
    ) -> Result<(), DemoError> {
        if !tokens.confidential {
            shown.notes.push("A public client cannot call introspection (RFC 7662 §2.1: it cannot authenticate).".into());
            return Ok(());
        }
        let mut form = vec![("token", token.to_owned())];
        let req = self.authenticate(
            self.http.post(Self::meta(doc, "introspection_endpoint")?),
            tokens,
            &mut form,
        );
        let (_, body) = send(
            &self.http,
            &mut shown.steps,
            "Introspection",
            req.form(&form),
        )
        .await?;
        let active = body.get("active").and_then(Value::as_bool) == Some(true);
        shown.notes.push(format!(
            "The {what} is {}.",
            if active { "active" } else { "not active" }
        ));
        Ok(())
    }

    /// Refresh: a new refresh token each time (rotation); the old one is no longer active.
    pub async fn refresh(&self, tokens: &mut Tokens, shown: &mut Shown) -> Result<(), DemoError> {
        let Some(old) = tokens.refresh_token.clone() else {
            return Err(DemoError("this sign-in has no refresh token".into()));
        };
        let doc = self.discover(&mut shown.steps).await?;
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", old.clone()),
        ];
        let req = self.authenticate(
            self.http.post(Self::meta(&doc, "token_endpoint")?),
            tokens,
            &mut form,
        );
        let (status, body) = send(&self.http, &mut shown.steps, "Refresh", req.form(&form)).await?;
        if status != 200 {
            return Err(DemoError(format!("the refresh was refused ({status})")));
        }
        tokens.access_token = text(&body, "access_token").unwrap_or_default();
        tokens.id_token = text(&body, "id_token").unwrap_or(tokens.id_token.clone());
        tokens.refresh_token = text(&body, "refresh_token");
        shown
            .notes
            .push("The refresh token rotated: a new one came back.".into());
        self.introspect_one(&doc, tokens, &old, "old refresh token", shown)
            .await?;
        if let Some(new) = tokens.refresh_token.clone() {
            self.introspect_one(&doc, tokens, &new, "new refresh token", shown)
                .await?;
        }
        self.show_tokens(&doc, tokens, None, shown).await
    }

    /// Revoke the refresh token (RFC 7009): its whole grant ends, access tokens included.
    pub async fn revoke(&self, tokens: &mut Tokens, shown: &mut Shown) -> Result<(), DemoError> {
        let doc = self.discover(&mut shown.steps).await?;
        let token = tokens
            .refresh_token
            .clone()
            .unwrap_or_else(|| tokens.access_token.clone());
        let mut form = vec![("token", token.clone())];
        let req = self.authenticate(
            self.http.post(Self::meta(&doc, "revocation_endpoint")?),
            tokens,
            &mut form,
        );
        let (status, _) = send(&self.http, &mut shown.steps, "Revocation", req.form(&form)).await?;
        shown.notes.push(format!("Revocation answered {status}."));
        self.introspect_one(&doc, tokens, &token, "revoked token", shown)
            .await?;
        let at = tokens.access_token.clone();
        self.introspect_one(&doc, tokens, &at, "access token of the same grant", shown)
            .await
    }

    /// Introspect the access token (RFC 7662).
    pub async fn introspect(&self, tokens: &Tokens, shown: &mut Shown) -> Result<(), DemoError> {
        let doc = self.discover(&mut shown.steps).await?;
        self.introspect_one(&doc, tokens, &tokens.access_token, "access token", shown)
            .await
    }

    /// RP-initiated logout: the browser goes to the end-session endpoint with the ID token as
    /// a hint and comes back to the demo page.
    pub async fn logout_url(&self, tokens: &Tokens, state: &str) -> Result<Url, DemoError> {
        let mut log = Vec::new();
        let doc = self.discover(&mut log).await?;
        let mut url = Url::parse(&Self::meta(&doc, "end_session_endpoint")?)
            .map_err(|e| DemoError(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", &tokens.id_token)
            .append_pair("post_logout_redirect_uri", &self.endpoint("/dev/demo"))
            .append_pair("state", state);
        Ok(url)
    }
}
