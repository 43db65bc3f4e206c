//! `bartleby maintenance`: what the deployment guide asks of an installation's upkeep, as one
//! command with a report. Its light part ([`prune`]) also runs hourly while serving.
//!
//! - prune: expired sessions, old sign-in failures, finished jobs, abandoned temporary files;
//! - `VACUUM (ANALYZE)` of both databases; with `--reindex`, `REINDEX TABLE CONCURRENTLY` of the
//!   tables searches read (the items, documents and passages, and the HNSW-indexed vectors);
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

#[derive(Debug, Clone)]
pub struct Options {
    /// remove objects no row names (older than `grace`)
    pub fix: bool,
    /// rebuild the indexes searches read
    pub reindex: bool,
    pub grace: Duration,
}

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
    pub reindexed: Vec<String>,
    /// stored objects checked (one per row)
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
    if opts.reindex {
        let mut c = state.db.get().await?;
        for table in ["user_inventory", "user_documents", "document_chunks"] {
            c.batch_execute(&format!("REINDEX TABLE CONCURRENTLY {table}")).await?;
            report.reindexed.push(table.to_owned());
        }
        if let Some(pool) = state.vector.pool() {
            let mut vc = pool.get().await?;
            for table in ["document_vectors", "item_vectors"] {
                vc.batch_execute(&format!("REINDEX TABLE CONCURRENTLY {table}")).await?;
                report.reindexed.push(table.to_owned());
            }
        }
    }
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

/// Rows without their object, and objects without a row, on every backend.
async fn orphans(state: &AppState, opts: &Options, report: &mut Report) -> Result<()> {
    let mut c = state.db.get().await?;
    let mut known: HashSet<(Backend, String)> = HashSet::new();
    // every backend each kind of object may be on, each listed once
    let mut stores: HashMap<(Backend, usize), Arc<dyn BlobStore>> = HashMap::new();
    for holding in state.holdings.iter() {
        let kind = holding.stores(state);
        for store in kind.backends() {
            stores.entry((store.backend(), Arc::as_ptr(&store) as *const () as usize)).or_insert(store);
        }
        let mut after = 0;
        loop {
            let batch = holding.batch(&mut c, Selection::All, after, 1000).await?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            for o in batch {
                report.rows_checked += 1;
                let there = match BlobKey::from_stored(&o.key) {
                    Some(k) => kind.exists(o.backend, &k).await,
                    None => Ok(false),
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
    for store in stores.values() {
        let listed: Vec<Listed> = match store.list().await {
            None => {
                report.not_listed.push(format!("{}: cannot be listed; its orphans are not checked", store.backend()));
                continue;
            }
            Some(Err(e)) => {
                report.not_listed.push(format!("{}: {e}", store.backend()));
                continue;
            }
            Some(Ok(l)) => l,
        };
        for o in listed {
            let id = (store.backend(), o.key.clone());
            if known.contains(&id) || !seen.insert(id) {
                continue;
            }
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
            report.objects_without_row.push(Orphan { backend: store.backend(), key: o.key, bytes: o.bytes, removed });
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
