//! Photos and their thumbnails (`inventory_assets`).

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::inventory::photos::AssetKind;
use crate::platform::schema::inventory_assets::{self, dsl as a};
use crate::storage::Backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inventory_assets, check_for_backend(Pg))]
pub struct Asset {
    pub id: i64,
    pub user_id: i64,
    pub item_id: i64,
    pub parent_id: Option<i64>,
    pub kind: AssetKind,
    pub backend: Backend,
    pub key: String,
    pub content_type: String,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    /// the words OCR read on a photo (`None`: not read yet; thumbnails have none)
    pub ocr_text: Option<String>,
}

/// A photo (`parent_id: None`, its id taken beforehand so its key can name it) or a thumbnail.
#[derive(Debug, Insertable)]
#[diesel(table_name = inventory_assets)]
pub struct NewAsset<'a> {
    pub id: Option<i64>,
    pub user_id: i64,
    pub item_id: i64,
    pub parent_id: Option<i64>,
    pub kind: AssetKind,
    pub backend: Backend,
    pub key: &'a str,
    pub content_type: &'a str,
    pub bytes: i64,
    pub width: i32,
    pub height: i32,
    pub sha256: &'a str,
}

pub async fn insert(c: &mut AsyncPgConnection, asset: &NewAsset<'_>) -> QueryResult<usize> {
    diesel::insert_into(a::inventory_assets).values(asset).execute(c).await
}

/// Inserts unless that row is there already (a thumbnails job run a second time).
pub async fn insert_once(c: &mut AsyncPgConnection, asset: &NewAsset<'_>) -> QueryResult<usize> {
    diesel::insert_into(a::inventory_assets).values(asset).on_conflict_do_nothing().execute(c).await
}

/// The user's asset with this id (any kind).
pub async fn find(c: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<Option<Asset>> {
    a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::id.eq(id))
        .select(Asset::as_select())
        .first(c)
        .await
        .optional()
}

/// How many thumbnails of this photo exist.
pub async fn thumbnail_count(c: &mut AsyncPgConnection, user_id: i64, photo_id: i64) -> QueryResult<i64> {
    a::inventory_assets.filter(a::user_id.eq(user_id)).filter(a::parent_id.eq(photo_id)).count().get_result(c).await
}

/// Records a photo's upright size (known once it has been decoded).
pub async fn set_size(c: &mut AsyncPgConnection, user_id: i64, id: i64, width: i32, height: i32) -> QueryResult<usize> {
    diesel::update(a::inventory_assets.filter(a::user_id.eq(user_id)).filter(a::id.eq(id)))
        .set((a::width.eq(width), a::height.eq(height)))
        .execute(c)
        .await
}

/// Every asset of an item, photos and thumbnails, oldest first.
/// Records the words read on a photo (a trigger passes them on to its item).
pub async fn set_ocr_text(c: &mut AsyncPgConnection, id: i64, text: &str) -> QueryResult<usize> {
    diesel::update(a::inventory_assets.filter(a::id.eq(id))).set(a::ocr_text.eq(text)).execute(c).await
}

/// Photos never read by OCR and with no job to read them: (id, user, backend), oldest first.
pub async fn unread(c: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<(i64, i64, Backend)>> {
    use crate::platform::schema::jobs::dsl as j;
    a::inventory_assets
        .filter(a::kind.eq(AssetKind::Original).and(a::ocr_text.is_null()))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            j::jobs.filter(j::subject_id.eq(a::id).and(j::kind.eq(crate::inventory::photo_text::READ_PHOTO_TEXT))),
        )))
        .order(a::id.asc())
        .limit(limit)
        .select((a::id, a::user_id, a::backend))
        .load(c)
        .await
}

pub async fn of_item(c: &mut AsyncPgConnection, user_id: i64, item_id: i64) -> QueryResult<Vec<Asset>> {
    a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::item_id.eq(item_id))
        .order(a::id.asc())
        .select(Asset::as_select())
        .load(c)
        .await
}

/// The original photos of these items, oldest first: (item id, asset id, backend, key).
pub async fn originals_of(
    c: &mut AsyncPgConnection,
    user_id: i64,
    items: &[i64],
) -> QueryResult<Vec<(i64, i64, Backend, String)>> {
    a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::item_id.eq_any(items))
        .filter(a::kind.eq(AssetKind::Original))
        .order(a::id.asc())
        .select((a::item_id, a::id, a::backend, a::key))
        .load(c)
        .await
}

/// Backend and key of every object of an item (photos and thumbnails).
pub async fn item_keys(c: &mut AsyncPgConnection, user_id: i64, item_id: i64) -> QueryResult<Vec<(Backend, String)>> {
    a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::item_id.eq(item_id))
        .select((a::backend, a::key))
        .load(c)
        .await
}

/// Backend and key of a photo and of its thumbnails.
pub async fn photo_keys(c: &mut AsyncPgConnection, user_id: i64, photo_id: i64) -> QueryResult<Vec<(Backend, String)>> {
    a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::id.eq(photo_id).or(a::parent_id.eq(photo_id)))
        .select((a::backend, a::key))
        .load(c)
        .await
}

/// Deletes an asset (a photo's thumbnails go with it: `ON DELETE CASCADE`).
pub async fn delete(c: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<usize> {
    diesel::delete(a::inventory_assets.filter(a::user_id.eq(user_id)).filter(a::id.eq(id))).execute(c).await
}
