//! GET /dev/outbox — development only (`[email] dev_outbox`, refused by check-config off a
//! loopback issuer): the messages Ostiary would have sent, newest first, with their links.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use crate::error::PageError;
use crate::pages;
use crate::state::State;

pub async fn show(state: State) -> Result<HttpResponse, PageError> {
    let messages = state
        .store
        .recent_emails(50)
        .await?
        .into_iter()
        .map(|m| {
            let text = m.text.unwrap_or_default();
            let links = text
                .split_whitespace()
                .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
                .map(str::to_owned)
                .collect();
            pages::OutboxEntry {
                subject: m.subject,
                recipient: m.recipient,
                when: chrono::DateTime::from_timestamp(m.created_at, 0)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default(),
                text,
                links,
            }
        })
        .collect();
    let mut res = pages::render(StatusCode::OK, &pages::DevOutboxPage { messages });
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
