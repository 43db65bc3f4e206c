//! The durable job queue (table `jobs`), the document ingest it runs, and the photo thumbnails.
//!
//! A worker claims a job with `FOR UPDATE SKIP LOCKED`, so several workers, in one server or many,
//! never take the same job. A claim is a lease (`locked_until`), renewed while the job makes
//! progress; a worker that dies lets it lapse and another resumes the job. Failures are retried with
//! exponential backoff; a job out of attempts is `failed`, and its document shows the reason and a
//! retry button. Every stage is resumable: text is replaced as a whole, vectors are added only for
//! passages that have none yet.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::chunk::chunk_pages;
use super::extract::{self, ExtractError};
use super::service::Document;
use super::types::DocType;
use super::vectors;
use crate::server::db::conn;
use crate::server::schema::document_chunks::dsl as ch;
use crate::server::schema::document_pages::dsl as pg;
use crate::server::schema::jobs::dsl as j;
use crate::server::schema::user_documents::dsl as d;
use crate::server::schema::user_inventory::dsl as inv;
use crate::server::AppState;
use crate::storage::BlobKey;

pub const INGEST: &str = "ingest_document";
pub const DELETE_VECTORS: &str = "delete_vectors";
pub const THUMBNAILS: &str = "make_thumbnails";
/// Embeds a user's inventory items whose words changed (`subject_id` is the user's id).
pub const EMBED_ITEMS: &str = "embed_items";
/// What the document workers take (everything that runs the embedding model).
pub const DOCUMENT_KINDS: &[&str] = &[INGEST, DELETE_VECTORS, EMBED_ITEMS];
/// What the photo workers take (quick jobs that should not wait behind a long document).
pub const PHOTO_KINDS: &[&str] = &[THUMBNAILS];
/// Every kind (the `reindex` command and tests drain them all).
pub const ALL_KINDS: &[&str] = &[INGEST, DELETE_VECTORS, THUMBNAILS, EMBED_ITEMS];
/// How long a claim lasts without a heartbeat.
const LEASE_SECS: i32 = 120;
/// Passages embedded per batch (and per progress update).
const EMBED_BATCH: usize = 16;
/// Inventory items embedded per batch (their texts are short).
const ITEM_BATCH: i64 = 32;

pub async fn enqueue(c: &mut AsyncPgConnection, kind: &str, user_id: i64, subject: i64) -> QueryResult<()> {
    enqueue_on(c, kind, user_id, subject, None).await
}

/// As [`enqueue`], for a job that reads an object on one server's local disk (`local_store`, see
/// `Stores::local_store`): only servers that see that disk claim it.
pub async fn enqueue_on(
    c: &mut AsyncPgConnection,
    kind: &str,
    user_id: i64,
    subject: i64,
    local_store: Option<String>,
) -> QueryResult<()> {
    diesel::insert_into(j::jobs)
        .values((j::kind.eq(kind), j::user_id.eq(user_id), j::subject_id.eq(subject), j::local_store.eq(local_store)))
        .on_conflict_do_nothing() // one live job per document and kind
        .execute(c)
        .await?;
    Ok(())
}

/// Drops the queued ingest of a deleted document (a running one notices the document is gone).
pub async fn cancel_for(c: &mut AsyncPgConnection, subject: i64) -> QueryResult<()> {
    diesel::delete(j::jobs.filter(j::subject_id.eq(subject).and(j::kind.eq(INGEST)).and(j::state.eq("queued"))))
        .execute(c)
        .await?;
    Ok(())
}

#[derive(QueryableByName, Debug, Clone)]
pub struct Job {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = BigInt)]
    pub subject_id: i64,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = Integer)]
    pub max_attempts: i32,
}

/// What a job that killed its worker on every attempt says on its document.
pub const STOPPED_THE_WORKER: &str =
    "Reading this file stopped the worker on every attempt, so Bartleby gave up on it. Delete it, or retry it.";

