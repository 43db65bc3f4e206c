//! Blob storage: where users' files live. Server-only.
//!
//! [`BlobKey`] owns the path layout (`users/{user_id}/…`): no other code builds a storage path, and
//! nothing a user sends (a file name, say) ever becomes part of one. [`BlobStore`] is the one
//! interface every backend implements; this module has the local-disk backend.

pub mod build;
pub mod guard;
pub mod relocate;
pub mod s3;
pub mod vercel;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;

use crate::ids::{ArchiveId, AssetId, DocumentId, ExportId, ItemId, UserId};

/// A storage key. Made only by the constructors below, so it is always a safe relative path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    /// An inventory photo as uploaded: `users/{user}/inventory/{item}_{asset}.{ext}`.
    pub fn inventory_photo(user_id: UserId, item_id: ItemId, asset_id: AssetId, ext: ImageExt) -> Self {
        Self(format!("users/{user_id}/inventory/{item_id}_{asset_id}.{}", ext.as_str()))
    }

    /// A thumbnail: `users/{user}/thumbnails/{item}_{asset}_thumb{size}.jpg`.
    pub fn thumbnail(user_id: UserId, item_id: ItemId, asset_id: AssetId, size: u32) -> Self {
        Self(format!("users/{user_id}/thumbnails/{item_id}_{asset_id}_thumb{size}.jpg"))
    }

    /// An export: `users/{user}/exports/{export}.{ext}`.
    pub fn export(user_id: UserId, export_id: ExportId, ext: &'static str) -> Self {
        Self(format!("users/{user_id}/exports/{export_id}.{ext}"))
    }

    /// An account archive: `users/{user}/archives/{archive}.zip`.
    pub fn archive(user_id: UserId, archive_id: ArchiveId) -> Self {
        Self(format!("users/{user_id}/archives/{archive_id}.zip"))
    }

    /// An uploaded document: `users/{user}/documents/{document}.{ext}`.
    pub fn document(user_id: UserId, document_id: DocumentId, ext: &'static str) -> Self {
        Self(format!("users/{user_id}/documents/{document_id}.{ext}"))
    }

    /// A key no object has: the background probe asks a provider for it ("not found" = it answers).
    pub fn probe() -> Self {
        Self("users/0/.bartleby-probe".to_owned())
    }

    /// Rebuilds a key read back from the database, refusing anything that is not a plain
    /// `users/{id}/…` relative path.
    pub fn from_stored(key: &str) -> Option<Self> {
        let mut parts = key.split('/');
        let ok = parts.next() == Some("users")
            && parts.next().is_some_and(|id| id.parse::<i64>().is_ok())
            && key.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
            && !key.contains('\\')
            && !key.contains('\0');
        ok.then(|| Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The image types Bartleby stores, recognised by content, never by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageExt {
    Jpeg,
    Png,
    Webp,
    /// HEIC/HEIF (an iPhone's photos), decoded by libheif's tools (see `platform::heic`)
    Heic,
}

/// The ISO BMFF brands of HEIF still images (HEVC-coded, or generic HEIF).
const HEIF_BRANDS: [&[u8; 4]; 8] = [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"];

impl ImageExt {
    /// Recognises an image by its first bytes.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else if head.len() >= 12 && &head[4..8] == b"ftyp" && HEIF_BRANDS.iter().any(|b| &head[8..12] == *b) {
            Some(Self::Heic)
        } else {
            None
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Heic => "heic",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{backend} failed: {message}")]
    Provider { backend: Backend, message: String },
    #[error("no {0} backend is configured")]
    Unconfigured(Backend),
}

/// A file's size and sha256 (hex), read in pieces: what rows of stored objects record.
pub async fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    use sha2::Digest;
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let read = file.read(&mut buf).await?;
        if read == 0 {
            break;
        }
        n += read as u64;
        hasher.update(&buf[..read]);
    }
    Ok((n, format!("{:x}", hasher.finalize())))
}

/// A storage backend, as rows record it (`backend` columns; [`Backend::as_str`] is the spelling).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Backend {
    Local,
    S3,
    Vercel,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Self::Local, Self::S3, Self::Vercel];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::S3 => "s3",
            Self::Vercel => "vercel",
        }
    }
}

crate::text_column_enum!(Backend);

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why [`Stores::put_recorded`] kept nothing.
#[derive(Debug)]
pub enum PutError<E> {
    /// no backend took the object
    Store(StorageError),
    /// the row could not be written (the object was deleted again)
    Record(E),
}

