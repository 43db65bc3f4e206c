//! Inventory photos: registering an uploaded image, making thumbnails off the request path, and
//! deleting the stored objects. Server-only. Uploads arrive spooled to a temporary file (the
//! server's upload handler streams them there); nothing here holds a whole photo in memory except
//! the decoder while it makes a thumbnail.

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use super::types::PhotoView;
use crate::documents::jobs::JobError;
use crate::error::AppError;
use crate::server::db::{conn, next_id, query_failed};
use crate::server::schema::inventory_assets::dsl as a;
use crate::server::AppState;
use crate::storage::{BlobKey, ImageExt, Stores};

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

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::server::schema::inventory_assets, check_for_backend(diesel::pg::Pg))]
pub struct Asset {
    pub id: i64,
    pub user_id: i64,
    pub item_id: i64,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub backend: String,
    pub key: String,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
}

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
    let mut c = conn(&state.db).await?;
    if super::repo::find_item(&mut c, user_id, item_id).await.map_err(query_failed)?.is_none() {
        return Err(AppError::NotFound);
    }
    let path = upload.path.clone();
    let (width, height) = if upload.ext == ImageExt::Heic {
        super::heic::dimensions(&path).await?
    } else {
        tokio::task::spawn_blocking(move || dimensions(&path)).await.map_err(|_| AppError::Internal)??
    };
    check_pixels(width, height, state.config.photo_max_pixels)?;
    let id = next_id(&mut c, "inventory_assets_id_seq").await.map_err(query_failed)?;
    let key = BlobKey::inventory_photo(user_id, item_id, id, upload.ext);
    let backend = state.images.put_file(&key, &upload.path, upload.ext.content_type()).await.map_err(|e| {
        tracing::error!(error = %e, "could not store a photo");
        AppError::Unavailable
    })?;
    // the row and its thumbnails job together: the job survives a crash or restart
    let inserted = c
        .transaction::<(), diesel::result::Error, _>(async |c| {
            diesel::insert_into(a::inventory_assets)
                .values((
                    a::id.eq(id),
                    a::user_id.eq(user_id),
                    a::item_id.eq(item_id),
                    a::kind.eq("original"),
                    a::backend.eq(backend),
                    a::key.eq(key.as_str()),
                    a::content_type.eq(upload.ext.content_type()),
                    a::bytes.eq(i64::try_from(upload.bytes).unwrap_or(i64::MAX)),
                    a::width.eq(i32::try_from(width).unwrap_or(i32::MAX)),
                    a::height.eq(i32::try_from(height).unwrap_or(i32::MAX)),
                    a::sha256.eq(&upload.sha256),
                ))
                .execute(c)
                .await?;
            let store = state.images.local_store(backend);
            crate::documents::jobs::enqueue_on(c, crate::documents::jobs::THUMBNAILS, user_id, id, store).await
        })
        .await;
    if let Err(e) = inserted {
        let _ = state.images.delete(backend, &key).await; // no row, no object
        return Err(query_failed(e));
    }
    tracing::info!(user_id, item_id, asset_id = id, bytes = upload.bytes, "photo stored");
    state.jobs_added.notify_waiters();
    Ok(id)
}