/// Fails the jobs whose worker died (the lease lapsed) on their last attempt: a job that takes
/// its worker down with it must not be claimed again and again. Returns the jobs it failed.
pub async fn reap_abandoned(c: &mut AsyncPgConnection, kinds: &[&str]) -> QueryResult<Vec<Job>> {
    diesel::sql_query(
        "UPDATE jobs SET state = 'failed', last_error = $1, locked_until = NULL, updated_at = now() \
         WHERE kind = ANY($2) AND state = 'running' AND locked_until < now() AND attempts >= max_attempts \
         RETURNING id, kind, user_id, subject_id, attempts, max_attempts",
    )
    .bind::<Text, _>(STOPPED_THE_WORKER)
    .bind::<diesel::sql_types::Array<Text>, _>(kinds)
    .get_results(c)
    .await
}

/// Takes the next due job of one of `kinds`, or one whose worker's lease lapsed (with attempts
/// left: [`reap_abandoned`] fails the others first). The claim counts as an attempt before the
/// work starts, so a job that kills its worker uses up its attempts like any other failure.
pub async fn claim(
    c: &mut AsyncPgConnection,
    worker: &str,
    kinds: &[&str],
    my_stores: &[String],
) -> QueryResult<Option<Job>> {
    diesel::sql_query(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1, \
             locked_until = now() + make_interval(secs => $2), updated_at = now() \
         WHERE id = (SELECT id FROM jobs \
                     WHERE kind = ANY($3) \
                       AND ((state = 'queued' AND run_at <= now()) \
                            OR (state = 'running' AND locked_until < now() AND attempts < max_attempts)) \
                       AND (local_store IS NULL OR local_store = ANY($4)) \
                     ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, kind, user_id, subject_id, attempts, max_attempts",
    )
    .bind::<Text, _>(worker)
    .bind::<Integer, _>(LEASE_SECS)
    .bind::<diesel::sql_types::Array<Text>, _>(kinds)
    .bind::<diesel::sql_types::Array<Text>, _>(my_stores)
    .get_result(c)
    .await
    .optional()
}

async fn heartbeat(state: &AppState, job: &Job) {
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::sql_query("UPDATE jobs SET locked_until = now() + make_interval(secs => $2) WHERE id = $1")
            .bind::<BigInt, _>(job.id)
            .bind::<Integer, _>(LEASE_SECS)
            .execute(&mut c)
            .await;
    }
}

async fn finish(state: &AppState, job: &Job) {
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::update(j::jobs.filter(j::id.eq(job.id)))
            .set((
                j::state.eq("done"),
                j::locked_until.eq(None::<time::OffsetDateTime>),
                j::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut c)
            .await;
    }
}

/// Retries later with backoff (5 s, 10 s, 20 s, … up to 10 minutes), or gives up.
/// Returns true when the job will not run again.
async fn retry_or_fail(state: &AppState, job: &Job, reason: &str, permanent: bool) -> bool {
    let give_up = permanent || job.attempts >= job.max_attempts;
    let delay = (5i64 << job.attempts.clamp(0, 7)).min(600);
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::sql_query(
            "UPDATE jobs SET state = CASE WHEN $2 THEN 'failed' ELSE 'queued' END, last_error = $3, \
                 run_at = now() + make_interval(secs => $4), locked_until = NULL, updated_at = now() WHERE id = $1",
        )
        .bind::<BigInt, _>(job.id)
        .bind::<diesel::sql_types::Bool, _>(give_up)
        .bind::<Text, _>(reason)
        .bind::<diesel::sql_types::Double, _>(delay as f64)
        .execute(&mut c)
        .await;
    }
    give_up
}

/// The outcome of one run of a job.
enum Outcome {
    Done,
    /// Try again later (the reason is kept on the job and shown on the document).
    Retry(String),
    /// The input itself is at fault: running it again would fail the same way.
    Fail(String),
}

/// Why a job did not finish.
#[derive(Debug)]
pub enum JobError {
    /// A passing problem (a provider or database away): tried again with backoff.
    Retry(String),
    /// The input is at fault (a photo that does not decode): failed at once.
    Permanent(String),
}

