//! Importing items from CSV: the upload is kept as a pending file under the user's own folder
//! (`UPLOADS_DIR/users/{user_id}/imports/{token}.csv`), every row is checked by the same rules as
//! the item form, and the user sees a preview with each problem by row and column. Only a file
//! with no problems can be imported, and then all of it in one transaction: nothing half-imported.
//! The import itself runs in the background (a job on the queue, its progress in
//! `inventory_import_runs`): the page follows it, and the person may leave and come back.

use std::collections::HashMap;
use std::path::PathBuf;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::repo;
use super::service::check_form;
use super::types::{ImportPreview, ImportRun, ImportStatus, ItemForm, RowProblem, IMPORT_MAX_ROWS};
use crate::error::AppError;
use crate::jobs::{Claimed, Job, JobError, Lane};
use crate::platform::db::{conn, conn_as, query_failed};
use crate::platform::schema::inventory_import_runs::dsl as r;
use crate::platform::AppState;

/// Commits one import (`subject_id` is the run's id).
pub const IMPORT_ITEMS: &str = "inventory_import";

pub struct ImportItems;

#[async_trait]
impl Job for ImportItems {
    fn kind(&self) -> &'static str {
        IMPORT_ITEMS
    }
    fn lane(&self) -> Lane {
        Lane::Long
    }
    async fn run(&self, state: &AppState, job: &Claimed) -> Result<(), JobError> {
        let mut c = conn(&state.db).await.map_err(|e| JobError::Retry(e.to_string()))?;
        let token: Option<(String, String)> = r::inventory_import_runs
            .filter(r::id.eq(job.subject_id))
            .filter(r::user_id.eq(job.user_id))
            .select((r::token, r::status))
            .first(&mut c)
            .await
            .optional()
            .map_err(|e| JobError::Retry(e.to_string()))?;
        // the run is gone (the account was deleted): nothing to do
        let Some((token, status)) = token else { return Ok(()) };
        // done already (a second claim after a lease ran out): never twice
        if status == "done" {
            return Ok(());
        }
        let _ = set(&mut c, job.subject_id, ImportStatus::Importing, None).await;
        drop(c);
        match commit(state, job.user_id, &token, Some(job)).await {
            // the run is marked done in the same transaction as its rows
            Ok(_) => Ok(()),
            // the database away: tried again later (the transaction left nothing behind)
            Err(AppError::Unavailable) => Err(JobError::Retry("the database did not answer".into())),
            Err(e) => {
                let message = match e {
                    AppError::NotFound => "The file to import is no longer here; upload it again.".to_owned(),
                    e => format!("{e} Nothing was imported."),
                };
                if let Ok(mut c) = conn(&state.db).await {
                    let _ = set(&mut c, job.subject_id, ImportStatus::Failed, Some(&message)).await;
                }
                Err(JobError::Permanent(message))
            }
        }
    }

    async fn failed(&self, state: &AppState, job: &Claimed, reason: &str, gave_up: bool) {
        if gave_up {
            if let Ok(mut c) = conn(&state.db).await {
                // a run that said why it failed keeps its words; one that stopped says so
                let message = format!("The import stopped: {reason}. Nothing was imported.");
                let _ = diesel::update(
                    r::inventory_import_runs
                        .filter(r::id.eq(job.subject_id))
                        .filter(r::status.ne_all(["failed", "done"])),
                )
                .set((r::status.eq("failed"), r::detail.eq(message), r::updated_at.eq(diesel::dsl::now)))
                .execute(&mut c)
                .await;
            }
        }
    }
}

async fn set(c: &mut AsyncPgConnection, run: i64, status: ImportStatus, detail: Option<&str>) -> QueryResult<usize> {
    diesel::update(r::inventory_import_runs.filter(r::id.eq(run)))
        .set((r::status.eq(status.as_str()), r::detail.eq(detail), r::updated_at.eq(diesel::dsl::now)))
        .execute(c)
        .await
}

/// Records how far the import has got (on a connection of its own: the rows themselves wait in
/// their transaction), and renews the job's lease.
async fn progress(state: &AppState, job: &Claimed, done: usize, total: usize) {
    crate::jobs::heartbeat(state, job).await;
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::update(r::inventory_import_runs.filter(r::id.eq(job.subject_id)))
            .set((
                r::done.eq(i32::try_from(done).unwrap_or(i32::MAX)),
                r::total.eq(i32::try_from(total).unwrap_or(i32::MAX)),
                r::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut c)
            .await;
    }
}

