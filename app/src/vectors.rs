//! The vector database: which model wrote the vectors, storing and deleting them, and the
//! nearest-neighbour search scoped to the documents a user may read.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Integer};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use pgvector::Vector;

use crate::platform::vector_schema::document_vectors::dsl as v;
use crate::platform::vector_schema::embedding_models::dsl as m;

/// Which passages a search may see: those of `owner`'s documents (when `owner` is set) and those
/// of the listed documents. A search without type or date filters uses the owner (one indexed
/// comparison per row) plus the few documents shared with them, rather than a list of every
/// document the owner has.
#[derive(Debug, Clone)]
pub struct Scope {
    owner: i64,
    documents: Vec<i64>,
}

impl Scope {
    /// Exactly these documents.
    pub fn documents(ids: &[i64]) -> Self {
        Self { owner: -1, documents: ids.to_vec() }
    }
    /// Everything `user_id` owns, plus these (shared) documents.
    pub fn owner(user_id: i64, shared: &[i64]) -> Self {
        Self { owner: user_id, documents: shared.to_vec() }
    }
    pub fn is_empty(&self) -> bool {
        self.owner < 0 && self.documents.is_empty()
    }
    pub fn owner_id(&self) -> i64 {
        self.owner
    }
    pub fn document_ids(&self) -> &[i64] {
        &self.documents
    }
}

/// Below this many passages in scope, search compares every one of them (exact, and fast enough);
/// above it, the HNSW index is used with pgvector's iterative scan so a filter never starves the result.
pub const EXACT_SCAN_LIMIT: i64 = 20_000;

/// The vectors on file were written by another model than the configured one.
#[derive(Debug, thiserror::Error)]
#[error(
    "the vector database holds embeddings from `{stored}` ({stored_dims} dimensions) but the configured model is \
     `{configured}` ({configured_dims} dimensions). Run `bartleby reindex` to re-embed every document with the \
     configured model, or configure the old model again."
)]
pub struct ModelMismatch {
    pub stored: String,
    pub stored_dims: i32,
    pub configured: String,
    pub configured_dims: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error(transparent)]
    Mismatch(#[from] ModelMismatch),
    #[error("vector database: {0}")]
    Db(#[from] diesel::result::Error),
}

/// The tables of vectors and their HNSW indexes: every one holds the configured model's vectors.
const VECTOR_TABLES: [(&str, &str); 2] =
    [("document_vectors", "document_vectors_hnsw_idx"), ("item_vectors", "item_vectors_hnsw_idx")];

/// Checks the recorded model against the configured one. Empty tables adopt the configured
/// model (changing their column's dimension if needed); vectors on file must match it.
pub async fn check_model(conn: &mut AsyncPgConnection, model: &str, dims: usize) -> Result<(), VectorError> {
    let dims = i32::try_from(dims).unwrap_or(i32::MAX);
    let stored: Option<(String, i32)> =
        m::embedding_models.select((m::id, m::dimensions)).order(m::recorded_at.desc()).first(conn).await.optional()?;
    match stored {
        Some((id, d)) if id == model && d == dims => {
            // a table added by a later migration starts at the default dimension: fit it while empty
            for (table, index) in VECTOR_TABLES {
                if column_dims(conn, table).await? != Some(dims) {
                    if has_rows(conn, table).await? {
                        return Err(ModelMismatch {
                            stored: id,
                            stored_dims: column_dims(conn, table).await?.unwrap_or(0),
                            configured: model.to_owned(),
                            configured_dims: dims,
                        }
                        .into());
                    }
                    resize(conn, table, index, dims).await?;
                }
            }
            Ok(())
        }
        Some((id, d)) if any_vectors(conn).await? => {
            Err(ModelMismatch { stored: id, stored_dims: d, configured: model.to_owned(), configured_dims: dims }
                .into())
        }
        _ => adopt_model(conn, model, dims).await,
    }
}

/// Makes `model` the one the vectors belong to: deletes every vector, sets the columns' dimension
/// and records the model. `bartleby reindex` then re-embeds.
pub async fn adopt_model(conn: &mut AsyncPgConnection, model: &str, dims: i32) -> Result<(), VectorError> {
    let model = model.to_owned();
    conn.transaction::<(), VectorError, _>(async move |c| {
        for (table, index) in VECTOR_TABLES {
            if column_dims(c, table).await? != Some(dims) {
                resize(c, table, index, dims).await?;
            } else {
                // table names are our constants, not input
                diesel::sql_query(format!("TRUNCATE {table}")).execute(c).await?;
            }
        }
        diesel::delete(m::embedding_models).execute(c).await?;
        diesel::insert_into(m::embedding_models).values((m::id.eq(&model), m::dimensions.eq(dims))).execute(c).await?;
        Ok(())
    })
    .await
}

/// Empties `table` and gives its embedding column `dims` dimensions (the HNSW index is rebuilt).
async fn resize(c: &mut AsyncPgConnection, table: &str, index: &str, dims: i32) -> Result<(), diesel::result::Error> {
    // table, index and dims are our constants and an integer we hold, not user input
    diesel::sql_query(format!("DROP INDEX IF EXISTS {index}")).execute(c).await?;
    diesel::sql_query(format!("TRUNCATE {table}")).execute(c).await?;
    diesel::sql_query(format!("ALTER TABLE {table} ALTER COLUMN embedding TYPE vector({dims})")).execute(c).await?;
    diesel::sql_query(format!("CREATE INDEX {index} ON {table} USING hnsw (embedding vector_cosine_ops)"))
        .execute(c)
        .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Dims {
    #[diesel(sql_type = Integer)]
    dims: i32,
}

/// The dimension of `table.embedding` (pgvector keeps it as the type modifier).
async fn column_dims(conn: &mut AsyncPgConnection, table: &str) -> Result<Option<i32>, diesel::result::Error> {
    let row: Option<Dims> = diesel::sql_query(
        "SELECT atttypmod AS dims FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding'",
    )
    .bind::<diesel::sql_types::Text, _>(table)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.dims).filter(|d| *d > 0))
}

