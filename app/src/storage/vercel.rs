//! Vercel Blob, over its HTTP API (the contract the official `@vercel/blob` client uses):
//! `PUT {api}/?pathname=…` to store, `GET {api}?url=…` to look an object up, a GET of its URL to
//! read it, `POST {api}/delete` to remove it. Objects are private: Bartleby serves them itself.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use serde::Deserialize;

use super::{Backend, BlobKey, BlobStore, StorageError};
use crate::platform::config::Secret;

const API_VERSION: &str = "12";

pub struct VercelBlobStore {
    client: reqwest::Client,
    api_url: String,
    token: Secret,
    store_id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}
#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BlobInfo {
    url: String,
}

impl VercelBlobStore {
    /// `token` is `BLOB_READ_WRITE_TOKEN` (`vercel_blob_rw_<storeId>_<secret>`); `api_url` is
    /// `VERCEL_BLOB_API_URL` (default `https://vercel.com/api/blob`).
    pub fn new(api_url: &str, token: Secret) -> Result<Self, String> {
        let store_id = token
            .expose()
            .strip_prefix("vercel_blob_rw_")
            .and_then(|rest| rest.split_once('_'))
            .map(|(id, _)| id.to_owned())
            .filter(|id| !id.is_empty())
            .ok_or("BLOB_READ_WRITE_TOKEN does not look like vercel_blob_rw_<store>_<secret>")?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, api_url: api_url.trim_end_matches('/').to_owned(), token, store_id })
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .bearer_auth(self.token.expose())
            .header("x-api-version", API_VERSION)
            .header("x-vercel-blob-store-id", &self.store_id)
    }

    async fn check(res: reqwest::Response) -> Result<reqwest::Response, StorageError> {
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ErrorBody>(&body) {
            Ok(e) => (e.error.code, e.error.message),
            Err(_) => ("unknown_error".to_owned(), body.chars().take(200).collect()),
        };
        if code == "not_found" || status == 404 {
            return Err(StorageError::NotFound);
        }
        Err(StorageError::Provider { backend: Backend::Vercel, message: format!("{status} {code}: {message}") })
    }

    fn transport(e: reqwest::Error) -> StorageError {
        StorageError::Provider { backend: Backend::Vercel, message: e.to_string() }
    }

    /// The object's URL, looked up by pathname.
    async fn url_of(&self, key: &BlobKey) -> Result<String, StorageError> {
        let res = self
            .request(reqwest::Method::GET, &self.api_url)
            .query(&[("url", key.as_str())])
            .send()
            .await
            .map_err(Self::transport)?;
        let info: BlobInfo = Self::check(res).await?.json().await.map_err(Self::transport)?;
        Ok(info.url)
    }
}

#[async_trait]
impl BlobStore for VercelBlobStore {
    fn backend(&self) -> Backend {
        Backend::Vercel
    }

    #[tracing::instrument(name = "vercel.put", skip_all, fields(key = key.as_str()), err(Display))]
    async fn put_file(&self, key: &BlobKey, source: &Path, content_type: &str) -> Result<(), StorageError> {
        let file = tokio::fs::File::open(source).await?;
        let len = file.metadata().await?.len();
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        let res = self
            .request(reqwest::Method::PUT, &format!("{}/", self.api_url))
            .query(&[("pathname", key.as_str())])
            .header("x-vercel-blob-access", "private")
            .header("x-content-type", content_type)
            .header("x-add-random-suffix", "0")
            .header("x-allow-overwrite", "1")
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body)
            .send()
            .await
            .map_err(Self::transport)?;
        Self::check(res).await.map(drop)
    }

    #[tracing::instrument(name = "vercel.get", skip_all, fields(key = key.as_str()), err(Display))]
    async fn get(&self, key: &BlobKey) -> Result<Body, StorageError> {
        let url = self.url_of(key).await?;
        let res = self.client.get(&url).bearer_auth(self.token.expose()).send().await.map_err(Self::transport)?;
        let res = Self::check(res).await?;
        Ok(Body::from_stream(res.bytes_stream()))
    }

    /// `GET /api/blob?prefix=users/&limit=1000&cursor=…`, page after page.
    async fn list(&self) -> Option<Result<Vec<super::Listed>, StorageError>> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Page {
            blobs: Vec<Listed>,
            cursor: Option<String>,
            has_more: bool,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Listed {
            pathname: String,
            size: u64,
            uploaded_at: Option<String>,
        }
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("prefix", "users/".to_owned()), ("limit", "1000".to_owned())];
            if let Some(c) = cursor.take() {
                query.push(("cursor", c));
            }
            let res = match self.request(reqwest::Method::GET, &self.api_url).query(&query).send().await {
                Ok(r) => r,
                Err(e) => return Some(Err(Self::transport(e))),
            };
            let page: Page = match Self::check(res).await {
                Ok(r) => match r.json().await {
                    Ok(p) => p,
                    Err(e) => return Some(Err(Self::transport(e))),
                },
                Err(e) => return Some(Err(e)),
            };
            out.extend(page.blobs.into_iter().map(|b| {
                super::Listed {
                    modified: b
                        .uploaded_at
                        .and_then(|t| {
                            time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()
                        })
                        .map(std::time::SystemTime::from),
                    key: b.pathname,
                    bytes: b.size,
                }
            }));
            match page.cursor {
                Some(c) if page.has_more => cursor = Some(c),
                _ => break,
            }
        }
        Some(Ok(out))
    }

    #[tracing::instrument(name = "vercel.delete", skip_all, fields(key = key.as_str()), err(Display))]
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        let res = self
            .request(reqwest::Method::POST, &format!("{}/delete", self.api_url))
            .json(&serde_json::json!({ "urls": [key.as_str()] }))
            .send()
            .await
            .map_err(Self::transport)?;
        match Self::check(res).await {
            Ok(_) | Err(StorageError::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
