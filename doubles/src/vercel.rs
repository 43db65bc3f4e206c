//! A stand-in for the Vercel Blob API, following the contract of the official `@vercel/blob`
//! client: the real adapter talks to it in tests, and `bartleby-doubles vercel-blob` lets you try
//! `STORAGE_BACKEND=vercel` on your machine. Objects live in memory.
//!
//! Served under `/api/blob`: `PUT /api/blob/?pathname=` (put), `GET /api/blob?url=` (head),
//! `GET /api/blob?prefix=&limit=&cursor=` (list, a page at a time),
//! `POST /api/blob/delete` (delete), and `GET /blob/{pathname}` (read; the token is required,
//! as for private blobs). Every error is JSON `{"error": {"code", "message"}}`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

#[derive(Clone)]
struct Object {
    body: Bytes,
    content_type: String,
    uploaded_at: String,
}

/// The double's state; tests keep a handle to inspect objects and inject faults.
#[derive(Clone)]
pub struct VercelDouble {
    token: String,
    public_base: Arc<Mutex<String>>,
    objects: Arc<Mutex<HashMap<String, Object>>>,
    /// When non-zero, every API call answers this status (500, 503, …) with a JSON error.
    pub fail_with: Arc<AtomicU16>,
}

impl VercelDouble {
    pub fn new(token: impl Into<String>) -> Self {
        Self {
            token: token.into(),
            public_base: Arc::new(Mutex::new(String::new())),
            objects: Arc::default(),
            fail_with: Arc::default(),
        }
    }

    /// Where the double is reachable (`http://127.0.0.1:PORT`), used to build blob URLs.
    pub fn set_base(&self, base: &str) {
        if let Ok(mut b) = self.public_base.lock() {
            *b = base.trim_end_matches('/').to_owned();
        }
    }

    pub fn pathnames(&self) -> Vec<String> {
        let mut v: Vec<String> = self.objects.lock().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        v.sort();
        v
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/blob", get(head).put(put_blob))
            .route("/api/blob/", get(head).put(put_blob))
            .route("/api/blob/delete", post(delete))
            .route("/blob/{*pathname}", get(read))
            .with_state(self.clone())
    }

    fn url_for(&self, pathname: &str) -> String {
        let base = self.public_base.lock().map(|b| b.clone()).unwrap_or_default();
        format!("{base}/blob/{pathname}")
    }

    /// Accepts a pathname or a URL this double made.
    fn pathname_of(&self, url_or_path: &str) -> String {
        match url_or_path.split_once("/blob/") {
            Some((_, p)) if url_or_path.starts_with("http") => p.to_owned(),
            _ => url_or_path.trim_start_matches('/').to_owned(),
        }
    }

    /// `Some(answer)` when the request must be refused (injected fault, bad token).
    fn guard(&self, headers: &HeaderMap) -> Option<Response> {
        let status = self.fail_with.load(Ordering::SeqCst);
        if status != 0 {
            let code = match status {
                503 => "service_unavailable",
                500 => "internal_server_error",
                429 => "rate_limited",
                _ => "unknown_error",
            };
            return Some(error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                code,
                "injected fault",
            ));
        }
        let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
        if auth != format!("Bearer {}", self.token) {
            return Some(error(StatusCode::FORBIDDEN, "forbidden", "Access denied, please provide a valid token"));
        }
        None
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response()
}

#[derive(Deserialize)]
struct PutQuery {
    pathname: Option<String>,
}