/// Starts importing a pending file that has no problems (refused at once, with the count, when it
/// has some); a run already under way for it is left alone, a failed one tried again.
pub async fn start(state: &AppState, user_id: i64, token: &str) -> Result<ImportRun, AppError> {
    let bytes = read_pending(state, user_id, token).await?;
    let checked = check_file(&bytes)?;
    if checked.problem_count > 0 {
        return Err(problems(checked.problem_count));
    }
    let total = i32::try_from(checked.rows.len()).unwrap_or(i32::MAX);
    let mut c = conn_as(&state.db, user_id).await?;
    c.transaction::<(), diesel::result::Error, _>(async |c| {
        diesel::delete(
            r::inventory_import_runs
                .filter(r::user_id.eq(user_id))
                .filter(r::token.eq(token))
                .filter(r::status.eq("failed")),
        )
        .execute(c)
        .await?;
        let id: Option<i64> = diesel::insert_into(r::inventory_import_runs)
            .values((r::user_id.eq(user_id), r::token.eq(token), r::total.eq(total)))
            .on_conflict_do_nothing()
            .returning(r::id)
            .get_result(c)
            .await
            .optional()?;
        if let Some(id) = id {
            crate::jobs::enqueue(c, IMPORT_ITEMS, user_id, id).await?;
        }
        Ok(())
    })
    .await
    .map_err(query_failed)?;
    state.jobs_added.notify_waiters();
    run_status(state, user_id, token).await?.ok_or(AppError::NotFound)
}

/// The import of the pending file `token`, if one was started.
pub async fn run_status(state: &AppState, user_id: i64, token: &str) -> Result<Option<ImportRun>, AppError> {
    let token = check_token(token)?;
    let mut c = conn_as(&state.db, user_id).await?;
    let row: Option<(String, i32, i32, Option<String>)> = r::inventory_import_runs
        .filter(r::user_id.eq(user_id))
        .filter(r::token.eq(token))
        .select((r::status, r::done, r::total, r::detail))
        .first(&mut c)
        .await
        .optional()
        .map_err(query_failed)?;
    Ok(row.map(|(status, done, total, detail)| ImportRun { status: ImportStatus::parse(&status), done, total, detail }))
}

fn problems(count: usize) -> AppError {
    AppError::validation(
        "file",
        format!("Fix the {count} problems shown, then upload the file again. Nothing was imported."),
    )
}

/// How many rows the preview shows.
const SAMPLE_ROWS: usize = 20;
/// The report lists at most this many problems (the count says how many there are in all).
const PROBLEMS_SHOWN: usize = 200;

/// A pending import's token: 32 hex digits, nothing else (it becomes part of a file name).
pub fn check_token(token: &str) -> Result<&str, AppError> {
    if token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        Ok(token)
    } else {
        Err(AppError::NotFound)
    }
}

/// Where a user's pending import lives (local disk: it is a scratch file, not a stored object).
pub fn pending_path(state: &AppState, user_id: i64, token: &str) -> Result<PathBuf, AppError> {
    let token = check_token(token)?;
    Ok(state.config.dirs.uploads.join(format!("users/{user_id}/imports/{token}.csv")))
}

/// The item form field a CSV column fills, by its header (as exported, or close to it).
fn field_for(header: &str) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{feff}').to_ascii_lowercase().replace([' ', '-'], "_");
    Some(match h.as_str() {
        "name" | "item" | "title" => "name",
        "description" => "description",
        "category" => "category",
        "location" | "place" => "location",
        "material" => "material",
        "colour" | "color" => "colour",
        "dimensions" | "size" => "dimensions",
        "origin" => "origin",
        "quantity" | "qty" => "quantity",
        "tags" => "tags",
        "import_cost" | "cost" => "import_cost",
        "retail_price" | "price" => "retail_price",
        "currency" => "currency",
        _ => return None,
    })
}

/// A cell as typed; our own exports prefix formula-like text with `'`, which comes off again.
/// NUL, which Postgres cannot store, is dropped.
fn unescape(cell: &str) -> String {
    let cell = match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    };
    cell.replace('\0', "")
}

/// A checked file: the forms of its rows (with their line numbers) and every problem found.
pub struct Checked {
    pub rows: Vec<(u64, ItemForm)>,
    pub problems: Vec<RowProblem>,
    pub problem_count: usize,
    pub ignored_columns: Vec<String>,
}

