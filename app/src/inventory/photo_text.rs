//! The words on an item's photos — a label, a model or serial number, a brand — read by OCR once
//! per photo, after it is uploaded, on the job queue's model lane (beside the thumbnails, which
//! have a lane of their own). What is read becomes the item's: shown on its page, searched by the
//! table's words (`user_inventory.photo_text`, kept by a trigger as photos are read and removed)
//! and embedded with the rest of its text.

use std::sync::Arc;

use super::photos::AssetKind;
use super::repo::assets;
use crate::jobs::{Claimed, Job, JobError, Lane};
use crate::platform::ocr::{self, OcrError};
use crate::platform::AppState;
use crate::storage::BlobKey;

pub const READ_PHOTO_TEXT: &str = "read_photo_text";
/// The most text kept from one photo.
const MAX_CHARS: usize = 2_000;

pub struct ReadPhotoText;

#[async_trait::async_trait]
impl Job for ReadPhotoText {
    fn kind(&self) -> &'static str {
        READ_PHOTO_TEXT
    }
    /// seconds of CPU a photo: it waits behind documents, never in front of thumbnails
    fn lane(&self) -> Lane {
        Lane::Model
    }
    async fn run(&self, state: &AppState, job: &Claimed) -> Result<(), JobError> {
        read(state, job.user_id, job.subject_id).await
    }
    /// A photo that could not be read (Tesseract missing through every retry) has no words: the
    /// page stops waiting for them.
    async fn failed(&self, state: &AppState, job: &Claimed, _reason: &str, gave_up: bool) {
        if gave_up {
            if let Ok(mut c) = state.db.get().await {
                let _ = assets::set_ocr_text(&mut c, job.subject_id, "").await;
            }
        }
    }
}

/// The jobs, for the inventory's registry.
pub fn job() -> Arc<dyn Job> {
    Arc::new(ReadPhotoText)
}

#[tracing::instrument(skip_all, fields(user_id = user_id, asset_id = asset_id))]
async fn read(state: &AppState, user_id: i64, asset_id: i64) -> Result<(), JobError> {
    let mut c = state.db.get().await.map_err(|e| e.to_string())?;
    let photo = assets::find(&mut c, user_id, asset_id).await.map_err(|e| e.to_string())?;
    // deleted meanwhile, or read already
    let Some(photo) = photo.filter(|a| a.kind == AssetKind::Original && a.ocr_text.is_none()) else { return Ok(()) };
    drop(c);
    let key = BlobKey::from_stored(&photo.key).ok_or(JobError::Permanent("a stored key that is not ours".into()))?;
    let ext = photo.key.rsplit('.').next().unwrap_or("img");
    let source = state.config.dirs.uploads.join("tmp").join(format!("ocrsrc-{asset_id}.{ext}"));
    // read back from wherever the photo is now (fetch_to_file makes the directory)
    let read = match state.images.fetch_to_file(photo.backend, &key, &source).await {
        Ok(_) => Ok(ocr::image(&source, &state.config.parser, None).await),
        Err(e) => Err(JobError::Retry(e.to_string())),
    };
    let _ = tokio::fs::remove_file(&source).await;
    let text = match read? {
        Ok(pages) => words_worth_keeping(&pages.join("\n")),
        Err(e @ OcrError::Missing(_)) => return Err(JobError::Retry(e.to_string())),
        // a photo OCR cannot read has no words; the photo itself is fine
        Err(e) => {
            tracing::info!(error = %e, "a photo could not be read by OCR");
            String::new()
        }
    };
    let mut c = state.db.get().await.map_err(|e| e.to_string())?;
    assets::set_ocr_text(&mut c, asset_id, &text).await.map_err(|e| e.to_string())?;
    tracing::info!(chars = text.len(), "photo read by OCR");
    Ok(())
}

/// Queues the reading of photos that have never been read (uploaded before photos were read, or
/// whose job was lost), a thousand at a time; at start-up and hourly.
pub async fn queue_unread(state: &AppState) -> Result<usize, crate::error::AppError> {
    use crate::platform::db::{conn, query_failed};
    let mut c = conn(&state.db).await?;
    let unread = assets::unread(&mut c, 1_000).await.map_err(query_failed)?;
    for (id, user_id, backend) in &unread {
        let store = state.images.local_store(*backend);
        crate::jobs::enqueue_on(&mut c, READ_PHOTO_TEXT, *user_id, *id, store).await.map_err(query_failed)?;
    }
    Ok(unread.len())
}

/// OCR of a photo of a thing reads its label, and also reads edges and textures as letters
/// ("|", "~", "ee"): keeps the words (two or more letters or digits, mostly letters and digits)
/// of the lines that hold at least one word of three, and at most 2,000 characters.
pub fn words_worth_keeping(text: &str) -> String {
    let wordlike = |t: &str| {
        let alnum = t.chars().filter(|c| c.is_alphanumeric()).count();
        alnum >= 2 && alnum * 10 >= t.chars().count() * 6
    };
    let mut kept: Vec<String> = Vec::new();
    for line in text.lines() {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let words: Vec<&str> = tokens.iter().copied().filter(|t| wordlike(t)).collect();
        let strong = words.iter().any(|w| w.chars().filter(|c| c.is_alphanumeric()).count() >= 3);
        if strong && words.len() * 2 >= tokens.len() {
            kept.push(words.join(" "));
        }
    }
    let mut out = kept.join("\n");
    if out.len() > MAX_CHARS {
        let cut = (0..=MAX_CHARS).rev().find(|&i| out.is_char_boundary(i)).unwrap_or(0);
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_of_a_label_are_kept_and_the_texture_is_not() {
        let read = "| ~ ee |\nBOSCH PSB 18 LI-2\nSerial 4471-2209 ,\n—=— ' .\n";
        assert_eq!(words_worth_keeping(read), "BOSCH PSB 18 LI-2\nSerial 4471-2209");
        assert_eq!(words_worth_keeping("|| ii ~~ .."), "");
        assert!(words_worth_keeping(&"word ".repeat(1_000)).len() <= MAX_CHARS);
    }
}
