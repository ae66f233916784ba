//! Models read from the SQLite fast path's rows (`direct`): each entity the hot reads return
//! names its fields once, in its columns' order, and is read by position after its first
//! column is found by name (looking every column up by name compared strings across the
//! whole row, 1% of a code exchange). The same impl reads the entity alone (`""`) and as one
//! side of a join (`"A_"`, `"B_"` …, the prefixes sea-orm gives each entity's columns).

use rusqlite::Row;
use rusqlite::types::{FromSql, ValueRef};

use crate::store::entities::{
    access_tokens, accounts, auth_codes, auth_requests, browser_sessions, consents,
    disabled_accounts, grants, login_failures, refresh_tokens, remembered_devices, totp_factors,
};

/// A sea-orm model read from a direct row.
pub(in crate::store) trait FromDirect: Sized {
    /// The entity's first column (the one found by name).
    const FIRST: &'static str;

    /// The model from the columns called `prefix` + field.
    fn from_direct(row: &Row<'_>, prefix: &str) -> rusqlite::Result<Self>;

    /// The model of a joined entity, `None` when the join found no row (its first column,
    /// never NULL in a stored row, is NULL).
    fn joined(row: &Row<'_>, prefix: &str) -> rusqlite::Result<Option<Self>> {
        let at = first_column(row, prefix, Self::FIRST)?;
        if row.get_ref(at)? == ValueRef::Null {
            return Ok(None);
        }
        Self::from_direct(row, prefix).map(Some)
    }
}

/// Where column `prefix` + `name` is.
pub(in crate::store) fn first_column(
    row: &Row<'_>,
    prefix: &str,
    name: &str,
) -> rusqlite::Result<usize> {
    let stmt = row.as_ref();
    (0..stmt.column_count())
        .find(|&i| {
            stmt.column_name(i)
                .is_ok_and(|n| n.strip_prefix(prefix) == Some(name))
        })
        .ok_or_else(|| rusqlite::Error::InvalidColumnName(format!("{prefix}{name}")))
}

/// Column `at` of `row`, which must be the one called `prefix` + `name`: a model's fields
/// out of its entity's column order fail every debug build (the suite).
pub(in crate::store) fn column<T: FromSql>(
    row: &Row<'_>,
    at: usize,
    prefix: &str,
    name: &str,
) -> rusqlite::Result<T> {
    debug_assert_eq!(
        row.as_ref()
            .column_name(at)
            .ok()
            .and_then(|n| n.strip_prefix(prefix)),
        Some(name),
        "from_direct: a field out of the entity's column order"
    );
    row.get(at)
}

/// `impl FromDirect` for a model whose fields are listed in the entity's column order (the
/// struct literal does not compile unless every field is named).
macro_rules! from_direct {
    ($($model:ident)::+ { $first:ident $(, $field:ident)* $(,)? }) => {
        impl FromDirect for $($model)::+ {
            const FIRST: &'static str = stringify!($first);

            fn from_direct(row: &Row<'_>, prefix: &str) -> rusqlite::Result<Self> {
                #[allow(unused_mut)]
                let mut at = first_column(row, prefix, Self::FIRST)?;
                // Fields are evaluated in the order written: each reads the next column.
                Ok($($model)::+ {
                    $first: column(row, at, prefix, stringify!($first))?,
                    $($field: {
                        at += 1;
                        column(row, at, prefix, stringify!($field))?
                    }),*
                })
            }
        }
    };
}

from_direct!(accounts::Model {
    id,
    email,
    email_verified,
    name,
    password_hash,
    created_at
});
from_direct!(disabled_accounts::Model {
    account_id,
    disabled_at
});
from_direct!(browser_sessions::Model {
    id_hash,
    account_id,
    auth_time,
    amr,
    idp,
    created_at,
    expires_at,
    ip,
    user_agent,
    last_seen_at,
    sid,
});
from_direct!(auth_requests::Model {
    id,
    client_id,
    request_json,
    created_at,
    expires_at,
    stage_json,
    revision,
});
from_direct!(grants::Model {
    id,
    client_id,
    account_id,
    scope,
    auth_time,
    amr,
    idp,
    created_at,
    expires_at,
    revoked_at,
    revoked_reason,
    acr,
    sid,
});
from_direct!(auth_codes::Model {
    code_hash,
    grant_id,
    client_id,
    account_id,
    redirect_uri,
    scope,
    nonce,
    pkce_challenge,
    auth_time,
    created_at,
    expires_at,
    consumed_at,
});
from_direct!(refresh_tokens::Model {
    token_hash,
    grant_id,
    client_id,
    scope,
    created_at,
    expires_at,
    rotated_at,
});
from_direct!(access_tokens::Model {
    jti,
    grant_id,
    client_id,
    expires_at,
    revoked_at
});
from_direct!(consents::Model {
    account_id,
    client_id,
    scope,
    updated_at
});
from_direct!(login_failures::Model {
    key_hash,
    failures,
    window_start,
    lockouts,
    locked_until,
    updated_at,
});
from_direct!(totp_factors::Model {
    account_id,
    secret_sealed,
    confirmed_at,
    last_used_step,
    last_used_at,
    created_at,
});
from_direct!(remembered_devices::Model {
    token_hash,
    account_id,
    created_at,
    expires_at
});
