//! The document jobs: ingest (extract the text, cut it into passages, embed them, summarise) and
//! the removal of a deleted document's vectors. Every stage is resumable: text is replaced as a
//! whole, vectors are added only for passages that have none yet. A document whose ingest failed
//! shows the reason and a retry button.

use std::sync::Arc;

use super::chunk::chunk_pages;
use super::extract::{self, ExtractError};
use super::repo::{self, Document};
use super::types::{DocStatus, DocType};
use crate::jobs::{enqueue, Claimed, Job, JobError, Lane};
use crate::platform::db::conn;
use crate::platform::AppState;
use crate::storage::BlobKey;
use crate::vectors;
use async_trait::async_trait;

pub const INGEST: &str = "ingest_document";
pub const DELETE_VECTORS: &str = "delete_vectors";
/// Passages embedded per batch (and per progress update).
const EMBED_BATCH: usize = 16;

/// The documents feature's jobs, for the server's registry.
pub fn jobs() -> Vec<Arc<dyn Job>> {
    vec![Arc::new(Ingest), Arc::new(DeleteVectors)]
}

struct Ingest;

#[async_trait]
impl Job for Ingest {
    fn kind(&self) -> &'static str {
        INGEST
    }
    fn lane(&self) -> Lane {
        Lane::Model
    }
    async fn run(&self, state: &AppState, job: &Claimed) -> Result<(), JobError> {
        ingest(state, job).await
    }
    async fn failed(&self, state: &AppState, job: &Claimed, reason: &str, gave_up: bool) {
        let detail = if gave_up { reason.to_owned() } else { format!("{reason} Retrying automatically.") };
        let status = if gave_up { Some(DocStatus::Failed) } else { None };
        set_status(state, job.subject_id, status, Some(detail)).await;
    }
}

struct DeleteVectors;

#[async_trait]
impl Job for DeleteVectors {
    fn kind(&self) -> &'static str {
        DELETE_VECTORS
    }
    fn lane(&self) -> Lane {
        Lane::Model
    }
    async fn run(&self, state: &AppState, job: &Claimed) -> Result<(), JobError> {
        delete_vectors(state, job).await
    }
}

/// Queues every document with text for (re-)embedding (the inventory has its own,
/// `inventory::embedding::queue_reembedding`): after `vectors::adopt_model` the vectors
/// are gone and the embed stage makes them again; documents whose vectors are all there finish at once.
pub async fn queue_reindex(state: &AppState) -> Result<usize, crate::error::AppError> {
    use crate::platform::db::query_failed;
    let mut c = conn(&state.db).await?;
    let docs = repo::reset_for_reindex(&mut c).await.map_err(query_failed)?;
    for doc in &docs {
        enqueue(&mut c, INGEST, doc.user_id, doc.id).await.map_err(query_failed)?;
    }
    Ok(docs.len())
}

/// "Reading text (OCR), page 3 of 12" (no page numbers for a single image).
pub fn ocr_progress(done: usize, total: usize) -> String {
    let head = super::types::OCR_PROGRESS;
    if total > 1 {
        format!("{head}, page {} of {total}", (done + 1).min(total))
    } else {
        head.to_owned()
    }
}

async fn set_status(state: &AppState, id: i64, status: Option<DocStatus>, detail: Option<String>) {
    if let Ok(mut c) = conn(&state.db).await {
        if let Err(e) = repo::set_status(&mut c, id, status, detail).await {
            tracing::warn!(error = %e, document_id = id, "could not update a document's status");
        }
    }
}

async fn load_document(state: &AppState, job: &Claimed) -> Result<Option<Document>, String> {
    let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
    repo::owned(&mut c, job.user_id, job.subject_id).await.map_err(|e| format!("metadata database: {e}"))
}

async fn ingest(state: &AppState, job: &Claimed) -> Result<(), JobError> {
    let Some(doc) = load_document(state, job).await? else {
        return Ok(()); // deleted meanwhile
    };
    // stage 1: text (skipped when a previous run stored it)
    let has_text = matches!(doc.status, DocStatus::Embedding | DocStatus::Ready) && doc.chunks_total > 0;
    if !has_text && !extract_stage(state, job, &doc).await? {
        return Ok(()); // no text / unreadable: the status says why
    }
    // stage 2: vectors
    Ok(embed_stage(state, job, doc.id).await?)
}

