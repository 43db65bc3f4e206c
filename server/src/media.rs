//! Photo uploads (multipart, streamed to disk) and serving stored objects to their owner only.

use app::inventory::export::ExportFormat;
use std::path::PathBuf;

use app::auth::service::session_user;
use app::error::AppError;
use app::inventory::photos::{self, Spooled};
use app::platform::AppState;
use app::storage::{BlobKey, ImageExt, StorageError, Stores};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tower_sessions::Session;

use app::upload::{Refusal, PHOTOS_PER_UPLOAD as MAX_FILES};

/// Why an upload was refused; [`UploadError::refusal`] is what a plain form post is told.
#[derive(Debug)]
enum UploadError {
    TooLarge,
    NotImage,
    Empty,
    Malformed,
    App(AppError),
}

impl UploadError {
    /// What the item page says (the limits are the configured ones).
    fn refusal(&self, limit: u64) -> Refusal {
        match self {
            Self::TooLarge => Refusal::TooLarge { limit_mb: Some(limit / (1024 * 1024)) },
            Self::NotImage => Refusal::NotImage,
            Self::Empty => Refusal::Empty,
            Self::Malformed => Refusal::Malformed,
            Self::App(AppError::Validation { message, .. }) if message.starts_with("Choose") => Refusal::NoneChosen,
            Self::App(AppError::Validation { message, .. }) if message.starts_with("Upload at most") => {
                Refusal::TooMany { max: Some(MAX_FILES) }
            }
            Self::App(AppError::Validation { message, .. }) if message.starts_with("That photo is ") => {
                Refusal::TooManyPixels
            }
            Self::App(AppError::NotFound) => Refusal::Gone,
            Self::App(AppError::Validation { .. }) => Refusal::NotImage,
            Self::App(AppError::Unavailable) => Refusal::Unavailable,
            Self::App(_) => Refusal::Other,
        }
    }

    fn into_app_error(self, limit: u64) -> AppError {
        let v = |m: String| AppError::validation("photos", m);
        match self {
            Self::TooLarge => v(format!("That photo is larger than the {} MB limit.", limit / (1024 * 1024))),
            Self::NotImage => v("That file is not a JPEG, PNG, WebP or HEIC image.".into()),
            Self::Empty => v("That file is empty.".into()),
            Self::Malformed => v("The upload was interrupted or malformed. Please try again.".into()),
            Self::App(e) => e,
        }
    }
}

/// A multipart file on local disk, hashed and measured while it streamed in.
pub(crate) struct RawUpload {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// The first 16 bytes, to recognise the type by content.
    pub head: Vec<u8>,
    pub file_name: String,
}

/// Why a streamed file was refused.
pub(crate) enum SpoolError {
    TooLarge,
    Empty,
    Malformed,
    Io(AppError),
}