impl From<String> for JobError {
    fn from(reason: String) -> Self {
        Self::Retry(reason)
    }
}

impl From<JobError> for Outcome {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Retry(r) => Outcome::Retry(r),
            JobError::Permanent(r) => Outcome::Fail(r),
        }
    }
}

/// Runs one job of `kinds`, if one is due. Returns false when the queue had nothing to do.
pub async fn run_one(state: &AppState, worker: &str, kinds: &[&str]) -> Result<bool, crate::error::AppError> {
    let (job, abandoned) = {
        let mut c = conn(&state.db).await?;
        let abandoned = reap_abandoned(&mut c, kinds).await.map_err(crate::server::db::query_failed)?;
        let mine: Vec<String> = [&state.documents, &state.images].iter().filter_map(|s| s.local_store_id()).collect();
        (claim(&mut c, worker, kinds, &mine).await.map_err(crate::server::db::query_failed)?, abandoned)
    };
    for dead in abandoned {
        tracing::error!(
            job = dead.id,
            kind = dead.kind,
            attempts = dead.attempts,
            "a job stopped its worker every time; failed"
        );
        if dead.kind == INGEST {
            set_status(state, dead.subject_id, Some("failed"), Some(STOPPED_THE_WORKER.into())).await;
        }
    }
    let Some(job) = job else { return Ok(false) };
    tracing::debug!(job = job.id, kind = job.kind, attempt = job.attempts, "job claimed");
    let outcome = match job.kind.as_str() {
        INGEST => ingest(state, &job).await,
        DELETE_VECTORS => delete_vectors(state, &job).await,
        THUMBNAILS => match crate::inventory::photos::thumbnails_job(state, job.user_id, job.subject_id).await {
            Ok(()) => Outcome::Done,
            Err(e) => e.into(),
        },
        EMBED_ITEMS => match embed_items(state, &job).await {
            Ok(()) => Outcome::Done,
            Err(reason) => Outcome::Retry(reason),
        },
        other => Outcome::Retry(format!("unknown job kind {other}")),
    };
    let (reason, permanent) = match outcome {
        Outcome::Done => {
            finish(state, &job).await;
            return Ok(true);
        }
        Outcome::Retry(reason) => (reason, false),
        Outcome::Fail(reason) => (reason, true),
    };
    tracing::warn!(job = job.id, attempt = job.attempts, reason, permanent, "job failed");
    let gave_up = retry_or_fail(state, &job, &reason, permanent).await;
    if job.kind == INGEST {
        let detail = if gave_up { reason } else { format!("{reason} Retrying automatically.") };
        let status = if gave_up { Some("failed") } else { None };
        set_status(state, job.subject_id, status, Some(detail)).await;
    }
    Ok(true)
}

/// Queues every document with text for (re-)embedding: after `vectors::adopt_model` the vectors
/// are gone and the embed stage makes them again; documents whose vectors are all there finish at once.
pub async fn queue_reindex(state: &AppState) -> Result<usize, crate::error::AppError> {
    use crate::server::db::query_failed;
    let mut c = conn(&state.db).await?;
    let docs: Vec<(i64, i64)> =
        diesel::update(d::user_documents.filter(d::chunks_total.gt(0)).filter(d::status.eq_any([
            "ready",
            "embedding",
            "failed",
        ])))
        .set((d::status.eq("embedding"), d::chunks_embedded.eq(0), d::status_detail.eq(None::<String>)))
        .returning((d::id, d::user_id))
        .get_results(&mut c)
        .await
        .map_err(query_failed)?;
    for (id, user) in &docs {
        enqueue(&mut c, INGEST, *user, *id).await.map_err(query_failed)?;
    }
    // every item's vector is gone too
    diesel::update(inv::user_inventory.filter(inv::embedded_version.gt(0)))
        .set(inv::embedded_version.eq(0))
        .execute(&mut c)
        .await
        .map_err(query_failed)?;
    queue_item_embedding(&mut c).await.map_err(query_failed)?;
    Ok(docs.len())
}

