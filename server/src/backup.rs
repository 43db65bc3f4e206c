//! `bartleby backup` and `bartleby restore`: one self-describing directory holds both databases
//! (`pg_dump`'s custom format, from the embedded build, which also dumps older servers) and every
//! stored object that lives on local disk (objects on S3 or Vercel Blob too with
//! `--include-remote`; otherwise they are checked to exist with their recorded size).
//!
//! ```text
//! bartleby-backup-20261205-143000/
//!   manifest.json          what is here: versions, migrations, embedding model, every object
//!   manifest.json.sha256   the manifest's own checksum
//!   metadata.pgdump        the metadata database (with the vectors when they live there)
//!   vectors.pgdump         the vector database, when it is a separate one
//!   objects/users/…        the objects' bytes, under their storage keys
//! ```
//!
//! The dump and the list of objects come from one snapshot of the metadata database
//! (`pg_export_snapshot`), taken while Bartleby serves: nothing is paused. The backup is written
//! under `….partial` and renamed when complete, so a half-written one is never taken for a backup.
//! A restore checks every file's size and sha256 before it writes anything.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use app::platform::AppState;
use app::storage::relocate::Selection;
use app::storage::{sha256_file, Backend, BlobKey, Stores};
use diesel::sql_types::Text;
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde::{Deserialize, Serialize};

/// This layout's version; a restore refuses a backup of a layout it does not know.
pub const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const MANIFEST_SUM: &str = "manifest.json.sha256";
const METADATA_DUMP: &str = "metadata.pgdump";
const VECTOR_DUMP: &str = "vectors.pgdump";
const OBJECTS: &str = "objects";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub bartleby_version: String,
    /// RFC 3339, UTC
    pub created_at: String,
    pub metadata: Dump,
    pub vectors: Vectors,
    /// The model the stored vectors were made with (`None`: no vectors).
    pub embedding_model: Option<String>,
    pub objects: Vec<Object>,
}

/// One database dump.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Dump {
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    /// The migration versions applied to it.
    pub migrations: Vec<String>,
}

/// Where the vectors were.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "in", rename_all = "snake_case")]
pub enum Vectors {
    /// no database with pgvector: nothing to keep
    Nowhere,
    /// in the metadata database, so in its dump
    Metadata,
    /// a separate database (`NEON_DATABASE_URL`)
    Separate { dump: Dump },
}

/// One stored object, as its row records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Object {
    /// "photos and thumbnails", "documents", "exports"
    pub holding: String,
    pub backend: String,
    pub key: String,
    pub content_type: String,
    pub bytes: u64,
    /// The copy's sha256 when `copied`, else what the row records (if anything).
    pub sha256: Option<String>,
    /// Whether its bytes are in this backup (under `objects/KEY`).
    pub copied: bool,
}

/// Postgres's client tools (from the embedded build).
#[derive(Debug, Clone)]
pub struct Tools {
    pub pg_dump: PathBuf,
    pub pg_restore: PathBuf,
}

/// What a backup or restore found wrong with single objects (the rest went ahead).
#[derive(Debug, Default)]
pub struct Report {
    pub objects: usize,
    pub copied: usize,
    pub bytes: u64,
    pub problems: Vec<String>,
    pub took: Duration,
}

#[derive(QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = Text)]
    snapshot: String,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

#[derive(QueryableByName)]
struct ModelRow {
    #[diesel(sql_type = Text)]
    id: String,
}

async fn migrations(c: &mut AsyncPgConnection) -> Result<Vec<String>> {
    let rows: Vec<Version> = diesel::sql_query("SELECT version FROM __diesel_schema_migrations ORDER BY version")
        .load(c)
        .await
        .context("reading the applied migrations")?;
    Ok(rows.into_iter().map(|r| r.version).collect())
}

/// The URL without its password, and the password (given to the tools in `PGPASSWORD`, never on
/// their command line, where other users of the machine could read it).
fn split_password(url: &str) -> (String, Option<String>) {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let password =
                u.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
            let _ = u.set_password(None);
            (u.to_string(), password)
        }
        _ => (url.to_owned(), None),
    }
}