#[derive(QueryableByName)]
struct Any {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    any: bool,
}

async fn has_rows(conn: &mut AsyncPgConnection, table: &str) -> Result<bool, diesel::result::Error> {
    // existence is enough: a full count of a million rows is not
    let row: Any = diesel::sql_query(format!("SELECT EXISTS (SELECT 1 FROM {table}) AS any")).get_result(conn).await?;
    Ok(row.any)
}

async fn any_vectors(conn: &mut AsyncPgConnection) -> Result<bool, diesel::result::Error> {
    for (table, _) in VECTOR_TABLES {
        if has_rows(conn, table).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A passage's vector, as `document_vectors` keeps it.
#[derive(Debug, Clone)]
pub struct PassageVector {
    pub chunk_id: i64,
    pub document_id: i64,
    pub user_id: i64,
    pub embedding: Vec<f32>,
}

/// An inventory item's vector, as `item_vectors` keeps it.
#[derive(Debug, Clone)]
pub struct ItemVector {
    pub item_id: i64,
    pub user_id: i64,
    pub embedding: Vec<f32>,
}

/// Stores (or replaces) the vectors of some passages.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    model: &str,
    rows: Vec<PassageVector>,
) -> Result<(), diesel::result::Error> {
    let values: Vec<_> = rows
        .into_iter()
        .map(|r| {
            (
                v::chunk_id.eq(r.chunk_id),
                v::document_id.eq(r.document_id),
                v::user_id.eq(r.user_id),
                v::model_id.eq(model.to_owned()),
                v::embedding.eq(Vector::from(r.embedding)),
            )
        })
        .collect();
    diesel::insert_into(v::document_vectors)
        .values(values)
        .on_conflict(v::chunk_id)
        .do_update()
        .set((
            v::embedding.eq(diesel::upsert::excluded(v::embedding)),
            v::model_id.eq(diesel::upsert::excluded(v::model_id)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The passages of a document that already have a vector (ingest resumes after them).
pub async fn embedded_chunks(
    conn: &mut AsyncPgConnection,
    document_id: i64,
) -> Result<Vec<i64>, diesel::result::Error> {
    v::document_vectors.filter(v::document_id.eq(document_id)).select(v::chunk_id).load(conn).await
}

pub async fn delete_document(conn: &mut AsyncPgConnection, document_id: i64) -> Result<usize, diesel::result::Error> {
    diesel::delete(v::document_vectors.filter(v::document_id.eq(document_id))).execute(conn).await
}

/// The vectors of some passages (for the summary: the passage nearest the document's centre).
pub async fn vectors_of(
    conn: &mut AsyncPgConnection,
    document_id: i64,
) -> Result<Vec<(i64, Vec<f32>)>, diesel::result::Error> {
    let rows: Vec<(i64, Vector)> = v::document_vectors
        .filter(v::document_id.eq(document_id))
        .select((v::chunk_id, v::embedding))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|(id, vec)| (id, vec.to_vec())).collect())
}

#[derive(QueryableByName, Debug, Clone)]
pub struct Neighbour {
    #[diesel(sql_type = BigInt)]
    pub chunk_id: i64,
    #[diesel(sql_type = BigInt)]
    pub document_id: i64,
    #[diesel(sql_type = Double)]
    pub distance: f64,
}

/// A scope smaller than this share of all vectors (1 in N) is scanned exactly even when it is
/// large: the HNSW walk would pass over N of everyone else's vectors for each one of the scope's
/// and end up slower than reading the scope's own (a 30,000-passage account among a million:
/// HNSW p95 100 ms, the exact scan 35 ms, and exact).
const SPARSE_SCOPE: i64 = 10;

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = BigInt)]
    rows: i64,
}

