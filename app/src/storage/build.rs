//! The stores, built from the configuration: where new photos, documents and exports go, with
//! local disk always there as the fallback, and every backend an old object may be on.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::s3::S3BlobStore;
use super::vercel::VercelBlobStore;
use super::{Backend, BlobStore, LocalBlobStore, Stores};
use crate::platform::config::{Config, ConfigError, StorageBackend};

fn s3(config: &Config, var: &'static str, why: &str) -> Result<S3BlobStore, ConfigError> {
    S3BlobStore::new(&config.s3).map_err(|e| ConfigError { var, message: format!("{why}{e}") })
}

fn vercel(config: &Config, token: &crate::platform::config::Secret) -> Result<VercelBlobStore, ConfigError> {
    VercelBlobStore::new(&config.vercel_blob_api_url, token.clone())
        .map_err(|message| ConfigError { var: "BLOB_READ_WRITE_TOKEN", message })
}

/// Photos go to S3 when `STORAGE_BACKEND=s3`, to Vercel Blob when it is `vercel` (or `auto` with a
/// token), to local disk (`INVENTORY_IMAGES_DIR`) otherwise.
pub fn images(config: &Config) -> Result<Stores, ConfigError> {
    let local: Arc<dyn BlobStore> = Arc::new(LocalBlobStore::new(config.dirs.inventory_images.clone()));
    if config.storage_backend == StorageBackend::S3 {
        let s3 = s3(config, "STORAGE_BACKEND", "it is s3, but ")?;
        tracing::info!("photos go to S3 (local disk if it fails)");
        return Ok(Stores::new(Arc::new(s3), local, config.storage_timeout));
    }
    let vercel = match (config.storage_backend, &config.blob_read_write_token) {
        (StorageBackend::Vercel | StorageBackend::Auto, Some(token)) => Some(vercel(config, token)?),
        (StorageBackend::Vercel, None) => {
            return Err(ConfigError { var: "BLOB_READ_WRITE_TOKEN", message: "STORAGE_BACKEND=vercel needs it".into() })
        }
        _ => None,
    };
    Ok(match vercel {
        Some(v) => {
            tracing::info!(api = %config.vercel_blob_api_url, "photos go to Vercel Blob (local disk if it fails)");
            Stores::new(Arc::new(v), local, config.storage_timeout)
        }
        None => Stores::local_only(local),
    })
}

/// Documents and exports go to S3 when it is configured (`STORAGE_BACKEND` `s3`, or `auto` with a
/// bucket), to local disk otherwise: Vercel Blob holds photos only, as the deployment guide says.
fn papers(config: &Config, local_dir: PathBuf) -> Result<Stores, ConfigError> {
    let local: Arc<dyn BlobStore> = Arc::new(LocalBlobStore::new(local_dir));
    let wants_s3 = match config.storage_backend {
        StorageBackend::S3 => true,
        StorageBackend::Auto => config.s3.bucket.is_some(),
        StorageBackend::Local | StorageBackend::Vercel => false,
    };
    if wants_s3 {
        let s3 = s3(config, "AWS_S3_EXPRESS_BUCKET", "")?;
        return Ok(Stores::new(Arc::new(s3), local, config.storage_timeout));
    }
    Ok(Stores::local_only(local))
}

/// Uploaded documents (`DOCUMENT_DIRECTORY` on local disk).
pub fn documents(config: &Config) -> Result<Stores, ConfigError> {
    papers(config, config.dirs.documents.clone())
}

/// Inventory exports (`EXPORTS_DIR` on local disk).
pub fn exports(config: &Config) -> Result<Stores, ConfigError> {
    papers(config, config.dirs.exports.clone())
}

/// Every backend the configuration can reach, by name, with local disk rooted at `local_dir`
/// (`local` is always there): the sources and targets of `storage migrate`.
pub fn backends(config: &Config, local_dir: PathBuf) -> Result<HashMap<Backend, Arc<dyn BlobStore>>, ConfigError> {
    let mut all: HashMap<Backend, Arc<dyn BlobStore>> = HashMap::new();
    all.insert(Backend::Local, Arc::new(LocalBlobStore::new(local_dir)));
    if let Some(token) = &config.blob_read_write_token {
        all.insert(Backend::Vercel, Arc::new(vercel(config, token)?));
    }
    if config.s3.bucket.is_some() {
        all.insert(Backend::S3, Arc::new(s3(config, "AWS_S3_EXPRESS_BUCKET", "")?));
    }
    Ok(all)
}
