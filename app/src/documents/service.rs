//! Documents: adding an upload, listing, reading, deleting, sharing. Every call takes the signed-in
//! user's id; a document is readable by its owner and by users it is shared with, and changed by
//! its owner only. Anyone else gets `NotFound`, never a hint that the document exists.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::jobs;
use super::repo;
pub use super::repo::Document;
use super::types::{DocStatus, DocType, DocumentDetail, DocumentList, DocumentStats, Grantee, PageText};
use crate::error::AppError;
use crate::ids::{DocumentId, UserId};
use crate::platform::db::{conn_as, next_id, query_failed};
use crate::platform::AppState;
use crate::storage::{Backend, BlobKey, PutError};

/// A file streamed to local disk by the upload handler, not yet stored.
#[derive(Debug)]
pub struct SpooledFile {
    pub path: std::path::PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// As the browser sent it: a title and a download name, never a path.
    pub file_name: String,
}

/// What became of one uploaded file.
#[derive(Debug, Clone, PartialEq)]
pub enum Added {
    New(i64),
    /// The user already has this exact file (same sha256): the existing document.
    Duplicate(i64),
}

/// A readable name from an uploaded file name: no directories, no extension, no control characters.
pub fn title_from(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = match base.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s,
        _ => base,
    };
    let clean: String = stem.chars().filter(|c| !c.is_control()).collect::<String>().replace(['_'], " ");
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    let clean: String = clean.chars().take(TITLE_MAX).collect();
    if clean.is_empty() {
        "Untitled document".into()
    } else {
        clean
    }
}

fn safe_file_name(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let clean: String = base.chars().filter(|c| !c.is_control() && *c != '"').take(200).collect();
    if clean.trim().is_empty() {
        "document".into()
    } else {
        clean.trim().to_owned()
    }
}

/// Stores an uploaded file as a new document and queues its ingest. The spooled file is removed.
#[tracing::instrument(skip_all, fields(user_id = user_id, bytes = file.bytes))]
pub async fn add(state: &AppState, user_id: i64, file: SpooledFile) -> Result<Added, AppError> {
    let result = add_inner(state, user_id, &file).await;
    let _ = tokio::fs::remove_file(&file.path).await;
    result
}

async fn add_inner(state: &AppState, user_id: i64, file: &SpooledFile) -> Result<Added, AppError> {
    let name = safe_file_name(&file.file_name);
    let (path, n) = (file.path.clone(), name.clone());
    let doc_type = tokio::task::spawn_blocking(move || super::extract::detect(&path, &n))
        .await
        .map_err(|_| AppError::Internal)?
        .ok_or_else(|| {
            AppError::validation(
                "files",
                format!(
                    "“{name}” is not a PDF, Word (DOCX), Excel (XLSX), HTML, Markdown or plain text file, nor an image (JPEG, PNG, WebP, HEIC, TIFF)."
                ),
            )
        })?;
    let mut c = conn_as(&state.db, user_id).await?;
    if let Some(id) = repo::find_by_sha256(&mut c, user_id, &file.sha256).await.map_err(query_failed)? {
        return Ok(Added::Duplicate(id));
    }
    let id = next_id(&mut c, "user_documents_id_seq").await.map_err(query_failed)?;
    let key = BlobKey::document(UserId(user_id), DocumentId(id), doc_type.as_str());
    // an image is stored as what it is (a browser shows a JPEG; a TIFF downloads)
    let content_type = match doc_type {
        DocType::Image => {
            crate::platform::ocr::ScanFormat::of_file(&file.path).map_or(doc_type.content_type(), |f| f.content_type())
        }
        other => other.content_type(),
    };
    let record = async |on: Backend| {
        let backend = on;
        let doc = repo::NewDocument {
            id,
            user_id,
            title: &title_from(&name),
            file_name: &name,
            doc_type: doc_type.as_str(),
            content_type,
            bytes: i64::try_from(file.bytes).unwrap_or(i64::MAX),
            sha256: &file.sha256,
            backend,
            key: key.as_str(),
            status_detail: fallback_note(state, backend),
        };
        c.transaction::<(), diesel::result::Error, _>(async |c| {
            repo::insert(c, &doc).await?;
            crate::jobs::enqueue_on(c, jobs::INGEST, user_id, id, state.documents.local_store(backend)).await
        })
        .await
    };
    match state.documents.put_recorded(&key, &file.path, content_type, record).await {
        Ok(()) => {
            state.jobs_added.notify_waiters();
            tracing::info!(user_id, document_id = id, bytes = file.bytes, kind = doc_type.as_str(), "document added");
            Ok(Added::New(id))
        }
        Err(PutError::Store(_)) => Err(AppError::Unavailable),
        Err(PutError::Record(e)) => {
            if let diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) = e {
                // the same file, uploaded twice at the same moment
                let id = repo::find_by_sha256(&mut c, user_id, &file.sha256).await.map_err(query_failed)?;
                return id.map(Added::Duplicate).ok_or(AppError::Internal);
            }
            Err(query_failed(e))
        }
    }
}

