//! Exporting a user's items as CSV, XLSX, JSON, or a ZIP of the CSV with every photo. Items are
//! read a thousand at a time and written to a temporary file (memory stays flat however large the
//! inventory), which is stored under `users/{user_id}/exports/{export_id}.{ext}` on the exports
//! storage and then downloaded by its owner.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::repo::Item;
use super::types::ItemView;
use crate::error::AppError;
use crate::server::db::{conn, next_id, query_failed};
use crate::server::schema::inventory_assets::dsl as a;
use crate::server::schema::user_exports::dsl as e;
use crate::server::schema::user_inventory::dsl as t;
use crate::server::AppState;
use crate::storage::{Backend, BlobKey, PutError};

/// The columns of every export, in order (CSV import reads the same names).
pub const HEADER: [&str; 15] = [
    "name",
    "description",
    "category",
    "location",
    "material",
    "colour",
    "dimensions",
    "origin",
    "quantity",
    "tags",
    "import_cost",
    "retail_price",
    "currency",
    "created_at",
    "updated_at",
];

/// What an export is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
    Json,
    /// the CSV (with a `photos` column) and every original photo under `photos/`
    Zip,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<Self, AppError> {
        Ok(match s {
            "" | "csv" => Self::Csv,
            "xlsx" => Self::Xlsx,
            "json" => Self::Json,
            "zip" => Self::Zip,
            _ => return Err(AppError::validation("format", "Choose CSV, Excel, JSON or ZIP.")),
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
            Self::Json => "json",
            Self::Zip => "zip",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Json => "application/json",
            Self::Zip => "application/zip",
        }
    }
}

/// Spreadsheets run cells that start with these as formulas: prefix them so they stay text.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// One item's values in `HEADER` order, as text.
fn values(v: &ItemView) -> [String; 15] {
    [
        v.name.clone(),
        v.description.clone(),
        v.category.clone(),
        v.location.clone(),
        v.material.clone(),
        v.colour.clone(),
        v.dimensions.clone(),
        v.origin.clone(),
        v.quantity.to_string(),
        v.tags.join(", "),
        v.import_cost.clone().unwrap_or_default(),
        v.retail_price.clone().unwrap_or_default(),
        v.currency.clone(),
        v.created_at.clone(),
        v.updated_at.clone(),
    ]
}

/// XML text: escaped, without the control characters XML 1.0 cannot hold.
fn xml_text(s: &str) -> String {
    let allowed =
        |c: &char| matches!(c, '\t' | '\n' | '\r') || !((*c as u32) < 0x20 || *c == '\u{FFFE}' || *c == '\u{FFFF}');
    crate::escape_html(&s.chars().filter(allowed).collect::<String>())
}

fn column_letter(i: usize) -> String {
    let mut n = i + 1;
    let mut s = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        s.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// One spreadsheet row: numbers as numbers, the rest as inline strings (never formulas).
fn xlsx_row(r: usize, cells: &[String], numeric: &[bool]) -> String {
    let mut out = format!("<row r=\"{r}\">");
    for (i, v) in cells.iter().enumerate() {
        if v.is_empty() {
            continue;
        }
        let at = format!("{}{r}", column_letter(i));
        if numeric.get(i).copied().unwrap_or(false) {
            out.push_str(&format!("<c r=\"{at}\"><v>{}</v></c>", xml_text(v)));
        } else {
            out.push_str(&format!(
                "<c r=\"{at}\" t=\"inlineStr\"><is><t xml:space=\"preserve\">{}</t></is></c>",
                xml_text(v)
            ));
        }
    }
    out.push_str("</row>");
    out
}

const XLSX_CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;
const XLSX_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const XLSX_WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Inventory" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const XLSX_WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

type Zip = ZipWriter<File>;

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).large_file(true)
}

/// Where rows go while an export is written (one per export, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant, reason = "one value per export")]
enum Sink {
    Csv(csv::Writer<BufWriter<File>>),
    Xlsx {
        zip: Zip,
        row: usize,
        /// which columns hold numbers
        numeric: Vec<bool>,
    },
    Json {
        out: BufWriter<File>,
        first: bool,
    },
    /// photos are written as they come; the CSV is kept aside and added last
    Zip {
        zip: Zip,
        csv: csv::Writer<Vec<u8>>,
    },
}

fn io<E: std::fmt::Display>(e: E) -> AppError {
    tracing::error!(error = %e, "writing an export");
    AppError::Unavailable
}