/// Runs a Postgres tool against `url`; its stderr becomes the error.
async fn run_tool(tool: &Path, url: &str, args: &[&str]) -> Result<()> {
    let (url, password) = split_password(url);
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(args).arg(format!("--dbname={url}")).kill_on_drop(true);
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    let out = cmd.output().await.with_context(|| format!("cannot run {}", tool.display()))?;
    if !out.status.success() {
        let name = tool.file_name().and_then(|n| n.to_str()).unwrap_or("tool");
        bail!("{name} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

async fn dump_entry(dir: &Path, file: &str, migrations: Vec<String>) -> Result<Dump> {
    let (bytes, sha256) = sha256_file(&dir.join(file)).await?;
    Ok(Dump { file: file.to_owned(), bytes, sha256, migrations })
}

/// The object's place in a backup. Keys are Bartleby's own (`BlobKey::from_stored` checked them):
/// relative, without `..`.
fn object_path(dir: &Path, key: &BlobKey) -> PathBuf {
    dir.join(OBJECTS).join(key.as_str())
}

/// Writes a backup of everything `state` reaches into a new directory under `to`; returns its path.
/// `meta_url` is the metadata database; a separate vector database is dumped too.
pub async fn backup(
    state: &AppState,
    meta_url: &str,
    vector_url: Option<&str>,
    tools: &Tools,
    to: &Path,
    include_remote: bool,
    progress: impl Fn(usize, usize),
) -> Result<(PathBuf, Report)> {
    let started = Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let name = format!("bartleby-backup-{stamp}");
    let done = to.join(&name);
    if done.exists() {
        bail!("{} exists already", done.display());
    }
    let dir = to.join(format!("{name}.partial"));
    let _ = tokio::fs::remove_dir_all(&dir).await;
    tokio::fs::create_dir_all(&dir).await.with_context(|| format!("cannot create {}", dir.display()))?;

    // one snapshot: the dump and the list of objects agree with each other
    let mut c = app::platform::db::establish(meta_url).await.context("the metadata database")?;
    c.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
    let snapshot: Snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS snapshot").get_result(&mut c).await?;
    let out = dir.join(METADATA_DUMP);
    let out = out.to_str().context("the backup directory's path is not UTF-8")?;
    run_tool(
        &tools.pg_dump,
        meta_url,
        &[
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            &format!("--snapshot={}", snapshot.snapshot),
            "--file",
            out,
        ],
    )
    .await
    .context("dumping the metadata database")?;
    let meta_migrations = migrations(&mut c).await?;
    let mut rows = Vec::new();
    for holding in state.holdings.iter() {
        let mut after = 0;
        loop {
            let batch = holding.batch(&mut c, Selection::All, after, 1000).await?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            rows.extend(batch.into_iter().map(|o| (holding.label(), holding.stores(state), o)));
        }
    }
    c.batch_execute("COMMIT").await?;
    drop(c);
    let metadata = dump_entry(&dir, METADATA_DUMP, meta_migrations).await?;

    let vectors = match (&state.vector, vector_url) {
        (app::platform::VectorDb::Separate(_), Some(url)) => {
            let out = dir.join(VECTOR_DUMP);
            let out = out.to_str().context("the backup directory's path is not UTF-8")?;
            run_tool(&tools.pg_dump, url, &["--format=custom", "--no-owner", "--no-privileges", "--file", out])
                .await
                .context("dumping the vector database")?;
            let mut vc = app::platform::db::establish(url).await.context("the vector database")?;
            Vectors::Separate { dump: dump_entry(&dir, VECTOR_DUMP, migrations(&mut vc).await?).await? }
        }
        (app::platform::VectorDb::Separate(_), None) => bail!("the vector database's URL is missing"),
        (app::platform::VectorDb::Shared(_), _) => Vectors::Metadata,
        (app::platform::VectorDb::Absent, _) => Vectors::Nowhere,
    };
    let embedding_model = match state.vector.pool() {
        Some(pool) => {
            let mut vc = pool.get().await.context("the vector database")?;
            let model: Option<ModelRow> =
                diesel::sql_query("SELECT id FROM embedding_models ORDER BY recorded_at DESC LIMIT 1")
                    .get_result(&mut vc)
                    .await
                    .map(Some)
                    .or_else(|e| if e == diesel::result::Error::NotFound { Ok(None) } else { Err(e) })?;
            model.map(|m| m.id)
        }
        None => None,
    };

    let mut report = Report { objects: rows.len(), ..Report::default() };
    let mut objects = Vec::with_capacity(rows.len());
    for (n, (holding, stores, row)) in rows.into_iter().enumerate() {
        progress(n, report.objects);
        let bytes = u64::try_from(row.bytes).unwrap_or(0);
        let mut object = Object {
            holding: holding.to_owned(),
            backend: row.backend.as_str().to_owned(),
            key: row.key.clone(),
            content_type: row.content_type.clone(),
            bytes,
            sha256: row.sha256.clone(),
            copied: false,
        };
        let Some(key) = BlobKey::from_stored(&row.key) else {
            report.problems.push(format!("{}: not a key Bartleby writes; left out", row.key));
            continue;
        };
        if row.backend == Backend::Local || include_remote {
            let dest = object_path(&dir, &key);
            match stores.fetch_to_file(row.backend, &key, &dest).await {
                Ok(_) => {
                    let (got, sha) = sha256_file(&dest).await?;
                    if got != bytes || row.sha256.as_ref().is_some_and(|s| *s != sha) {
                        report.problems.push(format!(
                            "{} ({}): on {} it differs from its record ({got} bytes, recorded {bytes})",
                            row.key, holding, row.backend
                        ));
                    }
                    object.bytes = got;
                    object.sha256 = Some(sha);
                    object.copied = true;
                    report.copied += 1;
                    report.bytes += got;
                }
                Err(e) => {
                    let _ = tokio::fs::remove_file(&dest).await;
                    report
                        .problems
                        .push(format!("{} ({holding}): could not be read from {}: {e}", row.key, row.backend));
                }
            }
        } else {
            match stores.size(row.backend, &key).await {
                Ok(n) if n == bytes => {}
                Ok(n) => report
                    .problems
                    .push(format!("{} ({holding}): on {} it has {n} bytes, recorded {bytes}", row.key, row.backend)),
                Err(e) => report.problems.push(format!("{} ({holding}): not found on {}: {e}", row.key, row.backend)),
            }
        }
        objects.push(object);
    }
    progress(report.objects, report.objects);

    let manifest = Manifest {
        format: FORMAT,
        bartleby_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        metadata,
        vectors,
        embedding_model,
        objects,
    };
    let text = serde_json::to_vec_pretty(&manifest)?;
    tokio::fs::write(dir.join(MANIFEST), &text).await?;
    tokio::fs::write(dir.join(MANIFEST_SUM), format!("{}  {MANIFEST}\n", sha256_hex(&text))).await?;
    report.bytes += manifest.metadata.bytes;
    if let Vectors::Separate { dump } = &manifest.vectors {
        report.bytes += dump.bytes;
    }
    tokio::fs::rename(&dir, &done).await?;
    report.took = started.elapsed();
    Ok((done, report))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!("{:x}", Sha256::digest(bytes))
}

/// Checks a backup: its manifest against its checksum, every file against the manifest, and no
/// file that the manifest does not name. Writes nothing. The error names what is wrong.
pub async fn verify(from: &Path) -> Result<Manifest> {
    if !from.join(MANIFEST).exists() {
        bail!("{} is not a Bartleby backup (it has no {MANIFEST})", from.display());
    }
    let text = tokio::fs::read(from.join(MANIFEST)).await?;
    let sum = tokio::fs::read_to_string(from.join(MANIFEST_SUM))
        .await
        .with_context(|| format!("the backup has no {MANIFEST_SUM}"))?;
    if sum.split_whitespace().next() != Some(sha256_hex(&text).as_str()) {
        bail!("{MANIFEST} is damaged: it does not match {MANIFEST_SUM}");
    }
    let manifest: Manifest = serde_json::from_slice(&text).with_context(|| format!("{MANIFEST} cannot be read"))?;
    if manifest.format != FORMAT {
        bail!(
            "this backup's layout is version {} (Bartleby {}); this Bartleby reads version {FORMAT}",
            manifest.format,
            manifest.bartleby_version
        );
    }
    let mut expected: Vec<(PathBuf, u64, String)> = Vec::new();
    let mut dumps = vec![&manifest.metadata];
    if let Vectors::Separate { dump } = &manifest.vectors {
        dumps.push(dump);
    }
    for d in dumps {
        if d.file != METADATA_DUMP && d.file != VECTOR_DUMP {
            bail!("{MANIFEST} names an unexpected dump `{}`", d.file);
        }
        expected.push((from.join(&d.file), d.bytes, d.sha256.clone()));
    }
    for o in manifest.objects.iter().filter(|o| o.copied) {
        let key =
            BlobKey::from_stored(&o.key).with_context(|| format!("{MANIFEST} names an unexpected key `{}`", o.key))?;
        let sha = o.sha256.clone().with_context(|| format!("{MANIFEST} has no checksum for {}", o.key))?;
        expected.push((object_path(from, &key), o.bytes, sha));
    }
    for (path, bytes, sha) in &expected {
        let shown = path.strip_prefix(from).unwrap_or(path).display().to_string();
        let (got, got_sha) = sha256_file(path).await.with_context(|| format!("{shown} is missing"))?;
        if got != *bytes {
            bail!("{shown} is damaged: {got} bytes, the manifest says {bytes}");
        }
        if got_sha != *sha {
            bail!("{shown} is damaged: its sha256 does not match the manifest");
        }
    }
    // a file the manifest does not name: something was added, or a key was renamed
    let known: std::collections::HashSet<PathBuf> = expected.into_iter().map(|(p, _, _)| p).collect();
    let mut stack = vec![from.join(OBJECTS)];
    while let Some(d) = stack.pop() {
        let Ok(mut entries) = tokio::fs::read_dir(&d).await else { continue };
        while let Some(e) = entries.next_entry().await? {
            let p = e.path();
            if e.file_type().await?.is_dir() {
                stack.push(p);
            } else if !known.contains(&p) {
                bail!("{} is not in the manifest", p.strip_prefix(from).unwrap_or(&p).display());
            }
        }
    }
    Ok(manifest)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many tables the database has outside the system schemas.
async fn table_count(url: &str) -> Result<i64> {
    let mut c = app::platform::db::establish(url).await.context("cannot connect")?;
    let n: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
    )
    .get_result(&mut c)
    .await?;
    Ok(n.n)
}

/// How many other sessions are connected to the database (a server still running on it).
async fn other_connections(url: &str) -> Result<i64> {
    let mut c = app::platform::db::establish(url).await.context("cannot connect")?;
    let n: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND backend_type = 'client backend'",
    )
    .get_result(&mut c)
    .await?;
    Ok(n.n)
}

/// Empties a database for `restore --force`: every table, view and extension in `public` goes.
async fn wipe(url: &str) -> Result<()> {
    let mut c = app::platform::db::establish(url).await.context("cannot connect")?;
    c.batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;").await?;
    Ok(())
}

/// Where a restore writes.
pub struct Target<'a> {
    pub meta_url: &'a str,
    /// a separate vector database (`NEON_DATABASE_URL`)
    pub vector_url: Option<&'a str>,
}

/// Restores a backup into an empty installation (or, with `force`, over what is there):
/// checks every checksum first, restores the databases, migrates them forward (a backup of an
/// older Bartleby), then puts every object back where its row says it is. Returns the state of
/// the restored installation (for its objects' stores) and a report.
pub async fn restore(
    config: app::platform::config::Config,
    target: Target<'_>,
    tools: &Tools,
    from: &Path,
    force: bool,
    progress: impl Fn(usize, usize),
) -> Result<Report> {
    let started = Instant::now();
    let started_at = time::OffsetDateTime::now_utc();
    let manifest = verify(from).await?;
    let vector_target = match (&manifest.vectors, target.vector_url) {
        (Vectors::Separate { .. }, None) => {
            bail!("this backup's vectors were in a separate database: set NEON_DATABASE_URL to restore them")
        }
        (_, url) => url,
    };
    let mut targets = vec![("the metadata database", target.meta_url)];
    targets.extend(vector_target.map(|u| ("the vector database", u)));
    for (what, url) in &targets {
        let n = table_count(url).await.with_context(|| what.to_string())?;
        if n > 0 {
            if !force {
                bail!(
                    "{what} is not empty ({n} tables): restore into an empty installation (a new DATA_DIR or \
                     empty databases), or pass --force to replace everything in it"
                );
            }
            // a server just stopped (or this process's own earlier work) may take a moment to
            // close its connections: wait up to 3 s for them to go before refusing
            let mut others = other_connections(url).await.with_context(|| what.to_string())?;
            for _ in 0..15 {
                if others == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                others = other_connections(url).await.with_context(|| what.to_string())?;
            }
            if others > 0 {
                bail!(
                    "{what} has {others} other connection(s): stop Bartleby (every server using it) before \
                     replacing what it holds"
                );
            }
            wipe(url).await.with_context(|| format!("emptying {what}"))?;
        }
    }
    let restore_args = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"];
    let dump = from.join(&manifest.metadata.file);
    let mut args: Vec<&str> = restore_args.to_vec();
    args.push(dump.to_str().context("the backup's path is not UTF-8")?);
    run_tool(&tools.pg_restore, target.meta_url, &args).await.context("restoring the metadata database")?;
    if let (Vectors::Separate { dump }, Some(url)) = (&manifest.vectors, vector_target) {
        let path = from.join(&dump.file);
        let mut args: Vec<&str> = restore_args.to_vec();
        args.push(path.to_str().context("the backup's path is not UTF-8")?);
        run_tool(&tools.pg_restore, url, &args).await.context("restoring the vector database")?;
    }

    // the dump carries no privileges (--no-privileges): the role a user's work runs as gets its own
    // again (row-level security: migration 000021, vector migration 900004), in both databases
    {
        use diesel_async::SimpleAsyncConnection;
        let mut c = app::platform::db::establish(target.meta_url).await.context("the metadata database")?;
        c.batch_execute(app::platform::db::GRANT_USER_ROLE).await.context("granting the user role")?;
        if let (Vectors::Separate { .. }, Some(url)) = (&manifest.vectors, vector_target) {
            let mut c = app::platform::db::establish(url).await.context("the vector database")?;
            c.batch_execute(app::platform::db::GRANT_USER_ROLE).await.context("granting the user role")?;
        }
    }
    // migrates forward (a backup of an older Bartleby) and opens the stores
    let state = crate::build_state_with(config, target.meta_url, false).await?;
    let stores_of = |holding: &str| -> Option<&Stores> {
        state.holdings.iter().find(|h| h.label() == holding).map(|h| h.stores(&state))
    };
    let mut report = Report { objects: manifest.objects.len(), ..Report::default() };
    for (n, o) in manifest.objects.iter().enumerate() {
        progress(n, report.objects);
        let (Some(key), Some(backend), Some(stores)) =
            (BlobKey::from_stored(&o.key), Backend::from_db(&o.backend), stores_of(&o.holding))
        else {
            report.problems.push(format!("{}: not something this Bartleby keeps; left out", o.key));
            continue;
        };
        if o.copied {
            let file = object_path(from, &key);
            match stores.put_on(backend, &key, &file, &o.content_type).await {
                Ok(()) => {
                    report.copied += 1;
                    report.bytes += o.bytes;
                }
                Err(e) => {
                    report.problems.push(format!("{} ({}): could not be put on {backend}: {e}", o.key, o.holding))
                }
            }
        } else {
            match stores.size(backend, &key).await {
                Ok(n) if n == o.bytes => {}
                Ok(n) => report.problems.push(format!("{} ({}): on {backend} it has {n} bytes, recorded {}", o.key, o.holding, o.bytes)),
                Err(e) => report.problems.push(format!(
                    "{} ({}): not on {backend} ({e}), and this backup has no copy (make backups with --include-remote to keep one)",
                    o.key, o.holding
                )),
            }
        }
    }
    progress(report.objects, report.objects);
    report.took = started.elapsed();
    let outcome = Ok((
        format!("from {} (Bartleby {}, made {})", from.display(), manifest.bartleby_version, manifest.created_at),
        report.bytes,
    ));
    record_run(&state.db, app::platform::runs::RunKind::Restore, started_at, &outcome).await;
    Ok(report)
}

/// Records a backup or restore in `maintenance_runs` (shown to the administrator and in
/// `/api/health`). A database that cannot take the record is logged, not an error of the run.
pub async fn record_run(
    pool: &app::platform::db::DbPool,
    kind: app::platform::runs::RunKind,
    started: time::OffsetDateTime,
    outcome: &Result<(String, u64), String>,
) {
    let (ok, detail, bytes) = match outcome {
        Ok((detail, bytes)) => (true, detail.as_str(), i64::try_from(*bytes).ok()),
        Err(e) => (false, e.as_str(), None),
    };
    let recorded = async {
        let mut c = pool.get().await.map_err(|e| e.to_string())?;
        app::platform::runs::record(&mut c, kind, started, ok, detail, bytes).await.map_err(|e| e.to_string())
    };
    if let Err(e) = recorded.await {
        tracing::warn!(error = %e, kind = kind.as_str(), "could not record the run");
    }
}

/// What a backup's result is recorded as: its description and size, or what went wrong (objects
/// that need a look make a complete backup a failed run).
pub fn outcome(made: &Result<(PathBuf, Report)>) -> Result<(String, u64), String> {
    match made {
        Ok((dir, report)) if report.problems.is_empty() => Ok((describe(dir, report), report.bytes)),
        Ok((dir, report)) => Err(describe(dir, report)),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// What a backup run says of itself in `maintenance_runs`.
pub fn describe(dir: &Path, report: &Report) -> String {
    let mut s = format!("{} ({} objects, {} copied)", dir.display(), report.objects, report.copied);
    if !report.problems.is_empty() {
        s.push_str(&format!("; {} object(s) need a look: {}", report.problems.len(), report.problems.join("; ")));
    }
    s
}

/// Removes all but the newest `keep` complete backups in `dir` (and any half-written one).
pub async fn prune(dir: &Path, keep: usize) -> Result<usize> {
    let mut complete = Vec::new();
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut removed = 0;
    while let Some(e) = entries.next_entry().await? {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with("bartleby-backup-") || !e.file_type().await?.is_dir() {
            continue;
        }
        if name.ends_with(".partial") {
            tokio::fs::remove_dir_all(e.path()).await?;
            removed += 1;
        } else {
            complete.push(name);
        }
    }
    complete.sort(); // the names are timestamps
    let old = complete.len().saturating_sub(keep);
    for name in &complete[..old] {
        tokio::fs::remove_dir_all(dir.join(name)).await?;
        removed += 1;
    }
    Ok(removed)
}

/// Advisory-lock key of the scheduled backup: one server of several writes it.
const SCHEDULE_LOCK_KEY: i64 = 0x6261_636b_7570_0001;

/// While serving, writes a backup every `BACKUP_SCHEDULE` into `BACKUP_DIR` and keeps the newest
/// `BACKUP_KEEP`. The first one is due a minute after start-up when there has never been one;
/// after that, one period after the last (failed ones included: a failure is shown, not retried
/// in a loop). With several servers, the one that takes the lock writes it.
pub fn spawn_schedule(
    state: AppState,
    meta_url: String,
    vector_url: Option<String>,
    tools: Tools,
) -> Option<tokio::task::JoinHandle<()>> {
    use app::platform::runs::{self, RunKind};
    let every = state.config.backup_every?;
    let dir = state.config.dirs.backups.clone();
    let keep = state.config.backup_keep;
    Some(tokio::spawn(async move {
        loop {
            let last = match state.db.get().await {
                Ok(mut c) => runs::last(&mut c, RunKind::Backup, false).await.ok().flatten(),
                Err(_) => None,
            };
            let wait = match last {
                Some(run) => {
                    let due = run.started_at + every;
                    (due - time::OffsetDateTime::now_utc()).try_into().unwrap_or(Duration::ZERO)
                }
                None => every.min(Duration::from_secs(60)),
            };
            tokio::time::sleep(wait).await;
            // one server writes it: the others find the lock taken and wait for the next period
            let Ok(mut lock) = state.db.get().await else {
                tokio::time::sleep(Duration::from_secs(30)).await;
                continue;
            };
            #[derive(QueryableByName)]
            struct Taken {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                taken: bool,
            }
            let taken: Option<Taken> =
                diesel::sql_query(format!("SELECT pg_try_advisory_lock({SCHEDULE_LOCK_KEY}) AS taken"))
                    .get_result(&mut lock)
                    .await
                    .ok();
            if !taken.is_some_and(|t| t.taken) {
                drop(lock);
                tokio::time::sleep(every).await;
                continue;
            }
            let started = time::OffsetDateTime::now_utc();
            tracing::info!(dir = %dir.display(), "scheduled backup starting");
            let made = backup(&state, &meta_url, vector_url.as_deref(), &tools, &dir, false, |_, _| {}).await;
            let outcome = outcome(&made);
            match &outcome {
                Ok((detail, _)) => tracing::info!(detail, "scheduled backup written"),
                Err(e) => tracing::error!(error = e, "scheduled backup failed"),
            }
            record_run(&state.db, RunKind::Backup, started, &outcome).await;
            match prune(&dir, keep).await {
                Ok(n) if n > 0 => tracing::info!(removed = n, keep, "old backups removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not remove old backups"),
            }
            let _ =
                diesel::sql_query(format!("SELECT pg_advisory_unlock({SCHEDULE_LOCK_KEY})")).execute(&mut lock).await;
        }
    }))
}
