//! Inventory items by meaning: an item's words carry a version (`text_version`, bumped by a
//! trigger when any of them changes); the `embed_items` job embeds, a batch at a time, the items
//! whose `embedded_version` is behind and records the version it read.

use std::time::Duration;

use async_trait::async_trait;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use super::repo;

use crate::jobs::{Claimed, Job, JobError, Lane};
use crate::platform::db::conn;
use crate::platform::AppState;
use crate::vectors;

/// Embeds a user's inventory items whose words changed (`subject_id` is the user's id).
pub const EMBED_ITEMS: &str = "embed_items";
/// Inventory items embedded per batch (their texts are short).
const ITEM_BATCH: i64 = 32;

pub struct EmbedItems;

#[async_trait]
impl Job for EmbedItems {
    fn kind(&self) -> &'static str {
        EMBED_ITEMS
    }
    fn lane(&self) -> Lane {
        Lane::Model
    }
    async fn run(&self, state: &AppState, job: &Claimed) -> Result<(), JobError> {
        embed_items(state, job).await.map_err(JobError::Retry)
    }
}

/// Queues an `embed_items` job for every user with items waiting to be embedded (at start-up and
/// after a reindex; a job that finished just as an item changed leaves nothing behind for long).
pub async fn queue_item_embedding(c: &mut AsyncPgConnection) -> QueryResult<usize> {
    repo::queue_for_users_with_due_items(c, EMBED_ITEMS).await
}

/// After the model changed (`vectors::adopt_model` dropped every vector): every item is due again.
pub async fn queue_reembedding(c: &mut AsyncPgConnection) -> QueryResult<usize> {
    repo::forget_embeddings(c).await?;
    queue_item_embedding(c).await
}

/// Queues the embedding of `user_id`'s changed items (after a create, edit, import or bulk change).
pub async fn items_changed(state: &AppState, c: &mut AsyncPgConnection, user_id: i64) {
    if state.embedder.is_none() || state.vector.pool().is_none() {
        return; // nothing would embed them; start-up queues them once something can
    }
    match crate::jobs::enqueue(c, EMBED_ITEMS, user_id, user_id).await {
        Ok(()) => state.jobs_added.notify_waiters(),
        Err(e) => tracing::warn!(error = %e, user_id, "could not queue the embedding of items"),
    }
}

/// What an item's embedding is made from: its words, most telling first.
pub fn item_text(name: &str, category: &str, description: &str, details: [&str; 3], tags: &[String]) -> String {
    let mut parts: Vec<String> = vec![name.trim().to_owned()];
    parts.extend([category, description].iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()));
    let details: Vec<&str> = details.iter().map(|d| d.trim()).filter(|d| !d.is_empty()).collect();
    if !details.is_empty() {
        parts.push(details.join(", "));
    }
    if !tags.is_empty() {
        parts.push(tags.join(", "));
    }
    parts.join(". ")
}

/// Embeds `job.user_id`'s items whose words changed since they were last embedded, a batch at a
/// time. Each batch records the text version it embedded: an item edited meanwhile stays due and
/// is embedded again by the next batch.
async fn embed_items(state: &AppState, job: &crate::jobs::Claimed) -> Result<(), String> {
    let (Some(embedder), Some(vpool)) = (state.embedder.clone(), state.vector.pool().cloned()) else {
        return Ok(()); // the items stay due until an embedder and a vector database are configured
    };
    let user = job.user_id;
    loop {
        let due = {
            let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
            repo::due_for_embedding(&mut c, user, ITEM_BATCH).await.map_err(|e| e.to_string())?
        };
        if due.is_empty() {
            return Ok(());
        }
        let texts: Vec<String> = due
            .iter()
            .map(|(_, _, name, category, description, material, colour, origin, tags, photo_text)| {
                let tags: Vec<String> = tags.iter().flatten().cloned().collect();
                let mut text = item_text(name, category, description, [material, colour, origin], &tags);
                // the words on its photos last, and only their start: a label, not a manual
                let words: String = photo_text.split_whitespace().take(40).collect::<Vec<_>>().join(" ");
                if !words.is_empty() {
                    text.push_str(". ");
                    text.push_str(&words);
                }
                text
            })
            .collect();
        let vecs = embedder.embed(&texts).await.map_err(|e| format!("Embedding failed ({e})."))?;
        let rows = due
            .iter()
            .zip(vecs)
            .map(|(item, v)| vectors::ItemVector { item_id: item.0, user_id: user, embedding: v })
            .collect();
        let mut vc = vpool.get().await.map_err(|e| format!("The vector database is unavailable ({e})."))?;
        vectors::insert_items(&mut vc, embedder.model_id(), rows)
            .await
            .map_err(|e| format!("The vector database failed ({e})."))?;
        drop(vc);
        let ids: Vec<i64> = due.iter().map(|i| i.0).collect();
        let versions: Vec<i64> = due.iter().map(|i| i.1).collect();
        let mut c = conn(&state.db).await.map_err(|e| e.to_string())?;
        let recorded = repo::record_embedded(&mut c, user, &ids, &versions).await.map_err(|e| e.to_string())?;
        drop(c);
        if recorded == 0 {
            // every one was edited while it was embedded: take a breath before the next round
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        crate::jobs::heartbeat(state, job).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_items_text_has_its_words_most_telling_first_and_no_empty_parts() {
        let tags = vec!["oak".to_owned(), "antique".to_owned()];
        assert_eq!(
            item_text("Dining chair", "Furniture", "", ["oak", "", "France"], &tags),
            "Dining chair. Furniture. oak, France. oak, antique"
        );
        assert_eq!(item_text(" Lamp ", "", "", ["", "", ""], &[]), "Lamp");
    }
}