/// Extracts, chunks and stores the text. `Ok(false)`: the document has no usable text (its status
/// says why); `Err`: a passing problem (retry).
async fn extract_stage(state: &AppState, job: &Claimed, doc: &Document) -> Result<bool, String> {
    set_status(state, doc.id, Some(DocStatus::Extracting), None).await;
    let key = BlobKey::from_stored(&doc.key).ok_or("the stored key is invalid")?;
    let tmp = state.config.dirs.uploads.join("tmp").join(format!("ingest-{}.{}", doc.id, doc.doc_type));
    let fetched = state.documents.fetch_to_file(doc.backend, &key, &tmp).await;
    if let Err(e) = fetched {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(format!("Could not read the file from storage ({e})."));
    }
    let doc_type = DocType::parse(&doc.doc_type).unwrap_or(DocType::Txt);
    // OCR reports each page as it goes: the status says so, and the job stays claimed
    let (progress, mut reports) = tokio::sync::watch::channel(None);
    let work = async {
        let progress = progress;
        extract::extract(&tmp, doc_type, &state.config.parser, Some(&progress)).await
    };
    let report = async {
        while reports.changed().await.is_ok() {
            let Some((done, total)) = *reports.borrow_and_update() else { continue };
            set_status(state, doc.id, None, Some(ocr_progress(done, total))).await;
            crate::jobs::heartbeat(state, job).await;
        }
    };
    let (extracted, ()) = tokio::join!(work, report);
    let _ = tokio::fs::remove_file(&tmp).await;
    let extracted = match extracted {
        Ok(x) => x,
        Err(e) if e.is_transient() => return Err(e.to_string()),
        Err(ExtractError::NoText) => {
            set_status(state, doc.id, Some(DocStatus::NoText), Some(ExtractError::NoText.to_string())).await;
            return Ok(false);
        }
        Err(e) => {
            set_status(state, doc.id, Some(DocStatus::Failed), Some(e.to_string())).await;
            return Ok(false);
        }
    };
    // passages get new ids below: vectors of the old ones must go first
    if let Some(pool) = state.vector.pool().filter(|_| doc.chunks_total > 0) {
        let mut vc = pool.get().await.map_err(|e| format!("The vector database is unavailable ({e})."))?;
        vectors::delete_document(&mut vc, doc.id).await.map_err(|e| format!("The vector database failed ({e})."))?;
    }
    // the document's own title, unless its owner gave it one (or it was given before)
    if let Some(title) = extracted.title.as_deref().filter(|_| doc.title == super::service::title_from(&doc.file_name))
    {
        if let Ok(mut c) = conn(&state.db).await {
            let _ = repo::set_title(&mut c, doc.id, title).await;
        }
    }
    let chunks = chunk_pages(&extracted.pages);
    let pages = extracted.pages;
    let page_count = i32::try_from(pages.len()).unwrap_or(i32::MAX);
    let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
    let (id, user_id) = (doc.id, doc.user_id);
    let paged = extracted.paged;
    let ocr_pages = i32::try_from(extracted.ocr_pages).unwrap_or(i32::MAX);
    let ocr = (ocr_pages, i32::try_from(extracted.ocr_skipped).unwrap_or(i32::MAX));
    let stored = repo::replace_text(&mut c, id, user_id, &pages, &chunks, paged.then_some(page_count), ocr).await;
    match stored {
        Ok(n) => {
            tracing::info!(document_id = id, pages = page_count, ocr_pages, passages = n, "text extracted");
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
            set_status(state, id, Some(DocStatus::Failed), Some("The text of this file could not be stored.".into()))
                .await;
            Ok(false)
        }
        Err(e) => Err(format!("Could not store the text ({e}).")),
    }
}

/// Embeds every passage that has no vector yet, in batches, reporting progress; then writes the
/// summary and marks the document ready.
async fn embed_stage(state: &AppState, job: &Claimed, id: i64) -> Result<(), String> {
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
        repo::passage_texts(&mut c, id).await.map_err(|e| e.to_string())?.into_iter().map(|p| (p.id, p.text)).collect()
    };
    let total = todo.len();
    let mut embedded = total - todo.iter().filter(|(cid, _)| !done.contains(cid)).count();
    let todo: Vec<(i64, String)> = todo.into_iter().filter(|(cid, _)| !done.contains(cid)).collect();
    for batch in todo.chunks(EMBED_BATCH) {
        let texts: Vec<String> = batch.iter().map(|(_, t)| t.clone()).collect();
        let vecs = embedder.embed(&texts).await.map_err(|e| format!("Embedding failed ({e})."))?;
        let rows = batch
            .iter()
            .zip(vecs)
            .map(|((cid, _), v)| vectors::PassageVector {
                chunk_id: *cid,
                document_id: id,
                user_id: job.user_id,
                embedding: v,
            })
            .collect();
        vectors::insert(&mut *vector_conn().await?, embedder.model_id(), rows)
            .await
            .map_err(|e| format!("The vector database failed ({e})."))?;
        embedded += batch.len();
        if let Ok(mut c) = conn(&state.db).await {
            let _ = repo::set_embedded(&mut c, id, embedded).await;
        }
        crate::jobs::heartbeat(state, job).await;
    }
    // the summary: the passage nearest the document's centre, its first sentences
    let vecs = vectors::vectors_of(&mut *vector_conn().await?, id)
        .await
        .map_err(|e| format!("The vector database failed ({e})."))?;
    let summary = match central_passage(&vecs) {
        Some(chunk_id) => {
            let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
            let text = repo::passage_text(&mut c, chunk_id).await.map_err(|e| e.to_string())?;
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
        if let Err(e) = repo::set_ready(&mut c, id, summary, detail).await {
            tracing::warn!(error = %e, document_id = id, "could not mark a document ready");
        }
    }
}

/// The first passage's opening sentences, when there are no vectors to choose by.
async fn summary_from_text(state: &AppState, id: i64) -> Option<String> {
    let mut c = conn(&state.db).await.ok()?;
    let text = repo::first_passage(&mut c, id).await.ok()?;
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

async fn delete_vectors(state: &AppState, job: &Claimed) -> Result<(), JobError> {
    let Some(pool) = state.vector.pool() else { return Ok(()) };
    let mut c = pool.get().await.map_err(|e| format!("The vector database is unavailable ({e})."))?;
    vectors::delete_document(&mut c, job.subject_id).await.map_err(|e| format!("The vector database failed ({e})."))?;
    Ok(())
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
    fn ocr_progress_names_the_page_when_there_are_several() {
        assert_eq!(ocr_progress(2, 12), "Reading text (OCR), page 3 of 12");
        assert_eq!(ocr_progress(0, 1), "Reading text (OCR)");
    }

    #[test]
    fn summaries_are_whole_sentences() {
        let s = summarise(&"This is a sentence of some length that goes on. ".repeat(20));
        assert!(s.ends_with('.'));
        assert!(s.len() <= 400);
    }
}