/// Queues an `embed_items` job for every user with items waiting to be embedded (at start-up and
/// after a reindex; a job that finished just as an item changed leaves nothing behind for long).
pub async fn queue_item_embedding(c: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO jobs (kind, user_id, subject_id) \
         SELECT DISTINCT 'embed_items', user_id, user_id FROM user_inventory WHERE text_version > embedded_version \
         ON CONFLICT DO NOTHING",
    )
    .execute(c)
    .await
}

/// Queues the embedding of `user_id`'s changed items (after a create, edit, import or bulk change).
pub async fn items_changed(state: &AppState, c: &mut AsyncPgConnection, user_id: i64) {
    if state.embedder.is_none() || state.vector.pool().is_none() {
        return; // nothing would embed them; start-up queues them once something can
    }
    match enqueue(c, EMBED_ITEMS, user_id, user_id).await {
        Ok(()) => state.jobs_added.notify_waiters(),
        Err(e) => tracing::warn!(error = %e, user_id, "could not queue the embedding of items"),
    }
}

/// What an item's embedding is made from: its words, most telling first.
pub fn item_text(name: &str, category: &str, description: &str, details: [&str; 3], tags: &[String]) -> String {
    let mut parts: Vec<String> = vec![name.trim().to_owned()];
    parts.extend([category, description].iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()));
    let details: Vec<&str> = details.iter().map(|d| d.trim()).filter(|d| !d.is_empty()).collect();
    if !details.is_empty() {
        parts.push(details.join(", "));
    }
    if !tags.is_empty() {
        parts.push(tags.join(", "));
    }
    parts.join(". ")
}

/// Records that `user_id`'s items `ids` were embedded from their text at `versions`. An item
/// whose words changed after that read has a higher `text_version` and stays due.
pub async fn record_embedded(
    c: &mut AsyncPgConnection,
    user_id: i64,
    ids: &[i64],
    versions: &[i64],
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE user_inventory i SET embedded_version = v.version \
         FROM unnest($1::int8[], $2::int8[]) AS v(id, version) \
         WHERE i.id = v.id AND i.user_id = $3 AND i.embedded_version < v.version",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
    .bind::<diesel::sql_types::Array<BigInt>, _>(versions)
    .bind::<BigInt, _>(user_id)
    .execute(c)
    .await
}

type ItemWords = (i64, i64, String, String, String, String, String, String, Vec<Option<String>>);

