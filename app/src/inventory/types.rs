//! Inventory DTOs, the form's input rules, and the table's URL state (shared by browser and server).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Rows per page of the inventory table.
pub const PER_PAGE: u32 = 50;
pub const NAME_MAX: usize = 200;
pub const TAGS_MAX: usize = 30;
pub const TAG_MAX_CHARS: usize = 50;

/// One item as the pages show it. Prices are exact decimals, as text ("12.50").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub category: String,
    pub material: String,
    pub colour: String,
    pub dimensions: String,
    pub origin: String,
    pub quantity: i32,
    /// the place the item sits in, and its path ("Kitchen / Shelf 2"); "" when unplaced
    pub location_id: Option<i64>,
    pub location: String,
    pub tags: Vec<String>,
    pub import_cost: Option<String>,
    pub retail_price: Option<String>,
    pub currency: String,
    /// YYYY-MM-DD HH:MM (UTC)
    pub created_at: String,
    pub updated_at: String,
    /// filled on the item page only
    #[serde(default)]
    pub photos: Vec<PhotoView>,
    /// the small thumbnail (256 px) of the item's first photo, once made: its `/media/{id}`
    #[serde(default)]
    pub cover: Option<i64>,
}

/// One photo of an item; the image itself is served by `/media/{id}` (signed-in owner only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoView {
    pub id: i64,
    pub width: i32,
    pub height: i32,
    /// `None` until the thumbnails have been made (moments after the upload)
    pub thumb_256: Option<i64>,
    pub thumb_1024: Option<i64>,
    /// where the photo is stored: `local`, `s3` or `vercel`
    pub backend: String,
    /// where it should be; differs when the provider failed and local disk took it instead
    pub preferred_backend: String,
    /// the words OCR read on it (`None` until it has been read, moments after the thumbnails)
    pub text: Option<String>,
}

/// The create/edit form, as typed (everything is text until the server checks it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemForm {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub material: String,
    #[serde(default)]
    pub colour: String,
    #[serde(default)]
    pub dimensions: String,
    #[serde(default)]
    pub origin: String,
    #[serde(default)]
    pub quantity: String,
    /// a path like "Kitchen / Shelf 2"; missing places are created
    #[serde(default)]
    pub location: String,
    /// comma-separated
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub import_cost: String,
    #[serde(default)]
    pub retail_price: String,
    #[serde(default)]
    pub currency: String,
}

impl ItemForm {
    pub fn from_item(item: &ItemView) -> Self {
        Self {
            name: item.name.clone(),
            description: item.description.clone(),
            category: item.category.clone(),
            material: item.material.clone(),
            colour: item.colour.clone(),
            dimensions: item.dimensions.clone(),
            origin: item.origin.clone(),
            quantity: item.quantity.to_string(),
            location: item.location.clone(),
            tags: item.tags.join(", "),
            import_cost: item.import_cost.clone().unwrap_or_default(),
            retail_price: item.retail_price.clone().unwrap_or_default(),
            currency: item.currency.clone(),
        }
    }
}

/// An edit (`inventory/update`): the fields sent replace the item's; a field left out keeps its
/// value (a client that sends only a name changes only the name). The edit page sends every field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPatch {
    #[serde(default, deserialize_with = "sent")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub category: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub material: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub colour: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub dimensions: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub origin: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub quantity: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub location: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub tags: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub import_cost: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub retail_price: Option<String>,
    #[serde(default, deserialize_with = "sent")]
    pub currency: Option<String>,
}

/// A field that was sent, empty or not (a form decoder would otherwise read an empty value as
/// "not sent", and an emptied field would keep its old value).
fn sent<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    String::deserialize(d).map(Some)
}