impl Sink {
    fn open(format: ExportFormat, file: File) -> Result<Self, AppError> {
        let mut header: Vec<String> = HEADER.iter().map(|h| (*h).to_owned()).collect();
        Ok(match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(BufWriter::new(file));
                w.write_record(&header).map_err(io)?;
                Self::Csv(w)
            }
            ExportFormat::Xlsx => {
                let mut zip = ZipWriter::new(file);
                for (name, body) in [
                    ("[Content_Types].xml", XLSX_CONTENT_TYPES),
                    ("_rels/.rels", XLSX_RELS),
                    ("xl/workbook.xml", XLSX_WORKBOOK),
                    ("xl/_rels/workbook.xml.rels", XLSX_WORKBOOK_RELS),
                ] {
                    zip.start_file(name, deflated()).map_err(io)?;
                    zip.write_all(body.as_bytes()).map_err(io)?;
                }
                zip.start_file("xl/worksheets/sheet1.xml", deflated()).map_err(io)?;
                zip.write_all(
                    b"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>",
                )
                .map_err(io)?;
                zip.write_all(xlsx_row(1, &header, &[]).as_bytes()).map_err(io)?;
                // quantity, import cost and retail price are numbers
                let numeric =
                    HEADER.iter().map(|h| matches!(*h, "quantity" | "import_cost" | "retail_price")).collect();
                Self::Xlsx { zip, row: 1, numeric }
            }
            ExportFormat::Json => {
                let mut out = BufWriter::new(file);
                out.write_all(b"[").map_err(io)?;
                Self::Json { out, first: true }
            }
            ExportFormat::Zip => {
                header.push("photos".into());
                let mut csv = csv::Writer::from_writer(Vec::new());
                csv.write_record(&header).map_err(io)?;
                Self::Zip { zip: ZipWriter::new(file), csv }
            }
        })
    }

    fn item(&mut self, v: &ItemView, photos: &[String]) -> Result<(), AppError> {
        let vals = values(v);
        match self {
            Self::Csv(w) => w.write_record(vals.iter().map(|s| cell(s))).map_err(io),
            Self::Zip { csv, .. } => {
                let mut row: Vec<String> = vals.iter().map(|s| cell(s)).collect();
                row.push(photos.join("; "));
                csv.write_record(&row).map_err(io)
            }
            Self::Xlsx { zip, row, numeric } => {
                *row += 1;
                zip.write_all(xlsx_row(*row, &vals, numeric).as_bytes()).map_err(io)
            }
            Self::Json { out, first } => {
                let mut obj = serde_json::Map::new();
                obj.insert("id".into(), v.id.into());
                for (k, val) in HEADER.iter().zip(vals) {
                    let value = match *k {
                        "quantity" => v.quantity.into(),
                        "tags" => v.tags.clone().into(),
                        "location" if v.location.is_empty() => serde_json::Value::Null,
                        "import_cost" | "retail_price" if val.is_empty() => serde_json::Value::Null,
                        _ => val.into(),
                    };
                    obj.insert((*k).to_owned(), value);
                }
                if !*first {
                    out.write_all(b",").map_err(io)?;
                }
                *first = false;
                out.write_all(b"\n").map_err(io)?;
                serde_json::to_writer(&mut *out, &obj).map_err(io)
            }
        }
    }

    /// Adds one photo to a ZIP export.
    fn photo(&mut self, name: &str, bytes: &[u8]) -> Result<(), AppError> {
        if let Self::Zip { zip, .. } = self {
            // photos are compressed already
            zip.start_file(
                name,
                SimpleFileOptions::default().compression_method(CompressionMethod::Stored).large_file(true),
            )
            .map_err(io)?;
            zip.write_all(bytes).map_err(io)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), AppError> {
        match self {
            Self::Csv(mut w) => {
                w.flush().map_err(io)?;
                w.into_inner().map_err(io)?.into_inner().map_err(io)?.sync_all().map_err(io)
            }
            Self::Xlsx { mut zip, .. } => {
                zip.write_all(b"</sheetData></worksheet>").map_err(io)?;
                zip.finish().map_err(io)?.sync_all().map_err(io)
            }
            Self::Json { mut out, .. } => {
                out.write_all(b"\n]\n").map_err(io)?;
                out.into_inner().map_err(io)?.sync_all().map_err(io)
            }
            Self::Zip { mut zip, csv } => {
                let csv = csv.into_inner().map_err(io)?;
                zip.start_file("items.csv", deflated()).map_err(io)?;
                zip.write_all(&csv).map_err(io)?;
                zip.finish().map_err(io)?.sync_all().map_err(io)
            }
        }
    }
}

/// The original photos of these items: item id → [(asset id, backend, key)].
async fn originals(
    c: &mut AsyncPgConnection,
    user_id: i64,
    items: &[i64],
) -> Result<HashMap<i64, Vec<(i64, String, String)>>, AppError> {
    let rows: Vec<(i64, i64, String, String)> = a::inventory_assets
        .filter(a::user_id.eq(user_id))
        .filter(a::item_id.eq_any(items))
        .filter(a::kind.eq("original"))
        .order(a::id.asc())
        .select((a::item_id, a::id, a::backend, a::key))
        .load(c)
        .await?;
    let mut out: HashMap<i64, Vec<(i64, String, String)>> = HashMap::new();
    for (item, id, backend, key) in rows {
        out.entry(item).or_default().push((id, backend, key));
    }
    Ok(out)
}