/// Embeds `job.user_id`'s items whose words changed since they were last embedded, a batch at a
/// time. Each batch records the text version it embedded: an item edited meanwhile stays due and
/// is embedded again by the next batch.
async fn embed_items(state: &AppState, job: &Job) -> Result<(), String> {
    let (Some(embedder), Some(vpool)) = (state.embedder.clone(), state.vector.pool().cloned()) else {
        return Ok(()); // the items stay due until an embedder and a vector database are configured
    };
    let user = job.user_id;
    loop {
        let due: Vec<ItemWords> = {
            let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
            inv::user_inventory
                .filter(inv::user_id.eq(user))
                .filter(inv::text_version.gt(inv::embedded_version))
                .order(inv::id)
                .limit(ITEM_BATCH)
                .select((
                    inv::id,
                    inv::text_version,
                    inv::name,
                    inv::category,
                    inv::description,
                    inv::material,
                    inv::colour,
                    inv::origin,
                    inv::tags,
                ))
                .load(&mut c)
                .await
                .map_err(|e| e.to_string())?
        };
        if due.is_empty() {
            return Ok(());
        }
        let texts: Vec<String> = due
            .iter()
            .map(|(_, _, name, category, description, material, colour, origin, tags)| {
                let tags: Vec<String> = tags.iter().flatten().cloned().collect();
                item_text(name, category, description, [material, colour, origin], &tags)
            })
            .collect();
        let vecs = embedder.embed(&texts).await.map_err(|e| format!("Embedding failed ({e})."))?;
        let rows = due.iter().zip(vecs).map(|(item, v)| (item.0, user, v)).collect();
        let mut vc = vpool.get().await.map_err(|e| format!("The vector database is unavailable ({e})."))?;
        vectors::insert_items(&mut vc, embedder.model_id(), rows)
            .await
            .map_err(|e| format!("The vector database failed ({e})."))?;
        drop(vc);
        let ids: Vec<i64> = due.iter().map(|i| i.0).collect();
        let versions: Vec<i64> = due.iter().map(|i| i.1).collect();
        let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
        let recorded = record_embedded(&mut c, user, &ids, &versions).await.map_err(|e| e.to_string())?;
        drop(c);
        if recorded == 0 {
            // every one was edited while it was embedded: take a breath before the next round
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        heartbeat(state, job).await;
    }
}

/// Deletes finished jobs: done ones finished before `done_before`, failed ones before
/// `failed_before` (kept longer: the reason a document failed stays on the document itself, the
/// job row is for whoever looks into it). Returns how many.
pub async fn prune(
    c: &mut AsyncPgConnection,
    done_before: time::OffsetDateTime,
    failed_before: time::OffsetDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        j::jobs.filter(
            (j::state.eq("done").and(j::updated_at.lt(done_before)))
                .or(j::state.eq("failed").and(j::updated_at.lt(failed_before))),
        ),
    )
    .execute(c)
    .await
}

/// Jobs still queued or running (waiting for a retry, say).
pub async fn unfinished(state: &AppState) -> Result<i64, crate::error::AppError> {
    let mut c = conn(&state.db).await?;
    j::jobs
        .filter(j::state.eq_any(["queued", "running"]))
        .count()
        .get_result(&mut c)
        .await
        .map_err(crate::server::db::query_failed)
}

/// Runs the queue until it is empty (the `reindex` command and tests use this).
pub async fn drain(state: &AppState, worker: &str) -> Result<usize, crate::error::AppError> {
    let mut n = 0;
    while run_one(state, worker, ALL_KINDS).await? {
        n += 1;
    }
    Ok(n)
}

