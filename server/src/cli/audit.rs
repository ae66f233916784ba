//! `ostiary audit list` and `ostiary audit verify`: the audit log for admins, as a table or as
//! JSON lines for a SIEM, and a walk of its hash chain that names the first record altered,
//! removed or inserted.

use clap::Subcommand;

use crate::audit::AuditKind;
use crate::audit::chain::Finding;
use crate::clock::{Clock, SystemClock};
use crate::store::{AuditFilter, ChainedRecord, Store};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Print audit records, oldest first.
    List {
        /// The account with this email (its records, and password attempts with it).
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        client: Option<String>,
        /// An event kind, such as login_failed (see README).
        #[arg(long)]
        kind: Option<String>,
        /// From this time on: RFC 3339 (2026-12-01T00:00:00Z), a date, or an age (24h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// At most this many records.
        #[arg(long, default_value_t = 1000)]
        limit: u64,
    },
    /// Check the chain of audit records (exit 1 at the first problem).
    Verify,
}

/// A `--since` value as Unix seconds.
pub fn parse_since(text: &str, now: i64) -> Option<i64> {
    let t = text.trim();
    if let Some(n) = t.strip_suffix('d').and_then(|n| n.parse::<i64>().ok()) {
        return Some(now - n * 86_400);
    }
    if let Some(n) = t.strip_suffix('h').and_then(|n| n.parse::<i64>().ok()) {
        return Some(now - n * 3_600);
    }
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(d.timestamp());
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
}

fn json_line(r: &ChainedRecord) -> String {
    let e = &r.event;
    serde_json::json!({
        "seq": r.seq,
        "at": chrono::DateTime::from_timestamp(e.at, 0).map(|d| d.to_rfc3339()),
        "kind": e.kind.as_str(),
        "account": e.account_id.as_ref().map(|a| a.as_str()),
        "client": e.client_id,
        "upstream": e.upstream_id.as_ref().map(|u| u.as_str()),
        "grant": e.grant_id.as_ref().map(|g| g.as_str()),
        "email": e.email,
        "reason": e.reason,
        "ip": e.origin.ip.map(|ip| ip.to_string()),
        "user_agent": e.origin.user_agent,
    })
    .to_string()
}

fn table_line(r: &ChainedRecord) -> String {
    let e = &r.event;
    let at = chrono::DateTime::from_timestamp(e.at, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    let dash = |v: Option<&str>| v.unwrap_or("-").to_owned();
    format!(
        "{at}\t{}\t{}\t{}\t{}\t{}\t{}",
        e.kind.as_str(),
        dash(e.account_id.as_ref().map(|a| a.as_str())),
        dash(e.client_id.as_deref()),
        dash(e.email.as_deref()),
        dash(e.origin.ip.map(|ip| ip.to_string()).as_deref()),
        dash(e.reason.as_deref()),
    )
}

pub async fn run(store: &Store, key: &[u8; 32], command: AuditCommand) -> anyhow::Result<i32> {
    match command {
        AuditCommand::Verify => {
            let finding = store.verify_audit(key).await?;
            println!("{finding}");
            Ok(if matches!(finding, Finding::Intact { .. }) {
                0
            } else {
                1
            })
        }
        AuditCommand::List {
            email,
            client,
            kind,
            since,
            json,
            limit,
        } => {
            let kind = match kind.as_deref().map(|k| (k, AuditKind::parse(k))) {
                Some((k, None)) => {
                    println!("error: no audit kind is called {k}");
                    return Ok(1);
                }
                Some((_, k)) => k,
                None => None,
            };
            let since = match since
                .as_deref()
                .map(|s| (s, parse_since(s, SystemClock.now())))
            {
                Some((s, None)) => {
                    println!("error: --since {s} is not a time (RFC 3339, YYYY-MM-DD, 24h, 7d)");
                    return Ok(1);
                }
                Some((_, t)) => t,
                None => None,
            };
            let mut filters = Vec::new();
            let base = AuditFilter {
                client_id: client,
                kind,
                since,
                limit,
                ..Default::default()
            };
            match email.map(|e| crate::accounts::normalise_email(&e)) {
                Some(e) => {
                    // The account's own records, and password attempts made with its address.
                    if let Some(a) = store.account_by_email(&e).await? {
                        filters.push(AuditFilter {
                            account_id: Some(a.id),
                            ..base.clone()
                        });
                    }
                    filters.push(AuditFilter {
                        email: Some(e),
                        ..base
                    });
                }
                None => filters.push(base),
            }
            let mut records: Vec<ChainedRecord> = Vec::new();
            for f in &filters {
                for r in store.audit_list(f).await? {
                    if !records.iter().any(|x| x.id == r.id) {
                        records.push(r);
                    }
                }
            }
            records.sort_by_key(|r| r.id);
            records.truncate(limit as usize);
            if !json {
                println!("at\tkind\taccount\tclient\temail\tip\treason");
            }
            for r in &records {
                println!("{}", if json { json_line(r) } else { table_line(r) });
            }
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_an_age_a_date_or_an_rfc_3339_time() {
        assert_eq!(parse_since("7d", 1_000_000), Some(1_000_000 - 7 * 86_400));
        assert_eq!(parse_since("24h", 100_000), Some(100_000 - 86_400));
        assert_eq!(parse_since("1970-01-02", 0), Some(86_400));
        assert_eq!(parse_since("1970-01-01T00:01:00Z", 0), Some(60));
        assert_eq!(parse_since("yesterday", 0), None);
    }
}
