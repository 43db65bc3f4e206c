//! Hybrid search over the passages a user may read: vector similarity (pgvector, in the vector
//! database) and full-text rank (Postgres `tsvector`, in the metadata database), fused by
//! reciprocal rank, grouped by document, with highlighted snippets. When the vector side is
//! missing, down or slow, the answer is full-text only and says so.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::types::{ItemHit, MatchCue, Passage, ResultGroup, SearchMode, SearchQuery, SearchResults, Segment};
use crate::documents::repo as docs;
use crate::documents::types::DocType;
use crate::error::AppError;
use crate::platform::db::{conn_as, query_failed};
use crate::platform::AppState;
use crate::vectors;
use crate::words::is_hit;
pub use crate::words::query_terms;

/// Result groups (documents) per page.
pub const PER_PAGE: usize = 10;
/// Candidates taken from each ranking before fusion.
pub const CANDIDATES: i64 = 100;
/// Passages shown per document.
const PASSAGES_PER_DOC: usize = 3;
/// The reciprocal rank fusion constant (60 in the original paper).
const RRF_K: f64 = 60.0;
/// Cosine distance beyond which a passage is not considered related (similarity below 0.2 for
/// all-MiniLM-L6-v2: unrelated text scores 0.0-0.1, a paraphrase 0.5 and more).
pub const MAX_DISTANCE: f64 = 0.8;
/// The vector side gets this long (embedding the query and the nearest-neighbour search).
const VECTOR_BUDGET: Duration = Duration::from_secs(3);

/// A document in the fused ranking: its id, its score, and its passages (chunk, score), best first.
type RankedDoc = (i64, f64, Vec<(i64, f64)>);