/// A worker loop for `kinds`: when idle it waits for a nudge (`AppState::jobs_added`) or a second.
pub async fn work(state: AppState, worker: String, kinds: &'static [&'static str]) {
    loop {
        match run_one(&state, &worker, kinds).await {
            Ok(true) => {}
            Ok(false) => {
                tokio::select! {
                    _ = state.jobs_added.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "job queue unavailable");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

async fn set_status(state: &AppState, id: i64, status: Option<&str>, detail: Option<String>) {
    if let Ok(mut c) = conn(&state.db).await {
        let q = diesel::update(d::user_documents.filter(d::id.eq(id)));
        let r = match status {
            Some(s) => {
                q.set((d::status.eq(s), d::status_detail.eq(detail), d::updated_at.eq(diesel::dsl::now)))
                    .execute(&mut c)
                    .await
            }
            None => q.set((d::status_detail.eq(detail), d::updated_at.eq(diesel::dsl::now))).execute(&mut c).await,
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, document_id = id, "could not update a document's status");
        }
    }
}

async fn load_document(state: &AppState, job: &Job) -> Result<Option<Document>, String> {
    let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
    d::user_documents
        .filter(d::id.eq(job.subject_id).and(d::user_id.eq(job.user_id)))
        .select(Document::as_select())
        .first(&mut c)
        .await
        .optional()
        .map_err(|e| format!("metadata database: {e}"))
}

async fn ingest(state: &AppState, job: &Job) -> Outcome {
    let doc = match load_document(state, job).await {
        Ok(Some(doc)) => doc,
        Ok(None) => return Outcome::Done, // deleted meanwhile
        Err(e) => return Outcome::Retry(e),
    };
    // stage 1: text (skipped when a previous run stored it)
    let has_text = matches!(doc.status.as_str(), "embedding" | "ready") && doc.chunks_total > 0;
    if !has_text {
        match extract_stage(state, &doc).await {
            Ok(true) => {}
            Ok(false) => return Outcome::Done, // no text / unreadable: the status says why
            Err(reason) => return Outcome::Retry(reason),
        }
    }
    // stage 2: vectors
    match embed_stage(state, job, doc.id).await {
        Ok(()) => Outcome::Done,
        Err(reason) => Outcome::Retry(reason),
    }
}

/// Extracts, chunks and stores the text. `Ok(false)`: the document has no usable text (its status
/// says why); `Err`: a passing problem (retry).
async fn extract_stage(state: &AppState, doc: &Document) -> Result<bool, String> {
    set_status(state, doc.id, Some("extracting"), None).await;
    let key = BlobKey::from_stored(&doc.key).ok_or("the stored key is invalid")?;
    let tmp = state.config.dirs.uploads.join("tmp").join(format!("ingest-{}.{}", doc.id, doc.doc_type));
    let fetched = state.documents.fetch_to_file(&doc.backend, &key, &tmp).await;
    if let Err(e) = fetched {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(format!("Could not read the file from storage ({e})."));
    }
    let doc_type = DocType::parse(&doc.doc_type).unwrap_or(DocType::Txt);
    let extracted = extract::extract(&tmp, doc_type, &state.config.parser).await;
    let _ = tokio::fs::remove_file(&tmp).await;
    let extracted = match extracted {
        Ok(x) => x,
        Err(e) if e.is_transient() => return Err(e.to_string()),
        Err(ExtractError::NoText) => {
            set_status(state, doc.id, Some("no_text"), Some(ExtractError::NoText.to_string())).await;
            return Ok(false);
        }
        Err(e) => {
            set_status(state, doc.id, Some("failed"), Some(e.to_string())).await;
            return Ok(false);
        }
    };
    // passages get new ids below: vectors of the old ones must go first
    if let Some(pool) = state.vector.pool().filter(|_| doc.chunks_total > 0) {
        let mut vc = pool.get().await.map_err(|e| format!("The vector database is unavailable ({e})."))?;
        vectors::delete_document(&mut vc, doc.id).await.map_err(|e| format!("The vector database failed ({e})."))?;
    }
    let chunks = chunk_pages(&extracted.pages);
    let pages = extracted.pages;
    let page_count = i32::try_from(pages.len()).unwrap_or(i32::MAX);
    let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
    let (id, user_id) = (doc.id, doc.user_id);
    let paged = extracted.paged;
    let stored = c
        .transaction::<usize, diesel::result::Error, _>(async move |c| {
            diesel::delete(pg::document_pages.filter(pg::document_id.eq(id))).execute(c).await?;
            diesel::delete(ch::document_chunks.filter(ch::document_id.eq(id))).execute(c).await?;
            for batch in pages.chunks(500).enumerate() {
                let rows: Vec<_> = batch
                    .1
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        (
                            pg::document_id.eq(id),
                            pg::user_id.eq(user_id),
                            pg::page.eq(i32::try_from(batch.0 * 500 + i + 1).unwrap_or(i32::MAX)),
                            pg::text.eq(text.as_str()),
                        )
                    })
                    .collect();
                diesel::insert_into(pg::document_pages).values(rows).execute(c).await?;
            }
            for (b, batch) in chunks.chunks(500).enumerate() {
                let rows: Vec<_> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, chunk)| {
                        (
                            ch::document_id.eq(id),
                            ch::user_id.eq(user_id),
                            ch::ordinal.eq(i32::try_from(b * 500 + i).unwrap_or(i32::MAX)),
                            ch::page.eq(chunk.page),
                            ch::text.eq(chunk.text.as_str()),
                        )
                    })
                    .collect();
                diesel::insert_into(ch::document_chunks).values(rows).execute(c).await?;
            }
            let n = chunks.len();
            diesel::update(d::user_documents.filter(d::id.eq(id)))
                .set((
                    d::pages.eq(paged.then_some(page_count)),
                    d::chunks_total.eq(i32::try_from(n).unwrap_or(i32::MAX)),
                    d::chunks_embedded.eq(0),
                    d::status.eq("embedding"),
                    d::status_detail.eq(None::<String>),
                    d::summary.eq(None::<String>),
                    d::updated_at.eq(diesel::dsl::now),
                ))
                .execute(c)
                .await?;
            Ok(n)
        })
        .await;
    match stored {
        Ok(n) => {
            tracing::info!(document_id = id, pages = page_count, passages = n, "text extracted");
            Ok(true)
        }
        // the document was deleted while we read it
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::ForeignKeyViolation, _)) => {
            Ok(false)
        }
        // the connection went away: a passing problem
        Err(
            e @ diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ClosedConnection
                | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                _,
            ),
        ) => Err(format!("Could not store the text ({e}).")),
        // the database refused this text: retrying would only be refused again
        Err(e @ diesel::result::Error::DatabaseError(..)) => {
            tracing::error!(error = %e, document_id = id, "the extracted text was refused");
            set_status(state, id, Some("failed"), Some("The text of this file could not be stored.".into())).await;
            Ok(false)
        }
        Err(e) => Err(format!("Could not store the text ({e}).")),
    }
}

