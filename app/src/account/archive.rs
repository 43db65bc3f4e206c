//! "Take your data and go": one ZIP of everything a user keeps, built in the background (a job on
//! the queue, with its progress in `account_archive_runs`), stored like an export and downloaded
//! by its owner. Only the newest archive is kept.
//!
//! ```text
//! README.txt
//! inventory/items.csv, inventory/photos/…   the inventory export's ZIP, entry by entry
//! inventory/items.json                      the same items as JSON
//! documents/{id}-{file name}                each document as uploaded
//! documents/{id}-{file name}.txt            the text Bartleby read from it, page by page
//! documents/shares.json                     whom each document is shared with
//! ```

use std::io::Write;
use std::path::Path;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::types::{ArchiveRun, ArchiveStatus};
use crate::documents::repo as documents;
use crate::error::AppError;
use crate::ids::{ArchiveId, UserId};
use crate::inventory::export::{self, ExportFormat};
use crate::jobs::{Claimed, Job, JobError, Lane};
use crate::platform::db::{conn, conn_as, next_id, query_failed};
use crate::platform::schema::account_archive_runs::dsl as r;
use crate::platform::schema::account_archives::{self, dsl as a};
use crate::platform::AppState;
use crate::storage::{Backend, BlobKey, PutError};

/// Builds one archive (`subject_id` is the run's id).
pub const BUILD_ARCHIVE: &str = "account_archive";

pub struct BuildArchive;

#[async_trait]
impl Job for BuildArchive {
    fn kind(&self) -> &'static str {
        BUILD_ARCHIVE
    }
    fn lane(&self) -> Lane {
        Lane::Long
    }
    async fn run(&self, state: &AppState, job: &Claimed) -> Result<(), JobError> {
        match build(state, job).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let message = format!("The archive could not be made: {e}");
                if let Ok(mut c) = conn(&state.db).await {
                    let _ = set(&mut c, job.subject_id, ArchiveStatus::Failed, Some(&message)).await;
                }
                Err(JobError::Permanent(message))
            }
        }
    }
}

/// A stored archive, as storage relocation and backups see it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_archives, check_for_backend(diesel::pg::Pg))]
pub struct Archive {
    pub id: i64,
    pub user_id: i64,
    pub backend: Backend,
    pub key: String,
    pub bytes: i64,
    pub created_at: time::OffsetDateTime,
}

pub struct Archives;

crate::impl_holdings!(Archives {
    table: account_archives,
    label: "account archives",
    stores: exports,
    local_dir: exports,
    on_vercel: false,
    content_type: content_type => |c| c,
});

async fn set(c: &mut AsyncPgConnection, run: i64, status: ArchiveStatus, detail: Option<&str>) -> QueryResult<usize> {
    diesel::update(r::account_archive_runs.filter(r::id.eq(run)))
        .set((r::status.eq(status.as_str()), r::detail.eq(detail), r::updated_at.eq(diesel::dsl::now)))
        .execute(c)
        .await
}

/// Records how far the archive has got, and renews the job's lease (it is making progress).
async fn progress(state: &AppState, job: &Claimed, done: i32, total: i32) {
    crate::jobs::heartbeat(state, job).await;
    let run = job.subject_id;
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::update(r::account_archive_runs.filter(r::id.eq(run)))
            .set((r::done.eq(done), r::total.eq(total), r::updated_at.eq(diesel::dsl::now)))
            .execute(&mut c)
            .await;
    }
}

/// Starts an archive of everything `user_id` keeps, unless one is being made already.
pub async fn start(state: &AppState, user_id: i64) -> Result<(), AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    if let Some(run) = latest(&mut c, user_id).await? {
        if matches!(run.status, ArchiveStatus::Queued | ArchiveStatus::Building) {
            return Ok(());
        }
    }
    c.transaction::<(), diesel::result::Error, _>(async |c| {
        let id: i64 = diesel::insert_into(r::account_archive_runs)
            .values(r::user_id.eq(user_id))
            .returning(r::id)
            .get_result(c)
            .await?;
        crate::jobs::enqueue(c, BUILD_ARCHIVE, user_id, id).await
    })
    .await
    .map_err(query_failed)?;
    state.jobs_added.notify_waiters();
    Ok(())
}

