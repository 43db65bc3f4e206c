//! Inventory photos: registering an uploaded image, making thumbnails off the request path, and
//! deleting the stored objects. Server-only. Uploads arrive spooled to a temporary file (the
//! server's upload handler streams them there); nothing here holds a whole photo in memory except
//! the decoder while it makes a thumbnail.

use std::path::{Path, PathBuf};

use diesel_async::{AsyncConnection, AsyncPgConnection};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use super::types::PhotoView;
use crate::error::AppError;
use crate::ids::{AssetId, ItemId, UserId};
use crate::jobs::{Claimed, Job, JobError, Lane};
use crate::platform::db::{conn_as, next_id, query_failed};
use crate::platform::AppState;
use crate::storage::{Backend, BlobKey, ImageExt, PutError, Stores};

/// Makes a photo's thumbnails (`subject_id` is the original's asset id).
pub const THUMBNAILS: &str = "make_thumbnails";

pub struct Thumbnails;

#[async_trait::async_trait]
impl Job for Thumbnails {
    fn kind(&self) -> &'static str {
        THUMBNAILS
    }
    /// photos should not wait behind a long document
    fn lane(&self) -> Lane {
        Lane::Quick
    }
    async fn run(&self, state: &AppState, job: &Claimed) -> Result<(), JobError> {
        thumbnails_job(state, job.user_id, job.subject_id).await
    }
}

/// What an `inventory_assets` row holds: the photo as uploaded, or one of its thumbnails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum AssetKind {
    Original,
    Thumb256,
    Thumb1024,
}

impl AssetKind {
    pub const ALL: [AssetKind; 3] = [Self::Original, Self::Thumb256, Self::Thumb1024];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Thumb256 => "thumb_256",
            Self::Thumb1024 => "thumb_1024",
        }
    }

    /// The thumbnail of this size (one of [`THUMB_SIZES`]).
    pub fn thumb(size: u32) -> Option<Self> {
        match size {
            256 => Some(Self::Thumb256),
            1024 => Some(Self::Thumb1024),
            _ => None,
        }
    }
}

crate::text_column_enum!(AssetKind);

/// Thumbnail sizes (longest side, pixels).
pub const THUMB_SIZES: [u32; 2] = [256, 1024];

/// An upload, already on local disk.
#[derive(Debug)]
pub struct Spooled {
    pub path: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    pub ext: ImageExt,
}

pub use super::repo::assets::Asset;
use super::repo::assets::{self, NewAsset};

fn image_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(768 * 1024 * 1024);
    limits
}

fn not_an_image() -> AppError {
    AppError::validation("photos", "That file is not a readable JPEG, PNG, WebP or HEIC image.")
}

/// Reads an image's size (after EXIF orientation) without decoding the pixels.
fn dimensions(path: &Path) -> Result<(u32, u32), AppError> {
    let mut reader =
        ImageReader::open(path).map_err(|_| not_an_image())?.with_guessed_format().map_err(|_| not_an_image())?;
    reader.limits(image_limits());
    let mut decoder = reader.into_decoder().map_err(|_| not_an_image())?;
    let (w, h) = decoder.dimensions();
    let rotated = matches!(
        decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms),
        image::metadata::Orientation::Rotate90
            | image::metadata::Orientation::Rotate270
            | image::metadata::Orientation::Rotate90FlipH
            | image::metadata::Orientation::Rotate270FlipH
    );
    Ok(if rotated { (h, w) } else { (w, h) })
}

/// Decodes the whole image, upright.
fn decode_upright(path: &Path) -> Result<DynamicImage, String> {
    let mut reader =
        ImageReader::open(path).map_err(|e| e.to_string())?.with_guessed_format().map_err(|e| e.to_string())?;
    reader.limits(image_limits());
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// Stores an uploaded photo for one of the user's items and queues its thumbnails. The spooled
/// file is removed whatever happens.
#[tracing::instrument(skip_all, fields(user_id = user_id, item_id = item_id, bytes = upload.bytes))]
pub async fn add_photo(state: &AppState, user_id: i64, item_id: i64, upload: Spooled) -> Result<i64, AppError> {
    let path = upload.path.clone();
    let result = store_photo(state, user_id, item_id, upload).await;
    let _ = tokio::fs::remove_file(&path).await;
    result
}

/// Refuses a photo with more pixels than `max` (decoding it would take that many times four bytes).
pub fn check_pixels(width: u32, height: u32, max: u64) -> Result<(), AppError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max {
        return Err(AppError::validation(
            "photos",
            format!(
                "That photo is {width} × {height} pixels ({} megapixels); Bartleby takes photos up to {} megapixels.",
                pixels.div_ceil(1_000_000),
                max / 1_000_000
            ),
        ));
    }
    Ok(())
}

