//! The one OAuth error type (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3). The HTTP status follows
//! from the code; the public description is kept apart from the private cause, which is logged
//! and never sent.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    AccessDenied,
    UnsupportedResponseType,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    InvalidToken,
    InsufficientScope,
    RequestNotSupported,
    RequestUriNotSupported,
    UnsupportedTokenType,
    /// OpenID Connect Core Unmet Authentication Requirements 1.0: the class asked for cannot
    /// be reached for this person.
    UnmetAuthenticationRequirements,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
        }
    }
}

/// How the client presented itself, which decides the `invalid_client` status (RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Challenge {
    #[default]
    None,
    /// The client used HTTP Basic: 401 with `WWW-Authenticate: Basic`.
    Basic,
    /// A bearer-token resource (userinfo): 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3).
    Bearer,
    /// A bearer-token resource asked without any credentials: 401 with a challenge that
    /// carries no error code, and no body (RFC 6750 §3.1).
    BearerMissing,
}

#[derive(thiserror::Error)]
pub struct OAuthError {
    pub code: ErrorCode,
    /// Sent as `error_description`. Never internal detail.
    pub description: Cow<'static, str>,
    /// Logged, never sent.
    #[source]
    pub cause: Option<anyhow::Error>,
    pub challenge: Challenge,
}

impl fmt::Debug for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)?;
        if let Some(c) = &self.cause {
            write!(f, " ({c:#})")?;
        }
        Ok(())
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
            cause: None,
            challenge: Challenge::None,
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, d)
    }

    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, d)
    }

    pub fn invalid_token(d: impl Into<Cow<'static, str>>) -> Self {
        Self {
            challenge: Challenge::Bearer,
            ..Self::new(ErrorCode::InvalidToken, d)
        }
    }

    pub fn server_error(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                ErrorCode::ServerError,
                "the server could not complete the request",
            )
        }
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                "the service is temporarily unavailable, try again later",
            )
        }
    }

    /// The description as sent: only the characters RFC 6749 §4.1.2.1 and §5.2 allow
    /// (%x20-21 / %x23-5B / %x5D-7E); anything else is dropped.
    pub fn public_description(&self) -> Cow<'_, str> {
        let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E');
        if self.description.chars().all(allowed) {
            Cow::Borrowed(&self.description)
        } else {
            Cow::Owned(self.description.chars().filter(|c| allowed(*c)).collect())
        }
    }

    pub fn with_challenge(mut self, challenge: Challenge) -> Self {
        self.challenge = challenge;
        self
    }

    pub fn status(&self) -> StatusCode {
        match (self.code, self.challenge) {
            (ErrorCode::InvalidClient, Challenge::Basic) => StatusCode::UNAUTHORIZED,
            (ErrorCode::InvalidToken, _) | (_, Challenge::BearerMissing) => {
                StatusCode::UNAUTHORIZED
            }
            (ErrorCode::InsufficientScope, _) => StatusCode::FORBIDDEN,
            (ErrorCode::ServerError, _) => StatusCode::INTERNAL_SERVER_ERROR,
            (ErrorCode::TemporarilyUnavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// Log the private cause once, where the error leaves the server.
    pub fn log(&self) {
        match (&self.cause, self.code) {
            (Some(c), _) => {
                tracing::error!(error = self.code.as_str(), cause = %format!("{c:#}"), "request failed")
            }
            (None, _) => {
                tracing::info!(error = self.code.as_str(), description = %self.description, "request refused")
            }
        }
    }
}

#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'static str,
    error_description: &'a str,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.log();
        let mut res = HttpResponse::build(self.status());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        res.insert_header((header::PRAGMA, "no-cache"));
        match self.challenge {
            Challenge::Basic if self.code == ErrorCode::InvalidClient => {
                res.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"ostiary\""));
            }
            Challenge::Bearer => {
                // RFC 6750 §3: the error in the challenge; no body needed, but a JSON one helps.
                let value = format!(
                    "Bearer error=\"{}\", error_description=\"{}\"",
                    self.code.as_str(),
                    self.public_description()
                );
                res.insert_header((header::WWW_AUTHENTICATE, value));
            }
            Challenge::BearerMissing => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"ostiary\""));
                return res.finish();
            }
            _ => {}
        }
        if self.code == ErrorCode::TemporarilyUnavailable {
            res.insert_header((header::RETRY_AFTER, "5"));
        }
        res.json(ErrorBody {
            error: self.code.as_str(),
            error_description: &self.public_description(),
        })
    }
}
