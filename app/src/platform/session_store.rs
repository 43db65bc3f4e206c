//! A tower-sessions [`SessionStore`] over diesel-async, in the metadata database.
//!
//! Sessions live in Postgres, so several app servers share them and a restart signs nobody out.
//! This module stores and loads records; it does not decide who is signed in. As a courtesy to
//! the page that follows, [`load`](PgSessionStore::load) reads the account the record names in
//! the same statement and hands it over under [`SIGNED_IN_ROW`] (a key never stored): the session
//! and its user are read on every page, and this makes them one round trip instead of two.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion};
use tower_sessions::SessionStore;

use super::db::DbPool;
use super::schema::sessions::dsl as s;

#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
}

impl std::fmt::Debug for PgSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgSessionStore")
    }
}

impl PgSessionStore {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    /// Sessions are no user's rows (no policy covers the table): any connection will do, in
    /// whatever state the last request left it (see [`DbPool::get_unscoped`]).
    async fn conn(&self) -> session_store::Result<super::db::DbConn> {
        self.pool.get_unscoped().await.map_err(|e| session_store::Error::Backend(e.to_string()))
    }
}

fn backend(e: diesel::result::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// The key under which a loaded record carries the row of the account its `user_id` names, if
/// that account exists: `{"id", "email", "display_name", "created_at" (Unix seconds), "is_admin"}`.
/// Set by `load` only, stripped before every write.
pub const SIGNED_IN_ROW: &str = "bartleby.signed_in_row";

fn encode(record: &Record) -> session_store::Result<serde_json::Value> {
    let mut data = serde_json::to_value(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
    if let Some(map) = data.as_object_mut() {
        map.remove(SIGNED_IN_ROW);
    }
    Ok(data)
}

diesel::define_sql_function! {
    /// The account named by a record's `user_id`, as one JSON value (see [`SIGNED_IN_ROW`];
    /// migration 000026).
    fn bartleby_signed_in_row(session_data: diesel::sql_types::Jsonb) -> diesel::sql_types::Nullable<diesel::sql_types::Jsonb>;
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let mut conn = self.conn().await?;
        // Ids are 128 random bits; on the rare collision, draw again rather than overwrite.
        loop {
            let inserted = diesel::insert_into(s::sessions)
                .values((s::id.eq(record.id.to_string()), s::data.eq(&data), s::expiry_date.eq(record.expiry_date)))
                .on_conflict_do_nothing()
                .execute(&mut conn)
                .await
                .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = encode(record)?;
        let mut conn = self.conn().await?;
        diesel::insert_into(s::sessions)
            .values((s::id.eq(record.id.to_string()), s::data.eq(&data), s::expiry_date.eq(record.expiry_date)))
            .on_conflict(s::id)
            .do_update()
            .set((s::data.eq(excluded(s::data)), s::expiry_date.eq(excluded(s::expiry_date))))
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let mut conn = self.conn().await?;
        let row: Option<(serde_json::Value, OffsetDateTime, Option<serde_json::Value>)> = s::sessions
            .filter(s::id.eq(id.to_string()))
            .filter(s::expiry_date.gt(OffsetDateTime::now_utc()))
            .select((s::data, s::expiry_date, bartleby_signed_in_row(s::data)))
            .first(&mut conn)
            .await
            .optional()
            .map_err(backend)?;
        row.map(|(data, expiry_date, user)| {
            let mut data: std::collections::HashMap<String, serde_json::Value> =
                serde_json::from_value(data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
            data.remove(SIGNED_IN_ROW);
            if let Some(user) = user {
                data.insert(SIGNED_IN_ROW.into(), user);
            }
            Ok(Record { id: *id, data, expiry_date })
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let mut conn = self.conn().await?;
        diesel::delete(s::sessions.filter(s::id.eq(id.to_string()))).execute(&mut conn).await.map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for PgSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        let mut conn = self.conn().await?;
        diesel::delete(s::sessions.filter(s::expiry_date.le(OffsetDateTime::now_utc())))
            .execute(&mut conn)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