/// Streams one multipart file to a temporary file under `dir`, hashing it and checking its size.
/// `Ok(None)` is the empty part a browser sends when no file was chosen.
pub(crate) async fn spool(
    mut field: axum::extract::multipart::Field<'_>,
    dir: &std::path::Path,
    limit: u64,
) -> Result<Option<RawUpload>, SpoolError> {
    let file_name = field.file_name().unwrap_or_default().to_owned();
    let chose_a_file = !file_name.is_empty();
    tokio::fs::create_dir_all(dir).await.map_err(|e| SpoolError::Io(io_failed(e)))?;
    let path: PathBuf = dir.join(format!("{:016x}.upload", rand_u64()));
    let mut file = tokio::fs::File::create(&path).await.map_err(|e| SpoolError::Io(io_failed(e)))?;
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(16);
    let mut n: u64 = 0;
    let result = async {
        while let Some(chunk) = field.chunk().await.map_err(|_| SpoolError::Malformed)? {
            n += chunk.len() as u64;
            if n > limit {
                // read the rest of this file without keeping it, so the browser gets our answer
                while let Ok(Some(_)) = field.chunk().await {}
                return Err(SpoolError::TooLarge);
            }
            if head.len() < 16 {
                head.extend_from_slice(&chunk[..chunk.len().min(16 - head.len())]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(|e| SpoolError::Io(io_failed(e)))?;
        }
        file.flush().await.map_err(|e| SpoolError::Io(io_failed(e)))?;
        if n == 0 {
            return if chose_a_file { Err(SpoolError::Empty) } else { Ok(false) };
        }
        Ok(true)
    }
    .await;
    match result {
        Ok(true) => Ok(Some(RawUpload { path, bytes: n, sha256: format!("{:x}", hasher.finalize()), head, file_name })),
        Ok(false) => {
            let _ = tokio::fs::remove_file(&path).await;
            Ok(None)
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
    }
}

/// A photo: spooled, then recognised by its first bytes.
async fn spool_photo(
    field: axum::extract::multipart::Field<'_>,
    dir: &std::path::Path,
    limit: u64,
) -> Result<Option<Spooled>, UploadError> {
    let raw = match spool(field, dir, limit).await {
        Ok(Some(raw)) => raw,
        Ok(None) => return Ok(None),
        Err(SpoolError::TooLarge) => return Err(UploadError::TooLarge),
        Err(SpoolError::Empty) => return Err(UploadError::Empty),
        Err(SpoolError::Malformed) => return Err(UploadError::Malformed),
        Err(SpoolError::Io(e)) => return Err(UploadError::App(e)),
    };
    match ImageExt::sniff(&raw.head) {
        Some(ext) => Ok(Some(Spooled { path: raw.path, bytes: raw.bytes, sha256: raw.sha256, ext })),
        None => {
            let _ = tokio::fs::remove_file(&raw.path).await;
            Err(UploadError::NotImage)
        }
    }
}

/// A random number from the thread's cryptographic generator (names of temporary files, and
/// tokens that must not be guessed).
pub(crate) fn rand_u64() -> u64 {
    rand::random()
}

fn io_failed(e: std::io::Error) -> AppError {
    tracing::error!(error = %e, "upload spool failed");
    AppError::Unavailable
}

pub(crate) fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

/// `POST /inventory/{id}/photos`: one or more files in the multipart field `photos`.
/// A plain form post is answered with a redirect to the item page (`?photo_error=<code>` on failure);
/// a request that accepts JSON gets `{"stored": n}` or an error with its status.
pub async fn upload_photos(
    State(state): State<AppState>,
    Uploader { user, json }: Uploader,
    Path(item_id): Path<i64>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let limit = state.config.photo_max_bytes;
    // a request far beyond what could be accepted is refused before reading it
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_mul(MAX_FILES).saturating_add(1024 * 1024)) {
        let err = UploadError::TooLarge;
        return finish(item_id, 0, Some(err), json, limit);
    }
    let dir = state.config.dirs.uploads.join("tmp");
    // every file is spooled and checked before any is stored: a request that is refused (one file
    // too many, too large, not an image) stores nothing and leaves nothing behind
    let mut spooled: Vec<Spooled> = Vec::new();
    let mut failure = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                failure = Some(UploadError::Malformed);
                break;
            }
        };
        if field.name() != Some("photos") {
            continue;
        }
        match spool_photo(field, &dir, limit).await {
            Ok(Some(upload)) if spooled.len() as u64 >= MAX_FILES => {
                let _ = tokio::fs::remove_file(&upload.path).await;
                failure = Some(UploadError::App(AppError::validation(
                    "photos",
                    format!("Upload at most {MAX_FILES} photos at once; nothing was stored."),
                )));
                break;
            }
            Ok(Some(upload)) => spooled.push(upload),
            Ok(None) => {}
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if failure.is_none() && spooled.is_empty() {
        failure = Some(UploadError::App(AppError::validation("photos", "Choose one or more photos to upload.")));
    }
    let mut stored = 0u64;
    let mut uploads = spooled.into_iter();
    if failure.is_none() {
        for upload in uploads.by_ref() {
            match photos::add_photo(&state, user.id, item_id, upload).await {
                Ok(_) => stored += 1,
                Err(e) => {
                    failure = Some(UploadError::App(e));
                    break;
                }
            }
        }
    }
    for left in uploads {
        let _ = tokio::fs::remove_file(&left.path).await;
    }
    finish(item_id, stored, failure, json, limit)
}

fn finish(item_id: i64, stored: u64, failure: Option<UploadError>, json: bool, limit: u64) -> Response {
    match (failure, json) {
        (None, true) => Json(serde_json::json!({ "stored": stored })).into_response(),
        (None, false) => Redirect::to(&format!("/inventory/{item_id}?photos_added={stored}")).into_response(),
        (Some(e), false) => {
            let r = e.refusal(limit);
            let to = format!("/inventory/{item_id}?photo_error={}&photos_added={stored}{}", r.code(), r.limits());
            Redirect::to(&to).into_response()
        }
        (Some(e), true) => {
            let status = if matches!(e, UploadError::TooLarge) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let err = e.into_app_error(limit);
            let status = match err {
                AppError::Validation { .. } => status,
                ref other => StatusCode::from_u16(other.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            };
            (status, Json(err)).into_response()
        }
    }
}

/// Who is uploading (401 when signed out) and whether they want JSON back rather than a
/// redirect: every upload handler starts from this.
pub struct Uploader {
    pub user: app::auth::repo::User,
    pub json: bool,
}

impl axum::extract::FromRequestParts<AppState> for Uploader {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        let json = wants_json(&parts.headers);
        let session = Session::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        let user = session_user(state, &session).await.map_err(IntoResponse::into_response)?;
        let user = user.ok_or(AppError::Unauthorized).map_err(IntoResponse::into_response)?;
        Ok(Uploader { user, json })
    }
}

/// The signed-in user's id; anyone signed out gets 404 (objects are never public).
pub(crate) async fn owner_id(state: &AppState, session: &Session) -> Result<i64, AppError> {
    match session_user(state, session).await {
        Ok(Some(u)) => Ok(u.id),
        Ok(None) => Err(AppError::NotFound),
        Err(_) => Err(AppError::Unavailable),
    }
}

/// A failed lookup of the user's own row: 404 when it is not theirs, else temporarily unavailable.
pub(crate) fn lookup_failed(e: AppError) -> AppError {
    match e {
        AppError::NotFound => AppError::NotFound,
        _ => AppError::Unavailable,
    }
}

/// Streams the object a row points at. A row whose object is missing is logged and answers 404.
pub(crate) async fn stream_object(
    stores: &Stores,
    backend: app::storage::Backend,
    key: &str,
    what: &str,
    id: i64,
) -> Result<Response, AppError> {
    let Some(key) = BlobKey::from_stored(key) else { return Err(AppError::NotFound) };
    match stores.get(backend, &key).await {
        Ok(body) => Ok(body.into_response()),
        Err(StorageError::NotFound) => {
            tracing::error!(what, id, "a stored object is missing");
            Err(AppError::NotFound)
        }
        Err(e) => {
            tracing::error!(error = %e, what, id, "storage read failed");
            Err(AppError::Unavailable)
        }
    }
}

/// `GET /media/{id}`: a stored photo or thumbnail, to its owner only (anyone else: 404).
pub async fn serve_asset(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    {
        let user_id = owner_id(&state, &session).await?;
        let asset = photos::find_asset(&state, user_id, id).await.map_err(lookup_failed)?;
        let mut res = stream_object(&state.images, asset.backend, &asset.key, "photo", id).await?;
        let h = res.headers_mut();
        if let Ok(ct) = HeaderValue::from_str(&asset.content_type) {
            h.insert(header::CONTENT_TYPE, ct);
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.bytes.max(0) as u64));
        // an asset id never changes content; only this user's browser may keep it
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400, immutable"));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        Ok(res)
    }
}

/// `GET /exports/{id}`: an export file, as a download, to its owner only (anyone else: 404).
pub async fn download_export(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    {
        let user_id = owner_id(&state, &session).await?;
        let export = app::inventory::export::find_export(&state, user_id, id).await.map_err(lookup_failed)?;
        let mut res = stream_object(&state.exports, export.backend, &export.key, "export", id).await?;
        let h = res.headers_mut();
        let format = ExportFormat::parse(&export.format).unwrap_or(ExportFormat::Csv);
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
        let name =
            format!("attachment; filename=\"bartleby-inventory-{}.{}\"", export.created_at.date(), format.as_str());
        if let Ok(v) = HeaderValue::from_str(&name) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        Ok(res)
    }
}

/// `GET /account/archives/{id}`: the owner's archive of everything (anyone else: 404).
pub async fn download_archive(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let user_id = owner_id(&state, &session).await?;
    let archive = app::account::archive::find(&state, user_id, id).await.map_err(lookup_failed)?;
    let mut res = stream_object(&state.exports, archive.backend, &archive.key, "archive", id).await?;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    let name = format!("attachment; filename=\"bartleby-archive-{}.zip\"", archive.created_at.date());
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(res)
}