impl ItemPatch {
    /// The item's form with the sent fields put in.
    pub fn apply(self, mut form: ItemForm) -> ItemForm {
        if let Some(v) = self.name {
            form.name = v;
        }
        if let Some(v) = self.description {
            form.description = v;
        }
        if let Some(v) = self.category {
            form.category = v;
        }
        if let Some(v) = self.material {
            form.material = v;
        }
        if let Some(v) = self.colour {
            form.colour = v;
        }
        if let Some(v) = self.dimensions {
            form.dimensions = v;
        }
        if let Some(v) = self.origin {
            form.origin = v;
        }
        if let Some(v) = self.quantity {
            form.quantity = v;
        }
        if let Some(v) = self.location {
            form.location = v;
        }
        if let Some(v) = self.tags {
            form.tags = v;
        }
        if let Some(v) = self.import_cost {
            form.import_cost = v;
        }
        if let Some(v) = self.retail_price {
            form.retail_price = v;
        }
        if let Some(v) = self.currency {
            form.currency = v;
        }
        form
    }
}

/// Splits "a, b,,A" into ["a", "b"]: trimmed, no empties, case-insensitive duplicates dropped.
pub fn parse_tags(raw: &str) -> Result<Vec<String>, AppError> {
    let mut tags: Vec<String> = Vec::new();
    for t in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if t.chars().count() > TAG_MAX_CHARS {
            return Err(AppError::validation("tags", format!("Keep each tag to {TAG_MAX_CHARS} characters or fewer.")));
        }
        if !tags.iter().any(|x| x.eq_ignore_ascii_case(t)) {
            tags.push(t.to_owned());
        }
    }
    if tags.len() > TAGS_MAX {
        return Err(AppError::validation("tags", format!("Use at most {TAGS_MAX} tags.")));
    }
    Ok(tags)
}

/// Checks a price: empty means none; otherwise a non-negative amount with at most two decimals.
pub fn parse_price(field: &str, raw: &str) -> Result<Option<String>, AppError> {
    let s = raw.trim().replace(',', "");
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || AppError::validation(field, "Enter an amount like 12.50 (no currency sign).");
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > 2 {
        return Err(AppError::validation(field, "Use at most two decimal places."));
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 12 {
        return Err(AppError::validation(field, "That amount is too large."));
    }
    Ok(Some(format!("{}.{:0<2}", if whole.is_empty() { "0" } else { whole }, frac)))
}

pub fn parse_quantity(raw: &str) -> Result<i32, AppError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(1);
    }
    match s.parse::<i64>() {
        Ok(n) if (0..=1_000_000_000).contains(&n) => Ok(n as i32),
        Ok(n) if n < 0 => Err(AppError::validation("quantity", "The quantity cannot be negative.")),
        _ => Err(AppError::validation("quantity", "Enter a whole number, like 3.")),
    }
}

pub fn parse_currency(raw: &str) -> Result<String, AppError> {
    let c = raw.trim().to_ascii_uppercase();
    if c.is_empty() {
        return Ok("USD".into());
    }
    if c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err(AppError::validation("currency", "Use a three-letter currency code, like USD or EUR."))
    }
}

/// Columns the table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    Name,
    Category,
    Quantity,
    Location,
    RetailPrice,
    #[default]
    Updated,
}

impl SortKey {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Category => "category",
            Self::Quantity => "quantity",
            Self::Location => "location",
            Self::RetailPrice => "retail_price",
            Self::Updated => "updated",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "name" => Self::Name,
            "category" => Self::Category,
            "quantity" => Self::Quantity,
            "location" => Self::Location,
            "retail_price" => Self::RetailPrice,
            "updated" => Self::Updated,
            _ => return None,
        })
    }
    /// The natural first direction: A→Z for text, largest/newest first for numbers and dates.
    pub fn default_desc(self) -> bool {
        matches!(self, Self::Quantity | Self::RetailPrice | Self::Updated)
    }
}

/// The page sizes the table offers (rows a page).
pub const PAGE_SIZES: [u32; 4] = [25, 50, 100, 200];

fn default_per() -> u32 {
    PER_PAGE
}

/// The table's whole state, kept in the URL so reload, back and shared links show the same view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemQuery {
    pub q: String,
    pub category: String,
    pub tag: String,
    /// a place: its items and everything below it
    pub location: Option<i64>,
    pub sort: SortKey,
    pub desc: bool,
    /// 1-based
    pub page: u32,
    /// rows a page, one of [`PAGE_SIZES`] (anything else reads as the default)
    #[serde(default = "default_per")]
    pub per: u32,
    /// shown as a grid of photos (`view=grid`) instead of the table
    #[serde(default)]
    pub grid: bool,
}

