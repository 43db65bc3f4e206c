//! The documents feature's rows and queries: documents, their pages and passages, who may read
//! them. The service holds the rules; search reads documents through the queries at the end.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Integer, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;

use super::types::{DocStatus, DocType, DocumentRow};
use crate::platform::schema::document_access::dsl as acc;
use crate::platform::schema::document_pages::dsl as pg;
use crate::platform::schema::user_documents::{self, dsl as d};
use crate::platform::schema::users::dsl as u;
use crate::storage::Backend;
use crate::vectors;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_documents, check_for_backend(diesel::pg::Pg))]
pub struct Document {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
    pub file_name: String,
    pub doc_type: String,
    pub content_type: String,
    pub bytes: i64,
    pub sha256: String,
    pub backend: Backend,
    pub key: String,
    pub pages: Option<i32>,
    pub status: DocStatus,
    pub status_detail: Option<String>,
    pub chunks_total: i32,
    pub chunks_embedded: i32,
    pub summary: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub ocr_pages: i32,
    pub ocr_skipped: i32,
}

impl Document {
    pub fn doc_type(&self) -> DocType {
        DocType::parse(&self.doc_type).unwrap_or(DocType::Txt)
    }
    pub fn row(&self, owner_email: Option<String>) -> DocumentRow {
        DocumentRow {
            id: self.id,
            title: self.title.clone(),
            file_name: self.file_name.clone(),
            doc_type: self.doc_type(),
            bytes: self.bytes,
            pages: self.pages,
            ocr_pages: self.ocr_pages,
            ocr_skipped: self.ocr_skipped,
            status: self.status,
            status_detail: self.status_detail.clone(),
            chunks_total: self.chunks_total,
            chunks_embedded: self.chunks_embedded,
            created_at: crate::platform::format_time(self.created_at),
            owner_email,
        }
    }
}

/// A document as uploaded (its id taken beforehand so its storage key can name it).
#[derive(Debug, Insertable)]
#[diesel(table_name = user_documents)]
pub struct NewDocument<'a> {
    pub id: i64,
    pub user_id: i64,
    pub title: &'a str,
    pub file_name: &'a str,
    pub doc_type: &'a str,
    pub content_type: &'a str,
    pub bytes: i64,
    pub sha256: &'a str,
    pub backend: Backend,
    pub key: &'a str,
    pub status_detail: Option<String>,
}

pub async fn insert(c: &mut AsyncPgConnection, doc: &NewDocument<'_>) -> QueryResult<usize> {
    diesel::insert_into(d::user_documents).values(doc).execute(c).await
}

/// The user's document with these bytes, if they uploaded them before.
pub async fn find_by_sha256(c: &mut AsyncPgConnection, user_id: i64, sha256: &str) -> QueryResult<Option<i64>> {
    d::user_documents.filter(d::user_id.eq(user_id).and(d::sha256.eq(sha256))).select(d::id).first(c).await.optional()
}

/// Deletes the user's document (its pages, passages and shares go with it: `ON DELETE CASCADE`).
pub async fn delete(c: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<usize> {
    diesel::delete(d::user_documents.filter(d::id.eq(id).and(d::user_id.eq(user_id)))).execute(c).await
}

/// Lets `grantee` read the owner's document (nothing happens if they already may).
pub async fn grant(c: &mut AsyncPgConnection, owner_id: i64, id: i64, grantee: i64) -> QueryResult<usize> {
    diesel::insert_into(acc::document_access)
        .values((acc::document_id.eq(id), acc::owner_id.eq(owner_id), acc::grantee_id.eq(grantee)))
        .on_conflict_do_nothing()
        .execute(c)
        .await
}

pub async fn revoke(c: &mut AsyncPgConnection, id: i64, grantee: i64) -> QueryResult<usize> {
    diesel::delete(acc::document_access.filter(acc::document_id.eq(id).and(acc::grantee_id.eq(grantee))))
        .execute(c)
        .await
}

/// The user's own documents, newest first (at most 1,000).
pub async fn mine(c: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<Document>> {
    recent(c, user_id, 1000).await
}

/// The user's newest `n` documents.
pub async fn recent(c: &mut AsyncPgConnection, user_id: i64, n: i64) -> QueryResult<Vec<Document>> {
    d::user_documents
        .filter(d::user_id.eq(user_id))
        .order((d::created_at.desc(), d::id.desc()))
        .limit(n)
        .select(Document::as_select())
        .load(c)
        .await
}

/// The user's documents counted by type and status, with their pages: (type, status, count, pages).
pub async fn counts(c: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<(String, String, i64, i64)>> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        doc_type: String,
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = BigInt)]
        pages: i64,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT doc_type, status, count(*) AS n, coalesce(sum(pages), 0)::bigint AS pages \
         FROM user_documents WHERE user_id = $1 GROUP BY doc_type, status",
    )
    .bind::<BigInt, _>(user_id)
    .load(c)
    .await?;
    Ok(rows.into_iter().map(|r| (r.doc_type, r.status, r.n, r.pages)).collect())
}