/// The backends for one purpose (photos, documents, exports): where new objects go, and every
/// backend an existing object may be on (each row records its own).
#[derive(Clone)]
pub struct Stores {
    preferred: Arc<dyn BlobStore>,
    local: Arc<dyn BlobStore>,
    /// The preferred provider with its time limit and breaker (`None` when it is local disk).
    guard: Option<Arc<guard::GuardedStore>>,
}

impl Stores {
    /// A provider (S3, Vercel Blob) with local disk as the fallback. Every call to the provider
    /// gets at most `timeout` (see [`guard`]).
    pub fn new(preferred: Arc<dyn BlobStore>, local: Arc<dyn BlobStore>, timeout: Duration) -> Self {
        let guard = Arc::new(guard::GuardedStore::new(preferred, timeout));
        Self { preferred: guard.clone(), local, guard: Some(guard) }
    }

    pub fn local_only(local: Arc<dyn BlobStore>) -> Self {
        Self { preferred: local.clone(), local, guard: None }
    }

    /// The provider's state as last seen (`None`: objects stay on local disk).
    pub fn provider_state(&self) -> Option<(Backend, guard::ProviderState)> {
        self.guard.as_ref().map(|g| (g.backend(), g.state()))
    }

    /// Probes the provider when it is down, so the breaker closes once it answers again.
    pub async fn probe(&self) {
        if let Some(g) = &self.guard {
            if g.state() != guard::ProviderState::Up {
                g.probe().await;
            }
        }
    }

    /// The backend new objects should go to.
    pub fn preferred_backend(&self) -> Backend {
        self.preferred.backend()
    }

    /// Stores on the preferred backend; when it is down, refuses or times out, stores on local
    /// disk instead. Returns the backend that really has the object (record it with the object).
    pub async fn put_file(&self, key: &BlobKey, source: &Path, content_type: &str) -> Result<Backend, StorageError> {
        if self.preferred.backend() != self.local.backend() {
            match self.preferred.put_file(key, source, content_type).await {
                Ok(()) => return Ok(self.preferred.backend()),
                Err(e) => tracing::warn!(error = %e, key = key.as_str(), "provider failed; storing on local disk"),
            }
        }
        self.local.put_file(key, source, content_type).await?;
        Ok(self.local.backend())
    }

    /// The one way a new object is kept: puts the file at `key` (see [`Stores::put_file`]), then
    /// runs `record` with the backend that has it — the row that points at the object. When the
    /// row cannot be written, the object is deleted again: no row, no object.
    pub async fn put_recorded<T, E>(
        &self,
        key: &BlobKey,
        source: &Path,
        content_type: &str,
        record: impl AsyncFnOnce(Backend) -> Result<T, E>,
    ) -> Result<T, PutError<E>> {
        let backend = self.put_file(key, source, content_type).await.map_err(|e| {
            tracing::error!(error = %e, key = key.as_str(), "could not store an object");
            PutError::Store(e)
        })?;
        match record(backend).await {
            Ok(t) => Ok(t),
            Err(e) => {
                if let Err(err) = self.delete(backend, key).await {
                    tracing::warn!(error = %err, key = key.as_str(), "an object without a row could not be deleted");
                }
                Err(PutError::Record(e))
            }
        }
    }

    fn on(&self, backend: Backend) -> Result<&Arc<dyn BlobStore>, StorageError> {
        [&self.preferred, &self.local]
            .into_iter()
            .find(|s| s.backend() == backend)
            .ok_or(StorageError::Unconfigured(backend))
    }

    pub fn local_backend(&self) -> Backend {
        self.local.backend()
    }

    /// The id of the local disk an object on `backend` is on (`None` for a provider's objects,
    /// which every server reaches). Recorded with the object's jobs.
    pub fn local_store(&self, backend: Backend) -> Option<String> {
        (backend == self.local.backend()).then(|| self.local.store_id()).flatten()
    }

    /// The id of this server's local disk for these objects.
    pub fn local_store_id(&self) -> Option<String> {
        self.local.store_id()
    }

    pub async fn get(&self, backend: Backend, key: &BlobKey) -> Result<Body, StorageError> {
        self.on(backend)?.get(key).await
    }

    pub async fn delete(&self, backend: Backend, key: &BlobKey) -> Result<(), StorageError> {
        self.on(backend)?.delete(key).await
    }