/// Documents, as storage relocation sees them (Vercel Blob holds photos only).
pub struct Documents;

crate::impl_holdings!(Documents {
    table: user_documents,
    label: "documents",
    stores: documents,
    local_dir: documents,
    on_vercel: false,
    content_type: content_type => |c| c,
});

fn fallback_note(state: &AppState, backend: Backend) -> Option<String> {
    (backend != state.documents.preferred_backend())
        .then(|| "Stored on local disk: the storage provider was unavailable (moved there later).".to_owned())
}

/// The user's documents, newest first, and those shared with them.
pub async fn list(state: &AppState, user_id: i64) -> Result<DocumentList, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    let mine = repo::mine(&mut c, user_id).await.map_err(query_failed)?;
    let shared = repo::shared_with(&mut c, user_id).await.map_err(query_failed)?;
    Ok(DocumentList {
        mine: mine.iter().map(|doc| doc.row(None)).collect(),
        shared: shared.into_iter().map(|(doc, email)| doc.row(Some(email))).collect(),
    })
}

/// The dashboard's document figures: counts by type and state, pages, shares, the newest five.
pub async fn stats(state: &AppState, user_id: i64) -> Result<DocumentStats, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    let counts = repo::counts(&mut c, user_id).await.map_err(query_failed)?;
    let recent = repo::recent(&mut c, user_id, 5).await.map_err(query_failed)?;
    let shared_with_me = repo::shared_count(&mut c, user_id).await.map_err(query_failed)?;
    let mut by_type: Vec<(String, i64)> = Vec::new();
    let (mut count, mut pages, mut reading, mut attention) = (0, 0, 0, 0);
    for (doc_type, status, n, p) in counts {
        count += n;
        pages += p;
        let status = DocStatus::ALL.into_iter().find(|s| s.as_str() == status);
        if status.is_some_and(DocStatus::is_pending) {
            reading += n;
        }
        if matches!(status, Some(DocStatus::Failed | DocStatus::NoText)) {
            attention += n;
        }
        let label = DocType::parse(&doc_type).map_or(doc_type.clone(), |t| t.label().to_owned());
        match by_type.iter_mut().find(|(l, _)| *l == label) {
            Some((_, total)) => *total += n,
            None => by_type.push((label, n)),
        }
    }
    by_type.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(DocumentStats {
        count,
        pages,
        by_type,
        reading,
        attention,
        shared_with_me,
        recent: recent.iter().map(|d| d.row(None)).collect(),
    })
}