/// Reads and checks a CSV file. Structural problems (not CSV, no `name` column, too many rows)
/// are errors; problems with single rows are collected.
pub fn check_file(bytes: &[u8]) -> Result<Checked, AppError> {
    let bad = |m: &str| AppError::validation("file", m);
    if std::str::from_utf8(bytes).is_err() {
        return Err(bad("The file is not UTF-8 text. Save it from your spreadsheet as “CSV UTF-8”."));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|_| bad("The first line should name the columns, like name,category,quantity."))?
        .clone();
    let columns: Vec<Option<&'static str>> = headers.iter().map(field_for).collect();
    if !columns.contains(&Some("name")) {
        return Err(bad(
            "There is no “name” column. The first line should name the columns, like name,category,quantity.",
        ));
    }
    let ignored_columns: Vec<String> = headers
        .iter()
        .zip(&columns)
        .filter(|(h, c)| {
            c.is_none() && !h.trim().is_empty() && !matches!(h.trim(), "created_at" | "updated_at" | "photos")
        })
        .map(|(h, _)| h.trim().to_owned())
        .collect();
    let mut checked = Checked { rows: Vec::new(), problems: Vec::new(), problem_count: 0, ignored_columns };
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                checked.problem_count += 1;
                checked.problems.push(RowProblem {
                    line,
                    column: String::new(),
                    message: "This line is not valid CSV.".into(),
                });
                continue;
            }
        };
        if record.iter().all(|c| c.trim().is_empty()) {
            continue; // blank lines are not items
        }
        if checked.rows.len() >= IMPORT_MAX_ROWS {
            return Err(bad(&format!("The file has more than {IMPORT_MAX_ROWS} items. Split it into smaller files.")));
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let mut values: HashMap<&str, String> = HashMap::new();
        for (cell, column) in record.iter().zip(&columns) {
            if let Some(field) = column {
                values.insert(field, unescape(cell));
            }
        }
        let take = |f: &str| values.get(f).cloned().unwrap_or_default();
        let form = ItemForm {
            name: take("name"),
            description: take("description"),
            category: take("category"),
            material: take("material"),
            colour: take("colour"),
            dimensions: take("dimensions"),
            origin: take("origin"),
            quantity: take("quantity"),
            location: take("location"),
            tags: take("tags"),
            import_cost: take("import_cost"),
            retail_price: take("retail_price"),
            currency: take("currency"),
        };
        let problem = check_form(&form).err().or_else(|| super::types::parse_location_path(&form.location).err());
        if let Some(e) = problem {
            checked.problem_count += 1;
            if checked.problems.len() < PROBLEMS_SHOWN {
                let column = e.field().unwrap_or_default().to_owned();
                checked.problems.push(RowProblem { line, column, message: e.to_string() });
            }
        }
        checked.rows.push((line, form));
    }
    if checked.rows.is_empty() && checked.problem_count == 0 {
        return Err(bad("The file has no items under its first line."));
    }
    Ok(checked)
}

async fn read_pending(state: &AppState, user_id: i64, token: &str) -> Result<Vec<u8>, AppError> {
    let path = pending_path(state, user_id, token)?;
    match tokio::fs::read(&path).await {
        Ok(b) => Ok(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::NotFound),
        Err(e) => {
            tracing::error!(error = %e, "reading a pending import");
            Err(AppError::Unavailable)
        }
    }
}

/// What the preview page shows for a pending import.
pub async fn preview(state: &AppState, user_id: i64, token: &str) -> Result<ImportPreview, AppError> {
    let bytes = read_pending(state, user_id, token).await?;
    let checked = check_file(&bytes)?;
    Ok(ImportPreview {
        token: token.to_owned(),
        items: checked.rows.len(),
        problem_count: checked.problem_count,
        problems: checked.problems,
        ignored_columns: checked.ignored_columns,
        sample: checked.rows.into_iter().take(SAMPLE_ROWS).map(|(_, f)| f).collect(),
    })
}

/// Rows inserted per statement when an import is committed.
const IMPORT_BATCH: usize = 1000;