/// The planner's estimate of how many vectors there are (no count of a million rows).
async fn vectors_estimate(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    let e: Estimate =
        diesel::sql_query("SELECT reltuples::int8 AS rows FROM pg_class WHERE oid = 'document_vectors'::regclass")
            .get_result(conn)
            .await?;
    Ok(e.rows)
}

/// The `k` passages nearest `query` (cosine distance) among the given documents.
/// `in_scope` is how many passages those documents hold: small scopes, and scopes that are a
/// small share of everyone's passages, are scanned exactly; the rest go through the HNSW index
/// with an iterative scan, which keeps looking until it has `k` rows that pass the filter
/// (pgvector 0.8), so another user's passages never crowd ours out; if it still comes up short
/// (its scan limits), the exact scan answers.
pub async fn nearest(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    in_scope: i64,
    query: &[f32],
    k: i64,
) -> Result<Vec<Neighbour>, diesel::result::Error> {
    if scope.is_empty() {
        return Ok(Vec::new());
    }
    let q = Vector::from(query.to_vec());
    if in_scope > EXACT_SCAN_LIMIT && in_scope.saturating_mul(SPARSE_SCOPE) >= vectors_estimate(conn).await? {
        let hits = approximate(conn, scope, &q, k).await?;
        // the iterative scan gives up at its memory or tuple limit: never answer short
        if hits.len() as i64 >= k.min(in_scope) {
            return Ok(hits);
        }
        tracing::debug!(found = hits.len(), in_scope, "approximate search came up short; scanning exactly");
    }
    exact(conn, scope, &q, k).await
}

pub async fn exact(conn: &mut AsyncPgConnection, scope: &Scope, q: &Vector, k: i64) -> QueryResult<Vec<Neighbour>> {
    // no index *scan* (so never the approximate HNSW one): the rows of the scope come from a
    // bitmap scan of the document index or a sequential scan, and a top-k sort ranks them
    scoped_neighbours(
        conn,
        &["SET LOCAL enable_indexscan = off"],
        "SELECT chunk_id, document_id, (embedding <=> $2)::float8 AS distance FROM document_vectors \
         WHERE (user_id = $4 OR document_id = ANY($1)) ORDER BY distance LIMIT $3",
        scope,
        q,
        k,
    )
    .await
}

pub async fn approximate(
    conn: &mut AsyncPgConnection,
    scope: &Scope,
    q: &Vector,
    k: i64,
) -> QueryResult<Vec<Neighbour>> {
    // relaxed order: the index returns roughly sorted rows; the outer query sorts them exactly
    scoped_neighbours(
        conn,
        &[
            "SET LOCAL hnsw.iterative_scan = relaxed_order",
            "SET LOCAL hnsw.ef_search = 200",
            "SET LOCAL hnsw.max_scan_tuples = 200000",
            "SET LOCAL hnsw.scan_mem_multiplier = 4",
        ],
        "WITH hits AS MATERIALIZED ( \
             SELECT chunk_id, document_id, (embedding <=> $2)::float8 AS distance FROM document_vectors \
             WHERE (user_id = $4 OR document_id = ANY($1)) ORDER BY embedding <=> $2 LIMIT $3) \
         SELECT chunk_id, document_id, distance FROM hits ORDER BY distance",
        scope,
        q,
        k,
    )
    .await
}

