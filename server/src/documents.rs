//! Document uploads (multipart, several files or a folder, each streamed to disk) and downloads
//! (to the owner and the users it is shared with; anyone else gets 404).

use app::documents::service::{self, Added, SpooledFile};
use app::error::AppError;
use app::platform::AppState;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use tower_sessions::Session;

use crate::media::{lookup_failed, owner_id, spool, stream_object, SpoolError, Uploader};

use app::upload::{Refusal, DOCUMENTS_PER_UPLOAD};

/// At most this many files in one upload (a folder, say).
const MAX_FILES: usize = DOCUMENTS_PER_UPLOAD as usize;

#[derive(Default, serde::Serialize)]
struct Report {
    added: Vec<i64>,
    duplicates: Vec<i64>,
    /// files not added, with the reason
    rejected: Vec<Rejected>,
    #[serde(skip)]
    unsupported: usize,
    /// the first problem, for the page
    #[serde(skip)]
    first_error: Option<Refusal>,
}

#[derive(serde::Serialize)]
struct Rejected {
    file: String,
    error: String,
}

impl Report {
    fn reject(&mut self, file: &str, code: Refusal, message: String) {
        if code == Refusal::Unsupported {
            self.unsupported += 1;
        } else if self.first_error.is_none() {
            self.first_error = Some(code);
        }
        self.rejected.push(Rejected { file: file.to_owned(), error: message });
    }
}

/// `POST /documents/upload`: files in the multipart field `files`. Each file is taken or refused
/// on its own; one bad file never stops the others. A plain form post is answered with a redirect
/// to `/documents` with counts; a request that accepts JSON gets the report.
pub async fn upload_documents(
    State(state): State<AppState>,
    Uploader { user, json }: Uploader,
    mut multipart: Multipart,
) -> Response {
    let limit = state.config.document_max_bytes;
    let limit_mb = limit / (1024 * 1024);
    let dir = state.config.dirs.uploads.join("tmp");
    let mut report = Report::default();
    let mut files = 0usize;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                report.reject(
                    "",
                    Refusal::Malformed,
                    "The upload was interrupted or malformed. Please try again.".into(),
                );
                break;
            }
        };
        if field.name() != Some("files") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        if files >= MAX_FILES {
            report.reject(
                &name,
                Refusal::TooMany { max: Some(DOCUMENTS_PER_UPLOAD) },
                format!("Upload at most {MAX_FILES} files at once."),
            );
            continue;
        }
        match spool(field, &dir, limit).await {
            Ok(Some(raw)) => {
                files += 1;
                let file =
                    SpooledFile { path: raw.path, bytes: raw.bytes, sha256: raw.sha256, file_name: raw.file_name };
                match service::add(&state, user.id, file).await {
                    Ok(Added::New(id)) => report.added.push(id),
                    Ok(Added::Duplicate(id)) => report.duplicates.push(id),
                    Err(AppError::Validation { message, .. }) => report.reject(&name, Refusal::Unsupported, message),
                    Err(AppError::Unavailable) => {
                        report.reject(&name, Refusal::Unavailable, AppError::Unavailable.to_string());
                    }
                    Err(e) => report.reject(&name, Refusal::Other, e.to_string()),
                }
            }
            Ok(None) => {}
            Err(SpoolError::TooLarge) => {
                files += 1;
                report.reject(
                    &name,
                    Refusal::TooLarge { limit_mb: Some(limit_mb) },
                    format!("“{name}” is larger than the {limit_mb} MB limit."),
                );
            }
            Err(SpoolError::Empty) => {
                files += 1;
                report.reject(&name, Refusal::Empty, format!("“{name}” is empty."));
            }
            Err(SpoolError::Malformed) => {
                report.reject(
                    &name,
                    Refusal::Malformed,
                    "The upload was interrupted or malformed. Please try again.".into(),
                );
                break;
            }
            Err(SpoolError::Io(e)) => {
                report.reject(&name, Refusal::Unavailable, e.to_string());
                break;
            }
        }
    }
    let nothing = report.added.is_empty() && report.duplicates.is_empty();
    if nothing && report.rejected.is_empty() {
        report.first_error = Some(Refusal::NoneChosen);
    }
    if nothing && report.first_error.is_none() && report.unsupported > 0 {
        report.first_error = Some(Refusal::Unsupported);
    }
    if json {
        use axum::http::StatusCode;
        let status = match (nothing, report.first_error) {
            (false, _) => StatusCode::OK,
            (true, Some(Refusal::TooLarge { .. })) => StatusCode::PAYLOAD_TOO_LARGE,
            (true, _) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        return (status, Json(report)).into_response();
    }
    let mut url = format!(
        "/documents?uploaded={}&duplicates={}&skipped={}",
        report.added.len(),
        report.duplicates.len(),
        report.unsupported
    );
    if let Some(r) = report.first_error {
        // the page states the configured limit, not the default
        url.push('&');
        url.push_str(&r.query("error"));
    }
    Redirect::to(&url).into_response()
}

/// `GET /documents/{id}/file`: the original file. PDFs and text open in the browser; other types
/// download. Only for the owner and users it is shared with (anyone else: 404).
pub async fn download_document(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    {
        let user_id = owner_id(&state, &session).await?;
        let mut c = app::platform::db::conn_as(&state.db, user_id).await?;
        let (doc, _) = service::readable(&mut c, user_id, id).await.map_err(lookup_failed)?;
        drop(c);
        let mut res = stream_object(&state.documents, doc.backend, &doc.key, "document", id).await?;
        let h = res.headers_mut();
        if let Ok(ct) = HeaderValue::from_str(&doc.content_type) {
            h.insert(header::CONTENT_TYPE, ct);
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(doc.bytes.max(0) as u64));
        let inline = matches!(doc.doc_type.as_str(), "pdf" | "txt")
            || matches!(doc.content_type.as_str(), "image/jpeg" | "image/png" | "image/webp");
        let ascii: String = doc
            .file_name
            .chars()
            .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' })
            .filter(|c| *c != '"' && *c != '\\')
            .collect();
        let disposition = format!(
            "{}; filename=\"{ascii}\"; filename*=UTF-8''{}",
            if inline { "inline" } else { "attachment" },
            app::format::url(&doc.file_name)
        );
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        // a document opened in the browser must not run anything of its own
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox; default-src 'none'; style-src 'unsafe-inline'"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        Ok(res)
    }
}
