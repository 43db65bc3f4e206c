//! Diesel queries for inventory items. Every function takes the owner's id and filters by it:
//! there is no way to reach another user's row from here.

use bigdecimal::BigDecimal;
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use crate::inventory::types::{ItemQuery, SortKey, StorageUse};
use crate::platform::schema::user_inventory::{self, dsl as t};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_inventory, check_for_backend(Pg))]
pub struct Item {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub description: String,
    pub category: String,
    pub material: String,
    pub colour: String,
    pub dimensions: String,
    pub origin: String,
    pub quantity: i32,
    /// Postgres array elements are nullable; ours never hold NULL
    pub tags: Vec<Option<String>>,
    pub import_cost: Option<BigDecimal>,
    pub retail_price: Option<BigDecimal>,
    pub currency: String,
    pub location_id: Option<i64>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// the place's path ("House / Kitchen"), copied by a trigger
    pub location_path: Option<String>,
    /// the small thumbnail of the item's first photo, kept by a trigger
    pub cover_id: Option<i64>,
}

/// The columns a user sets (insert and update alike).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = user_inventory, treat_none_as_null = true)]
pub struct ItemChanges {
    pub name: String,
    pub description: String,
    pub category: String,
    pub material: String,
    pub colour: String,
    pub dimensions: String,
    pub origin: String,
    pub quantity: i32,
    pub tags: Vec<Option<String>>,
    pub import_cost: Option<BigDecimal>,
    pub retail_price: Option<BigDecimal>,
    pub currency: String,
    pub location_id: Option<i64>,
}

pub async fn insert_item(conn: &mut AsyncPgConnection, user_id: i64, item: &ItemChanges) -> QueryResult<Item> {
    diesel::insert_into(t::user_inventory)
        .values((t::user_id.eq(user_id), item))
        .returning(Item::as_returning())
        .get_result(conn)
        .await
}

/// Inserts many items in one statement (an import's batch: the counters' triggers run once per
/// statement); how many were inserted. Keep a batch under 4,000 rows (Postgres takes at most
/// 65,535 parameters, an item has 15).
pub async fn insert_items(conn: &mut AsyncPgConnection, user_id: i64, items: &[ItemChanges]) -> QueryResult<usize> {
    if items.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = items.iter().map(|item| (t::user_id.eq(user_id), item)).collect();
    diesel::insert_into(t::user_inventory).values(rows).execute(conn).await
}