/// The thumbnails job of one photo: reads the original back from storage (wherever it is now)
/// and makes what is missing. A photo deleted in the meantime needs nothing.
pub async fn thumbnails_job(state: &AppState, user_id: i64, asset_id: i64) -> Result<(), JobError> {
    let mut c = state.db.get().await.map_err(|e| e.to_string())?;
    let original: Option<Asset> = a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::id.eq(asset_id))
        .filter(a::kind.eq("original"))
        .select(Asset::as_select())
        .first(&mut c)
        .await
        .optional()
        .map_err(|e| e.to_string())?;
    let Some(original) = original else { return Ok(()) };
    let made: i64 = a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::parent_id.eq(asset_id))
        .count()
        .get_result(&mut c)
        .await
        .map_err(|e| e.to_string())?;
    drop(c);
    if made >= THUMB_SIZES.len() as i64 {
        return Ok(());
    }
    let key = BlobKey::from_stored(&original.key).ok_or(JobError::Permanent("a stored key that is not ours".into()))?;
    let ext = original.key.rsplit('.').next().unwrap_or("img");
    let source = state.config.dirs.uploads.join("tmp").join(format!("thumbsrc-{asset_id}.{ext}"));
    // read back from wherever the photo is now (fetch_to_file makes the directory)
    let result = match state.images.fetch_to_file(&original.backend, &key, &source).await {
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
    use crate::server::sandbox::SandboxError;
    // a HEIC photo is decoded by libheif's tool to a PNG first (rotation applied by it)
    let png = source.with_extension("decoded.png");
    let heic = source.extension().is_some_and(|e| e == ImageExt::Heic.as_str());
    if heic {
        super::heic::to_png(source, &png).await.map_err(JobError::Permanent)?;
    }
    let src = if heic { png.clone() } else { source.to_owned() };
    let parser = &state.config.parser;
    let rendered: Result<Result<Rendered, String>, _> =
        crate::server::sandbox::run(&parser.exe, &["thumbnails".as_ref(), src.as_os_str()], parser.memory, parser.time)
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
        use sha2::Digest;
        let buf = tokio::fs::read(&path).await.map_err(|e| e.to_string())?;
        let sha256 = format!("{:x}", sha2::Sha256::digest(&buf));
        outputs.push(Thumb { size, path, width, height, bytes: buf.len() as u64, sha256 });
    }
    let (width, height) = (rendered.width, rendered.height);
    let mut c = state.db.get().await.map_err(|e| e.to_string())?;
    if heic {
        // the size read at upload is before the file's rotation; the decoded one is upright
        diesel::update(a::inventory_assets.filter(a::user_id.eq(user_id)).filter(a::id.eq(parent)))
            .set((
                a::width.eq(i32::try_from(width).unwrap_or(i32::MAX)),
                a::height.eq(i32::try_from(height).unwrap_or(i32::MAX)),
            ))
            .execute(&mut c)
            .await
            .map_err(|e| e.to_string())?;
    }
    for Thumb { size, path, width: w, height: h, bytes, sha256: sha } in outputs {
        let key = BlobKey::thumbnail(user_id, item_id, parent, size);
        let backend = state.images.put_file(&key, &path, "image/jpeg").await.map_err(|e| e.to_string())?;
        let _ = tokio::fs::remove_file(&path).await;
        diesel::insert_into(a::inventory_assets)
            .values((
                a::user_id.eq(user_id),
                a::item_id.eq(item_id),
                a::parent_id.eq(parent),
                a::kind.eq(format!("thumb_{size}")),
                a::backend.eq(backend),
                a::key.eq(key.as_str()),
                a::content_type.eq("image/jpeg"),
                a::bytes.eq(i64::try_from(bytes).unwrap_or(i64::MAX)),
                a::width.eq(i32::try_from(w).unwrap_or(i32::MAX)),
                a::height.eq(i32::try_from(h).unwrap_or(i32::MAX)),
                a::sha256.eq(sha),
            ))
            .on_conflict_do_nothing()
            .execute(&mut c)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The user's asset with this id (any kind), if it is theirs.
pub async fn find_asset(state: &AppState, user_id: i64, id: i64) -> Result<Asset, AppError> {
    let mut c = conn(&state.db).await?;
    a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::id.eq(id))
        .select(Asset::as_select())
        .first(&mut c)
        .await
        .optional()
        .map_err(query_failed)?
        .ok_or(AppError::NotFound)
}