async fn store_photo(state: &AppState, user_id: i64, item_id: i64, upload: Spooled) -> Result<i64, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    if super::repo::find_item(&mut c, user_id, item_id).await.map_err(query_failed)?.is_none() {
        return Err(AppError::NotFound);
    }
    let path = upload.path.clone();
    let (width, height) = if upload.ext == ImageExt::Heic {
        crate::platform::heic::dimensions(&path).await?
    } else {
        tokio::task::spawn_blocking(move || dimensions(&path)).await.map_err(|_| AppError::Internal)??
    };
    check_pixels(width, height, state.config.photo_max_pixels)?;
    let id = next_id(&mut c, "inventory_assets_id_seq").await.map_err(query_failed)?;
    let key = BlobKey::inventory_photo(UserId(user_id), ItemId(item_id), AssetId(id), upload.ext);
    // the row and its thumbnails job together: the job survives a crash or restart
    let record = async |on: Backend| {
        let backend = on;
        c.transaction::<(), diesel::result::Error, _>(async |c| {
            let photo = NewAsset {
                id: Some(id),
                user_id,
                item_id,
                parent_id: None,
                kind: AssetKind::Original,
                backend,
                key: key.as_str(),
                content_type: upload.ext.content_type(),
                bytes: i64::try_from(upload.bytes).unwrap_or(i64::MAX),
                width: i32::try_from(width).unwrap_or(i32::MAX),
                height: i32::try_from(height).unwrap_or(i32::MAX),
                sha256: &upload.sha256,
            };
            assets::insert(c, &photo).await?;
            let store = state.images.local_store(backend);
            crate::jobs::enqueue_on(c, THUMBNAILS, user_id, id, store.clone()).await?;
            crate::jobs::enqueue_on(c, super::photo_text::READ_PHOTO_TEXT, user_id, id, store).await
        })
        .await
    };
    state.images.put_recorded(&key, &upload.path, upload.ext.content_type(), record).await.map_err(|e| match e {
        PutError::Store(_) => AppError::Unavailable,
        PutError::Record(e) => query_failed(e),
    })?;
    tracing::info!(user_id, item_id, asset_id = id, bytes = upload.bytes, "photo stored");
    state.jobs_added.notify_waiters();
    Ok(id)
}

/// The thumbnails job of one photo: reads the original back from storage (wherever it is now)
/// and makes what is missing. A photo deleted in the meantime needs nothing.
#[tracing::instrument(skip_all, fields(user_id = user_id, asset_id = asset_id))]
pub async fn thumbnails_job(state: &AppState, user_id: i64, asset_id: i64) -> Result<(), JobError> {
    let mut c = state.db.get().await.map_err(|e| e.to_string())?;
    let original = assets::find(&mut c, user_id, asset_id).await.map_err(|e| e.to_string())?;
    let Some(original) = original.filter(|a| a.kind == AssetKind::Original) else { return Ok(()) };
    let made = assets::thumbnail_count(&mut c, user_id, asset_id).await.map_err(|e| e.to_string())?;
    drop(c);
    if made >= THUMB_SIZES.len() as i64 {
        return Ok(());
    }
    let key = BlobKey::from_stored(&original.key).ok_or(JobError::Permanent("a stored key that is not ours".into()))?;
    let ext = original.key.rsplit('.').next().unwrap_or("img");
    let source = state.config.dirs.uploads.join("tmp").join(format!("thumbsrc-{asset_id}.{ext}"));
    // read back from wherever the photo is now (fetch_to_file makes the directory)
    let result = match state.images.fetch_to_file(original.backend, &key, &source).await {
        Ok(_) => make_thumbnails(state, user_id, original.item_id, asset_id, &source).await,
        Err(e) => Err(JobError::Retry(e.to_string())),
    };
    let _ = tokio::fs::remove_file(&source).await;
    result
}