/// How many documents others share with the user.
pub async fn shared_count(c: &mut AsyncPgConnection, user_id: i64) -> QueryResult<i64> {
    acc::document_access.filter(acc::grantee_id.eq(user_id)).count().get_result(c).await
}

/// Documents shared with the user, most recently shared first, with their owner's email.
pub async fn shared_with(c: &mut AsyncPgConnection, user_id: i64) -> QueryResult<Vec<(Document, String)>> {
    d::user_documents
        .inner_join(acc::document_access.on(acc::document_id.eq(d::id)))
        .inner_join(u::users.on(u::id.eq(d::user_id)))
        .filter(acc::grantee_id.eq(user_id))
        .order(acc::granted_at.desc())
        .limit(1000)
        .select((Document::as_select(), u::email))
        .load(c)
        .await
}

/// A document the user may read (own, or shared with them), with the owner's email when shared.
pub async fn readable(
    c: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<(Document, Option<String>)>> {
    let Some(doc) = d::user_documents.filter(d::id.eq(id)).select(Document::as_select()).first(c).await.optional()?
    else {
        return Ok(None);
    };
    if doc.user_id == user_id {
        return Ok(Some((doc, None)));
    }
    let granted: Option<i64> = acc::document_access
        .filter(acc::document_id.eq(id).and(acc::grantee_id.eq(user_id)))
        .select(acc::grantee_id)
        .first(c)
        .await
        .optional()?;
    if granted.is_none() {
        return Ok(None);
    }
    let email = u::users.filter(u::id.eq(doc.user_id)).select(u::email).first(c).await?;
    Ok(Some((doc, Some(email))))
}

/// One of the user's own documents.
pub async fn owned(c: &mut AsyncPgConnection, user_id: i64, id: i64) -> QueryResult<Option<Document>> {
    d::user_documents
        .filter(d::id.eq(id).and(d::user_id.eq(user_id)))
        .select(Document::as_select())
        .first(c)
        .await
        .optional()
}

/// One page of a document's extracted text.
#[derive(Debug, Clone, Queryable)]
pub struct Page {
    pub page: i32,
    pub text: String,
}

pub async fn pages(c: &mut AsyncPgConnection, document_id: i64) -> QueryResult<Vec<Page>> {
    pg::document_pages
        .filter(pg::document_id.eq(document_id))
        .order(pg::page)
        .select((pg::page, pg::text))
        .load(c)
        .await
}

/// Someone a document is shared with.
#[derive(Debug, Clone, Queryable)]
pub struct GranteeRow {
    pub email: String,
    pub user_id: i64,
    pub granted_at: OffsetDateTime,
}

pub async fn grantees(c: &mut AsyncPgConnection, document_id: i64) -> QueryResult<Vec<GranteeRow>> {
    acc::document_access
        .inner_join(u::users.on(u::id.eq(acc::grantee_id)))
        .filter(acc::document_id.eq(document_id))
        .order(u::email)
        .select((u::email, u::id, acc::granted_at))
        .load(c)
        .await
}

// --- what ingest writes ---------------------------------------------------------------

/// A document and its owner.
#[derive(Debug, Clone, Queryable)]
pub struct DocOwner {
    pub id: i64,
    pub user_id: i64,
}

/// Every document with text goes back to `embedding` (its vectors are rebuilt): the documents.
pub async fn reset_for_reindex(c: &mut AsyncPgConnection) -> QueryResult<Vec<DocOwner>> {
    diesel::update(d::user_documents.filter(d::chunks_total.gt(0)).filter(d::status.eq_any([
        DocStatus::Ready,
        DocStatus::Embedding,
        DocStatus::Failed,
    ])))
    .set((d::status.eq(DocStatus::Embedding), d::chunks_embedded.eq(0), d::status_detail.eq(None::<String>)))
    .returning((d::id, d::user_id))
    .get_results(c)
    .await
}

pub async fn set_title(c: &mut AsyncPgConnection, id: i64, title: &str) -> QueryResult<usize> {
    diesel::update(d::user_documents.filter(d::id.eq(id))).set(d::title.eq(title)).execute(c).await
}

/// Sets a document's status (when given) and its detail line.
pub async fn set_status(
    c: &mut AsyncPgConnection,
    id: i64,
    status: Option<DocStatus>,
    detail: Option<String>,
) -> QueryResult<usize> {
    let q = diesel::update(d::user_documents.filter(d::id.eq(id)));
    match status {
        Some(s) => {
            q.set((d::status.eq(s), d::status_detail.eq(detail), d::updated_at.eq(diesel::dsl::now))).execute(c).await
        }
        None => q.set((d::status_detail.eq(detail), d::updated_at.eq(diesel::dsl::now))).execute(c).await,
    }
}

/// Replaces a document's pages and passages with newly extracted ones, in one transaction, and
/// sets it to `embedding` with no passage embedded. Returns how many passages it has. A document
/// deleted meanwhile fails with a foreign-key violation.
pub async fn replace_text(
    c: &mut AsyncPgConnection,
    id: i64,
    user_id: i64,
    pages: &[String],
    chunks: &[super::chunk::Chunk],
    page_count: Option<i32>,
    (ocr_pages, ocr_skipped): (i32, i32),
) -> QueryResult<usize> {
    use crate::platform::schema::document_chunks::dsl as ch;
    use diesel_async::AsyncConnection;
    c.transaction::<usize, diesel::result::Error, _>(async move |c| {
        diesel::delete(pg::document_pages.filter(pg::document_id.eq(id))).execute(c).await?;
        diesel::delete(ch::document_chunks.filter(ch::document_id.eq(id))).execute(c).await?;
        for (b, batch) in pages.chunks(500).enumerate() {
            let rows: Vec<_> = batch
                .iter()
                .enumerate()
                .map(|(i, text)| {
                    (
                        pg::document_id.eq(id),
                        pg::user_id.eq(user_id),
                        pg::page.eq(i32::try_from(b * 500 + i + 1).unwrap_or(i32::MAX)),
                        pg::text.eq(text.as_str()),
                    )
                })
                .collect();
            diesel::insert_into(pg::document_pages).values(rows).execute(c).await?;
        }
        for (b, batch) in chunks.chunks(500).enumerate() {
            let rows: Vec<_> = batch
                .iter()
                .enumerate()
                .map(|(i, chunk)| {
                    (
                        ch::document_id.eq(id),
                        ch::user_id.eq(user_id),
                        ch::ordinal.eq(i32::try_from(b * 500 + i).unwrap_or(i32::MAX)),
                        ch::page.eq(chunk.page),
                        ch::text.eq(chunk.text.as_str()),
                    )
                })
                .collect();
            diesel::insert_into(ch::document_chunks).values(rows).execute(c).await?;
        }
        let n = chunks.len();
        diesel::update(d::user_documents.filter(d::id.eq(id)))
            .set((
                d::pages.eq(page_count),
                d::ocr_pages.eq(ocr_pages),
                d::ocr_skipped.eq(ocr_skipped),
                d::chunks_total.eq(i32::try_from(n).unwrap_or(i32::MAX)),
                d::chunks_embedded.eq(0),
                d::status.eq(DocStatus::Embedding),
                d::status_detail.eq(None::<String>),
                d::summary.eq(None::<String>),
                d::updated_at.eq(diesel::dsl::now),
            ))
            .execute(c)
            .await?;
        Ok(n)
    })
    .await
}

/// A passage's id and text.
#[derive(Debug, Clone, Queryable)]
pub struct PassageText {
    pub id: i64,
    pub text: String,
}

/// A document's passages in order.
pub async fn passage_texts(c: &mut AsyncPgConnection, document_id: i64) -> QueryResult<Vec<PassageText>> {
    use crate::platform::schema::document_chunks::dsl as ch;
    ch::document_chunks
        .filter(ch::document_id.eq(document_id))
        .order(ch::ordinal)
        .select((ch::id, ch::text))
        .load(c)
        .await
}

/// One passage's text.
pub async fn passage_text(c: &mut AsyncPgConnection, chunk_id: i64) -> QueryResult<Option<String>> {
    use crate::platform::schema::document_chunks::dsl as ch;
    ch::document_chunks.filter(ch::id.eq(chunk_id)).select(ch::text).first(c).await.optional()
}

/// A document's first passage's text.
pub async fn first_passage(c: &mut AsyncPgConnection, document_id: i64) -> QueryResult<Option<String>> {
    use crate::platform::schema::document_chunks::dsl as ch;
    ch::document_chunks
        .filter(ch::document_id.eq(document_id))
        .order(ch::ordinal)
        .select(ch::text)
        .first(c)
        .await
        .optional()
}

/// How many of a document's passages have a vector (its progress).
pub async fn set_embedded(c: &mut AsyncPgConnection, id: i64, embedded: usize) -> QueryResult<usize> {
    diesel::update(d::user_documents.filter(d::id.eq(id)))
        .set(d::chunks_embedded.eq(i32::try_from(embedded).unwrap_or(i32::MAX)))
        .execute(c)
        .await
}

/// A document is ready: its summary and the detail line (why it is searchable by words only, say).
pub async fn set_ready(
    c: &mut AsyncPgConnection,
    id: i64,
    summary: Option<String>,
    detail: Option<String>,
) -> QueryResult<usize> {
    diesel::update(d::user_documents.filter(d::id.eq(id)))
        .set((
            d::status.eq(DocStatus::Ready),
            d::summary.eq(summary),
            d::status_detail.eq(detail),
            d::updated_at.eq(diesel::dsl::now),
        ))
        .execute(c)
        .await
}

// --- what search reads --------------------------------------------------------------------

/// A document a user may read that passes a search's filters.
#[derive(QueryableByName, Debug, Clone)]
pub struct Readable {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    /// its passages
    #[diesel(sql_type = Integer)]
    pub chunks: i32,
    /// the user's own (else shared with them)
    #[diesel(sql_type = Bool)]
    pub own: bool,
}

/// The documents `user_id` may read, of `doc_type` (all when `None`), added between `from` and
/// `to` (inclusive; no bound when `None`).
pub async fn readable_by(
    c: &mut AsyncPgConnection,
    user_id: i64,
    doc_type: Option<DocType>,
    from: Option<time::Date>,
    to: Option<time::Date>,
) -> QueryResult<Vec<Readable>> {
    diesel::sql_query(
        "SELECT d.id, d.chunks_total AS chunks, d.user_id = $1 AS own FROM user_documents d \
         WHERE (d.user_id = $1 OR EXISTS (SELECT 1 FROM document_access a WHERE a.document_id = d.id AND a.grantee_id = $1)) \
           AND ($2 = '' OR d.doc_type = $2) \
           AND ($3::date IS NULL OR d.created_at >= $3::date) \
           AND ($4::date IS NULL OR d.created_at < $4::date + 1)",
    )
    .bind::<BigInt, _>(user_id)
    .bind::<Text, _>(doc_type.map(|t| t.as_str()).unwrap_or(""))
    .bind::<Nullable<Date>, _>(from)
    .bind::<Nullable<Date>, _>(to)
    .load(c)
    .await
}

/// A passage found by its words.
#[derive(QueryableByName, Clone, Debug)]
pub struct TextHit {
    #[diesel(sql_type = BigInt)]
    pub chunk_id: i64,
    #[diesel(sql_type = BigInt)]
    pub document_id: i64,
}

/// How many passages each source of the full-text side takes at most: those with every word of
/// the query, and those with each one word. Ranking reads every candidate: a common word in a
/// million passages would otherwise mean reading them all for one search.
pub const TEXT_MATCH_CAP: i64 = 1_000;

/// How many of the query's words are looked up one by one and weigh in the ranking (the rest
/// only narrow the passages that have every word).
const WORDS_LOOKED_UP: i64 = 8;

/// Full-text candidates among the scope, best first (`in_scope`: how many passages the scope
/// holds).
///
/// Candidates are the passages with every word of the query (`websearch_to_tsquery`: phrases and
/// exclusions kept), and, for each word, the passages that have it: at most `TEXT_MATCH_CAP` from
/// each, so a word found in a few passages brings all of them, however common the other words
/// are (taking the first matches of all the words together, the passages of a rare word were
/// often never seen). They rank by BM25 (k1 1.5, b 0.75): each word a passage has counts by how
/// rare it is among the scope's passages (inverse document frequency, from the word's own
/// candidates: exact up to the cap, the cap beyond it) and how often the passage has it, relative
/// to the passage's length (to the candidates' average). Every candidate is first scored as if
/// each word it has were there once (a lookup per word), which chooses the `limit` returned; those
/// are then ordered by their words' counts (which means reading each passage's words).
pub async fn text_candidates(
    c: &mut AsyncPgConnection,
    scope: &vectors::Scope,
    q: &str,
    in_scope: i64,
    limit: i64,
) -> QueryResult<Vec<TextHit>> {
    text_candidates_capped(c, scope, q, in_scope, limit, TEXT_MATCH_CAP).await
}

/// [`text_candidates`] with another cap (the benchmark compares the capped ranking with an
/// uncapped one).
pub async fn text_candidates_capped(
    c: &mut AsyncPgConnection,
    scope: &vectors::Scope,
    q: &str,
    in_scope: i64,
    limit: i64,
    cap: i64,
) -> QueryResult<Vec<TextHit>> {
    // websearch syntax: "-word" excludes; every other word is looked up
    let (excluded, wanted): (Vec<&str>, Vec<&str>) =
        q.split_whitespace().partition(|w| w.len() > 1 && w.starts_with('-') && !w.starts_with("--"));
    let excluded: Vec<&str> = excluded.iter().map(|w| &w[1..]).collect();
    // $1 the scope's shared documents, $2 the query, $3 how many, $4 the scope's owner, $5 the
    // cap, $6 the words to look up, $7 the excluded words (joined by "or"), $8 passages in scope,
    // $9 how many words are looked up
    diesel::sql_query(
        "WITH words AS MATERIALIZED ( \
           SELECT w.lexeme, ('''' || replace(replace(w.lexeme, '\\', '\\\\'), '''', '''''') || '''')::tsquery AS q \
             FROM unnest(tsvector_to_array(to_tsvector('english', $6))) AS w(lexeme) LIMIT $9), \
         every_word AS MATERIALIZED ( \
           SELECT c.id, c.document_id, c.tsv FROM document_chunks c \
            WHERE (c.user_id = $4 OR c.document_id = ANY($1)) AND c.tsv @@ websearch_to_tsquery('english', $2) LIMIT $5), \
         per_word AS MATERIALIZED ( \
           SELECT w.lexeme, h.id, h.document_id, h.tsv FROM words w, LATERAL ( \
             SELECT c.id, c.document_id, c.tsv FROM document_chunks c \
              WHERE (c.user_id = $4 OR c.document_id = ANY($1)) AND c.tsv @@ w.q \
                AND ($7 = '' OR NOT c.tsv @@ websearch_to_tsquery('english', $7)) LIMIT $5) h), \
         rarity AS MATERIALIZED ( \
           SELECT w.lexeme, w.q, ln(1 + (greatest($8, n.found) - n.found + 0.5) / (n.found + 0.5)) AS idf \
             FROM words w JOIN (SELECT lexeme, count(*)::float8 AS found FROM per_word GROUP BY lexeme) n USING (lexeme)), \
         found AS MATERIALIZED ( \
           SELECT DISTINCT ON (id) id, document_id, tsv \
             FROM (SELECT id, document_id, tsv FROM every_word UNION ALL SELECT id, document_id, tsv FROM per_word) a \
            ORDER BY id), \
         average AS MATERIALIZED (SELECT greatest(avg(length(tsv)), 1)::float8 AS len FROM found), \
         roughly AS MATERIALIZED ( \
           SELECT f.id, f.document_id, f.tsv, length(f.tsv) / a.len AS relative_length \
             FROM found f CROSS JOIN average a \
            ORDER BY (SELECT coalesce(sum(r.idf) FILTER (WHERE f.tsv @@ r.q), 0) FROM rarity r) \
                     / (1 + 1.5 * (0.25 + 0.75 * length(f.tsv) / a.len)) DESC, f.id \
            LIMIT $3) \
         SELECT x.id AS chunk_id, x.document_id FROM roughly x \
         CROSS JOIN LATERAL ( \
           SELECT coalesce(sum(r.idf * f.tf * 2.5 / (f.tf + 1.5 * (0.25 + 0.75 * x.relative_length))), 0) AS score \
             FROM unnest(x.tsv) u JOIN rarity r ON r.lexeme = u.lexeme, \
                  LATERAL (SELECT coalesce(cardinality(u.positions), 1)::float8 AS tf) f) w \
          ORDER BY w.score DESC, x.id \
          LIMIT $3",
    )
    .bind::<Array<BigInt>, _>(scope.document_ids())
    .bind::<Text, _>(q)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(scope.owner_id())
    .bind::<BigInt, _>(cap)
    .bind::<Text, _>(wanted.join(" "))
    .bind::<Text, _>(excluded.join(" or "))
    .bind::<Double, _>(in_scope as f64)
    .bind::<BigInt, _>(WORDS_LOOKED_UP)
    .load::<TextHit>(c)
    .await
}

/// A passage to show, with its page.
#[derive(QueryableByName, Debug)]
pub struct PassageRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub document_id: i64,
    #[diesel(sql_type = Integer)]
    pub page: i32,
    #[diesel(sql_type = Text)]
    pub text: String,
}

/// The passages `chunk_ids` of the documents `doc_ids` (both: a passage id alone is not trusted).
pub async fn passages(c: &mut AsyncPgConnection, chunk_ids: &[i64], doc_ids: &[i64]) -> QueryResult<Vec<PassageRow>> {
    diesel::sql_query(
        "SELECT id, document_id, page, text FROM document_chunks WHERE id = ANY($1) AND document_id = ANY($2)",
    )
    .bind::<Array<BigInt>, _>(chunk_ids)
    .bind::<Array<BigInt>, _>(doc_ids)
    .load(c)
    .await
}

/// A document's title, type and owner, for a search result.
#[derive(QueryableByName, Debug)]
pub struct Titled {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub doc_type: String,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Text)]
    pub email: String,
}

pub async fn titled(c: &mut AsyncPgConnection, doc_ids: &[i64]) -> QueryResult<Vec<Titled>> {
    diesel::sql_query(
        "SELECT d.id, d.title, d.doc_type, d.user_id, u.email FROM user_documents d JOIN users u ON u.id = d.user_id \
         WHERE d.id = ANY($1)",
    )
    .bind::<Array<BigInt>, _>(doc_ids)
    .load(c)
    .await
}