/// `YYYY-MM-DD` → a date; anything else is no bound.
pub fn parse_date(s: &str) -> Option<time::Date> {
    let mut it = s.trim().splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m: u8 = it.next()?.parse().ok()?;
    let d = it.next()?.parse().ok()?;
    time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

/// Reciprocal rank fusion of two rankings of (passage, document): each passage scores
/// Σ 1 / (60 + rank) over the rankings it appears in.
pub fn fuse(text: &[(i64, i64)], vector: &[(i64, i64)]) -> HashMap<i64, (i64, f64)> {
    let mut score: HashMap<i64, (i64, f64)> = HashMap::new();
    for ranking in [text, vector] {
        for (rank, (chunk, doc)) in ranking.iter().enumerate() {
            score.entry(*chunk).or_insert((*doc, 0.0)).1 += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    score
}

/// Which ranking, and why.
pub enum Ranking {
    Hybrid,
    TextOnly(String),
}

#[tracing::instrument(skip_all, fields(user_id = user_id, page = query.page))]
pub async fn search(state: &AppState, user_id: i64, query: &SearchQuery) -> Result<SearchResults, AppError> {
    search_with(state, user_id, query, true).await
}

/// `use_vectors = false` ranks by full text alone (the benchmark compares the two).
pub async fn search_with(
    state: &AppState,
    user_id: i64,
    query: &SearchQuery,
    use_vectors: bool,
) -> Result<SearchResults, AppError> {
    let started = Instant::now();
    let q = query.q.trim();
    let page = query.page.max(1);
    if q.is_empty() {
        return Ok(SearchResults {
            mode: SearchMode::Hybrid,
            items: Vec::new(),
            items_total: 0,
            groups: Vec::new(),
            page,
            has_more: false,
            took_ms: 0,
        });
    }
    let q: String = q.chars().take(500).collect();
    // Each step takes a connection and gives it back before the next: a request never holds one
    // while it waits for another (or for the model), so a full pool makes searches queue, not
    // stall each other until they time out.
    let mut c = conn_as(&state.db, user_id).await?;
    // the documents this user may read that pass the filters
    let doc_type = DocType::parse(&query.doc_type);
    let (from, to) = (parse_date(&query.from), parse_date(&query.to));
    let scope = docs::readable_by(&mut c, user_id, doc_type, from, to).await.map_err(query_failed)?;
    let items_on_file = crate::inventory::repo::item_count(&c, user_id).await.map_err(query_failed)?;
    drop(c);
    let in_scope: i64 = scope.iter().map(|s| i64::from(s.chunks)).sum();
    let unfiltered = query.doc_type.is_empty() && parse_date(&query.from).is_none() && parse_date(&query.to).is_none();
    let scope = if unfiltered {
        // own documents by owner; shared ones by id (the only ones not owned)
        vectors::Scope::owner(user_id, &scope.iter().filter(|s| !s.own).map(|s| s.id).collect::<Vec<_>>())
    } else {
        vectors::Scope::documents(&scope.iter().map(|s| s.id).collect::<Vec<_>>())
    };

    let text_side = async {
        let mut c = conn_as(&state.db, user_id).await?;
        docs::text_candidates(&mut c, &scope, &q, in_scope, CANDIDATES).await.map_err(query_failed)
    };
    // inventory items by meaning too, on the first page
    let items_wanted = if page == 1 { items_on_file } else { 0 };
    let vector_side = async {
        if !use_vectors {
            return Err(Ranking::TextOnly("Ranked by words only.".into()));
        }
        vector_hits(state, user_id, &scope, in_scope, items_wanted, &q).await
    };
    // the inventory's word search needs neither side: it runs beside them
    let items_side = async {
        if page > 1 {
            return Ok((Vec::new(), 0));
        }
        let query = crate::inventory::types::ItemQuery { q: q.clone(), ..Default::default() };
        crate::inventory::service::page_items(state, user_id, &query).await
    };
    let (text_hits, vector_hits, items_by_words) = tokio::join!(text_side, vector_side, items_side);
    let text_hits = text_hits?;
    let (VectorHits { passages: vector_hits, items: item_vector_hits }, mode) = match vector_hits {
        Ok(hits) => (hits, SearchMode::Hybrid),
        Err(Ranking::TextOnly(reason)) => (VectorHits::default(), SearchMode::TextOnly { reason }),
        Err(Ranking::Hybrid) => (VectorHits::default(), SearchMode::Hybrid),
    };

    let vector_ids: Vec<(i64, i64)> = vector_hits.iter().map(|h| (h.chunk_id, h.document_id)).collect();
    let text_ids: Vec<(i64, i64)> = text_hits.iter().map(|h| (h.chunk_id, h.document_id)).collect();
    let score = fuse(&text_ids, &vector_ids);
    // group by document: a document ranks by its best passage (a long document's many middling
    // passages must not outrank a short one's exact answer)
    let mut by_doc: HashMap<i64, Vec<(i64, f64)>> = HashMap::new();
    for (chunk, (doc, s)) in score {
        by_doc.entry(doc).or_default().push((chunk, s));
    }
    let mut ranked: Vec<RankedDoc> = by_doc
        .into_iter()
        .map(|(doc, mut passages)| {
            passages.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let s = passages[0].1;
            (doc, s, passages)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let skip = (page as usize - 1) * PER_PAGE;
    let has_more = ranked.len() > skip + PER_PAGE;
    let shown: Vec<_> = ranked.into_iter().skip(skip).take(PER_PAGE).collect();

    let chunk_ids: Vec<i64> =
        shown.iter().flat_map(|(_, _, p)| p.iter().take(PASSAGES_PER_DOC).map(|(c, _)| *c)).collect();
    let doc_ids: Vec<i64> = shown.iter().map(|(d, _, _)| *d).collect();
    let mut c = conn_as(&state.db, user_id).await?;
    let chunks: HashMap<i64, docs::PassageRow> = docs::passages(&mut c, &chunk_ids, &doc_ids)
        .await
        .map_err(query_failed)?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let doc_rows: HashMap<i64, docs::Titled> =
        docs::titled(&mut c, &doc_ids).await.map_err(query_failed)?.into_iter().map(|r| (r.id, r)).collect();
    drop(c);

    // how each document matched: by its words (full text), by its meaning (its nearest passage's
    // closeness, 1 − cosine distance), or both
    let worded: std::collections::HashSet<i64> = text_ids.iter().map(|(_, d)| *d).collect();
    let mut closeness: HashMap<i64, f64> = HashMap::new();
    for h in &vector_hits {
        let c = closeness.entry(h.document_id).or_insert(f64::MIN);
        *c = c.max(1.0 - h.distance);
    }
    let best = closeness.values().copied().fold(f64::MIN, f64::max);
    let terms = query_terms(&q);
    let groups = shown
        .into_iter()
        .filter_map(|(doc, _, passages)| {
            let info = doc_rows.get(&doc)?;
            let passages: Vec<Passage> = passages
                .iter()
                .take(PASSAGES_PER_DOC)
                .filter_map(|(cid, _)| chunks.get(cid))
                .filter(|c| c.document_id == doc)
                .map(|c| Passage { chunk_id: c.id, page: c.page, snippet: snippet(&c.text, &terms) })
                .collect();
            let close = closeness.get(&doc).copied();
            let cue = match (worded.contains(&doc), close.is_some()) {
                (true, true) => MatchCue::Both,
                (true, false) => MatchCue::Words,
                (false, _) => MatchCue::Meaning,
            };
            let weak = cue == MatchCue::Meaning && close.is_some_and(|c| c < best - WEAK_GAP);
            (!passages.is_empty()).then(|| ResultGroup {
                document_id: doc,
                title: info.title.clone(),
                doc_type: DocType::parse(&info.doc_type).unwrap_or(DocType::Txt),
                owner_email: (info.user_id != user_id).then(|| info.email.clone()),
                passages,
                cue,
                weak,
            })
        })
        .collect();
    let (items, items_total) = if page == 1 {
        matching_items(state, user_id, items_by_words, &terms, &item_vector_hits).await
    } else {
        (Vec::new(), 0)
    };
    Ok(SearchResults {
        mode,
        items,
        items_total,
        groups,
        page,
        has_more,
        took_ms: started.elapsed().as_millis() as u64,
    })
}

/// A document found by meaning alone whose nearest passage is this much less close to the query
/// than the best result's (closeness = 1 − cosine distance) is shown apart, as less related. It
/// changes no ranking (bench/retrieval's figures stand); the gap is a first setting, not yet
/// measured on a labelled set.
const WEAK_GAP: f64 = 0.15;

/// Inventory items shown with the results.
const ITEMS_SHOWN: usize = 5;
/// Items nearest the query taken before fusion.
const ITEM_CANDIDATES: i64 = 20;
/// Cosine distance beyond which an item is not considered related. An item's text is short (a
/// name, a category, a few words), so it is held to a closer match than a passage: with
/// all-MiniLM-L6-v2 "somewhere to sit" is about 0.5 from "Oak dining chair" and 0.8 or more from
/// a lamp or a rug.
pub const ITEM_MAX_DISTANCE: f64 = 0.65;

/// The inventory items that match: by their words (`by_words`, the inventory's own search: names,
/// descriptions, categories and tags, typo-tolerant) and by meaning (`by_meaning`, nearest first),
/// fused by reciprocal rank like the passages. The count is of the items that match the words
/// (what the link to the inventory shows). A failure here only leaves the section out.
async fn matching_items(
    state: &AppState,
    user_id: i64,
    by_words: Result<(Vec<crate::inventory::types::ItemView>, i64), AppError>,
    terms: &[String],
    by_meaning: &[vectors::ItemNeighbour],
) -> (Vec<ItemHit>, i64) {
    let found = async {
        let (by_words, total) = by_words?;
        let words: Vec<(i64, i64)> = by_words.iter().map(|i| (i.id, i.id)).collect();
        let meaning: Vec<(i64, i64)> = by_meaning.iter().map(|h| (h.item_id, h.item_id)).collect();
        let mut ranked: Vec<(i64, f64)> = fuse(&words, &meaning).into_iter().map(|(id, (_, s))| (id, s)).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(ITEMS_SHOWN);
        // found by meaning alone: read them (the user's own only; a vector left behind by a
        // deleted item finds nothing)
        let missing: Vec<i64> =
            ranked.iter().map(|(id, _)| *id).filter(|id| !by_words.iter().any(|i| i.id == *id)).collect();
        let mut views = by_words;
        if !missing.is_empty() {
            let mut c = conn_as(&state.db, user_id).await?;
            let rows = crate::inventory::repo::find_items(&mut c, user_id, &missing).await.map_err(query_failed)?;
            views.extend(rows.into_iter().map(crate::inventory::repo::Item::into_view));
        }
        let hits: Vec<ItemHit> = ranked
            .iter()
            .filter_map(|(id, _)| views.iter().find(|v| v.id == *id))
            .map(|i| ItemHit {
                snippet: snippet(&i.description, terms),
                id: i.id,
                name: i.name.clone(),
                category: i.category.clone(),
                cover: i.cover,
            })
            .collect();
        Ok::<_, AppError>((hits, total))
    };
    match found.await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(error = %e, "inventory part of the search failed");
            (Vec::new(), 0)
        }
    }
}

/// What the vector side found: passages, and (on the first page) inventory items.
#[derive(Default)]
struct VectorHits {
    passages: Vec<vectors::Neighbour>,
    items: Vec<vectors::ItemNeighbour>,
}

/// The nearest passages (and, when `items` > 0, the nearest of the user's `items` inventory
/// items) by meaning, or why there are none.
async fn vector_hits(
    state: &AppState,
    user_id: i64,
    scope: &vectors::Scope,
    in_scope: i64,
    items: i64,
    q: &str,
) -> Result<VectorHits, Ranking> {
    let Some(embedder) = state.embedder.clone() else {
        return Err(Ranking::TextOnly(
            "Semantic search is off (no embedding model is configured), so results match your words only.".into(),
        ));
    };
    let Some(pool) = state.vector.pool().cloned() else {
        return Err(Ranking::TextOnly(
            "Semantic search is off (no vector database is configured), so results match your words only.".into(),
        ));
    };
    if scope.is_empty() && items == 0 {
        return Ok(VectorHits::default());
    }
    let work = async {
        let v = embedder.embed_query(q).await.map_err(|e| {
            tracing::warn!(error = %e, "query embedding failed");
            Ranking::TextOnly("The embedding model is not answering, so results match your words only.".into())
        })?;
        let down = |e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "vector search failed");
            Ranking::TextOnly(
                "The vector database is not answering, so results match your words only. Search by meaning comes back by itself when it does.".into(),
            )
        };
        let mut vc =
            crate::platform::db::conn_as_reader(&pool, user_id, scope.document_ids()).await.map_err(|e| down(&e))?;
        let passages = vectors::nearest(&mut vc, scope, in_scope, &v, CANDIDATES).await.map_err(|e| down(&e))?;
        tracing::debug!(distances = ?passages.iter().take(8).map(|h| h.distance).collect::<Vec<_>>(), "nearest passages");
        let items = if items > 0 {
            vectors::nearest_items(&mut vc, user_id, items, &v, ITEM_CANDIDATES).await.map_err(|e| down(&e))?
        } else {
            Vec::new()
        };
        tracing::debug!(distances = ?items.iter().take(5).map(|h| h.distance).collect::<Vec<_>>(), "nearest items");
        // passages and items this far from the query are unrelated to it: they would only pad the results
        Ok(VectorHits {
            passages: passages.into_iter().filter(|h| h.distance <= MAX_DISTANCE).collect(),
            items: items.into_iter().filter(|h| h.distance <= ITEM_MAX_DISTANCE).collect(),
        })
    };
    match tokio::time::timeout(VECTOR_BUDGET, work).await {
        Ok(r) => r,
        Err(_) => {
            tracing::warn!("vector search timed out");
            Err(Ranking::TextOnly(
                "The vector database is too slow to answer, so results match your words only.".into(),
            ))
        }
    }
}

/// About 45 words of a passage around its first matching word, matching words marked. The text is
/// returned as plain segments: the page escapes it like any other text.
pub fn snippet(text: &str, terms: &[String]) -> Vec<Segment> {
    const WINDOW: usize = 45;
    let words: Vec<&str> = text.split_whitespace().collect();
    let first = words.iter().position(|w| is_hit(w, terms)).unwrap_or(0);
    let start = first.saturating_sub(12);
    let end = (start + WINDOW).min(words.len());
    let mut out: Vec<Segment> = Vec::new();
    let mut push = |text: String, hit: bool| match out.last_mut() {
        Some(last) if last.hit == hit && !hit => last.text.push_str(&text),
        _ => out.push(Segment { text, hit }),
    };
    if start > 0 {
        push("… ".into(), false);
    }
    for (i, w) in words[start..end].iter().enumerate() {
        if i > 0 {
            push(" ".into(), false);
        }
        if is_hit(w, terms) {
            // mark the word, not the punctuation around it
            let lead: String = w.chars().take_while(|c| !c.is_alphanumeric()).collect();
            let rest = &w[lead.len()..];
            let core_len = rest
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_alphanumeric())
                .map(|(i, c)| i + c.len_utf8())
                .unwrap_or(0);
            if !lead.is_empty() {
                push(lead, false);
            }
            push(rest[..core_len].to_owned(), true);
            if core_len < rest.len() {
                push(rest[core_len..].to_owned(), false);
            }
        } else {
            push((*w).to_owned(), false);
        }
    }
    if end < words.len() {
        push(" …".into(), false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(segments: &[Segment]) -> Vec<&str> {
        segments.iter().filter(|s| s.hit).map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn terms_drop_stopwords_and_stem() {
        assert_eq!(query_terms("Where are the brass lamps?"), vec!["brass", "lamp"]);
    }

    #[test]
    fn snippets_mark_matching_words_without_punctuation() {
        let terms = query_terms("lamp");
        let s = snippet("A brass lamp, two lamps and a LAMP.", &terms);
        assert_eq!(marked(&s), vec!["lamp", "lamps", "LAMP"]);
        let joined: String = s.iter().map(|x| x.text.as_str()).collect();
        assert_eq!(joined, "A brass lamp, two lamps and a LAMP.");
    }

    #[test]
    fn snippets_centre_on_the_first_hit_and_show_cuts() {
        let text = format!("{} needle {}", vec!["hay"; 100].join(" "), vec!["hay"; 100].join(" "));
        let s = snippet(&text, &query_terms("needle"));
        let joined: String = s.iter().map(|x| x.text.as_str()).collect();
        assert!(joined.starts_with("… ") && joined.ends_with(" …"), "{joined}");
        assert_eq!(marked(&s), vec!["needle"]);
    }

    #[test]
    fn markup_stays_text() {
        let s = snippet("<script>alert(1)</script> lamp", &query_terms("lamp"));
        let joined: String = s.iter().map(|x| x.text.as_str()).collect();
        assert!(joined.contains("<script>")); // escaped by the view, never interpreted
    }

    #[test]
    fn dates_parse_or_are_no_bound() {
        assert!(parse_date("2026-11-25").is_some());
        assert!(parse_date("2026-13-01").is_none());
        assert!(parse_date("").is_none());
    }
}