/// The photos of one item, with their thumbnails' ids.
pub async fn item_photos(
    c: &mut AsyncPgConnection,
    preferred: &str,
    user_id: i64,
    item_id: i64,
) -> Result<Vec<PhotoView>, AppError> {
    let assets: Vec<Asset> = a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::item_id.eq(item_id))
        .order(a::id.asc())
        .select(Asset::as_select())
        .load(c)
        .await
        .map_err(query_failed)?;
    let thumb =
        |parent: i64, kind: &str| assets.iter().find(|t| t.parent_id == Some(parent) && t.kind == kind).map(|t| t.id);
    Ok(assets
        .iter()
        .filter(|x| x.kind == "original")
        .map(|o| PhotoView {
            id: o.id,
            width: o.width,
            height: o.height,
            thumb_256: thumb(o.id, "thumb_256"),
            thumb_1024: thumb(o.id, "thumb_1024"),
            backend: o.backend.clone(),
            preferred_backend: preferred.to_owned(),
        })
        .collect())
}

/// Deletes stored objects (after their rows are gone); failures are logged, never shown.
pub async fn delete_objects(stores: &Stores, objects: Vec<(String, String)>) {
    for (backend, key) in objects {
        match BlobKey::from_stored(&key) {
            Some(k) => {
                if let Err(e) = stores.delete(&backend, &k).await {
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
) -> Result<Vec<(String, String)>, AppError> {
    a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::item_id.eq(item_id))
        .select((a::backend, a::key))
        .load(c)
        .await
        .map_err(query_failed)
}

/// Deletes one photo and its thumbnails.
pub async fn delete_photo(state: &AppState, user_id: i64, photo_id: i64) -> Result<i64, AppError> {
    let photo = find_asset(state, user_id, photo_id).await?;
    if photo.kind != "original" {
        return Err(AppError::NotFound);
    }
    let mut c = conn(&state.db).await?;
    let keys: Vec<(String, String)> = a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::id.eq(photo_id).or(a::parent_id.eq(photo_id)))
        .select((a::backend, a::key))
        .load(&mut c)
        .await
        .map_err(query_failed)?;
    diesel::delete(a::inventory_assets.filter(a::user_id.eq(user_id)).filter(a::id.eq(photo_id)))
        .execute(&mut c)
        .await
        .map_err(query_failed)?;
    delete_objects(&state.images, keys).await;
    Ok(photo.item_id)
}

/// What one pass of [`sync_fallbacks`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SyncReport {
    pub moved: u64,
    pub failed: u64,
}

/// What is stored where: photos and thumbnails, documents, exports. Each has its table, its
/// storage (`AppState::images`, `documents`, `exports`) and its own local directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Images,
    Documents,
    Exports,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 3] = [Self::Images, Self::Documents, Self::Exports];

    /// The table, the column that gives an object's content type, and its recorded sha256
    /// (exports record no hash: their copies are checked against each other only).
    fn table(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Images => ("inventory_assets", "content_type", "sha256"),
            Self::Documents => ("user_documents", "content_type", "sha256"),
            Self::Exports => ("user_exports", "format", "NULL::text"),
        }
    }

    /// The content type to store an object with, from the column `table` names.
    fn content_type(self, column: String) -> String {
        match self {
            Self::Exports => crate::inventory::export::ExportFormat::parse(&column)
                .unwrap_or(crate::inventory::export::ExportFormat::Csv)
                .content_type()
                .to_owned(),
            _ => column,
        }
    }

    pub fn stores(self, state: &AppState) -> &Stores {
        match self {
            Self::Images => &state.images,
            Self::Documents => &state.documents,
            Self::Exports => &state.exports,
        }
    }

    /// Where this kind lives on local disk (`INVENTORY_IMAGES_DIR`, `DOCUMENT_DIRECTORY`, `EXPORTS_DIR`).
    pub fn local_dir(self, config: &crate::server::config::Config) -> PathBuf {
        match self {
            Self::Images => config.dirs.inventory_images.clone(),
            Self::Documents => config.dirs.documents.clone(),
            Self::Exports => config.dirs.exports.clone(),
        }
    }

    /// Where this kind may be kept: Vercel Blob holds images only (as the deployment guide says).
    pub fn can_live_on(self, backend: &str) -> bool {
        self == Self::Images || backend != "vercel"
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Images => "photos and thumbnails",
            Self::Documents => "documents",
            Self::Exports => "exports",
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Fallen {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    content_type: String,
}

/// Moves objects that fell back to local disk (photos, thumbnails, documents, exports) to their
/// preferred provider, oldest first, in batches. Safe to interrupt and run again: a row changes
/// backend only after its object is at the provider, and the local copy goes only after that.
/// `progress` is called after each object.
pub async fn sync_fallbacks(state: &AppState, mut progress: impl FnMut(SyncReport)) -> Result<SyncReport, AppError> {
    use diesel::sql_types::{BigInt, Text};
    let mut report = SyncReport::default();
    for kind in ObjectKind::ALL {
        let (table, content_type, _) = kind.table();
        let stores = kind.stores(state);
        let preferred = stores.preferred_backend();
        let local = stores.local_backend();
        if preferred == local {
            continue;
        }
        // a provider remembered as down is asked first: if it answers again, the objects move now
        stores.probe().await;
        let mut after = 0i64;
        loop {
            let mut c = conn(&state.db).await?;
            let batch: Vec<Fallen> = diesel::sql_query(format!(
                "SELECT id, key, {content_type} AS content_type FROM {table} \
                 WHERE backend = $1 AND id > $2 ORDER BY id LIMIT 100"
            ))
            .bind::<Text, _>(local)
            .bind::<BigInt, _>(after)
            .load(&mut c)
            .await
            .map_err(query_failed)?;
            drop(c);
            let Some(last) = batch.last() else { break };
            after = last.id;
            for Fallen { id, key, content_type } in batch {
                let Some(k) = BlobKey::from_stored(&key) else { continue };
                match stores.copy_to_preferred(&k, &kind.content_type(content_type)).await {
                    Ok(_) => {
                        let mut c = conn(&state.db).await?;
                        diesel::sql_query(format!("UPDATE {table} SET backend = $1 WHERE id = $2 AND backend = $3"))
                            .bind::<Text, _>(preferred)
                            .bind::<BigInt, _>(id)
                            .bind::<Text, _>(local)
                            .execute(&mut c)
                            .await
                            .map_err(query_failed)?;
                        if let Err(e) = stores.delete(local, &k).await {
                            tracing::warn!(error = %e, key, "moved, but the local copy could not be removed");
                        }
                        report.moved += 1;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, key, "still cannot reach the provider");
                        report.failed += 1;
                    }
                }
                progress(report);
            }
        }
    }
    Ok(report)
}

