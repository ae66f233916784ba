//! One row read by position on either driver: the SQLite file's direct connections
//! (rusqlite) or sea-orm's pool (PostgreSQL, an in-memory SQLite), for the reads built as one
//! sea-query statement of scalar columns (`sign_in`, `factors`).

use sea_orm::sea_query::SelectStatement;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult};

use super::{Store, StoreError, StoreResult};

/// A row's values by position, on either driver.
pub(super) trait Cells {
    fn int32(&self, i: usize) -> StoreResult<i32>;
    fn opt_text(&self, i: usize) -> StoreResult<Option<String>>;
    fn flag(&self, i: usize) -> StoreResult<bool>;
    fn int(&self, i: usize) -> StoreResult<i64>;
    fn opt_int(&self, i: usize) -> StoreResult<Option<i64>>;
}

macro_rules! cells {
    ($row:ty, $get:ident, $err:expr) => {
        impl Cells for $row {
            fn int32(&self, i: usize) -> StoreResult<i32> {
                self.$get(i).map_err($err)
            }
            fn opt_text(&self, i: usize) -> StoreResult<Option<String>> {
                self.$get(i).map_err($err)
            }
            fn flag(&self, i: usize) -> StoreResult<bool> {
                self.$get(i).map_err($err)
            }
            fn int(&self, i: usize) -> StoreResult<i64> {
                self.$get(i).map_err($err)
            }
            fn opt_int(&self, i: usize) -> StoreResult<Option<i64>> {
                self.$get(i).map_err($err)
            }
        }
    };
}
cells!(rusqlite::Row<'_>, get, super::direct::error);
cells!(QueryResult, try_get_by_index, StoreError::from);

impl Store {
    /// One statement, mapped by `map` on whichever driver runs it.
    pub(super) async fn read_one<T>(
        &self,
        select: &SelectStatement,
        map: impl Fn(&dyn Cells) -> StoreResult<T>,
    ) -> StoreResult<Option<T>> {
        match &self.direct {
            Some(direct) => {
                let mut mapped = None;
                direct.one(DbBackend::Sqlite.build(select), |r| {
                    mapped = Some(map(r));
                    Ok(())
                })?;
                mapped.transpose()
            }
            None => {
                let backend = self.read.get_database_backend();
                match self.read.query_one_raw(backend.build(select)).await? {
                    Some(r) => map(&r).map(Some),
                    None => Ok(None),
                }
            }
        }
    }
}
