//! Exporting a user's items as CSV, XLSX, JSON, or a ZIP of the CSV with every photo. Items are
//! read a thousand at a time and written to a temporary file (memory stays flat however large the
//! inventory), which is stored under `users/{user_id}/exports/{export_id}.{ext}` on the exports
//! storage and then downloaded by its owner.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};

use diesel_async::AsyncPgConnection;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

pub use super::repo::exports::Export;
use super::repo::{self, exports::NewExport};
use super::types::ItemView;
use crate::error::AppError;
use crate::ids::{ExportId, UserId};
use crate::platform::db::{conn_as, next_id, query_failed};
use crate::platform::AppState;
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

type Zip = ZipWriter<File>;

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).large_file(true)
}

/// Where rows go while an export is written (one per export, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant, reason = "one value per export")]
enum Sink {
    Csv(csv::Writer<BufWriter<File>>),
    /// rust_xlsxwriter in its constant-memory mode: rows go to a temporary file as they come
    Xlsx {
        workbook: Box<rust_xlsxwriter::Workbook>,
        row: u32,
        path: std::path::PathBuf,
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
    fn open(format: ExportFormat, path: &std::path::Path) -> Result<Self, AppError> {
        let file = File::create(path).map_err(io)?;
        let mut header: Vec<String> = HEADER.iter().map(|h| (*h).to_owned()).collect();
        Ok(match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(BufWriter::new(file));
                w.write_record(&header).map_err(io)?;
                Self::Csv(w)
            }
            ExportFormat::Xlsx => {
                drop(file); // the workbook writes the file itself when it is saved
                let mut workbook = rust_xlsxwriter::Workbook::new();
                if let Some(dir) = path.parent() {
                    workbook.set_tempdir(dir).map_err(io)?;
                }
                let sheet = workbook.add_worksheet_with_constant_memory().map_err(io)?;
                sheet.set_name("Inventory").map_err(io)?;
                for (col, h) in (0u16..).zip(HEADER) {
                    sheet.write_string(0, col, h).map_err(io)?;
                }
                Self::Xlsx { workbook: Box::new(workbook), row: 0, path: path.to_owned() }
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
            Self::Xlsx { workbook, row, .. } => {
                *row += 1;
                let sheet = workbook.worksheet_from_index(0).map_err(io)?;
                for (col, (h, v)) in (0u16..).zip(HEADER.iter().zip(&vals)) {
                    if v.is_empty() {
                        continue;
                    }
                    // quantity, import cost and retail price are numbers; the rest text, never a formula
                    let number = matches!(*h, "quantity" | "import_cost" | "retail_price")
                        .then(|| v.parse::<f64>().ok())
                        .flatten();
                    match number {
                        Some(n) => sheet.write_number(*row, col, n).map_err(io)?,
                        None => sheet.write_string(*row, col, v).map_err(io)?,
                    };
                }
                Ok(())
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
            Self::Xlsx { mut workbook, path, .. } => {
                workbook.save(&path).map_err(io)?;
                File::open(&path).map_err(io)?.sync_all().map_err(io)
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
) -> Result<HashMap<i64, Vec<(i64, Backend, String)>>, AppError> {
    let rows = super::repo::assets::originals_of(c, user_id, items).await?;
    let mut out: HashMap<i64, Vec<(i64, Backend, String)>> = HashMap::new();
    for (item, id, backend, key) in rows {
        out.entry(item).or_default().push((id, backend, key));
    }
    Ok(out)
}

/// Writes every item of the user in `format` to the file `path` (nothing is stored); returns how
/// many items it holds. The account archive takes these files as they are.
pub async fn write_file(
    state: &AppState,
    c: &mut AsyncPgConnection,
    user_id: i64,
    format: ExportFormat,
    path: &std::path::Path,
) -> Result<i32, AppError> {
    let mut sink = Sink::open(format, path)?;
    let mut after = 0i64;
    let mut count = 0i32;
    loop {
        // in id order, a thousand at a time
        let batch = repo::items_after(c, user_id, after, 1000).await.map_err(query_failed)?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let ids: Vec<i64> = batch.iter().map(|i| i.id).collect();
        let views: Vec<_> = batch.into_iter().map(repo::Item::into_view).collect();
        let photos = if format == ExportFormat::Zip { originals(c, user_id, &ids).await? } else { HashMap::new() };
        for v in &views {
            let mut names = Vec::new();
            for (asset, backend, key) in photos.get(&v.id).into_iter().flatten() {
                let ext = key.rsplit('.').next().unwrap_or("jpg");
                let name = format!("photos/{}-{asset}.{ext}", v.id);
                let Some(k) = BlobKey::from_stored(key) else { continue };
                let body = match state.images.get(*backend, &k).await {
                    Ok(b) => b,
                    Err(e) => {
                        // one unreadable photo does not sink the export; the log says which
                        tracing::error!(error = %e, asset, "export: a photo could not be read");
                        continue;
                    }
                };
                let limit = usize::try_from(state.config.photo_max_bytes).unwrap_or(usize::MAX).saturating_add(1 << 20);
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

/// Writes every item of the user in `format` to the exports storage; returns the export's id.
#[tracing::instrument(skip_all, fields(user_id = user_id, format = format.as_str()))]
pub async fn export(state: &AppState, user_id: i64, format: ExportFormat) -> Result<i64, AppError> {
    let tmp_dir = state.config.dirs.uploads.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await.map_err(|_| AppError::Unavailable)?;
    let mut c = conn_as(&state.db, user_id).await?;
    let id = next_id(&mut c, "user_exports_id_seq").await.map_err(query_failed)?;
    let tmp = tmp_dir.join(format!("export-{id}.{}", format.as_str()));
    let written = write_file(state, &mut c, user_id, format, &tmp).await;
    let result = async {
        let count = written?;
        let (bytes, sha256) = crate::storage::sha256_file(&tmp).await.map_err(io)?;
        let key = BlobKey::export(UserId(user_id), ExportId(id), format.as_str());
        let record = async |on: Backend| {
            let backend = on;
            let export = NewExport {
                id,
                user_id,
                format: format.as_str(),
                backend,
                key: key.as_str(),
                bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
                items: count,
                sha256: &sha256,
            };
            repo::exports::insert(&mut c, &export).await
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

/// The user's export with this id.
pub async fn find_export(state: &AppState, user_id: i64, id: i64) -> Result<Export, AppError> {
    let mut c = conn_as(&state.db, user_id).await?;
    repo::exports::find(&mut c, user_id, id).await.map_err(query_failed)?.ok_or(AppError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workbook_reads_back_as_written() {
        use calamine::Reader;
        let dir = std::env::temp_dir().join(format!("bartleby-xlsx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("export.xlsx");
        let mut sink = Sink::open(ExportFormat::Xlsx, &path).unwrap();
        let item = ItemView {
            id: 1,
            name: "a<b & c".into(),
            description: "=1+1".into(),
            category: String::new(),
            material: String::new(),
            colour: String::new(),
            dimensions: String::new(),
            origin: String::new(),
            quantity: 3,
            location_id: None,
            location: String::new(),
            tags: vec![],
            import_cost: None,
            retail_price: Some("12.50".into()),
            currency: "EUR".into(),
            created_at: String::new(),
            updated_at: String::new(),
            photos: vec![],
            cover: None,
        };
        sink.item(&item, &[]).unwrap();
        sink.finish().unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
        let sheet = book.worksheet_range("Inventory").unwrap();
        assert_eq!(sheet.get((0, 0)), Some(&calamine::Data::String("name".into())));
        assert_eq!(sheet.get((1, 0)), Some(&calamine::Data::String("a<b & c".into())));
        assert_eq!(sheet.get((1, 1)), Some(&calamine::Data::String("=1+1".into())), "text, never a formula");
        assert_eq!(sheet.get((1, 8)), Some(&calamine::Data::Float(3.0)));
        assert_eq!(sheet.get((1, 11)), Some(&calamine::Data::Float(12.5)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn formula_like_cells_stay_text() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-5"), "'-5");
        assert_eq!(cell("@SUM"), "'@SUM");
        assert_eq!(cell("Oak chair"), "Oak chair");
    }
}
