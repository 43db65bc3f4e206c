//! Exporting a user's items as CSV: written in batches to a temporary file, stored under
//! `users/{user_id}/exports/{export_id}.csv` on the exports storage, then downloaded by its owner.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::repo::Item;
use crate::error::AppError;
use crate::server::db::{conn, next_id, query_failed};
use crate::server::schema::user_exports::dsl as e;
use crate::server::schema::user_inventory::dsl as t;
use crate::server::AppState;
use crate::storage::BlobKey;

const HEADER: [&str; 14] = [
    "name",
    "description",
    "category",
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

/// Spreadsheets run cells that start with these as formulas: prefix them so they stay text.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

fn row(item: &Item) -> Vec<String> {
    let v = item.view();
    vec![
        cell(&v.name),
        cell(&v.description),
        cell(&v.category),
        cell(&v.material),
        cell(&v.colour),
        cell(&v.dimensions),
        cell(&v.origin),
        v.quantity.to_string(),
        cell(&v.tags.join(", ")),
        v.import_cost.unwrap_or_default(),
        v.retail_price.unwrap_or_default(),
        v.currency,
        v.created_at,
        v.updated_at,
    ]
}

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

/// Writes every item of the user to a CSV file in the exports storage; returns the export's id.
pub async fn export_csv(state: &AppState, user_id: i64) -> Result<i64, AppError> {
    let tmp_dir = state.config.dirs.uploads.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await.map_err(|_| AppError::Unavailable)?;
    let mut c = conn(&state.db).await?;
    let id = next_id(&mut c, "user_exports_id_seq").await.map_err(query_failed)?;
    let tmp = tmp_dir.join(format!("export-{id}.csv"));
    let mut writer = csv::Writer::from_path(&tmp).map_err(|err| {
        tracing::error!(error = %err, "export file");
        AppError::Unavailable
    })?;
    let written = async {
        writer.write_record(HEADER).map_err(|_| AppError::Internal)?;
        let mut after = 0i64;
        let mut count = 0i32;
        loop {
            // in id order, a thousand at a time: memory stays flat however large the inventory
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
            for item in &batch {
                writer.write_record(row(item)).map_err(|_| AppError::Internal)?;
                count += 1;
            }
        }
        writer.flush().map_err(|_| AppError::Unavailable)?;
        Ok::<_, AppError>(count)
    }
    .await;
    let result = async {
        let count = written?;
        let bytes = tokio::fs::metadata(&tmp).await.map_err(|_| AppError::Unavailable)?.len();
        let key = BlobKey::export(user_id, id, "csv");
        let backend = state.exports.put_file(&key, &tmp, "text/csv").await.map_err(|err| {
            tracing::error!(error = %err, "could not store an export");
            AppError::Unavailable
        })?;
        diesel::insert_into(e::user_exports)
            .values((
                e::id.eq(id),
                e::user_id.eq(user_id),
                e::format.eq("csv"),
                e::backend.eq(backend),
                e::key.eq(key.as_str()),
                e::bytes.eq(i64::try_from(bytes).unwrap_or(i64::MAX)),
                e::items.eq(count),
            ))
            .execute(&mut c)
            .await
            .map_err(query_failed)?;
        tracing::info!(user_id, export_id = id, items = count, "export written");
        Ok(id)
    }
    .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    result
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
    fn formula_like_cells_stay_text() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("-5"), "'-5");
        assert_eq!(cell("@SUM"), "'@SUM");
        assert_eq!(cell("Oak chair"), "Oak chair");
    }
}