    /// Puts a file at `key` on `backend` itself (no fallback): restoring an object where its row
    /// says it is.
    pub async fn put_on(
        &self,
        backend: Backend,
        key: &BlobKey,
        source: &Path,
        content_type: &str,
    ) -> Result<(), StorageError> {
        self.on(backend)?.put_file(key, source, content_type).await
    }

    /// Whether the object is there (a provider's is asked for, not read).
    pub async fn exists(&self, backend: Backend, key: &BlobKey) -> Result<bool, StorageError> {
        match self.on(backend)?.get(key).await {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The backends these stores reach, each once.
    pub fn backends(&self) -> Vec<Arc<dyn BlobStore>> {
        if self.preferred.backend() == self.local.backend() {
            vec![self.local.clone()]
        } else {
            vec![self.preferred.clone(), self.local.clone()]
        }
    }

    /// The object's size in bytes, read through (a provider's object is streamed, not kept).
    pub async fn size(&self, backend: Backend, key: &BlobKey) -> Result<u64, StorageError> {
        use futures::StreamExt;
        let mut body = self.on(backend)?.get(key).await?.into_data_stream();
        let mut n = 0u64;
        while let Some(chunk) = body.next().await {
            n += chunk.map_err(|e| StorageError::Io(std::io::Error::other(e.to_string())))?.len() as u64;
        }
        Ok(n)
    }

    /// Copies an object into a local file (for work that needs a file: text extraction).
    pub async fn fetch_to_file(&self, backend: Backend, key: &BlobKey, dest: &Path) -> Result<u64, StorageError> {
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        copy_to_file(self.on(backend)?.as_ref(), key, dest, |_| {}).await
    }
}

/// Streams the object at `key` into the file `dest`, showing each piece to `each` (a hasher, say).
/// Returns its size.
pub async fn copy_to_file(
    store: &dyn BlobStore,
    key: &BlobKey,
    dest: &Path,
    mut each: impl FnMut(&[u8]),
) -> Result<u64, StorageError> {
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let body = store.get(key).await?;
    let mut file = tokio::fs::File::create(dest).await?;
    let mut stream = body.into_data_stream();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| StorageError::Provider { backend: store.backend(), message: e.to_string() })?;
        n += chunk.len() as u64;
        each(&chunk);
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    Ok(n)
}

/// One storage backend.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Recorded with every object.
    fn backend(&self) -> Backend;
    /// Stores the file at `source` (a spooled upload or a generated thumbnail) under `key`.
    async fn put_file(&self, key: &BlobKey, source: &Path, content_type: &str) -> Result<(), StorageError>;
    /// Streams the object.
    async fn get(&self, key: &BlobKey) -> Result<Body, StorageError>;
    /// Removes the object; a missing object is not an error.
    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError>;
    /// The object's file, for backends that keep objects as local files.
    fn local_path(&self, _key: &BlobKey) -> Option<PathBuf> {
        None
    }
    /// For local disk: the id of this directory (servers that share it share the id), so a job
    /// about an object here is claimed only by a server that can read it.
    fn store_id(&self) -> Option<String> {
        None
    }
    /// Every object under `users/` (for the orphan check). `None`: this backend cannot list.
    async fn list(&self) -> Option<Result<Vec<Listed>, StorageError>> {
        None
    }
}

/// An object as a backend lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub bytes: u64,
    pub modified: Option<std::time::SystemTime>,
}

/// Local disk, under a root directory (`INVENTORY_IMAGES_DIR`, `DOCUMENT_DIRECTORY`, …).
pub struct LocalBlobStore {
    root: PathBuf,
    id: std::sync::OnceLock<String>,
}

/// The file in a local store's root that names it.
const STORE_ID_FILE: &str = ".bartleby-store-id";