impl Default for ItemQuery {
    fn default() -> Self {
        Self::from_pairs(|_| None)
    }
}

impl ItemQuery {
    /// Reads the URL's query parameters; anything unknown or malformed falls back to the default.
    pub fn from_pairs<'a>(get: impl Fn(&str) -> Option<String> + 'a) -> Self {
        let sort = get("sort").and_then(|s| SortKey::parse(&s)).unwrap_or_default();
        let desc = match get("dir").as_deref() {
            Some("asc") => false,
            Some("desc") => true,
            _ => sort.default_desc(),
        };
        Self {
            q: get("q").unwrap_or_default().trim().chars().take(200).collect(),
            category: get("category").unwrap_or_default(),
            tag: get("tag").unwrap_or_default(),
            location: get("location").and_then(|l| l.parse().ok()),
            sort,
            desc,
            page: get("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1),
            per: get("per").and_then(|p| p.parse().ok()).filter(|p| PAGE_SIZES.contains(p)).unwrap_or(PER_PAGE),
            grid: get("view").as_deref() == Some("grid"),
        }
    }

    /// Rows a page: `per` when it is one of the sizes offered, else the default.
    pub fn per_page(&self) -> u32 {
        if PAGE_SIZES.contains(&self.per) {
            self.per
        } else {
            PER_PAGE
        }
    }

    /// `/inventory?…` for this state (defaults omitted).
    pub fn href(&self) -> String {
        let mut params = BTreeMap::new();
        if !self.q.is_empty() {
            params.insert("q", self.q.clone());
        }
        if !self.category.is_empty() {
            params.insert("category", self.category.clone());
        }
        if !self.tag.is_empty() {
            params.insert("tag", self.tag.clone());
        }
        if let Some(l) = self.location {
            params.insert("location", l.to_string());
        }
        if self.sort != SortKey::default() || self.desc != self.sort.default_desc() {
            params.insert("sort", self.sort.as_str().to_owned());
            params.insert("dir", if self.desc { "desc" } else { "asc" }.to_owned());
        }
        if self.page > 1 {
            params.insert("page", self.page.to_string());
        }
        if self.per_page() != PER_PAGE {
            params.insert("per", self.per_page().to_string());
        }
        if self.grid {
            params.insert("view", "grid".to_owned());
        }
        let qs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", query_encode(v))).collect();
        if qs.is_empty() {
            "/inventory".into()
        } else {
            format!("/inventory?{}", qs.join("&"))
        }
    }

    /// The same view sorted by `key` (toggling direction if it already is), back on page 1.
    pub fn sorted_by(&self, key: SortKey) -> Self {
        let desc = if self.sort == key { !self.desc } else { key.default_desc() };
        Self { sort: key, desc, page: 1, ..self.clone() }
    }

    pub fn at_page(&self, page: u32) -> Self {
        Self { page, ..self.clone() }
    }

    /// The same items as a table (`false`) or a grid of photos (`true`), on the same page.
    pub fn shown_as(&self, grid: bool) -> Self {
        Self { grid, ..self.clone() }
    }

    /// No filters, the same view.
    pub fn cleared(&self) -> Self {
        Self { grid: self.grid, ..Self::default() }
    }

    /// True when any filter narrows the table.
    /// The query with its free text cut to what the page's box takes (200 characters) and its
    /// filters to their longest possible values: a client that sends a megabyte of search words
    /// gets the first 200, not three seconds of the database's time.
    pub fn bounded(&self) -> Self {
        let cut = |s: &str, n: usize| s.trim().chars().take(n).collect::<String>();
        Self {
            q: cut(&self.q, 200),
            category: cut(&self.category, 100),
            tag: cut(&self.tag, TAG_MAX_CHARS),
            page: self.page.clamp(1, 100_000),
            ..self.clone()
        }
    }

    pub fn is_filtered(&self) -> bool {
        !self.q.is_empty() || !self.category.is_empty() || !self.tag.is_empty() || self.location.is_some()
    }
}

