//! Connection pools and migrations for the metadata and vector databases.
//!
//! Owns how connections are made (plain, or TLS when the URL asks for it), how long a request may
//! wait for one, and the start-up migrations (under an advisory lock, so two servers never migrate
//! at once). It knows nothing about any table.

use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures::future::BoxFuture;
use futures::FutureExt;

use crate::error::AppError;

pub type DbConn = Object<AsyncPgConnection>;

/// A pool of connections that come out as the connecting user with no user set ([`DbPool::get`]),
/// or set for one user's work ([`conn_as`]).
///
/// A connection remembers whether it was set for a user (its [`Scope`]), so only a connection that
/// was gets reset, when it is next taken for anything else: a page's work is one round trip to
/// set its user, none to undo it. A dead connection is dropped when taken (its socket closed, or
/// it failed in a transaction), never handed out.
#[derive(Clone)]
pub struct DbPool(Pool<AsyncPgConnection>);

/// What a connection was last set to: recorded on the connection itself (as its diesel
/// instrumentation, which diesel lets us read back), so it travels with it through the pool.
#[derive(Default)]
struct Scope {
    for_user: bool,
}

impl diesel::connection::Instrumentation for Scope {
    fn on_connection_event(&mut self, _: diesel::connection::InstrumentationEvent<'_>) {}
}

fn scope(c: &mut AsyncPgConnection) -> Option<&mut Scope> {
    c.instrumentation().downcast_mut::<Scope>()
}

const RESET_USER: &str = "RESET ROLE; RESET bartleby.user_id; RESET bartleby.documents; RESET plan_cache_mode";

impl DbPool {
    /// A connection as the connecting user, with no user set: for background jobs, commands and
    /// everything that is not one user's request.
    pub async fn get(&self) -> Result<DbConn, PoolError> {
        use diesel_async::SimpleAsyncConnection;
        let mut c = self.0.get().await?;
        if let Some(s) = scope(&mut c).filter(|s| s.for_user) {
            s.for_user = false;
            if let Err(e) = c.batch_execute(RESET_USER).await {
                let _ = Object::take(c);
                return Err(PoolError::Backend(diesel_async::pooled_connection::PoolError::QueryError(e)));
            }
        }
        Ok(c)
    }

    /// A connection in whatever state it was left, for the tables no row-level policy covers
    /// (`sessions`, `users`): who it was last set for changes nothing there, and the session and
    /// the signed-in user are read on every page.
    pub async fn get_unscoped(&self) -> Result<DbConn, PoolError> {
        self.0.get().await
    }

    pub fn status(&self) -> deadpool::managed::Status {
        self.0.status()
    }
}

pub const META_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/meta");
pub const VECTOR_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/vector");

/// Arbitrary constant for `pg_advisory_lock`: held while one server migrates.
const MIGRATION_LOCK_KEY: i64 = 0x6261_7274_6c65_6279; // "bartleby"

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("could not connect: {0}")]
    Connect(#[from] ConnectionError),
    #[error("migration failed: {0}")]
    Migrate(String),
    #[error("could not build the connection pool: {0}")]
    Pool(String),
}

/// Builds a pool. Connections are made lazily; a request waits at most `timeout` for one.
pub fn build_pool(url: &str, size: usize, timeout: Duration) -> Result<DbPool, DbSetupError> {
    let mut manager_config = ManagerConfig::default();
    manager_config.custom_setup = Box::new(|url| establish(url).boxed());
    // no query when a connection is taken (a closed or broken one is still dropped): what it was
    // set for is reset by [`DbPool::get`] only when it was set
    manager_config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, manager_config);
    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        // the connection used last is taken first: its statements are prepared, its caches warm
        .queue_mode(deadpool::managed::QueueMode::Lifo)
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map(DbPool)
        .map_err(|e| DbSetupError::Pool(e.to_string()))
}

/// Takes a connection from the pool; every failure (timeout, database down) becomes
/// [`AppError::Unavailable`], and the cause is logged.
pub async fn conn(pool: &DbPool) -> Result<DbConn, AppError> {
    pool.get().await.map_err(unavailable)
}