impl LocalBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), id: std::sync::OnceLock::new() }
    }

    /// Reads the directory's id, making one the first time (random; kept in the directory so a
    /// shared volume has one id for every server that mounts it).
    fn read_or_make_id(&self) -> String {
        let file = self.root.join(STORE_ID_FILE);
        if let Ok(id) = std::fs::read_to_string(&file) {
            if !id.trim().is_empty() {
                return id.trim().to_owned();
            }
        }
        let id = format!("{:032x}", rand::random::<u128>());
        let written = std::fs::create_dir_all(&self.root).and_then(|()| {
            // create_new: two servers starting at once on a shared volume agree on the first id
            use std::io::Write;
            std::fs::OpenOptions::new().write(true).create_new(true).open(&file)?.write_all(id.as_bytes())
        });
        match written {
            Ok(()) => id,
            Err(_) => std::fs::read_to_string(&file).map(|s| s.trim().to_owned()).unwrap_or(id),
        }
    }

    fn path(&self, key: &BlobKey) -> PathBuf {
        self.root.join(key.as_str())
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    #[tracing::instrument(name = "local.put", skip_all, fields(key = key.as_str()), err(Display))]
    async fn put_file(&self, key: &BlobKey, source: &Path, _content_type: &str) -> Result<(), StorageError> {
        let dest = self.path(key);
        if let Some(dir) = dest.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        // copy to a temporary name beside the destination, then rename: readers never see half a file
        let partial = dest.with_extension(format!("partial-{}", std::process::id()));
        tokio::fs::copy(source, &partial).await?;
        tokio::fs::rename(&partial, &dest).await?;
        Ok(())
    }

    async fn get(&self, key: &BlobKey) -> Result<Body, StorageError> {
        match tokio::fs::File::open(self.path(key)).await {
            Ok(f) => Ok(Body::from_stream(tokio_util::io::ReaderStream::new(f))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StorageError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    fn local_path(&self, key: &BlobKey) -> Option<PathBuf> {
        Some(self.path(key))
    }

    async fn list(&self) -> Option<Result<Vec<Listed>, StorageError>> {
        let root = self.root.clone();
        let walk = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let mut stack = vec![root.join("users")];
            while let Some(dir) = stack.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(StorageError::Io(e)),
                };
                for e in entries {
                    let e = e?;
                    let meta = e.metadata()?;
                    let path = e.path();
                    if meta.is_dir() {
                        stack.push(path);
                    } else if let Ok(rel) = path.strip_prefix(&root) {
                        let key = rel.to_string_lossy().into_owned();
                        // a half-written copy (`.partial-PID`) is the writer's, not an orphan
                        if !key.contains(".partial-") {
                            out.push(Listed { key, bytes: meta.len(), modified: meta.modified().ok() });
                        }
                    }
                }
            }
            Ok(out)
        });
        Some(walk.await.unwrap_or_else(|e| Err(StorageError::Io(std::io::Error::other(e.to_string())))))
    }

    fn store_id(&self) -> Option<String> {
        Some(self.id.get_or_init(|| self.read_or_make_id()).clone())
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_layout_and_reject_tricks() {
        let k = BlobKey::inventory_photo(UserId(7), ItemId(42), AssetId(3), ImageExt::Png);
        assert_eq!(k.as_str(), "users/7/inventory/42_3.png");
        assert_eq!(
            BlobKey::thumbnail(UserId(7), ItemId(42), AssetId(3), 256).as_str(),
            "users/7/thumbnails/42_3_thumb256.jpg"
        );
        assert_eq!(BlobKey::from_stored(k.as_str()), Some(k));
        for bad in ["/etc/passwd", "users/7/../8/x.jpg", "users/x/a.jpg", "users/7//a", "other/7/a.jpg", "users/7/a\\b"]
        {
            assert_eq!(BlobKey::from_stored(bad), None, "{bad}");
        }
    }

    #[test]
    fn images_are_recognised_by_content() {
        assert_eq!(ImageExt::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageExt::Jpeg));
        assert_eq!(ImageExt::sniff(b"\x89PNG\r\n\x1a\n...."), Some(ImageExt::Png));
        assert_eq!(ImageExt::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageExt::Webp));
        assert_eq!(ImageExt::sniff(b"%PDF-1.7"), None);
        assert_eq!(ImageExt::sniff(b""), None);
    }

    #[tokio::test]
    async fn local_store_round_trip() {
        let root = std::env::temp_dir().join(format!("bartleby-store-{}", rand::random::<u32>()));
        let store = LocalBlobStore::new(&root);
        let src = root.join("src.bin");
        tokio::fs::create_dir_all(&root).await.unwrap();
        tokio::fs::write(&src, b"hello").await.unwrap();
        let key = BlobKey::inventory_photo(UserId(1), ItemId(2), AssetId(3), ImageExt::Jpeg);
        store.put_file(&key, &src, "image/jpeg").await.unwrap();
        assert_eq!(tokio::fs::read(root.join("users/1/inventory/2_3.jpg")).await.unwrap(), b"hello");
        assert!(store.get(&key).await.is_ok());
        store.delete(&key).await.unwrap();
        store.delete(&key).await.unwrap();
        assert!(matches!(store.get(&key).await, Err(StorageError::NotFound)));
        let _ = tokio::fs::remove_dir_all(&root).await;
    }
}