/// The user's newest archive run, with its archive when it is ready.
pub async fn latest(c: &mut AsyncPgConnection, user_id: i64) -> Result<Option<ArchiveRun>, AppError> {
    #[derive(Queryable)]
    struct Row {
        id: i64,
        status: String,
        done: i32,
        total: i32,
        detail: Option<String>,
        archive_id: Option<i64>,
        created_at: time::OffsetDateTime,
    }
    let row: Option<Row> = r::account_archive_runs
        .filter(r::user_id.eq(user_id))
        .order(r::id.desc())
        .select((r::id, r::status, r::done, r::total, r::detail, r::archive_id, r::created_at))
        .first(c)
        .await
        .optional()
        .map_err(query_failed)?;
    let Some(Row { id, status, done, total, detail, archive_id, created_at }) = row else { return Ok(None) };
    let bytes = match archive_id {
        Some(aid) => a::account_archives
            .filter(a::user_id.eq(user_id).and(a::id.eq(aid)))
            .select(a::bytes)
            .first::<i64>(c)
            .await
            .optional()
            .map_err(query_failed)?,
        None => None,
    };
    Ok(Some(ArchiveRun {
        id,
        status: ArchiveStatus::parse(&status),
        done,
        total,
        detail,
        archive_id: archive_id.filter(|_| bytes.is_some()),
        bytes: bytes.unwrap_or(0),
        started: crate::platform::format_time(created_at),
    }))
}

/// The user's archive with this id.
pub async fn find(state: &AppState, user_id: i64, id: i64) -> Result<Archive, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    a::account_archives
        .filter(a::user_id.eq(user_id).and(a::id.eq(id)))
        .select(Archive::as_select())
        .first(&mut c)
        .await
        .optional()
        .map_err(query_failed)?
        .ok_or(AppError::NotFound)
}

fn io<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).large_file(true)
}

/// A file name as a ZIP entry: no directories, nothing a file system would refuse.
fn entry_name(name: &str) -> String {
    // no path separators, no control characters, and none of the invisible ones that reorder or
    // hide text (an "invoice\u{202E}fdp.exe" would show as "invoiceexe.pdf")
    let hidden =
        |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_control() || hidden(c) || matches!(c, '/' | '\\' | ':') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_matches(['.', ' ']);
    if trimmed.is_empty() {
        "document".to_owned()
    } else {
        trimmed.chars().take(120).collect()
    }
}

const README: &str = "This is everything you kept in Bartleby, as it was when this archive was made.

inventory/items.csv       your items (opens in any spreadsheet); the photos column names their files
inventory/photos/         every photo as you uploaded it
inventory/items.json      the same items as JSON
documents/                every document as you uploaded it, and beside each a .txt file with the
                          text Bartleby read from it, page by page
documents/shares.json     whom you shared each document with
";

async fn build(state: &AppState, job: &Claimed) -> Result<(), String> {
    let (user_id, run) = (job.user_id, job.subject_id);
    let mut c = conn(&state.db).await.map_err(io)?;
    let status: Option<String> = r::account_archive_runs
        .filter(r::id.eq(run).and(r::user_id.eq(user_id)))
        .select(r::status)
        .first(&mut c)
        .await
        .optional()
        .map_err(io)?;
    if !matches!(status.as_deref(), Some("queued" | "building")) {
        return Ok(()); // gone with its account, or done already
    }
    set(&mut c, run, ArchiveStatus::Building, None).await.map_err(io)?;
    let docs = documents::mine(&mut c, user_id).await.map_err(io)?;
    let total = i32::try_from(docs.len()).unwrap_or(i32::MAX).saturating_add(2);
    progress(state, job, 0, total).await;

    let dir = state.config.dirs.uploads.join("tmp").join(format!("archive-{run}"));
    let _ = tokio::fs::remove_dir_all(&dir).await;
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    let result = async {
        let path = dir.join("archive.zip");
        let mut zip = ZipWriter::new(std::fs::File::create(&path).map_err(io)?);
        zip.start_file("README.txt", deflated()).map_err(io)?;
        zip.write_all(README.as_bytes()).map_err(io)?;

        // the inventory: its ZIP export copied in entry by entry (no second compression), and JSON
        let inv = dir.join("inventory.zip");
        export::write_file(state, &mut c, user_id, ExportFormat::Zip, &inv).await.map_err(|e| e.to_string())?;
        let mut from = ZipArchive::new(std::fs::File::open(&inv).map_err(io)?).map_err(io)?;
        for i in 0..from.len() {
            let entry = from.by_index_raw(i).map_err(io)?;
            let name = format!("inventory/{}", entry.name());
            zip.raw_copy_file_rename(entry, name).map_err(io)?;
        }
        progress(state, job, 1, total).await;
        let json = dir.join("items.json");
        export::write_file(state, &mut c, user_id, ExportFormat::Json, &json).await.map_err(|e| e.to_string())?;
        add_file(&mut zip, "inventory/items.json", &json)?;
        progress(state, job, 2, total).await;

        // the documents: each as uploaded, its text, and whom it is shared with
        let mut shares = Vec::new();
        for (n, doc) in docs.iter().enumerate() {
            let base = format!("documents/{}-{}", doc.id, entry_name(&doc.file_name));
            if let Some(key) = BlobKey::from_stored(&doc.key) {
                let file = dir.join(format!("doc-{}", doc.id));
                state.documents.fetch_to_file(doc.backend, &key, &file).await.map_err(io)?;
                add_file(&mut zip, &base, &file)?;
                let _ = tokio::fs::remove_file(&file).await;
            }
            let pages = documents::pages(&mut c, doc.id).await.map_err(io)?;
            if !pages.is_empty() {
                let text: Vec<String> =
                    pages.iter().map(|p| format!("--- page {} ---\n\n{}\n", p.page, p.text)).collect();
                zip.start_file(format!("{base}.txt"), deflated()).map_err(io)?;
                zip.write_all(text.join("\n").as_bytes()).map_err(io)?;
            }
            let grantees = documents::grantees(&mut c, doc.id).await.map_err(io)?;
            if !grantees.is_empty() {
                shares.push(serde_json::json!({
                    "document": doc.id,
                    "title": doc.title,
                    "shared_with": grantees.iter().map(|g| &g.email).collect::<Vec<_>>(),
                }));
            }
            progress(state, job, i32::try_from(n + 3).unwrap_or(i32::MAX), total).await;
        }
        zip.start_file("documents/shares.json", deflated()).map_err(io)?;
        zip.write_all(&serde_json::to_vec_pretty(&shares).map_err(io)?).map_err(io)?;
        zip.finish().map_err(io)?;
        store(state, &mut c, user_id, run, &path).await
    }
    .await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    result
}

