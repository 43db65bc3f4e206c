//! Amazon S3 (or any S3-compatible server: `AWS_ENDPOINT_URL`), through aws-sdk-s3.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use axum::body::Body;

use super::{Backend, BlobKey, BlobStore, StorageError};
use crate::platform::config::S3Config;

pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
}

fn provider<E: std::fmt::Display>(e: E) -> StorageError {
    StorageError::Provider { backend: Backend::S3, message: e.to_string() }
}

impl S3BlobStore {
    /// Needs `AWS_S3_EXPRESS_BUCKET`, `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`; the message
    /// of an error names the missing variable.
    pub fn new(config: &S3Config) -> Result<Self, String> {
        let bucket = config.bucket.clone().ok_or("AWS_S3_EXPRESS_BUCKET is not set")?;
        let key_id = config.access_key_id.clone().ok_or("AWS_ACCESS_KEY_ID is not set")?;
        let secret = config.secret_access_key.clone().ok_or("AWS_SECRET_ACCESS_KEY is not set")?;
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(Credentials::new(key_id, secret.expose(), None, None, "bartleby"))
            // fail over to local disk quickly rather than retrying for long
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(120))
                    .build(),
            );
        if let Some(endpoint) = &config.endpoint_url {
            builder = builder.endpoint_url(endpoint).force_path_style(true);
        }
        Ok(Self { client: aws_sdk_s3::Client::from_conf(builder.build()), bucket })
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn backend(&self) -> Backend {
        Backend::S3
    }

    #[tracing::instrument(name = "s3.put", skip_all, fields(key = key.as_str()), err(Display))]
    async fn put_file(&self, key: &BlobKey, source: &Path, content_type: &str) -> Result<(), StorageError> {
        let body = ByteStream::from_path(source).await.map_err(provider)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| provider(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    #[tracing::instrument(name = "s3.get", skip_all, fields(key = key.as_str()), err(Display))]
    async fn get(&self, key: &BlobKey) -> Result<Body, StorageError> {
        match self.client.get_object().bucket(&self.bucket).key(key.as_str()).send().await {
            Ok(out) => {
                let reader = out.body.into_async_read();
                Ok(Body::from_stream(tokio_util::io::ReaderStream::new(reader)))
            }
            Err(e) => {
                let missing = e.as_service_error().is_some_and(|s| s.is_no_such_key());
                if missing {
                    Err(StorageError::NotFound)
                } else {
                    Err(provider(aws_sdk_s3::error::DisplayErrorContext(e)))
                }
            }
        }
    }

    async fn list(&self) -> Option<Result<Vec<super::Listed>, StorageError>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix("users/")
                .set_continuation_token(token.take())
                .send()
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => return Some(Err(provider(aws_sdk_s3::error::DisplayErrorContext(e)))),
            };
            for o in page.contents() {
                let Some(key) = o.key() else { continue };
                let modified = o.last_modified().and_then(|t| std::time::SystemTime::try_from(*t).ok());
                out.push(super::Listed {
                    key: key.to_owned(),
                    bytes: u64::try_from(o.size().unwrap_or(0)).unwrap_or(0),
                    modified,
                });
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => break,
            }
        }
        Some(Ok(out))
    }

    #[tracing::instrument(name = "s3.delete", skip_all, fields(key = key.as_str()), err(Display))]
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| provider(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }
}