/// Embeds every passage that has no vector yet, in batches, reporting progress; then writes the
/// summary and marks the document ready.
async fn embed_stage(state: &AppState, job: &Job, id: i64) -> Result<(), String> {
    let (Some(embedder), Some(vpool)) = (state.embedder.clone(), state.vector.pool().cloned()) else {
        // no semantic index configured: full-text search is all there is, and that is ready
        let summary = summary_from_text(state, id).await;
        finish_document(
            state,
            id,
            summary,
            Some("Searchable by words only: semantic search is not configured.".into()),
        )
        .await;
        return Ok(());
    };
    // a vector connection only while it is used: embedding a batch takes seconds, and searches
    // share the pool
    let vector_conn = async || vpool.get().await.map_err(|e| format!("The vector database is unavailable ({e})."));
    let done: std::collections::HashSet<i64> = vectors::embedded_chunks(&mut *vector_conn().await?, id)
        .await
        .map_err(|e| format!("The vector database failed ({e})."))?
        .into_iter()
        .collect();
    let todo: Vec<(i64, String)> = {
        let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
        ch::document_chunks
            .filter(ch::document_id.eq(id))
            .order(ch::ordinal)
            .select((ch::id, ch::text))
            .load(&mut c)
            .await
            .map_err(|e| e.to_string())?
    };
    let total = todo.len();
    let mut embedded = total - todo.iter().filter(|(cid, _)| !done.contains(cid)).count();
    let todo: Vec<(i64, String)> = todo.into_iter().filter(|(cid, _)| !done.contains(cid)).collect();
    for batch in todo.chunks(EMBED_BATCH) {
        let texts: Vec<String> = batch.iter().map(|(_, t)| t.clone()).collect();
        let vecs = embedder.embed(&texts).await.map_err(|e| format!("Embedding failed ({e})."))?;
        let rows = batch.iter().zip(vecs).map(|((cid, _), v)| (*cid, id, job.user_id, v)).collect();
        vectors::insert(&mut *vector_conn().await?, embedder.model_id(), rows)
            .await
            .map_err(|e| format!("The vector database failed ({e})."))?;
        embedded += batch.len();
        if let Ok(mut c) = conn(&state.db).await {
            let _ = diesel::update(d::user_documents.filter(d::id.eq(id)))
                .set(d::chunks_embedded.eq(i32::try_from(embedded).unwrap_or(i32::MAX)))
                .execute(&mut c)
                .await;
        }
        heartbeat(state, job).await;
    }
    // the summary: the passage nearest the document's centre, its first sentences
    let vecs = vectors::vectors_of(&mut *vector_conn().await?, id)
        .await
        .map_err(|e| format!("The vector database failed ({e})."))?;
    let summary = match central_passage(&vecs) {
        Some(chunk_id) => {
            let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
            let text: Option<String> = ch::document_chunks
                .filter(ch::id.eq(chunk_id))
                .select(ch::text)
                .first(&mut c)
                .await
                .optional()
                .map_err(|e| e.to_string())?;
            text.map(|t| summarise(&t))
        }
        None => summary_from_text(state, id).await,
    };
    finish_document(state, id, summary, None).await;
    tracing::info!(document_id = id, passages = total, "document ready");
    Ok(())
}