/// A thumbnail written to a temporary file, ready to store.
struct Thumb {
    size: u32,
    path: PathBuf,
    width: u32,
    height: u32,
    bytes: u64,
    sha256: String,
}

/// What the thumbnails child made of a photo: its upright size and a JPEG per size.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Rendered {
    pub width: u32,
    pub height: u32,
    /// (longest side asked for, file, width, height)
    pub thumbs: Vec<(u32, PathBuf, u32, u32)>,
}

/// The child's side of [`make_thumbnails`]: decodes `source` and writes `source.thumb{size}.jpg`
/// for each size. Blocking; runs in the limited parser child (`bartleby parse thumbnails`).
pub fn render_thumbnails(source: &Path) -> Result<Rendered, String> {
    let img = decode_upright(source)?;
    let mut thumbs = Vec::new();
    for size in THUMB_SIZES {
        let thumb = if img.width() > size || img.height() > size { img.thumbnail(size, size) } else { img.clone() };
        let path = source.with_extension(format!("thumb{size}.jpg"));
        let mut buf = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 85)
            .encode_image(&thumb.to_rgb8())
            .map_err(|e| e.to_string())?;
        std::fs::write(&path, &buf).map_err(|e| e.to_string())?;
        thumbs.push((size, path, thumb.width(), thumb.height()));
    }
    Ok(Rendered { width: img.width(), height: img.height(), thumbs })
}

/// Makes the thumbnails of one photo from its spooled file (runs after the upload has answered).
/// The decoding happens in a limited child process: a hostile image fails its photo only.
async fn make_thumbnails(
    state: &AppState,
    user_id: i64,
    item_id: i64,
    parent: i64,
    source: &Path,
) -> Result<(), JobError> {
    use crate::platform::sandbox::SandboxError;
    // a HEIC photo is decoded by libheif's tool to a PNG first (rotation applied by it)
    let png = source.with_extension("decoded.png");
    let heic = source.extension().is_some_and(|e| e == ImageExt::Heic.as_str());
    if heic {
        crate::platform::heic::to_png(source, &png).await.map_err(JobError::Permanent)?;
    }
    let src = if heic { png.clone() } else { source.to_owned() };
    let parser = &state.config.parser;
    let rendered: Result<Result<Rendered, String>, _> = crate::platform::sandbox::run(
        &parser.exe,
        &["thumbnails".as_ref(), src.as_os_str()],
        parser.memory,
        parser.time,
    )
    .await;
    if heic {
        let _ = tokio::fs::remove_file(&png).await;
    }
    // the same file fails the same way next time: only a missing tool or an I/O error is worth a retry
    let rendered = match rendered {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(JobError::Permanent(format!("the photo could not be decoded: {e}"))),
        Err(e @ (SandboxError::Missing(_) | SandboxError::Io(_))) => return Err(JobError::Retry(e.to_string())),
        Err(e) => return Err(JobError::Permanent(format!("the photo could not be decoded: {e}"))),
    };
    let mut outputs = Vec::new();
    for (size, path, width, height) in rendered.thumbs {
        let (bytes, sha256) = crate::storage::sha256_file(&path).await.map_err(|e| e.to_string())?;
        outputs.push(Thumb { size, path, width, height, bytes, sha256 });
    }
    let (width, height) = (rendered.width, rendered.height);
    let mut c = state.db.get().await.map_err(|e| e.to_string())?;
    if heic {
        // the size read at upload is before the file's rotation; the decoded one is upright
        let (w, h) = (i32::try_from(width).unwrap_or(i32::MAX), i32::try_from(height).unwrap_or(i32::MAX));
        assets::set_size(&mut c, user_id, parent, w, h).await.map_err(|e| e.to_string())?;
    }
    for Thumb { size, path, width: w, height: h, bytes, sha256: sha } in outputs {
        let kind = AssetKind::thumb(size).ok_or(JobError::Permanent(format!("no thumbnail is {size} px")))?;
        let key = BlobKey::thumbnail(UserId(user_id), ItemId(item_id), AssetId(parent), size);
        let record = async |on: Backend| {
            let backend = on;
            let thumb = NewAsset {
                id: None,
                user_id,
                item_id,
                parent_id: Some(parent),
                kind,
                backend,
                key: key.as_str(),
                content_type: "image/jpeg",
                bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
                width: i32::try_from(w).unwrap_or(i32::MAX),
                height: i32::try_from(h).unwrap_or(i32::MAX),
                sha256: &sha,
            };
            assets::insert_once(&mut c, &thumb).await
        };
        let stored = state.images.put_recorded(&key, &path, "image/jpeg", record).await;
        let _ = tokio::fs::remove_file(&path).await;
        stored.map_err(|e| match e {
            PutError::Store(e) => e.to_string(),
            PutError::Record(e) => e.to_string(),
        })?;
    }
    Ok(())
}