/// A value safe to put in a URL path segment (anything else is dropped).
pub fn url_segment(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').take(64).collect()
}

fn query_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One page of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPage {
    pub items: Vec<ItemView>,
    /// items matching the filters, on all pages (a lower bound when `total_capped`)
    pub total: i64,
    /// a filtered count stops at 10,000: there are more than `total`
    pub total_capped: bool,
    /// another page follows
    pub has_next: bool,
    pub page: u32,
    pub per_page: u32,
    /// the user's categories and tags, for the filter menus
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    /// the user's places (id, path), A→Z by path, for the location filter
    pub locations: Vec<(i64, String)>,
}

impl ItemPage {
    /// How many pages there are (when `total_capped`, at least this many).
    pub fn pages(&self) -> u32 {
        u32::try_from((self.total.max(0) as u64).div_ceil(u64::from(self.per_page))).unwrap_or(u32::MAX).max(1)
    }
}

pub const LOCATION_NAME_MAX: usize = 100;
/// How deep places may nest (a house › room › cupboard › shelf › box … is far less).
pub const LOCATION_DEPTH_MAX: usize = 12;

/// The user's suggestions while typing in the item form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestions {
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    /// location paths
    pub locations: Vec<String>,
}

/// Checks one place's name ("Shelf 2"): trimmed, not empty, no "/" (it separates levels in a path).
pub fn check_location_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AppError::validation("name", "Give the place a name."));
    }
    if name.contains('/') {
        return Err(AppError::validation("name", "A place's name cannot contain \"/\" (it separates levels)."));
    }
    if name.chars().count() > LOCATION_NAME_MAX {
        return Err(AppError::validation("name", format!("Keep the name to {LOCATION_NAME_MAX} characters or fewer.")));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::validation("name", "The name contains characters that cannot be stored."));
    }
    Ok(name.to_owned())
}

/// Splits a typed location ("Kitchen / Shelf 2 /") into its levels (["Kitchen", "Shelf 2"]).
/// Empty means no place. Errors name the item form's `location` field.
pub fn parse_location_path(raw: &str) -> Result<Vec<String>, AppError> {
    let levels: Vec<&str> = raw.split('/').map(str::trim).filter(|l| !l.is_empty()).collect();
    if levels.len() > LOCATION_DEPTH_MAX {
        return Err(AppError::validation("location", format!("Places nest at most {LOCATION_DEPTH_MAX} levels deep.")));
    }
    levels
        .into_iter()
        .map(|l| {
            check_location_name(l).map_err(|e| match e {
                AppError::Validation { message, .. } => AppError::validation("location", message),
                other => other,
            })
        })
        .collect()
}

/// One place with what is inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationView {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    /// "Kitchen / Shelf 2"
    pub path: String,
    /// 0 for a top-level place
    pub depth: u32,
    /// items placed directly here
    pub own_items: i64,
    /// items here and in every place below
    pub items: i64,
    /// their quantities summed
    pub quantity: i64,
    /// retail price × quantity per currency, here and below: (currency, amount)
    pub value_by_currency: Vec<(String, String)>,
}

/// All the user's places, depth first (siblings A→Z), with counts rolled up the tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationTree {
    pub locations: Vec<LocationView>,
    /// items with no place
    pub unplaced: i64,
}

impl LocationTree {
    pub fn get(&self, id: i64) -> Option<&LocationView> {
        self.locations.iter().find(|l| l.id == id)
    }

    /// The places above `id`, outermost first.
    pub fn ancestors(&self, id: i64) -> Vec<&LocationView> {
        let mut chain = Vec::new();
        let mut next = self.get(id).and_then(|l| l.parent_id);
        while let Some(p) = next.and_then(|p| self.get(p)) {
            if chain.len() > LOCATION_DEPTH_MAX * 2 {
                break; // never loop on a malformed tree
            }
            chain.push(p);
            next = p.parent_id;
        }
        chain.reverse();
        chain
    }