/// Imports every row of a pending import that has no problems, in one transaction; the count.
/// Run by the import job, which it tells how far it has got.
#[tracing::instrument(skip_all, fields(user_id = user_id))]
async fn commit(state: &AppState, user_id: i64, token: &str, job: Option<&Claimed>) -> Result<usize, AppError> {
    let bytes = read_pending(state, user_id, token).await?;
    let checked = check_file(&bytes)?;
    if checked.problem_count > 0 {
        return Err(problems(checked.problem_count));
    }
    let mut c = conn_as(&state.db, user_id).await?;
    let n = checked.rows.len();
    let started = std::time::Instant::now();
    let done_already = c
        .transaction::<bool, AppError, _>(async |c| {
            if let Some(job) = job {
                // one import of a run at a time; a second claim waits here, then finds it done
                diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('inventory_import'), ($1 % 2147483647)::int)")
                    .bind::<diesel::sql_types::BigInt, _>(job.subject_id)
                    .execute(c)
                    .await?;
                let status: String =
                    r::inventory_import_runs.filter(r::id.eq(job.subject_id)).select(r::status).first(c).await?;
                if status == "done" {
                    return Ok(true);
                }
            }
            let mut places: HashMap<String, Option<i64>> = HashMap::new();
            let mut items = Vec::with_capacity(checked.rows.len());
            for (_, form) in &checked.rows {
                let mut changes = check_form(form)?;
                let key = form.location.trim().to_lowercase();
                changes.location_id = match places.get(&key) {
                    Some(p) => *p,
                    None => {
                        let p = super::locations::place_for(c, user_id, &form.location).await?;
                        places.insert(key, p);
                        p
                    }
                };
                items.push(changes);
            }
            let total = items.len();
            for (i, batch) in items.chunks(IMPORT_BATCH).enumerate() {
                repo::insert_items(c, user_id, batch).await?;
                if let Some(job) = job {
                    progress(state, job, (i * IMPORT_BATCH + batch.len()).min(total), total).await;
                }
            }
            if let Some(job) = job {
                let n = i32::try_from(total).unwrap_or(i32::MAX);
                diesel::update(r::inventory_import_runs.filter(r::id.eq(job.subject_id)))
                    .set((r::status.eq("done"), r::done.eq(n), r::total.eq(n), r::updated_at.eq(diesel::dsl::now)))
                    .execute(c)
                    .await?;
            }
            Ok(false)
        })
        .await?;
    if done_already {
        return Ok(n);
    }
    super::embedding::items_changed(state, &mut c, user_id).await;
    let _ = tokio::fs::remove_file(pending_path(state, user_id, token)?).await;
    tracing::info!(user_id, items = n, ms = started.elapsed().as_millis() as u64, "items imported");
    Ok(n)
}

/// Throws a pending import away.
pub async fn discard(state: &AppState, user_id: i64, token: &str) -> Result<(), AppError> {
    match tokio::fs::remove_file(pending_path(state, user_id, token)?).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AppError::NotFound),
        Err(_) => Err(AppError::Unavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any file, as a supplier might send it: an answer (rows, problems or a reason), never a
        /// panic, and no NUL in what would be stored.
        #[test]
        fn any_csv_gets_an_answer(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
            let mut with_header = b"name,description,tags\n".to_vec();
            with_header.extend(&bytes);
            for input in [bytes.as_slice(), with_header.as_slice()] {
                if let Ok(checked) = check_file(input) {
                    for (_, form) in checked.rows {
                        proptest::prop_assert!(!form.name.contains('\0') && !form.description.contains('\0'));
                    }
                }
            }
        }
    }

    #[test]
    fn rows_are_checked_and_problems_named_by_line_and_column() {
        let csv =
            "Name,Qty,Price,colour,notes\nOak chair,4,120,brown,x\n,1,,,\nLamp,-2,5,,\nVase,1,1.234,,\n\n'=1+1,1,,,\n";
        let c = check_file(csv.as_bytes()).unwrap();
        assert_eq!(c.rows.len(), 5);
        assert_eq!(c.ignored_columns, ["notes"]);
        assert_eq!(c.rows[0].1.colour, "brown");
        assert_eq!(c.rows[4].1.name, "=1+1", "our own escaping comes off");
        let found: Vec<(u64, &str)> = c.problems.iter().map(|p| (p.line, p.column.as_str())).collect();
        assert_eq!(found, [(3, "name"), (4, "quantity"), (5, "retail_price")]);
        assert_eq!(c.problem_count, 3);
    }

    #[test]
    fn a_file_that_is_not_an_item_list_is_refused_whole() {
        assert!(check_file(b"foo,bar\n1,2\n").is_err(), "no name column");
        assert!(check_file(b"name\n").is_err(), "no rows");
        assert!(check_file(&[0xff, 0xfe, 0x00]).is_err(), "not UTF-8");
        assert!(check_token("../../etc/passwd").is_err());
        assert!(check_token("0123456789abcdef0123456789abcdef").is_ok());
    }
}
