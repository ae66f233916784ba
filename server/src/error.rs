//! Browser-facing errors: an HTML page that never redirects (RFC 6749 §4.1.2.1 for a bad
//! client or redirect URI; expired interactions; CSRF failures). Internal causes are logged.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

use crate::pages;

pub struct PageError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub cause: Option<anyhow::Error>,
}

impl PageError {
    pub fn bad_request(title: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title,
            message: message.into(),
            cause: None,
        }
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong",
            message: "The server could not complete the request. Please try again.".into(),
            cause: Some(cause.into()),
        }
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Temporarily unavailable",
            message: "The service is temporarily unavailable. Please try again in a moment.".into(),
            cause: Some(cause.into()),
        }
    }

    pub fn expired() -> Self {
        Self::bad_request(
            "This sign-in has expired",
            "The sign-in request is no longer valid. Go back to the application and start again.",
        )
    }
}

impl fmt::Debug for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.title, self.message)
    }
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        match &self.cause {
            Some(c) => tracing::error!(cause = %format!("{c:#}"), "page error"),
            None => tracing::info!(title = self.title, "page error"),
        }
        pages::render(
            self.status,
            &pages::ErrorPage {
                title: self.title,
                message: &self.message,
            },
        )
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            Self::unavailable(e)
        } else {
            Self::internal(e)
        }
    }
}

impl From<crate::protocol::error::OAuthError> for PageError {
    fn from(e: crate::protocol::error::OAuthError) -> Self {
        use crate::protocol::error::ErrorCode;
        match e.code {
            ErrorCode::TemporarilyUnavailable => Self::unavailable(e),
            ErrorCode::ServerError => Self::internal(e),
            _ => Self::bad_request("Invalid request", e.description.into_owned()),
        }
    }
}