/// What [`migrate_objects`] did (or, in a dry run, would do).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MigrateReport {
    /// objects not yet on the target
    pub total: u64,
    pub moved: u64,
    pub failed: u64,
}

/// One object being moved, for progress lines.
pub struct MigrateStep<'a> {
    pub done: u64,
    pub total: u64,
    pub key: &'a str,
    pub from: &'a str,
    pub outcome: Result<(), String>,
}

/// Streams an object to a temporary file, returning its size and sha256.
async fn download(store: &dyn crate::storage::BlobStore, key: &BlobKey, dest: &Path) -> Result<(u64, String), String> {
    use futures::StreamExt;
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;
    let body = store.get(key).await.map_err(|e| e.to_string())?;
    let mut stream = body.into_data_stream();
    let mut file = tokio::fs::File::create(dest).await.map_err(|e| e.to_string())?;
    let mut hasher = sha2::Sha256::new();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        n += chunk.len() as u64;
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(|e| e.to_string())?;
    }
    file.flush().await.map_err(|e| e.to_string())?;
    Ok((n, format!("{:x}", hasher.finalize())))
}

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    backend: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    content_type: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
    /// exports record no hash: their copies are checked against each other only
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    sha256: Option<String>,
}

/// Moves every object of `kind` that is not on `target` there: copy, verify the copy by size and
/// sha256 (read back from the target, and against the row's record where it keeps one), point the
/// row at it, then delete the old object. Safe to interrupt and run again at any point; an object
/// that fails stays where it was. `sources` are the backends by name, with local disk rooted where
/// this kind lives.
pub async fn migrate_objects(
    state: &AppState,
    kind: ObjectKind,
    sources: &std::collections::HashMap<&'static str, std::sync::Arc<dyn crate::storage::BlobStore>>,
    target: &dyn crate::storage::BlobStore,
    dry_run: bool,
    mut progress: impl FnMut(MigrateStep<'_>),
) -> Result<MigrateReport, AppError> {
    use diesel::sql_types::{BigInt, Text};
    let (table, content_type, sha) = kind.table();
    let to = target.backend();
    if !kind.can_live_on(to) {
        return Err(AppError::validation("to", format!("{} cannot be kept on {to}", kind.label())));
    }
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut c = conn(&state.db).await?;
    let total: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {table} WHERE backend <> $1"))
        .bind::<Text, _>(to)
        .get_result(&mut c)
        .await
        .map_err(query_failed)?;
    drop(c);
    let mut report = MigrateReport { total: u64::try_from(total.n).unwrap_or(0), ..Default::default() };
    if dry_run {
        return Ok(report);
    }
    let tmp_dir = state.config.dirs.uploads.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await.map_err(|_| AppError::Unavailable)?;
    let mut after = 0i64;
    loop {
        let mut c = conn(&state.db).await?;
        let batch: Vec<Stored> = diesel::sql_query(format!(
            "SELECT id, backend, key, {content_type} AS content_type, bytes, {sha} AS sha256 FROM {table} \
             WHERE backend <> $1 AND id > $2 ORDER BY id LIMIT 100"
        ))
        .bind::<Text, _>(to)
        .bind::<BigInt, _>(after)
        .load(&mut c)
        .await
        .map_err(query_failed)?;
        drop(c);
        let Some(last) = batch.last() else { break };
        after = last.id;
        for Stored { id, backend: from, key, content_type, bytes, sha256 } in batch {
            let outcome = async {
                let k = BlobKey::from_stored(&key).ok_or("unexpected key")?;
                let source = sources.get(from.as_str()).ok_or_else(|| format!("{from} is not configured"))?;
                let tmp = tmp_dir.join(format!("migrate-{table}-{id}"));
                let result = async {
                    let (n, sha) = download(source.as_ref(), &k, &tmp).await?;
                    if i64::try_from(n).ok() != Some(bytes) || sha256.as_ref().is_some_and(|s| *s != sha) {
                        return Err(format!("the {from} copy does not match its record (size or sha256)"));
                    }
                    target
                        .put_file(&k, &tmp, &kind.content_type(content_type.clone()))
                        .await
                        .map_err(|e| e.to_string())?;
                    let (n2, sha2) = download(target, &k, &tmp).await?;
                    if n2 != n || sha2 != sha {
                        return Err(format!("the copy on {to} does not verify"));
                    }
                    Ok(())
                }
                .await;
                let _ = tokio::fs::remove_file(&tmp).await;
                result?;
                let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
                diesel::sql_query(format!("UPDATE {table} SET backend = $1 WHERE id = $2 AND backend = $3"))
                    .bind::<Text, _>(to)
                    .bind::<BigInt, _>(id)
                    .bind::<Text, _>(&from)
                    .execute(&mut c)
                    .await
                    .map_err(|e| e.to_string())?;
                if let Err(e) = source.delete(&k).await {
                    tracing::warn!(error = %e, key, "moved, but the old copy could not be removed");
                }
                Ok::<_, String>(())
            }
            .await;
            match outcome {
                Ok(()) => report.moved += 1,
                Err(_) => report.failed += 1,
            }
            progress(MigrateStep {
                done: report.moved + report.failed,
                total: report.total,
                key: &key,
                from: &from,
                outcome,
            });
        }
    }
    Ok(report)
}
