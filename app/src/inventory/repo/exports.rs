//! Stored exports (`user_exports`).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::platform::schema::user_exports::{self, dsl as e};
use crate::storage::Backend;

/// A stored export.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_exports, check_for_backend(Pg))]
pub struct Export {
    pub id: i64,
    pub user_id: i64,
    pub format: String,
    pub backend: Backend,
    pub key: String,
    pub bytes: i64,
    pub items: i32,
    pub created_at: time::OffsetDateTime,
}

/// An export written to storage (its id taken beforehand so its key can name it).
#[derive(Debug, Insertable)]
#[diesel(table_name = user_exports)]
pub struct NewExport<'a> {
    pub id: i64,
    pub user_id: i64,
    pub format: &'a str,
    pub backend: Backend,
    pub key: &'a str,
    pub bytes: i64,
    pub items: i32,
    pub sha256: &'a str,
}

pub async fn insert(c: &mut AsyncPgConnection, export: &NewExport<'_>) -> QueryResult<usize> {
    diesel::insert_into(e::user_exports).values(export).execute(c).await
}

/// The user's export with this id.
pub async fn find(c: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<Option<Export>> {
    e::user_exports
        .filter(e::user_id.eq(user_id))
        .filter(e::id.eq(id))
        .select(Export::as_select())
        .first(c)
        .await
        .optional()
}