/// A document the user may read (own or shared), with the owner's email when it is shared.
pub async fn readable(
    c: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> Result<(Document, Option<String>), AppError> {
    repo::readable(c, user_id, id).await.map_err(query_failed)?.ok_or(AppError::NotFound)
}

/// One of the user's own documents (for changes).
async fn owned(c: &mut AsyncPgConnection, user_id: i64, id: i64) -> Result<Document, AppError> {
    repo::owned(c, user_id, id).await.map_err(query_failed)?.ok_or(AppError::NotFound)
}

pub async fn get(state: &AppState, user_id: i64, id: i64) -> Result<DocumentDetail, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    let (doc, owner_email) = readable(&mut c, user_id, id).await?;
    let pages = repo::pages(&mut c, id).await.map_err(query_failed)?;
    let is_owner = owner_email.is_none();
    let shared_with = if is_owner {
        repo::grantees(&mut c, id)
            .await
            .map_err(query_failed)?
            .into_iter()
            .map(|g| Grantee {
                email: g.email,
                user_id: g.user_id,
                granted_at: crate::platform::format_time(g.granted_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(DocumentDetail {
        summary: doc.summary.clone(),
        row: doc.row(owner_email),
        pages: pages.into_iter().map(|p| PageText { page: p.page, text: p.text }).collect(),
        is_owner,
        shared_with,
    })
}

/// Deletes a document: its file, pages, passages, sharing, queued work and vectors.
pub async fn delete(state: &AppState, user_id: i64, id: i64) -> Result<(), AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    let doc = owned(&mut c, user_id, id).await?;
    c.transaction::<(), diesel::result::Error, _>(async |c| {
        repo::delete(c, user_id, id).await?;
        crate::jobs::cancel(c, jobs::INGEST, id).await?;
        // vectors live in the vector database: a job removes them (now, or once it answers)
        crate::jobs::enqueue(c, jobs::DELETE_VECTORS, user_id, id).await
    })
    .await
    .map_err(query_failed)?;
    state.jobs_added.notify_waiters();
    if let Some(key) = BlobKey::from_stored(&doc.key) {
        if let Err(e) = state.documents.delete(doc.backend, &key).await {
            tracing::warn!(error = %e, document_id = id, "could not delete a document's file");
        }
    }
    tracing::info!(user_id, document_id = id, "document deleted");
    Ok(())
}

/// Sharing with an email that has no account: at most this many times per user and hour.
const SHARE_MISSES_ALLOWED: i64 = 10;
const SHARE_MISS_WINDOW: time::Duration = time::Duration::hours(1);
const SHARE_MISS_SCOPE: &str = "share_unknown_email";

/// Lets another user (by email) read the document.
pub async fn share(state: &AppState, user_id: i64, id: i64, email: &str) -> Result<(), AppError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() {
        return Err(AppError::validation("email", "Enter the email of the person to share with."));
    }
    let mut c = conn_as(&state.db, user_id).await?;
    owned(&mut c, user_id, id).await?;
    // "no user has that email" tells who has an account: a user may be told so only a few times
    // an hour, or the form would be a way to test a list of addresses
    let key = user_id.to_string();
    let since = time::OffsetDateTime::now_utc() - SHARE_MISS_WINDOW;
    let (misses, _) =
        crate::auth::repo::recent_failures(&mut c, SHARE_MISS_SCOPE, &key, since).await.map_err(query_failed)?;
    if misses >= SHARE_MISSES_ALLOWED {
        return Err(AppError::validation(
            "email",
            "Too many emails that have no account were tried. Check the address and try again in an hour.",
        ));
    }
    let grantee = crate::auth::repo::find_login(&mut c, &email).await.map_err(query_failed)?.map(|(u, _)| u.id);
    let Some(grantee) = grantee else {
        crate::auth::repo::record_failure(&mut c, SHARE_MISS_SCOPE, &key).await.map_err(query_failed)?;
        return Err(AppError::validation("email", "No Bartleby user has that email. They need an account first."));
    };
    if grantee == user_id {
        return Err(AppError::validation("email", "That is you: you already have this document."));
    }
    repo::grant(&mut c, user_id, id, grantee).await.map_err(query_failed)?;
    Ok(())
}

pub async fn revoke(state: &AppState, user_id: i64, id: i64, grantee: i64) -> Result<(), AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    owned(&mut c, user_id, id).await?;
    repo::revoke(&mut c, id, grantee).await.map_err(query_failed)?;
    Ok(())
}

/// The most characters of a document's title.
pub const TITLE_MAX: usize = 200;

/// A title as typed or as read from a document: control characters out, runs of space one.
pub fn clean_title(raw: &str) -> String {
    let clean: String = raw.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    clean.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Gives the owner's document a title of their own (kept when the document is read again).
pub async fn rename(state: &AppState, user_id: i64, id: i64, title: &str) -> Result<(), AppError> {
    let title = clean_title(title);
    if title.is_empty() {
        return Err(AppError::validation("title", "Give the document a title."));
    }
    if title.chars().count() > TITLE_MAX {
        return Err(AppError::validation("title", format!("A title has at most {TITLE_MAX} characters.")));
    }
    let mut c = conn_as(&state.db, user_id).await?;
    owned(&mut c, user_id, id).await?;
    repo::set_title(&mut c, id, &title).await.map_err(query_failed)?;
    Ok(())
}

/// Queues a failed document's ingest again.
pub async fn retry(state: &AppState, user_id: i64, id: i64) -> Result<(), AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    let doc = owned(&mut c, user_id, id).await?;
    if doc.status.is_pending() {
        return Ok(());
    }
    c.transaction::<(), diesel::result::Error, _>(async |c| {
        repo::set_status(c, id, Some(DocStatus::Queued), None).await?;
        crate::jobs::enqueue_on(c, jobs::INGEST, user_id, id, state.documents.local_store(doc.backend)).await
    })
    .await
    .map_err(query_failed)?;
    state.jobs_added.notify_waiters();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_file_name_without_paths() {
        assert_eq!(title_from("Annual_Report 2025.pdf"), "Annual Report 2025");
        assert_eq!(title_from("../../etc/passwd"), "passwd");
        assert_eq!(title_from("C:\\Users\\me\\notes.md"), "notes");
        assert_eq!(title_from(".bashrc"), ".bashrc");
        assert_eq!(title_from(""), "Untitled document");
        assert_eq!(safe_file_name("a/b/\"x\".pdf"), "x.pdf");
    }
}