/// [`DbPool::get_unscoped`], its failures as [`conn`]'s.
pub async fn conn_unscoped(pool: &DbPool) -> Result<DbConn, AppError> {
    pool.get_unscoped().await.map_err(unavailable)
}

fn unavailable(e: PoolError) -> AppError {
    match &e {
        PoolError::Timeout(_) => tracing::warn!("database pool: timed out waiting for a connection"),
        other => tracing::warn!(error = %other, "database pool: no connection"),
    }
    AppError::Unavailable
}

/// Takes a connection for one user's work: Postgres's row-level security then limits every query
/// on it to that user's rows and the documents shared with them (migration 000021), whatever the
/// query's own filters say. Background jobs and commands use [`conn`].
pub async fn conn_as(pool: &DbPool, user_id: i64) -> Result<DbConn, AppError> {
    conn_with_role(pool, user_id, "").await
}

/// Takes a connection to the vector database for one user's search: its row-level security
/// (vector migration 900004) then limits every query to `user_id`'s vectors and those of
/// `shared`, the documents shared with them as the metadata database's own policies listed them.
pub async fn conn_as_reader(pool: &DbPool, user_id: i64, shared: &[i64]) -> Result<DbConn, AppError> {
    let documents = shared.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    conn_with_role(pool, user_id, &format!("{{{documents}}}")).await
}

diesel::define_sql_function! {
    /// Postgres's `set_config(name, value, is_local)`: `SET name = value`, as an expression (and so
    /// in a statement prepared once per connection; `SET` itself cannot take a parameter).
    fn set_config(name: diesel::sql_types::Text, value: diesel::sql_types::Text, is_local: diesel::sql_types::Bool) -> diesel::sql_types::Text;
}

/// A connection taken as the role `bartleby_user` with who is reading set (`bartleby.user_id`,
/// and `bartleby.documents` for the vector database; empty is none). Where the role could not be
/// created (see the migrations) the settings still are.
async fn conn_with_role(pool: &DbPool, user_id: i64, documents: &str) -> Result<DbConn, AppError> {
    // whatever the connection was set for is overwritten here, in one round trip
    let mut c = conn_unscoped(pool).await?;
    if let Some(s) = scope(&mut c) {
        s.for_user = true;
    }
    let user = user_id.to_string();
    let settings = (
        set_config("bartleby.user_id", user.as_str(), false),
        set_config("bartleby.documents", documents, false),
        set_config("plan_cache_mode", "auto", false),
    );
    let with_role = diesel::select((set_config("role", "bartleby_user", false), settings))
        .get_result::<(String, (String, String, String))>(&mut c)
        .await;
    if let Err(e) = with_role {
        tracing::debug!(error = %e, "row-level security is not enforced");
        if let Err(e) = diesel::select(settings).get_result::<(String, String, String)>(&mut c).await {
            let _ = Object::take(c);
            return Err(query_failed(e));
        }
    }
    Ok(c)
}

/// Has Postgres plan the connection's next statements for their parameters every time, until the
/// connection is next taken: for searches and filters, whose best plan depends on the words and
/// values. Postgres otherwise switches a statement run five times to one plan made for any
/// parameters, and for the table's searches and filters that plan was up to 2.5 times slower (the
/// table as it first opens keeps the shared plan, which saves it the planning).
pub async fn plan_each_time(conn: &AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::select(set_config("plan_cache_mode", "force_custom_plan", false)).execute(&mut &*conn).await.map(|_| ())
}

/// Gives the role a user's work runs as (`bartleby_user`, see [`conn_as`]) its privileges on every
/// table and sequence, if the role exists. Migration 000021 does it; a restore (`pg_restore
/// --no-privileges`) does it again.
pub const GRANT_USER_ROLE: &str = "DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bartleby_user') THEN
        GRANT USAGE ON SCHEMA public TO bartleby_user;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO bartleby_user;
        GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO bartleby_user;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bartleby_user;
        ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO bartleby_user;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'row-level security is not enforced: bartleby_user cannot be given its privileges';
END $$";

/// Whether row-level security is enforced: the role `bartleby_user` exists and may be taken.
pub async fn rls_enforced(pool: &DbPool) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Enforced {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        enforced: bool,
    }
    let Ok(mut c) = pool.get().await else { return false };
    diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bartleby_user') \
         AND pg_has_role('bartleby_user', 'MEMBER') AS enforced",
    )
    .get_result::<Enforced>(&mut c)
    .await
    .map(|e| e.enforced)
    .unwrap_or(false)
}

