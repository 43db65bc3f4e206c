//! `bartleby maintenance`: what the deployment guide asks of an installation's upkeep, as one
//! command with a report. Its light part ([`upkeep`]: prune, and the rebuild of bloated indexes)
//! also runs hourly while serving, and is recorded.
//!
//! - prune: expired sessions, old sign-in failures, finished jobs, abandoned temporary files;
//! - `VACUUM (ANALYZE)` of both databases, then `REINDEX INDEX CONCURRENTLY` of every index that
//!   has bloated (see [`reindex`]; every index with `--reindex`), the HNSW indexes included;
//! - the orphan check, on every backend: rows whose object is gone (reported: only a person can
//!   say what to do), and objects no row names (reported; removed with `--fix` once older than the
//!   grace period, so an upload between its object and its row is never taken for one);
//! - a report of table and index sizes, the slowest statements (when `pg_stat_statements` is
//!   installed) and the pool's use.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Result;
use app::platform::db::{self, DbPool};
use app::platform::AppState;
use app::storage::relocate::Selection;
use app::storage::{Backend, BlobKey, BlobStore, Listed};
use diesel::sql_types::{BigInt, Double, Text};
use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

/// What the light part removed.
#[derive(Debug, Default)]
pub struct Pruned {
    pub temporary_files: usize,
    pub sign_in_failures: usize,
    pub jobs: usize,
    pub sessions_checked: bool,
}

impl Pruned {
    pub fn any(&self) -> bool {
        self.temporary_files + self.sign_in_failures + self.jobs > 0
    }
}

/// The light part: expired sessions, sign-in failures older than a day, jobs done a day ago or
/// failed 30 days ago, temporary files older than 15 minutes.
pub async fn prune(state: &AppState) -> Pruned {
    use tower_sessions::ExpiredDeletion;
    let mut pruned = Pruned::default();
    let tmp = state.config.dirs.uploads.join("tmp");
    match crate::sweep_tmp(&tmp, crate::TMP_MAX_AGE).await {
        Ok(n) => pruned.temporary_files = n,
        Err(e) => tracing::warn!(error = %e, dir = %tmp.display(), "could not sweep temporary files"),
    }
    match app::platform::session_store::PgSessionStore::new(state.db.clone()).delete_expired().await {
        Ok(()) => pruned.sessions_checked = true,
        Err(e) => tracing::warn!(error = %e, "could not delete expired sessions"),
    }
    if let Ok(mut c) = db::conn(&state.db).await {
        let now = time::OffsetDateTime::now_utc();
        match app::auth::repo::prune_failures(&mut c, now - time::Duration::days(1)).await {
            Ok(n) => pruned.sign_in_failures = n,
            Err(e) => tracing::warn!(error = %e, "could not prune sign-in failures"),
        }
        match app::jobs::prune(&mut c, now - time::Duration::days(1), now - time::Duration::days(30)).await {
            Ok(n) => pruned.jobs = n,
            Err(e) => tracing::warn!(error = %e, "could not prune finished jobs"),
        }
    }
    pruned
}