pub async fn find_item(conn: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<Option<Item>> {
    t::user_inventory
        .filter(t::user_id.eq(user_id))
        .filter(t::id.eq(id))
        .select(Item::as_select())
        .first(conn)
        .await
        .optional()
}

/// The user's items among `ids` (ids of other users' items find nothing).
pub async fn find_items(conn: &mut AsyncPgConnection, user_id: i64, ids: &[i64]) -> QueryResult<Vec<Item>> {
    t::user_inventory
        .filter(t::user_id.eq(user_id))
        .filter(t::id.eq_any(ids))
        .order(t::id.asc())
        .select(Item::as_select())
        .load(conn)
        .await
}

pub async fn update_item(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
    item: &ItemChanges,
) -> QueryResult<Option<Item>> {
    diesel::update(t::user_inventory.filter(t::user_id.eq(user_id)).filter(t::id.eq(id)))
        .set((item, t::updated_at.eq(diesel::dsl::now)))
        .returning(Item::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Deletes the item; false when there was no such item for this user.
pub async fn delete_item(conn: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<bool> {
    let n = diesel::delete(t::user_inventory.filter(t::user_id.eq(user_id)).filter(t::id.eq(id))).execute(conn).await?;
    Ok(n == 1)
}

type Filtered<'a> = user_inventory::BoxedQuery<'a, Pg>;

/// The user's items matching the query's filters (search, category, tag, place), unsorted.
/// `fuzzy`: the typed words may also be near misses of a word of the name.
/// `places`: the ids of the filter's place and every place below it (see [`subtree`]).
fn filtered<'a>(user_id: i64, q: &'a ItemQuery, places: &'a [i64], fuzzy: bool) -> Filtered<'a> {
    let mut query = t::user_inventory.filter(t::user_id.eq(user_id)).into_boxed();
    if !q.category.is_empty() {
        query = query.filter(t::category.eq(q.category.clone()));
    }
    if !q.tag.is_empty() {
        query = query.filter(t::tags.contains(vec![Some(q.tag.clone())]));
    }
    if q.location.is_some() {
        // the place and every place below it, resolved beforehand: a list of ids is planned far
        // better than a recursive query inside this one
        query = query.filter(t::location_id.eq_any(places));
    }
    if !q.q.is_empty() && fuzzy {
        // a word of the name close to the typed one (pg_trgm word similarity: "lamb" finds "lamp")
        query = query.filter(sql::<Bool>("").bind::<Text, _>(q.q.clone()).sql(" <% name"));
    } else if !q.q.is_empty() {
        // words anywhere (name, category, tags, description), or a substring of the name
        let pattern = format!("%{}%", q.q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        query = query.filter(
            sql::<Bool>("(search @@ websearch_to_tsquery('simple', ")
                .bind::<Text, _>(q.q.clone())
                .sql(") OR name ILIKE ")
                .bind::<Text, _>(pattern)
                .sql(")"),
        );
    }
    query
}

/// The ids of the user's place `place` and of every place below it (none if it is not theirs).
pub async fn subtree(conn: &AsyncPgConnection, user_id: i64, place: i64) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let ids: Vec<Id> = diesel::sql_query(
        "WITH RECURSIVE below(id) AS ( \
           SELECT id FROM user_locations WHERE user_id = $1 AND id = $2 \
           UNION ALL SELECT c.id FROM user_locations c JOIN below ON c.parent_id = below.id WHERE c.user_id = $1) \
         SELECT id FROM below",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<BigInt, _>(place)
    .load(&mut &*conn)
    .await?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

/// Filtered tables count their matches exactly up to this many, then say "more than".
pub const COUNT_CAP: i64 = 10_000;

/// One page of the user's items, sorted as asked.
pub struct ItemsPage {
    pub items: Vec<Item>,
    /// matches on all pages (at most `COUNT_CAP` when `capped`)
    pub total: i64,
    pub capped: bool,
    pub has_next: bool,
}

/// One page of the user's items, sorted as asked, and how many match on all pages. Every sort
/// walks an index that starts with the user's id and stops after the page; the unfiltered count
/// comes from `user_item_totals`; a filtered count stops at `COUNT_CAP`, and is not run at all
/// when the first page is not full (the page's rows are all there is).
pub async fn list_items(
    conn: &AsyncPgConnection,
    user_id: i64,
    q: &ItemQuery,
    per_page: u32,
) -> QueryResult<ItemsPage> {
    let q = &q.bounded();
    let places = match q.location {
        Some(place) => subtree(conn, user_id, place).await?,
        None => Vec::new(),
    };
    let first_page = q.page <= 1;
    if !q.is_filtered() {
        let (mut items, total) = page_of(conn, user_id, q, &places, false, per_page).await?;
        let total = match total {
            Some(total) => total,
            // past the last page: the count alone
            None if !first_page => item_count(conn, user_id).await?,
            None => 0,
        };
        let has_next = items.len() > per_page as usize;
        items.truncate(per_page as usize);
        return Ok(ItemsPage { items, total, capped: false, has_next });
    }
    crate::platform::db::plan_each_time(conn).await?;
    let mut fuzzy = false;
    let (mut items, _) = page_of(conn, user_id, q, &places, false, per_page).await?;
    if items.is_empty() && !q.q.is_empty() && (first_page || capped_count(conn, user_id, q, &places, false).await? == 0)
    {
        // nothing has the words: near misses of them instead (the typo-tolerant search costs
        // more, so it only runs when the exact one finds nothing)
        fuzzy = true;
        items = page_of(conn, user_id, q, &places, true, per_page).await?.0;
    }
    let has_next = items.len() > per_page as usize;
    items.truncate(per_page as usize);
    let n = if first_page && !has_next {
        items.len() as i64
    } else {
        capped_count(conn, user_id, q, &places, fuzzy).await?
    };
    Ok(ItemsPage { items, total: n.min(COUNT_CAP), capped: n > COUNT_CAP, has_next })
}

/// How many items the user has (kept by a trigger in `user_item_totals`: no count over the items).
pub async fn item_count(conn: &AsyncPgConnection, user_id: i64) -> QueryResult<i64> {
    use crate::platform::schema::user_item_totals::dsl as tot;
    let n: Option<i64> = tot::user_item_totals
        .filter(tot::user_id.eq(user_id))
        .select(tot::items)
        .first(&mut &*conn)
        .await
        .optional()?;
    Ok(n.unwrap_or(0))
}

/// How many of the user's items match, counting at most `COUNT_CAP + 1`; counted by a column
/// every index starts with, so a place or category filter is answered from the index alone
/// (17 -> 2 ms for a room of 10,000 items).
async fn capped_count(
    conn: &AsyncPgConnection,
    user_id: i64,
    q: &ItemQuery,
    places: &[i64],
    fuzzy: bool,
) -> QueryResult<i64> {
    let rows: Vec<i64> =
        filtered(user_id, q, places, fuzzy).select(t::user_id).limit(COUNT_CAP + 1).load(&mut &*conn).await?;
    Ok(rows.len() as i64)
}

/// The page of the query (and one row more, to tell whether another page follows), and how many
/// items the user has in all (read in the same statement, prepared once per connection; `None`
/// when the page is empty).
async fn page_of(
    conn: &AsyncPgConnection,
    user_id: i64,
    q: &ItemQuery,
    places: &[i64],
    fuzzy: bool,
    per_page: u32,
) -> QueryResult<(Vec<Item>, Option<i64>)> {
    use crate::platform::schema::user_item_totals::dsl as tot;
    let total = tot::user_item_totals.filter(tot::user_id.eq(user_id)).select(tot::items).single_value();
    let offset = i64::from(q.page.saturating_sub(1)) * i64::from(per_page);
    let rows: Vec<(Item, Option<i64>)> = sorted(filtered(user_id, q, places, fuzzy), q)
        .select((Item::as_select(), total))
        .limit(i64::from(per_page) + 1)
        .offset(offset)
        .load(&mut &*conn)
        .await?;
    // every row carries the same count (0 when the user's counter row is missing)
    let total = rows.as_slice().first().map(|(_, n)| n.unwrap_or(0));
    Ok((rows.into_iter().map(|(item, _)| item).collect(), total))
}

/// `query` in the order the table asks for (the id last, so pages never overlap).
fn sorted<'a>(query: Filtered<'a>, q: &ItemQuery) -> Filtered<'a> {
    let name = || sql::<Text>("lower(name)");
    match (q.sort, q.desc) {
        (SortKey::Name, false) => query.order((name().asc(), t::id.asc())),
        (SortKey::Name, true) => query.order((name().desc(), t::id.desc())),
        (SortKey::Category, false) => query.order((t::category.asc(), name().asc(), t::id.asc())),
        (SortKey::Category, true) => query.order((t::category.desc(), name().desc(), t::id.desc())),
        (SortKey::Quantity, false) => query.order((t::quantity.asc(), t::id.asc())),
        (SortKey::Quantity, true) => query.order((t::quantity.desc(), t::id.desc())),
        // by the place's path; unplaced items last A→Z, first Z→A (one index serves both)
        (SortKey::Location, false) => query.order((t::location_sort.asc().nulls_last(), name().asc(), t::id.asc())),
        (SortKey::Location, true) => query.order((t::location_sort.desc().nulls_first(), name().desc(), t::id.desc())),
        (SortKey::RetailPrice, false) => query.order((t::retail_price.asc().nulls_last(), t::id.asc())),
        (SortKey::RetailPrice, true) => query.order((t::retail_price.desc().nulls_last(), t::id.desc())),
        (SortKey::Updated, false) => query.order((t::updated_at.asc(), t::id.asc())),
        (SortKey::Updated, true) => query.order((t::updated_at.desc(), t::id.desc())),
    }
}

/// The user's most recently changed items.
pub async fn recent_items(conn: &mut AsyncPgConnection, user_id: i64, n: i64) -> QueryResult<Vec<Item>> {
    t::user_inventory
        .filter(t::user_id.eq(user_id))
        .order((t::updated_at.desc(), t::id.desc()))
        .limit(n)
        .select(Item::as_select())
        .load(conn)
        .await
}

/// The user's categories and tags, for the filter menus and the form's suggestions (from the
/// per-user tables the triggers keep, not a scan of the items).
pub async fn categories_and_tags(conn: &AsyncPgConnection, user_id: i64) -> QueryResult<(Vec<String>, Vec<String>)> {
    use crate::platform::schema::{user_categories::dsl as uc, user_tags::dsl as ut};
    // both sent at once (pipelined on the one connection): one wait instead of two
    let shared = conn;
    let categories = uc::user_categories
        .filter(uc::user_id.eq(user_id))
        .filter(uc::items.gt(0))
        .select(uc::name)
        .order(uc::name.asc())
        .limit(500)
        .load::<String>(&mut &*shared);
    let tags = ut::user_tags
        .filter(ut::user_id.eq(user_id))
        .filter(ut::items.gt(0))
        .select(ut::name)
        .order(ut::name.asc())
        .limit(500)
        .load::<String>(&mut &*shared);
    let (categories, tags) = futures::try_join!(categories, tags)?;
    Ok((categories, tags))
}

#[derive(QueryableByName)]
pub struct Totals {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub items: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub quantity: i64,
}

#[derive(QueryableByName)]
pub struct CurrencyValue {
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    pub value: BigDecimal,
}

#[derive(QueryableByName)]
pub struct CategoryCount {
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub items: i64,
}

/// Counts, value per currency and the largest categories of one user's inventory.
pub async fn summary(
    conn: &mut AsyncPgConnection,
    user_id: i64,
) -> QueryResult<(Totals, Vec<CurrencyValue>, Vec<CategoryCount>)> {
    // from the figures triggers keep per place and currency, not from every item
    let totals: Totals = diesel::sql_query(
        "SELECT COALESCE(sum(items), 0)::BIGINT AS items, COALESCE(sum(quantity), 0)::BIGINT AS quantity \
           FROM user_place_figures WHERE user_id = $1",
    )
    .bind::<BigInt, _>(user_id)
    .get_result(conn)
    .await?;
    let values = diesel::sql_query(
        "SELECT currency, sum(value) AS value FROM user_place_figures \
         WHERE user_id = $1 GROUP BY currency HAVING sum(priced) > 0 ORDER BY currency",
    )
    .bind::<BigInt, _>(user_id)
    .load(conn)
    .await?;
    // the largest categories, and the uncategorised items (all items less the categorised ones)
    let categories = diesel::sql_query(
        "SELECT category, items FROM ( \
           SELECT name AS category, items FROM user_categories WHERE user_id = $1 AND items > 0 \
           UNION ALL \
           SELECT '', $2 - COALESCE((SELECT sum(items) FROM user_categories WHERE user_id = $1), 0)::BIGINT \
         ) c WHERE items > 0 ORDER BY items DESC, category LIMIT 8",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<BigInt, _>(totals.items)
    .load(conn)
    .await?;
    Ok((totals, values, categories))
}

/// What the user keeps on each storage backend (kept by triggers on the object tables).
pub async fn storage_use(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<StorageUse>> {
    use crate::platform::schema::user_storage::dsl as s;
    let rows: Vec<(String, i64, i64)> = s::user_storage
        .filter(s::user_id.eq(user_id))
        .filter(s::objects.gt(0))
        .order(s::backend.asc())
        .select((s::backend, s::bytes, s::objects))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(backend, bytes, objects)| StorageUse { backend, bytes, objects }).collect())
}

/// The user's items after `after` in id order, `limit` of them (exports read a batch at a time).
pub async fn items_after(c: &mut AsyncPgConnection, user_id: i64, after: i64, limit: i64) -> QueryResult<Vec<Item>> {
    t::user_inventory
        .filter(t::user_id.eq(user_id))
        .filter(t::id.gt(after))
        .order(t::id.asc())
        .limit(limit)
        .select(Item::as_select())
        .load(c)
        .await
}

/// An item's words as its embedding reads them, with the version of those words:
/// (id, text_version, name, category, description, material, colour, origin, tags).
pub type ItemWords = (i64, i64, String, String, String, String, String, String, Vec<Option<String>>, String);

/// Up to `limit` of the user's items whose words changed since they were last embedded.
pub async fn due_for_embedding(c: &mut AsyncPgConnection, user_id: i64, limit: i64) -> QueryResult<Vec<ItemWords>> {
    t::user_inventory
        .filter(t::user_id.eq(user_id))
        .filter(t::text_version.gt(t::embedded_version))
        .order(t::id)
        .limit(limit)
        .select((
            t::id,
            t::text_version,
            t::name,
            t::category,
            t::description,
            t::material,
            t::colour,
            t::origin,
            t::tags,
            t::photo_text,
        ))
        .load(c)
        .await
}

/// Records that the user's items `ids` were embedded from their words at `versions`. An item
/// whose words changed after that read has a higher `text_version` and stays due.
pub async fn record_embedded(
    c: &mut AsyncPgConnection,
    user_id: i64,
    ids: &[i64],
    versions: &[i64],
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE user_inventory i SET embedded_version = v.version \
         FROM unnest($1::int8[], $2::int8[]) AS v(id, version) \
         WHERE i.id = v.id AND i.user_id = $3 AND i.embedded_version < v.version",
    )
    .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
    .bind::<diesel::sql_types::Array<BigInt>, _>(versions)
    .bind::<BigInt, _>(user_id)
    .execute(c)
    .await
}

/// Every user's items are due again (the embedding model changed and the vectors were dropped).
pub async fn forget_embeddings(c: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::update(t::user_inventory.filter(t::embedded_version.gt(0))).set(t::embedded_version.eq(0)).execute(c).await
}

/// Queues a `kind` job for every user with items waiting to be embedded.
pub async fn queue_for_users_with_due_items(c: &mut AsyncPgConnection, kind: &str) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO jobs (kind, user_id, subject_id) \
         SELECT DISTINCT $1, user_id, user_id FROM user_inventory WHERE text_version > embedded_version \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(kind)
    .execute(c)
    .await
}