/// Writes every item of the user in `format` to the exports storage; returns the export's id.
pub async fn export(state: &AppState, user_id: i64, format: ExportFormat) -> Result<i64, AppError> {
    let tmp_dir = state.config.dirs.uploads.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await.map_err(|_| AppError::Unavailable)?;
    let mut c = conn(&state.db).await?;
    let id = next_id(&mut c, "user_exports_id_seq").await.map_err(query_failed)?;
    let tmp = tmp_dir.join(format!("export-{id}.{}", format.as_str()));
    let file = File::create(&tmp).map_err(io)?;
    let written = async {
        let mut sink = Sink::open(format, file)?;
        let mut after = 0i64;
        let mut count = 0i32;
        loop {
            // in id order, a thousand at a time
            let batch: Vec<Item> = t::user_inventory
                .filter(t::user_id.eq(user_id))
                .filter(t::id.gt(after))
                .order(t::id.asc())
                .limit(1000)
                .select(Item::as_select())
                .load(&mut c)
                .await
                .map_err(query_failed)?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            let views = super::service::views(&mut c, user_id, &batch).await?;
            let photos = if format == ExportFormat::Zip {
                originals(&mut c, user_id, &batch.iter().map(|i| i.id).collect::<Vec<_>>()).await?
            } else {
                HashMap::new()
            };
            for v in &views {
                let mut names = Vec::new();
                for (asset, backend, key) in photos.get(&v.id).into_iter().flatten() {
                    let ext = key.rsplit('.').next().unwrap_or("jpg");
                    let name = format!("photos/{}-{asset}.{ext}", v.id);
                    let Some(k) = BlobKey::from_stored(key) else { continue };
                    let body = match state.images.get(backend, &k).await {
                        Ok(b) => b,
                        Err(e) => {
                            // one unreadable photo does not sink the export; the log says which
                            tracing::error!(error = %e, asset, "export: a photo could not be read");
                            continue;
                        }
                    };
                    let limit =
                        usize::try_from(state.config.photo_max_bytes).unwrap_or(usize::MAX).saturating_add(1 << 20);
                    let bytes = axum::body::to_bytes(body, limit).await.map_err(io)?;
                    sink.photo(&name, &bytes)?;
                    names.push(name);
                }
                sink.item(v, &names)?;
                count += 1;
            }
        }
        sink.finish()?;
        Ok::<_, AppError>(count)
    }
    .await;
    let result = async {
        let count = written?;
        let (bytes, sha256) = crate::storage::sha256_file(&tmp).await.map_err(io)?;
        let key = BlobKey::export(user_id, id, format.as_str());
        let record = async |on: Backend| {
            let backend = on.as_str();
            diesel::insert_into(e::user_exports)
                .values((
                    e::id.eq(id),
                    e::user_id.eq(user_id),
                    e::format.eq(format.as_str()),
                    e::backend.eq(backend),
                    e::key.eq(key.as_str()),
                    e::bytes.eq(i64::try_from(bytes).unwrap_or(i64::MAX)),
                    e::items.eq(count),
                    e::sha256.eq(&sha256),
                ))
                .execute(&mut c)
                .await
        };
        state.exports.put_recorded(&key, &tmp, format.content_type(), record).await.map_err(|e| match e {
            PutError::Store(_) => AppError::Unavailable,
            PutError::Record(e) => query_failed(e),
        })?;
        tracing::info!(user_id, export_id = id, items = count, format = format.as_str(), "export written");
        Ok(id)
    }
    .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    result
}

/// Exports, as storage relocation sees them (Vercel Blob holds photos only).
pub struct Exports;

crate::impl_holdings!(Exports {
    table: user_exports,
    label: "exports",
    stores: exports,
    local_dir: exports,
    on_vercel: false,
    content_type: format => |f| ExportFormat::parse(&f).unwrap_or(ExportFormat::Csv).content_type().to_owned(),
});

/// A stored export.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::server::schema::user_exports, check_for_backend(diesel::pg::Pg))]
pub struct Export {
    pub id: i64,
    pub user_id: i64,
    pub format: String,
    pub backend: String,
    pub key: String,
    pub bytes: i64,
    pub items: i32,
    pub created_at: time::OffsetDateTime,
}

/// The user's export with this id.
pub async fn find_export(state: &AppState, user_id: i64, id: i64) -> Result<Export, AppError> {
    let mut c = conn(&state.db).await?;
    e::user_exports
        .filter(e::user_id.eq(user_id))
        .filter(e::id.eq(id))
        .select(Export::as_select())
        .first(&mut c)
        .await
        .optional()
        .map_err(query_failed)?
        .ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreadsheet_cells_are_escaped_and_addressed() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        let row = xlsx_row(2, &["a<b & \u{1}c".into(), String::new(), "12.50".into()], &[false, false, true]);
        assert_eq!(
            row,
            "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t xml:space=\"preserve\">a&lt;b &amp; c</t></is></c><c r=\"C2\"><v>12.50</v></c></row>"
        );
    }

    #[test]
    fn formula_like_cells_stay_text() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-5"), "'-5");
        assert_eq!(cell("@SUM"), "'@SUM");
        assert_eq!(cell("Oak chair"), "Oak chair");
    }
}