/// Runs a nearest-neighbour query in a transaction after its `SET LOCAL` planner settings. The
/// query takes `$1` the scope's document ids, `$2` the query vector, `$3` k, `$4` the scope's owner.
async fn scoped_neighbours(
    conn: &mut AsyncPgConnection,
    settings: &'static [&'static str],
    sql: &'static str,
    scope: &Scope,
    q: &Vector,
    k: i64,
) -> QueryResult<Vec<Neighbour>> {
    let (owner, docs, q) = (scope.owner, scope.documents.clone(), q.clone());
    conn.transaction::<Vec<Neighbour>, diesel::result::Error, _>(async move |c| {
        for setting in settings {
            diesel::sql_query(*setting).execute(c).await?;
        }
        diesel::sql_query(sql)
            .bind::<Array<BigInt>, _>(docs)
            .bind::<pgvector::sql_types::Vector, _>(q)
            .bind::<BigInt, _>(k)
            .bind::<BigInt, _>(owner)
            .load(c)
            .await
    })
    .await
}

/// Stores (or replaces) the vectors of some inventory items.
pub async fn insert_items(
    conn: &mut AsyncPgConnection,
    model: &str,
    rows: Vec<ItemVector>,
) -> Result<(), diesel::result::Error> {
    use crate::platform::vector_schema::item_vectors::dsl as iv;
    let values: Vec<_> = rows
        .into_iter()
        .map(|r| {
            (
                iv::item_id.eq(r.item_id),
                iv::user_id.eq(r.user_id),
                iv::model_id.eq(model.to_owned()),
                iv::embedding.eq(Vector::from(r.embedding)),
            )
        })
        .collect();
    diesel::insert_into(iv::item_vectors)
        .values(values)
        .on_conflict(iv::item_id)
        .do_update()
        .set((
            iv::embedding.eq(diesel::upsert::excluded(iv::embedding)),
            iv::model_id.eq(diesel::upsert::excluded(iv::model_id)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the vectors of some of `user_id`'s items.
/// Deletes every vector of a user (passages and items): their account is being deleted.
pub async fn delete_user(conn: &mut AsyncPgConnection, user_id: i64) -> QueryResult<usize> {
    use crate::platform::vector_schema::item_vectors::dsl as iv;
    let passages = diesel::delete(v::document_vectors.filter(v::user_id.eq(user_id))).execute(conn).await?;
    let items = diesel::delete(iv::item_vectors.filter(iv::user_id.eq(user_id))).execute(conn).await?;
    Ok(passages + items)
}

pub async fn delete_items(conn: &mut AsyncPgConnection, user_id: i64, ids: &[i64]) -> QueryResult<usize> {
    use crate::platform::vector_schema::item_vectors::dsl as iv;
    diesel::delete(iv::item_vectors.filter(iv::user_id.eq(user_id)).filter(iv::item_id.eq_any(ids))).execute(conn).await
}

#[derive(QueryableByName, Debug, Clone)]
pub struct ItemNeighbour {
    #[diesel(sql_type = BigInt)]
    pub item_id: i64,
    #[diesel(sql_type = Double)]
    pub distance: f64,
}

/// The `k` items of `user_id` nearest `query`; `items` is how many the user has (small
/// inventories are compared exactly, large ones through the HNSW index with an iterative scan).
pub async fn nearest_items(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    items: i64,
    query: &[f32],
    k: i64,
) -> QueryResult<Vec<ItemNeighbour>> {
    let q = Vector::from(query.to_vec());
    let (settings, sql): (&[&str], &str) = if items > EXACT_SCAN_LIMIT {
        (
            &[
                "SET LOCAL hnsw.iterative_scan = relaxed_order",
                "SET LOCAL hnsw.ef_search = 200",
                "SET LOCAL hnsw.max_scan_tuples = 200000",
            ],
            "WITH hits AS MATERIALIZED ( \
                 SELECT item_id, (embedding <=> $1)::float8 AS distance FROM item_vectors \
                 WHERE user_id = $2 ORDER BY embedding <=> $1 LIMIT $3) \
             SELECT item_id, distance FROM hits ORDER BY distance",
        )
    } else {
        (
            &["SET LOCAL enable_indexscan = off"],
            "SELECT item_id, (embedding <=> $1)::float8 AS distance FROM item_vectors \
             WHERE user_id = $2 ORDER BY distance LIMIT $3",
        )
    };
    conn.transaction::<Vec<ItemNeighbour>, diesel::result::Error, _>(async move |c| {
        for setting in settings {
            diesel::sql_query(*setting).execute(c).await?;
        }
        diesel::sql_query(sql)
            .bind::<pgvector::sql_types::Vector, _>(q)
            .bind::<BigInt, _>(user_id)
            .bind::<BigInt, _>(k)
            .load(c)
            .await
    })
    .await
}
