//! The admin page's aggregate queries (read-only, over every feature's tables).

use diesel::sql_types::{BigInt, Bool, Text, Timestamptz};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use super::types::{QueueRow, RunRow, UserRow};

#[derive(QueryableByName)]
struct User {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: OffsetDateTime,
    #[diesel(sql_type = Bool)]
    is_admin: bool,
    #[diesel(sql_type = BigInt)]
    items: i64,
    #[diesel(sql_type = BigInt)]
    documents: i64,
}

#[derive(QueryableByName)]
struct Storage {
    #[diesel(sql_type = BigInt)]
    user_id: i64,
    #[diesel(sql_type = Text)]
    backend: String,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
    #[diesel(sql_type = BigInt)]
    objects: i64,
}

/// The first `limit` users with their counts and storage, oldest first.
pub async fn users(c: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<UserRow>> {
    let users: Vec<User> = diesel::sql_query(
        "SELECT u.id, u.email, u.display_name, u.created_at, u.is_admin, \
                (SELECT count(*) FROM user_inventory i WHERE i.user_id = u.id) AS items, \
                (SELECT count(*) FROM user_documents d WHERE d.user_id = u.id) AS documents \
         FROM users u ORDER BY u.id LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(c)
    .await?;
    let storage: Vec<Storage> = diesel::sql_query(
        "SELECT user_id, backend, bytes, objects FROM user_storage WHERE objects > 0 ORDER BY backend",
    )
    .load(c)
    .await?;
    Ok(users
        .into_iter()
        .map(|u| UserRow {
            storage: storage
                .iter()
                .filter(|s| s.user_id == u.id)
                .map(|s| (s.backend.clone(), s.bytes, s.objects))
                .collect(),
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            joined: u.created_at.date().to_string(),
            is_admin: u.is_admin,
            items: u.items,
            documents: u.documents,
        })
        .collect())
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

#[derive(QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// The database's size and its largest tables (indexes included).
pub async fn database_size(c: &mut AsyncPgConnection) -> QueryResult<(i64, Vec<(String, i64)>)> {
    let size: Size = diesel::sql_query("SELECT pg_database_size(current_database()) AS bytes").get_result(c).await?;
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT relname::text AS name, pg_total_relation_size(oid) AS bytes FROM pg_class \
         WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC LIMIT 8",
    )
    .load(c)
    .await?;
    Ok((size.bytes, tables.into_iter().map(|t| (t.name, t.bytes)).collect()))
}

#[derive(QueryableByName)]
struct Queue {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Jobs by kind and state.
pub async fn queue(c: &mut AsyncPgConnection) -> QueryResult<Vec<QueueRow>> {
    let rows: Vec<Queue> =
        diesel::sql_query("SELECT kind, state, count(*) AS count FROM jobs GROUP BY 1, 2 ORDER BY 1, 2")
            .load(c)
            .await?;
    Ok(rows.into_iter().map(|q| QueueRow { kind: q.kind, state: q.state, count: q.count }).collect())
}

#[derive(QueryableByName)]
struct Run {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Timestamptz)]
    started_at: OffsetDateTime,
    #[diesel(sql_type = Bool)]
    ok: bool,
    #[diesel(sql_type = Text)]
    detail: String,
}

/// The newest backups, restores and maintenance runs, and the last hourly upkeep (one an hour
/// would crowd out the rest).
pub async fn runs(c: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<RunRow>> {
    let rows: Vec<Run> = diesel::sql_query(
        "(SELECT kind, started_at, ok, detail FROM maintenance_runs WHERE kind <> 'upkeep' \
           ORDER BY started_at DESC LIMIT $1) \
         UNION ALL (SELECT kind, started_at, ok, detail FROM maintenance_runs WHERE kind = 'upkeep' \
           ORDER BY started_at DESC LIMIT 1) \
         ORDER BY started_at DESC",
    )
    .bind::<BigInt, _>(limit)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RunRow { kind: r.kind, when: crate::platform::format_time(r.started_at), ok: r.ok, detail: r.detail })
        .collect())
}
