//! Where an authorization error goes (RFC 6749 §4.1.2.1): our own page while the client or
//! redirect URI is not trusted, else the client's registered redirect URI with `error`,
//! `state` and `iss` (RFC 9207), already built.

use url::Url;

use crate::error::PageError;

pub enum AuthorizeError {
    /// Client or redirect URI not trusted, or the interaction expired: a page, never a redirect.
    Page(PageError),
    /// The error response, addressed to the client's registered redirect URI.
    Redirect(Url),
}

impl From<PageError> for AuthorizeError {
    fn from(e: PageError) -> Self {
        Self::Page(e)
    }
}

impl From<crate::store::StoreError> for AuthorizeError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Page(e.into())
    }
}