async fn put_blob(
    State(d): State<VercelDouble>,
    Query(q): Query<PutQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = d.guard(&headers) {
        return r;
    }
    let Some(pathname) = q.pathname.filter(|p| !p.is_empty() && p.len() <= 950 && !p.contains("//")) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "pathname is required");
    };
    let header_str = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let overwrite = header_str("x-allow-overwrite").as_deref() == Some("1");
    let pathname = if header_str("x-add-random-suffix").as_deref() == Some("1") {
        match pathname.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}-{:08x}.{ext}", rand_suffix()),
            None => format!("{pathname}-{:08x}", rand_suffix()),
        }
    } else {
        pathname
    };
    let content_type = header_str("x-content-type").unwrap_or_else(|| "application/octet-stream".into());
    let Ok(mut objects) = d.objects.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "unknown_error", "lock");
    };
    if objects.contains_key(&pathname) && !overwrite {
        return error(StatusCode::BAD_REQUEST, "bad_request", "This blob already exists");
    }
    let uploaded_at =
        time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    objects.insert(pathname.clone(), Object { body, content_type: content_type.clone(), uploaded_at });
    let url = d.url_for(&pathname);
    Json(json!({
        "url": url,
        "downloadUrl": format!("{url}?download=1"),
        "pathname": pathname,
        "contentType": content_type,
        "contentDisposition": "inline",
    }))
    .into_response()
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

#[derive(Deserialize)]
struct HeadQuery {
    url: Option<String>,
    prefix: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// `GET /api/blob` without `url`: lists the blobs under `prefix`, `limit` at a time (default
/// 1000), in pathname order; `cursor` is the last pathname of the page before.
fn list(d: &VercelDouble, q: &HeadQuery) -> Response {
    let prefix = q.prefix.clone().unwrap_or_default();
    let limit = q.limit.unwrap_or(1000).clamp(1, 1000);
    let objects = d.objects.lock().map(|o| o.clone()).unwrap_or_default();
    let mut names: Vec<&String> = objects
        .keys()
        .filter(|p| p.starts_with(&prefix))
        .filter(|p| q.cursor.as_ref().is_none_or(|c| p.as_str() > c.as_str()))
        .collect();
    names.sort();
    let has_more = names.len() > limit;
    names.truncate(limit);
    let blobs: Vec<serde_json::Value> = names
        .iter()
        .map(|p| {
            let o = &objects[*p];
            let url = d.url_for(p);
            json!({
                "url": url,
                "downloadUrl": format!("{url}?download=1"),
                "pathname": p,
                "size": o.body.len(),
                "uploadedAt": o.uploaded_at,
            })
        })
        .collect();
    let mut body = json!({ "blobs": blobs, "hasMore": has_more });
    if has_more {
        body["cursor"] = json!(names.last());
    }
    Json(body).into_response()
}

async fn head(State(d): State<VercelDouble>, Query(q): Query<HeadQuery>, headers: HeaderMap) -> Response {
    if let Some(r) = d.guard(&headers) {
        return r;
    }
    let Some(url) = q.url.clone() else { return list(&d, &q) };
    let pathname = d.pathname_of(&url);
    let found = d.objects.lock().ok().and_then(|o| o.get(&pathname).cloned());
    match found {
        None => error(StatusCode::NOT_FOUND, "not_found", "The requested blob does not exist"),
        Some(o) => {
            let url = d.url_for(&pathname);
            Json(json!({
                "url": url,
                "downloadUrl": format!("{url}?download=1"),
                "pathname": pathname,
                "size": o.body.len(),
                "contentType": o.content_type,
                "contentDisposition": "inline",
                "cacheControl": "public, max-age=2592000",
                "uploadedAt": o.uploaded_at,
                "etag": format!("\"{:x}\"", o.body.len()),
            }))
            .into_response()
        }
    }
}

#[derive(Deserialize)]
struct DeleteBody {
    urls: Vec<String>,
}

async fn delete(State(d): State<VercelDouble>, headers: HeaderMap, Json(body): Json<DeleteBody>) -> Response {
    if let Some(r) = d.guard(&headers) {
        return r;
    }
    if let Ok(mut objects) = d.objects.lock() {
        for u in &body.urls {
            objects.remove(&d.pathname_of(u));
        }
    }
    Json(json!(null)).into_response()
}

async fn read(State(d): State<VercelDouble>, Path(pathname): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = d.guard(&headers) {
        return r;
    }
    match d.objects.lock().ok().and_then(|o| o.get(&pathname).cloned()) {
        Some(o) => ([(header::CONTENT_TYPE, o.content_type)], o.body).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "The requested blob does not exist"),
    }
}