fn add_file(zip: &mut ZipWriter<std::fs::File>, name: &str, path: &Path) -> Result<(), String> {
    zip.start_file(name, deflated()).map_err(io)?;
    let mut f = std::fs::File::open(path).map_err(io)?;
    std::io::copy(&mut f, zip).map_err(io)?;
    Ok(())
}

/// Stores the finished archive, marks the run ready, and removes the user's older archives.
async fn store(state: &AppState, c: &mut AsyncPgConnection, user_id: i64, run: i64, path: &Path) -> Result<(), String> {
    let (bytes, sha256) = crate::storage::sha256_file(path).await.map_err(io)?;
    let id = next_id(c, "account_archives_id_seq").await.map_err(io)?;
    let key = BlobKey::archive(UserId(user_id), ArchiveId(id));
    let older: Vec<(i64, Backend, String)> = a::account_archives
        .filter(a::user_id.eq(user_id))
        .select((a::id, a::backend, a::key))
        .load(c)
        .await
        .map_err(io)?;
    let record = async |on: Backend| {
        let backend = on;
        c.transaction::<(), diesel::result::Error, _>(async |c| {
            diesel::insert_into(a::account_archives)
                .values((
                    a::id.eq(id),
                    a::user_id.eq(user_id),
                    a::backend.eq(backend),
                    a::key.eq(key.as_str()),
                    a::bytes.eq(i64::try_from(bytes).unwrap_or(i64::MAX)),
                    a::sha256.eq(&sha256),
                ))
                .execute(c)
                .await?;
            diesel::update(r::account_archive_runs.filter(r::id.eq(run)))
                .set((
                    r::status.eq(ArchiveStatus::Ready.as_str()),
                    r::archive_id.eq(id),
                    r::updated_at.eq(diesel::dsl::now),
                ))
                .execute(c)
                .await?;
            let ids: Vec<i64> = older.iter().map(|o| o.0).collect();
            diesel::delete(a::account_archives.filter(a::id.eq_any(ids))).execute(c).await?;
            Ok(())
        })
        .await
    };
    state.exports.put_recorded(&key, path, "application/zip", record).await.map_err(|e| match e {
        PutError::Store(e) => e.to_string(),
        PutError::Record(e) => e.to_string(),
    })?;
    for (_, backend, key) in older {
        if let Some(k) = BlobKey::from_stored(&key) {
            if let Err(e) = state.exports.delete(backend, &k).await {
                tracing::warn!(error = %e, key, "an older archive could not be deleted");
            }
        }
    }
    tracing::info!(user_id, archive_id = id, bytes, "account archive stored");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::entry_name;

    #[test]
    fn hostile_file_names_stay_one_harmless_entry() {
        for (given, want) in [
            ("../../etc/passwd", "_.._etc_passwd"),
            ("..\\..\\boot.ini", "_.._boot.ini"),
            ("C:\\Windows\\evil.dll", "C__Windows_evil.dll"),
            ("/absolute.txt", "_absolute.txt"),
            ("line\nbreak\r\u{0}.pdf", "line_break__.pdf"),
            ("invoice\u{202E}fdp.exe", "invoice_fdp.exe"),
            ("zero\u{200B}width\u{FEFF}.txt", "zero_width_.txt"),
            ("...", "document"),
            ("  ", "document"),
            ("", "document"),
            ("report.pdf", "report.pdf"),
            ("Übersicht – März.docx", "Übersicht – März.docx"),
        ] {
            assert_eq!(entry_name(given), want, "{given:?}");
        }
        let long = entry_name(&"ü".repeat(500));
        assert_eq!(long.chars().count(), 120);
    }
}