/// The light part, hourly while serving: [`prune`], then the rebuild of bloated indexes; recorded
/// as an `upkeep` run (the record keeps 30 days of them).
pub async fn upkeep(state: &AppState) {
    let started_at = time::OffsetDateTime::now_utc();
    let pruned = prune(state).await;
    if pruned.any() {
        tracing::info!(?pruned, "housekeeping");
    }
    let reindexed = reindex(state, false, BLOAT_FLOOR).await;
    match &reindexed {
        Ok(r) if !r.is_empty() => tracing::info!(indexes = ?r, "rebuilt bloated indexes"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not check the indexes for bloat"),
    }
    let outcome = reindexed
        .map(|r| {
            let mut detail = format!(
                "pruned {} temporary files, {} sign-in failures, {} finished jobs",
                pruned.temporary_files, pruned.sign_in_failures, pruned.jobs
            );
            if !r.is_empty() {
                detail.push_str(&format!("; rebuilt {}", r.join(", ")));
            }
            (detail, 0)
        })
        .map_err(|e| format!("could not check the indexes for bloat: {e}"));
    crate::backup::record_run(&state.db, app::platform::runs::RunKind::Upkeep, started_at, &outcome).await;
    if let Ok(mut c) = db::conn(&state.db).await {
        let month_ago = time::OffsetDateTime::now_utc() - time::Duration::days(30);
        if let Err(e) = app::platform::runs::forget(&mut c, app::platform::runs::RunKind::Upkeep, month_ago).await {
            tracing::warn!(error = %e, "could not prune the record of upkeep runs");
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// remove objects no row names (older than `grace`)
    pub fix: bool,
    /// rebuild every index, bloated or not
    pub reindex: bool,
    pub grace: Duration,
    /// indexes smaller than this are never rebuilt for bloat (rebuilding them gains nothing)
    pub bloat_floor: u64,
}

/// Indexes under 1 MiB are left as they are.
pub const BLOAT_FLOOR: u64 = 1 << 20;
/// An index taking more than this many times its best bytes per row is rebuilt.
pub const BLOAT_RATIO: f64 = 1.5;

#[derive(Debug)]
pub struct Orphan {
    pub backend: Backend,
    pub key: String,
    pub bytes: u64,
    pub removed: bool,
}

#[derive(Debug)]
pub struct TableSize {
    pub database: &'static str,
    pub table: String,
    pub table_bytes: i64,
    pub index_bytes: i64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub pruned: Pruned,
    pub vacuumed: Vec<&'static str>,
    /// indexes rebuilt, each with why
    pub reindexed: Vec<String>,
    /// rows naming a stored object that were checked
    pub rows_checked: usize,
    /// rows whose object is missing: (what, backend, key)
    pub rows_without_object: Vec<(String, Backend, String)>,
    pub objects_without_row: Vec<Orphan>,
    /// backends that could not be listed, and why
    pub not_listed: Vec<String>,
    pub sizes: Vec<TableSize>,
    /// the slowest statements: (statement, calls, mean ms); `None` without pg_stat_statements
    pub slowest: Option<Vec<(String, i64, f64)>>,
    pub pool: String,
    pub took: Duration,
}

impl Report {
    /// One line for the record of runs.
    pub fn summary(&self) -> String {
        let removed = self.objects_without_row.iter().filter(|o| o.removed).count();
        format!(
            "{} objects checked; {} rows without their object; {} objects without a row ({} removed); vacuumed {}{}",
            self.rows_checked,
            self.rows_without_object.len(),
            self.objects_without_row.len(),
            removed,
            self.vacuumed.join(" and "),
            if self.reindexed.is_empty() {
                String::new()
            } else {
                format!("; reindexed {}", self.reindexed.join(", "))
            },
        )
    }
}

#[derive(QueryableByName)]
struct Size {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    table_bytes: i64,
    #[diesel(sql_type = BigInt)]
    index_bytes: i64,
}

#[derive(QueryableByName)]
struct Statement {
    #[diesel(sql_type = Text)]
    query: String,
    #[diesel(sql_type = BigInt)]
    calls: i64,
    #[diesel(sql_type = Double)]
    mean_ms: f64,
}

#[derive(QueryableByName)]
struct Present {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    present: bool,
}

async fn sizes(pool: &DbPool, database: &'static str) -> Result<Vec<TableSize>> {
    let mut c = pool.get().await?;
    let rows: Vec<Size> = diesel::sql_query(
        "SELECT relname::text AS name, pg_relation_size(oid) AS table_bytes, pg_indexes_size(oid) AS index_bytes \
         FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace \
         ORDER BY pg_total_relation_size(oid) DESC",
    )
    .load(&mut c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TableSize { database, table: r.name, table_bytes: r.table_bytes, index_bytes: r.index_bytes })
        .collect())
}

async fn slowest(pool: &DbPool) -> Result<Option<Vec<(String, i64, f64)>>> {
    let mut c = pool.get().await?;
    let present: Present =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS present")
            .get_result(&mut c)
            .await?;
    if !present.present {
        return Ok(None);
    }
    let rows: Vec<Statement> = diesel::sql_query(
        "SELECT left(query, 200) AS query, calls, mean_exec_time AS mean_ms FROM pg_stat_statements \
         ORDER BY mean_exec_time DESC LIMIT 5",
    )
    .load(&mut c)
    .await?;
    Ok(Some(rows.into_iter().map(|s| (s.query, s.calls, s.mean_ms)).collect()))
}

/// Runs the whole of maintenance and records it.
pub async fn run(state: &AppState, opts: &Options) -> Result<Report> {
    let started = Instant::now();
    let started_at = time::OffsetDateTime::now_utc();
    let mut report = Report { pruned: prune(state).await, ..Report::default() };
    orphans(state, opts, &mut report).await?;

    let mut dbs: Vec<(&'static str, &DbPool)> = vec![("metadata", &state.db)];
    if let app::platform::VectorDb::Separate(pool) = &state.vector {
        dbs.push(("vectors", pool));
    }
    for (name, pool) in &dbs {
        let mut c = pool.get().await?;
        c.batch_execute("VACUUM (ANALYZE)").await?;
        report.vacuumed.push(name);
    }
    report.reindexed = reindex(state, opts.reindex, opts.bloat_floor).await?;
    for (name, pool) in &dbs {
        report.sizes.extend(sizes(pool, name).await?);
    }
    report.slowest = slowest(&state.db).await?;
    let status = state.db.status();
    report.pool = format!("{} of {} connections open, {} idle", status.size, status.max_size, status.available);
    report.took = started.elapsed();
    let outcome = Ok((report.summary(), 0));
    crate::backup::record_run(&state.db, app::platform::runs::RunKind::Maintenance, started_at, &outcome).await;
    Ok(report)
}

#[derive(QueryableByName)]
struct IndexFigure {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
    #[diesel(sql_type = Double)]
    rows: f64,
}

/// Size and rows of every valid index of the public schema, or of the one named `only`.
async fn index_figures(c: &mut db::DbConn, only: Option<&str>) -> Result<Vec<IndexFigure>> {
    Ok(diesel::sql_query(
        "SELECT i.relname::text AS name, pg_relation_size(i.oid) AS bytes, i.reltuples::float8 AS rows \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
         WHERE t.relnamespace = 'public'::regnamespace AND x.indisvalid \
           AND ($1::text IS NULL OR i.relname = $1) ORDER BY i.relname",
    )
    .bind::<diesel::sql_types::Nullable<Text>, _>(only)
    .load(c)
    .await?)
}

/// Rebuilds (`REINDEX INDEX CONCURRENTLY`: reads and writes go on) every index of both databases
/// that has bloated, or every one with `all`, and returns what it rebuilt and why. An index has
/// bloated when it takes more than [`BLOAT_RATIO`] times the bytes per row it took at its best
/// (`index_baselines`; the first measure of an index is its baseline): deleted and updated rows
/// leave B-tree, GIN and HNSW indexes larger than a rebuild would make them. Run after `VACUUM
/// (ANALYZE)`, which brings the row counts up to date.
pub async fn reindex(state: &AppState, all: bool, floor: u64) -> Result<Vec<String>> {
    use app::platform::schema::index_baselines::dsl as b;
    use diesel::{ExpressionMethods, QueryDsl};
    let mut dbs: Vec<(&'static str, &DbPool)> = vec![("metadata", &state.db)];
    if let app::platform::VectorDb::Separate(pool) = &state.vector {
        dbs.push(("vectors", pool));
    }
    let mut meta = state.db.get().await?;
    let baselines: HashMap<String, f64> = b::index_baselines
        .select((b::name, b::bytes_per_row))
        .load::<(String, f64)>(&mut meta)
        .await?
        .into_iter()
        .collect();
    let mut done = Vec::new();
    for (database, pool) in dbs {
        let mut c = pool.get().await?;
        for f in index_figures(&mut c, None).await? {
            if f.rows < 1.0 {
                continue; // empty, or never analysed: no measure
            }
            let key = format!("{database}:{}", f.name);
            let per_row = f.bytes as f64 / f.rows;
            let grown = baselines.get(&key).map(|best| per_row / best);
            let bloated = grown.is_some_and(|g| g > BLOAT_RATIO) && f.bytes as u64 >= floor;
            let mut best = per_row;
            if all || bloated {
                c.batch_execute(&format!("REINDEX INDEX CONCURRENTLY \"{}\"", f.name.replace('"', "\"\""))).await?;
                let after = index_figures(&mut c, Some(&f.name)).await?.pop();
                if let Some(a) = after.filter(|a| a.rows >= 1.0) {
                    best = a.bytes as f64 / a.rows;
                }
                done.push(match grown {
                    Some(g) if bloated => format!(
                        "{} ({:.1}× its best size per row: {} → {})",
                        f.name,
                        g,
                        app::format::bytes(f.bytes),
                        app::format::bytes((best * f.rows) as i64)
                    ),
                    _ => f.name.clone(),
                });
            } else if let Some(b) = baselines.get(&key) {
                best = best.min(*b);
            }
            if baselines.get(&key) != Some(&best) {
                diesel::insert_into(b::index_baselines)
                    .values((b::name.eq(&key), b::bytes_per_row.eq(best)))
                    .on_conflict(b::name)
                    .do_update()
                    .set((b::bytes_per_row.eq(best), b::measured_at.eq(diesel::dsl::now)))
                    .execute(&mut meta)
                    .await?;
            }
        }
    }
    Ok(done)
}

/// Rows without their object, and objects without a row, on every backend. Each store is listed
/// once and the rows are checked against its listing (one request per thousand objects on S3 or
/// Vercel Blob, not one per row); a store that cannot be listed is asked about each of its rows.
async fn orphans(state: &AppState, opts: &Options, report: &mut Report) -> Result<()> {
    // every store each kind of object may be on, each listed once
    let store_id = |s: &Arc<dyn BlobStore>| Arc::as_ptr(s) as *const () as usize;
    let mut stores: HashMap<usize, Arc<dyn BlobStore>> = HashMap::new();
    for holding in state.holdings.iter() {
        for store in holding.stores(state).backends() {
            stores.entry(store_id(&store)).or_insert(store);
        }
    }
    let mut listings: HashMap<usize, HashMap<String, Listed>> = HashMap::new();
    for (id, store) in &stores {
        match store.list().await {
            None => report.not_listed.push(format!(
                "{}: cannot be listed; its rows are checked one by one and its orphans are not looked for",
                store.backend()
            )),
            Some(Err(e)) => report.not_listed.push(format!("{}: {e}", store.backend())),
            Some(Ok(l)) => {
                listings.insert(*id, l.into_iter().map(|o| (o.key.clone(), o)).collect());
            }
        }
    }

    let mut c = state.db.get().await?;
    // what the rows name, per backend: two kinds may share a bucket, and each of their stores
    // lists all of it
    let mut known: HashSet<(Backend, String)> = HashSet::new();
    for holding in state.holdings.iter() {
        let kind = holding.stores(state);
        let on: Vec<Arc<dyn BlobStore>> = kind.backends();
        let mut after = 0;
        loop {
            let batch = holding.batch(&mut c, Selection::All, after, 1000).await?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            for o in batch {
                report.rows_checked += 1;
                let store = on.iter().find(|s| s.backend() == o.backend).map(store_id);
                let there = match (store.and_then(|id| listings.get(&id)), BlobKey::from_stored(&o.key)) {
                    (_, None) => Ok(false),
                    (Some(listed), Some(_)) => Ok(listed.contains_key(&o.key)),
                    (None, Some(k)) => kind.exists(o.backend, &k).await,
                };
                match there {
                    Ok(true) => {}
                    Ok(false) => {
                        report.rows_without_object.push((holding.label().to_owned(), o.backend, o.key.clone()))
                    }
                    Err(e) => report.not_listed.push(format!("{} on {}: {e}", o.key, o.backend)),
                }
                known.insert((o.backend, o.key));
            }
        }
    }
    drop(c);

    let now = SystemTime::now();
    let mut seen: HashSet<(Backend, String)> = HashSet::new();
    let mut ids: Vec<&usize> = listings.keys().collect();
    ids.sort_by_key(|id| stores[id].backend().to_string());
    for id in ids {
        let store = &stores[id];
        let mut listed: Vec<&Listed> = listings[id]
            .values()
            .filter(|o| {
                let at = (store.backend(), o.key.clone());
                !known.contains(&at) && seen.insert(at)
            })
            .collect();
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        for o in listed {
            let old_enough = o.modified.and_then(|m| now.duration_since(m).ok()).is_none_or(|age| age >= opts.grace);
            let mut removed = false;
            if opts.fix && old_enough {
                if let Some(k) = BlobKey::from_stored(&o.key) {
                    match store.delete(&k).await {
                        Ok(()) => removed = true,
                        Err(e) => tracing::warn!(error = %e, key = o.key, "could not remove an orphan"),
                    }
                }
            }
            report.objects_without_row.push(Orphan {
                backend: store.backend(),
                key: o.key.clone(),
                bytes: o.bytes,
                removed,
            });
        }
    }
    Ok(())
}

/// The report as a person reads it.
pub fn render(r: &Report) -> String {
    use app::format::bytes;
    let mut out = String::new();
    let p = &r.pruned;
    out.push_str(&format!(
        "Pruned: {} temporary files, {} old sign-in failures, {} finished jobs{}.\n",
        p.temporary_files,
        p.sign_in_failures,
        p.jobs,
        if p.sessions_checked { ", expired sessions" } else { "" }
    ));
    out.push_str(&format!("Vacuumed and analysed: {}.\n", r.vacuumed.join(", ")));
    if !r.reindexed.is_empty() {
        out.push_str(&format!("Reindexed: {}.\n", r.reindexed.join(", ")));
    }
    out.push_str(&format!("Stored objects: {} rows checked.\n", r.rows_checked));
    for (what, backend, key) in &r.rows_without_object {
        out.push_str(&format!("  row without its object: {what} {key} on {backend}\n"));
    }
    for o in &r.objects_without_row {
        let done = if o.removed { "removed" } else { "kept (--fix removes it)" };
        out.push_str(&format!(
            "  object without a row: {} on {} ({}), {done}\n",
            o.key,
            o.backend,
            bytes(o.bytes as i64)
        ));
    }
    for n in &r.not_listed {
        out.push_str(&format!("  not checked: {n}\n"));
    }
    out.push_str("Largest tables (table + indexes):\n");
    for t in r.sizes.iter().take(10) {
        out.push_str(&format!(
            "  {:<10} {:<28} {:>10} + {:>10}\n",
            t.database,
            t.table,
            bytes(t.table_bytes),
            bytes(t.index_bytes)
        ));
    }
    match &r.slowest {
        None => out.push_str("Slowest statements: install pg_stat_statements to see them.\n"),
        Some(s) => {
            out.push_str("Slowest statements (mean):\n");
            for (q, calls, ms) in s {
                out.push_str(&format!("  {ms:>9.1} ms × {calls}: {}\n", q.replace('\n', " ")));
            }
        }
    }
    out.push_str(&format!("Pool: {}.\nTook {:.1} s.\n", r.pool, r.took.as_secs_f64()));
    out
}