/// Logs a query error and turns it into the error the user sees.
pub fn query_failed(e: diesel::result::Error) -> AppError {
    match e {
        diesel::result::Error::NotFound => AppError::NotFound,
        diesel::result::Error::DatabaseError(_, ref info) if is_connection_problem(info.message()) => {
            tracing::warn!(error = %e, "database connection problem");
            AppError::Unavailable
        }
        other => {
            tracing::error!(error = %other, "query failed");
            AppError::Internal
        }
    }
}

fn is_connection_problem(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("connection") || m.contains("terminating") || m.contains("shutting down")
}

/// True when the URL asks for an encrypted connection.
fn wants_tls(url: &str) -> bool {
    ["sslmode=require", "sslmode=verify-ca", "sslmode=verify-full"].iter().any(|m| url.contains(m))
}

/// Opens one connection: TLS (rustls, verified against the Mozilla roots) when the URL says
/// `sslmode=require|verify-ca|verify-full`, plain otherwise (loopback, unix sockets).
pub fn establish(url: &str) -> BoxFuture<'_, diesel::ConnectionResult<AsyncPgConnection>> {
    async move {
        let mut c = if wants_tls(url) { establish_tls(url).await? } else { AsyncPgConnection::establish(url).await? };
        c.set_instrumentation(Scope::default());
        Ok(c)
    }
    .boxed()
}

async fn establish_tls(url: &str) -> diesel::ConnectionResult<AsyncPgConnection> {
    // tokio-postgres knows only disable/prefer/require; rustls always verifies the certificate.
    let url = url.replace("sslmode=verify-full", "sslmode=require").replace("sslmode=verify-ca", "sslmode=require");
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls_config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConnectionError::BadConnection(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config);
    let (client, connection) =
        tokio_postgres::connect(&url, tls).await.map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// Runs `work` on a connection to `url` under the migration lock (an advisory lock: two servers
/// starting at once never migrate at once), on a blocking thread (diesel's migration runner is
/// synchronous).
async fn under_migration_lock<T: Send + 'static>(
    url: &str,
    work: impl FnOnce(&mut AsyncConnectionWrapper<AsyncPgConnection>) -> Result<T, DbSetupError> + Send + 'static,
) -> Result<T, DbSetupError> {
    let mut conn = establish(url).await?;
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .execute(&mut conn)
        .await
        .map_err(|e| DbSetupError::Migrate(e.to_string()))?;
    let mut wrapper: AsyncConnectionWrapper<AsyncPgConnection> = AsyncConnectionWrapper::from(conn);
    tokio::task::spawn_blocking(move || {
        let result = work(&mut wrapper);
        let unlock = diesel::RunQueryDsl::execute(
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")),
            &mut wrapper,
        );
        if let Err(e) = unlock {
            tracing::warn!(error = %e, "could not release the migration lock (it goes with the connection)");
        }
        result
    })
    .await
    .map_err(|e| DbSetupError::Migrate(format!("migration task failed: {e}")))?
}

/// Applies every pending migration of `migrations` under an advisory lock. Returns the versions applied.
pub async fn run_migrations(url: &str, migrations: EmbeddedMigrations) -> Result<Vec<String>, DbSetupError> {
    under_migration_lock(url, move |c| {
        c.run_pending_migrations(migrations)
            .map(|versions| versions.iter().map(|v| v.to_string()).collect())
            .map_err(|e| DbSetupError::Migrate(e.to_string()))
    })
    .await
}

/// Applies the next `n` pending migrations of `migrations` (oldest first). Returns the versions applied.
pub async fn run_next_migrations(
    url: &str,
    migrations: EmbeddedMigrations,
    n: usize,
) -> Result<Vec<String>, DbSetupError> {
    use diesel::migration::MigrationSource;
    under_migration_lock(url, move |c| {
        let fail = |e: Box<dyn std::error::Error + Send + Sync>| DbSetupError::Migrate(e.to_string());
        let mut known = MigrationSource::<diesel::pg::Pg>::migrations(&migrations).map_err(fail)?;
        known.sort_by_key(|m| m.name().version().as_owned());
        let done = c.applied_migrations().map_err(fail)?;
        let mut applied = Vec::new();
        for m in known.iter().filter(|m| !done.contains(&m.name().version())).take(n) {
            c.run_migration(m.as_ref()).map_err(fail)?;
            applied.push(m.name().version().to_string());
        }
        Ok(applied)
    })
    .await
}