    /// The places directly inside `parent` (`None`: the top level).
    pub fn children(&self, parent: Option<i64>) -> Vec<&LocationView> {
        self.locations.iter().filter(|l| l.parent_id == parent).collect()
    }

    /// True when `id` is `root` or lies somewhere below it.
    pub fn within(&self, root: i64, id: i64) -> bool {
        id == root || self.ancestors(id).iter().any(|a| a.id == root)
    }
}

/// Most rows one bulk change may touch (a page is 50).
pub const BULK_MAX: usize = 500;

/// One change applied to many items at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkOp {
    SetCategory(String),
    /// a typed path, as in the item form ("" takes the items out of every place)
    SetLocation(String),
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    Delete,
}

impl BulkOp {
    /// Reads the bulk form: the chosen operation, its value, and the delete confirmation.
    pub fn parse(op: &str, value: &str, confirmed: bool) -> Result<Self, AppError> {
        let field = |e: AppError| match e {
            AppError::Validation { message, .. } => AppError::validation("value", message),
            other => other,
        };
        Ok(match op {
            "set_category" => {
                let c = value.trim();
                if c.chars().count() > 100 {
                    return Err(AppError::validation("value", "Keep the category to 100 characters or fewer."));
                }
                Self::SetCategory(c.to_owned())
            }
            "set_location" => {
                parse_location_path(value).map_err(field)?;
                Self::SetLocation(value.to_owned())
            }
            "add_tags" | "remove_tags" => {
                let tags = parse_tags(value).map_err(field)?;
                if tags.is_empty() {
                    return Err(AppError::validation("value", "Type the tags, separated by commas."));
                }
                if op == "add_tags" {
                    Self::AddTags(tags)
                } else {
                    Self::RemoveTags(tags)
                }
            }
            "delete" if confirmed => Self::Delete,
            "delete" => {
                return Err(AppError::validation(
                    "confirm",
                    "Tick “Yes, delete them” to delete the selected items. This cannot be undone.",
                ))
            }
            _ => return Err(AppError::validation("op", "Choose what to do with the selected items.")),
        })
    }
}

/// Most items one CSV import may hold.
pub const IMPORT_MAX_ROWS: usize = 50_000;

/// One problem in an import file, by line (1 is the header) and the form field it concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    pub line: u64,
    pub column: String,
    pub message: String,
}

/// A checked, not yet imported CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub token: String,
    /// rows that would become items
    pub items: usize,
    /// problems in all (the list below may stop short)
    pub problem_count: usize,
    pub problems: Vec<RowProblem>,
    /// columns that match no item field and will be left out
    pub ignored_columns: Vec<String>,
    /// the first rows, as they would be imported
    pub sample: Vec<ItemForm>,
}

/// Where an import being committed in the background is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    Queued,
    Importing,
    Done,
    Failed,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Importing => "importing",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "importing" => Self::Importing,
            "done" => Self::Done,
            _ => Self::Failed,
        }
    }

    pub fn is_pending(self) -> bool {
        matches!(self, Self::Queued | Self::Importing)
    }
}

/// An import being committed (or committed) in the background: how far it has got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRun {
    pub status: ImportStatus,
    /// rows written so far, of `total`
    pub done: i32,
    pub total: i32,
    /// why it failed
    pub detail: Option<String>,
}

/// What one user keeps on one storage backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageUse {
    pub backend: String,
    pub bytes: i64,
    pub objects: i64,
}

