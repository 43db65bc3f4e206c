//! Diesel queries for accounts and sign-in throttling. Plain data access: no rules here.

use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::platform::schema::{sign_in_failures, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub created_at: OffsetDateTime,
    /// administers this installation (the first account created on it)
    pub is_admin: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
}

/// Inserts an account; the first one on the installation is its administrator. (Sign-ups are
/// serialised by a transaction-scoped advisory lock, so two first sign-ups cannot both be.)
pub async fn insert_user(conn: &mut AsyncPgConnection, new: &NewUser<'_>) -> QueryResult<User> {
    use diesel_async::AsyncConnection;
    conn.transaction::<User, diesel::result::Error, _>(async |c| {
        diesel::sql_query("SELECT pg_advisory_xact_lock(7370657) ").execute(c).await?;
        let first = !diesel::select(diesel::dsl::exists(users::table.select(users::id))).get_result::<bool>(c).await?;
        diesel::insert_into(users::table)
            .values((new, users::is_admin.eq(first)))
            .returning(User::as_returning())
            .get_result(c)
            .await
    })
    .await
}

/// The account with this email and its password hash.
pub async fn find_login(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<(User, String)>> {
    users::table
        .filter(users::email.eq(email))
        .select((User::as_select(), users::password_hash))
        .first(conn)
        .await
        .optional()
}

/// The account's password hash.
pub async fn password_hash(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<String>> {
    users::table.find(id).select(users::password_hash).first(conn).await.optional()
}

pub async fn find_user(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<User>> {
    users::table.find(id).select(User::as_select()).first(conn).await.optional()
}

/// Deletes the user (every row of theirs goes with them: `ON DELETE CASCADE`). True if they existed.
pub async fn delete_user(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
    Ok(diesel::delete(users::table.find(id)).execute(conn).await? == 1)
}

/// Ends every session signed in as the user (other browsers included).
pub async fn delete_sessions_of(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM sessions WHERE data->>'user_id' = $1")
        .bind::<diesel::sql_types::Text, _>(user_id.to_string())
        .execute(conn)
        .await
}

/// The number of failures for `key` since `since`, and when the oldest of them happened.
pub async fn recent_failures(
    conn: &mut AsyncPgConnection,
    scope: &str,
    key: &str,
    since: OffsetDateTime,
) -> QueryResult<(i64, Option<OffsetDateTime>)> {
    use diesel::dsl::{count_star, min};
    sign_in_failures::table
        .filter(sign_in_failures::scope.eq(scope))
        .filter(sign_in_failures::key.eq(key))
        .filter(sign_in_failures::failed_at.gt(since))
        .select((count_star(), min(sign_in_failures::failed_at)))
        .first(conn)
        .await
}

pub async fn record_failure(conn: &mut AsyncPgConnection, scope: &str, key: &str) -> QueryResult<()> {
    diesel::insert_into(sign_in_failures::table)
        .values((sign_in_failures::scope.eq(scope), sign_in_failures::key.eq(key)))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn clear_failures(conn: &mut AsyncPgConnection, scope: &str, key: &str) -> QueryResult<()> {
    diesel::delete(
        sign_in_failures::table.filter(sign_in_failures::scope.eq(scope)).filter(sign_in_failures::key.eq(key)),
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Forgets failures older than `before` (run periodically).
pub async fn prune_failures(conn: &mut AsyncPgConnection, before: OffsetDateTime) -> QueryResult<usize> {
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::failed_at.le(before))).execute(conn).await
}