async fn finish_document(state: &AppState, id: i64, summary: Option<String>, detail: Option<String>) {
    if let Ok(mut c) = conn(&state.db).await {
        let _ = diesel::update(d::user_documents.filter(d::id.eq(id)))
            .set((
                d::status.eq("ready"),
                d::summary.eq(summary),
                d::status_detail.eq(detail),
                d::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut c)
            .await;
    }
}

/// The first passage's opening sentences, when there are no vectors to choose by.
async fn summary_from_text(state: &AppState, id: i64) -> Option<String> {
    let mut c = conn(&state.db).await.ok()?;
    let text: Option<String> = ch::document_chunks
        .filter(ch::document_id.eq(id))
        .order(ch::ordinal)
        .select(ch::text)
        .first(&mut c)
        .await
        .optional()
        .ok()?;
    text.map(|t| summarise(&t))
}

/// The passage whose vector is nearest the mean of all of them: the most representative one.
pub fn central_passage(vecs: &[(i64, Vec<f32>)]) -> Option<i64> {
    let dims = vecs.first()?.1.len();
    let mut mean = vec![0f32; dims];
    for (_, v) in vecs {
        for (m, x) in mean.iter_mut().zip(v) {
            *m += x;
        }
    }
    vecs.iter()
        .map(|(id, v)| (*id, v.iter().zip(&mean).map(|(a, b)| a * b).sum::<f32>()))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id)
}

/// An extractive summary: whole sentences from the start of a passage, about 300 characters.
pub fn summarise(text: &str) -> String {
    let mut out = String::new();
    for s in super::chunk::sentences(text) {
        if !out.is_empty() && out.len() + s.len() > 320 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&s);
    }
    if out.chars().count() > 400 {
        out = out.chars().take(400).collect::<String>() + "…";
    }
    out
}

async fn delete_vectors(state: &AppState, job: &Job) -> Outcome {
    let Some(pool) = state.vector.pool() else { return Outcome::Done };
    let mut c = match pool.get().await {
        Ok(c) => c,
        Err(e) => return Outcome::Retry(format!("The vector database is unavailable ({e}).")),
    };
    match vectors::delete_document(&mut c, job.subject_id).await {
        Ok(_) => Outcome::Done,
        Err(e) => Outcome::Retry(format!("The vector database failed ({e}).")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_central_passage_is_the_one_most_like_the_rest() {
        let vecs = vec![(1, vec![1.0, 0.0]), (2, vec![0.7, 0.7]), (3, vec![0.0, 1.0])];
        assert_eq!(central_passage(&vecs), Some(2));
        assert_eq!(central_passage(&[]), None);
    }

    #[test]
    fn an_items_text_has_its_words_most_telling_first_and_no_empty_parts() {
        let tags = vec!["oak".to_owned(), "antique".to_owned()];
        assert_eq!(
            item_text("Dining chair", "Furniture", "", ["oak", "", "France"], &tags),
            "Dining chair. Furniture. oak, France. oak, antique"
        );
        assert_eq!(item_text(" Lamp ", "", "", ["", "", ""], &[]), "Lamp");
    }

    #[test]
    fn summaries_are_whole_sentences() {
        let s = summarise(&"This is a sentence of some length that goes on. ".repeat(20));
        assert!(s.ends_with('.'));
        assert!(s.len() <= 400);
    }
}
