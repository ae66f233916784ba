//! The expiry check of a row found by its key (`expires_at + 0 > now`): a check, never a search.
//!
//! Every table of short-lived rows has an index on `expires_at` for the collector (`gc`), which
//! searches it for `expires_at < now`. A lookup that names its row by key only checks the
//! expiry; written as a plain comparison, that check is also a condition a planner may search
//! the expiry index with, and PostgreSQL's does whenever its statistics are older than the live
//! rows: codes live a minute and requests half an hour, so between two ANALYZEs every row the
//! statistics saw may have expired, `expires_at > now` is estimated at one row, and the lookup
//! reads every live row through the expiry index instead of its one row through the key. On a
//! database holding 100,000 expired codes the batched code claim read every code of the last
//! minute: the database's CPU per code exchange went from 0.15 to 0.27–0.45 ms, growing with
//! the rate. Written `expires_at + 0`, the column is an expression no index matches, on both
//! databases.

use sea_orm::ColumnTrait;
use sea_orm::sea_query::{Expr, ExprTrait};

/// `<expires_at> + 0 > now`: the row has not expired (and no index on the expiry is searched).
pub(super) fn unexpired<C: ColumnTrait>(expires_at: C, now: i64) -> Expr {
    expires_at.into_expr().add(0).gt(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entities::auth_codes;
    use sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};

    #[test]
    fn the_expiry_is_compared_as_an_expression_of_the_column_on_both_databases() {
        let select = Query::select()
            .column(auth_codes::Column::CodeHash)
            .from(auth_codes::Entity)
            .and_where(unexpired(auth_codes::Column::ExpiresAt, 7))
            .to_owned();
        let expected = r#"WHERE "auth_codes"."expires_at" + 0 > 7"#;
        for sql in [
            select.to_string(PostgresQueryBuilder),
            select.to_string(SqliteQueryBuilder),
        ] {
            assert!(sql.ends_with(expected), "{sql}");
        }
    }
}