/// The user's asset with this id (any kind), if it is theirs.
pub async fn find_asset(state: &AppState, user_id: i64, id: i64) -> Result<Asset, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    assets::find(&mut c, user_id, id).await.map_err(query_failed)?.ok_or(AppError::NotFound)
}

/// The photos of one item, with their thumbnails' ids.
pub async fn item_photos(
    c: &mut AsyncPgConnection,
    preferred: Backend,
    user_id: i64,
    item_id: i64,
) -> Result<Vec<PhotoView>, AppError> {
    let assets = assets::of_item(c, user_id, item_id).await.map_err(query_failed)?;
    let thumb = |parent: i64, kind: AssetKind| {
        assets.iter().find(|t| t.parent_id == Some(parent) && t.kind == kind).map(|t| t.id)
    };
    Ok(assets
        .iter()
        .filter(|x| x.kind == AssetKind::Original)
        .map(|o| PhotoView {
            id: o.id,
            width: o.width,
            height: o.height,
            thumb_256: thumb(o.id, AssetKind::Thumb256),
            thumb_1024: thumb(o.id, AssetKind::Thumb1024),
            backend: o.backend.as_str().to_owned(),
            preferred_backend: preferred.as_str().to_owned(),
            text: o.ocr_text.clone(),
        })
        .collect())
}

/// Deletes stored objects (after their rows are gone); failures are logged, never shown.
pub async fn delete_objects(stores: &Stores, objects: Vec<(Backend, String)>) {
    for (backend, key) in objects {
        match BlobKey::from_stored(&key) {
            Some(k) => {
                if let Err(e) = stores.delete(backend, &k).await {
                    tracing::warn!(error = %e, key, "could not delete a stored object");
                }
            }
            None => tracing::error!(key, "refusing to delete an unexpected storage key"),
        }
    }
}

/// Backend and key of every object of an item (photos and thumbnails).
pub async fn item_keys(
    c: &mut AsyncPgConnection,
    user_id: i64,
    item_id: i64,
) -> Result<Vec<(Backend, String)>, AppError> {
    assets::item_keys(c, user_id, item_id).await.map_err(query_failed)
}

/// Deletes one photo and its thumbnails.
pub async fn delete_photo(state: &AppState, user_id: i64, photo_id: i64) -> Result<i64, AppError> {
    let photo = find_asset(state, user_id, photo_id).await?;
    if photo.kind != AssetKind::Original {
        return Err(AppError::NotFound);
    }
    let mut c = conn_as(&state.db, user_id).await?;
    let keys = assets::photo_keys(&mut c, user_id, photo_id).await.map_err(query_failed)?;
    assets::delete(&mut c, user_id, photo_id).await.map_err(query_failed)?;
    delete_objects(&state.images, keys).await;
    Ok(photo.item_id)
}

/// Photos and thumbnails, as storage relocation sees them.
pub struct Photos;

crate::impl_holdings!(Photos {
    table: inventory_assets,
    label: "photos and thumbnails",
    stores: images,
    local_dir: inventory_images,
    on_vercel: true,
    content_type: content_type => |c| c,
});