/// Reverts the `n` newest applied migrations of `migrations` (each one's `down.sql`), newest
/// first, under the same lock. Returns the versions reverted. Migrations of another source that
/// share the database (the vector migrations, when pgvector lives in the metadata database) are
/// left alone, whatever their dates.
pub async fn revert_migrations(
    url: &str,
    migrations: EmbeddedMigrations,
    n: usize,
) -> Result<Vec<String>, DbSetupError> {
    use diesel::migration::MigrationSource;
    under_migration_lock(url, move |c| {
        let fail = |e: Box<dyn std::error::Error + Send + Sync>| DbSetupError::Migrate(e.to_string());
        let known = MigrationSource::<diesel::pg::Pg>::migrations(&migrations).map_err(fail)?;
        let mut applied = c.applied_migrations().map_err(fail)?;
        applied.sort();
        let mut reverted = Vec::new();
        for version in applied.iter().rev() {
            if reverted.len() == n {
                break;
            }
            if let Some(m) = known.iter().find(|m| m.name().version() == *version) {
                c.revert_migration(m.as_ref()).map_err(fail)?;
                reverted.push(version.to_string());
            }
        }
        Ok(reverted)
    })
    .await
}

/// Draws the next id of a table's sequence, for rows whose storage key must contain their id
/// before the row is written (`sequence` is a trusted constant like `inventory_assets_id_seq`).
pub async fn next_id(conn: &mut AsyncPgConnection, sequence: &'static str) -> diesel::QueryResult<i64> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!("nextval('{sequence}')")))
        .get_result(conn)
        .await
}

/// Does this database offer the pgvector extension (installed or installable)?
pub async fn has_pgvector(url: &str) -> Result<bool, ConnectionError> {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        found: bool,
    }
    let mut conn = establish(url).await?;
    let row: Found =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS found")
            .get_result(&mut conn)
            .await
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
    Ok(row.found)
}

/// A cheap liveness probe, bounded in time.
pub async fn ping(pool: &DbPool, timeout: Duration) -> Result<Duration, String> {
    let started = std::time::Instant::now();
    let probe = async {
        let mut c = pool.get().await.map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1").execute(&mut c).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    };
    match tokio::time::timeout(timeout, probe).await {
        Ok(Ok(())) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("timed out".into()),
    }
}

/// Lets `?` turn a query error into the user's error inside services and transactions.
impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        query_failed(e)
    }
}

/// Maps an enum to a TEXT column through its `ALL` and `as_str` (and gives it `from_db`, the
/// reverse): the enum derives `diesel::expression::AsExpression, diesel::deserialize::FromSqlRow`
/// with `#[diesel(sql_type = diesel::sql_types::Text)]`, and queries compare and load the enum
/// itself, never its spelling.
#[macro_export]
macro_rules! text_column_enum {
    ($ty:ty) => {
        impl $ty {
            /// The value whose `as_str` is `s`.
            pub fn from_db(s: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|x| x.as_str() == s)
            }
        }
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                use std::io::Write;
                out.write_all(self.as_str().as_bytes())?;
                Ok(diesel::serialize::IsNull::No)
            }
        }
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $ty {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let s = std::str::from_utf8(bytes.as_bytes())?;
                <$ty>::from_db(s).ok_or_else(|| format!("unexpected {} {s:?}", stringify!($ty)).into())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_only_when_asked() {
        assert!(wants_tls("postgres://u:p@ep-x.neon.tech/db?sslmode=require&channel_binding=require"));
        assert!(wants_tls("postgres://u:p@h/db?sslmode=verify-full"));
        assert!(!wants_tls("postgresql:///bartleby?host=/tmp/s&port=5432&user=postgres"));
        assert!(!wants_tls("postgres://u:p@127.0.0.1/db?sslmode=disable"));
    }
}