/// The dashboard's inventory figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryStats {
    pub item_count: i64,
    pub total_quantity: i64,
    /// retail price × quantity, summed per currency: (currency, amount)
    pub value_by_currency: Vec<(String, String)>,
    /// the largest categories first ("" = uncategorised): (category, items)
    pub by_category: Vec<(String, i64)>,
    /// the largest top-level places, counting everything inside them ("" = no place): (name, items)
    pub by_location: Vec<(String, i64)>,
    /// storage used per backend (`local`, `s3`, `vercel`): photos, thumbnails, documents and exports
    pub storage: Vec<StorageUse>,
    pub recent: Vec<ItemView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_two_decimal_amounts() {
        assert_eq!(parse_price("p", "").unwrap(), None);
        assert_eq!(parse_price("p", "12").unwrap().as_deref(), Some("12.00"));
        assert_eq!(parse_price("p", "0.5").unwrap().as_deref(), Some("0.50"));
        assert_eq!(parse_price("p", "1,299.99").unwrap().as_deref(), Some("1299.99"));
        assert_eq!(parse_price("p", ".5").unwrap().as_deref(), Some("0.50"));
        for bad in ["-1", "1.234", "abc", "$5", "1e3", ".", "1234567890123"] {
            assert!(parse_price("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_are_trimmed_and_deduplicated() {
        assert_eq!(parse_tags(" oak, Vintage ,,oak, vintage ").unwrap(), vec!["oak", "Vintage"]);
        assert!(parse_tags(&"x,".repeat(31)).is_ok()); // all duplicates of "x"
        let many: Vec<String> = (0..31).map(|i| format!("t{i}")).collect();
        assert!(parse_tags(&many.join(",")).is_err());
    }

    #[test]
    fn quantities_and_currencies() {
        assert_eq!(parse_quantity("").unwrap(), 1);
        assert_eq!(parse_quantity(" 7 ").unwrap(), 7);
        assert!(parse_quantity("-1").is_err());
        assert!(parse_quantity("2.5").is_err());
        assert_eq!(parse_currency("eur").unwrap(), "EUR");
        assert!(parse_currency("EURO").is_err());
    }

    #[test]
    fn the_page_size_is_one_of_those_offered() {
        let q = |per: &str| ItemQuery::from_pairs(|k| (k == "per").then(|| per.to_owned()));
        assert_eq!(q("100").per_page(), 100);
        assert_eq!(q("100").href(), "/inventory?per=100");
        for odd in ["0", "7", "1000000", "-1", "x"] {
            assert_eq!(q(odd).per_page(), PER_PAGE, "{odd}");
        }
        assert_eq!(q("50").href(), "/inventory", "the default is left out");
        // a client that sends another size through the API gets the default
        assert_eq!(ItemQuery { per: 9999, ..ItemQuery::default() }.per_page(), PER_PAGE);
    }

    #[test]
    fn the_url_round_trips_the_table_state() {
        let q = ItemQuery {
            q: "oak chair".into(),
            category: "Furniture & home".into(),
            tag: String::new(),
            location: Some(7),
            sort: SortKey::Name,
            desc: false,
            page: 3,
            per: 100,
            grid: true,
        };
        let href = q.href();
        assert_eq!(
            href,
            "/inventory?category=Furniture+%26+home&dir=asc&location=7&page=3&per=100&q=oak+chair&sort=name&view=grid"
        );
        let query = href.split_once('?').unwrap().1;
        let map: BTreeMap<String, String> = query
            .split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                let v = v.replace('+', " ").replace("%26", "&");
                (k.to_owned(), v)
            })
            .collect();
        assert_eq!(ItemQuery::from_pairs(|k| map.get(k).cloned()), q);
        assert_eq!(ItemQuery::default().href(), "/inventory");
        // clearing the filters keeps the view; switching the view keeps everything else
        assert_eq!(q.cleared().href(), "/inventory?view=grid");
        assert_eq!(q.shown_as(false).href(), href.replace("&view=grid", ""));
    }

    #[test]
    fn sorting_toggles_and_resets_the_page() {
        let q = ItemQuery { page: 4, ..ItemQuery::from_pairs(|_| None) };
        assert_eq!(q.sort, SortKey::Updated);
        assert!(q.desc);
        let by_name = q.sorted_by(SortKey::Name);
        assert_eq!((by_name.sort, by_name.desc, by_name.page), (SortKey::Name, false, 1));
        assert!(by_name.sorted_by(SortKey::Name).desc);
        assert_eq!(ItemQuery::from_pairs(|k| (k == "page").then(|| "0".into())).page, 1);
    }
}
