//! What the search page exchanges with the server (compiled for the browser too).

use serde::{Deserialize, Serialize};

use crate::documents::types::DocType;

/// The search page's state, all of it in the URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub q: String,
    /// `pdf`, `docx`, …; empty for all
    #[serde(default)]
    pub doc_type: String,
    /// `YYYY-MM-DD`, inclusive; empty for no bound
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// 1-based page of results
    #[serde(default)]
    pub page: u32,
}

/// How the results were ranked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SearchMode {
    /// Vector similarity and full-text rank, fused.
    Hybrid,
    /// Full text only; the reason is shown on the page.
    TextOnly { reason: String },
}

/// A piece of a snippet: matching words are marked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub text: String,
    pub hit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    pub chunk_id: i64,
    pub page: i32,
    pub snippet: Vec<Segment>,
}

/// How a document matched: what the page says beside it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchCue {
    /// its words and its meaning
    #[default]
    Both,
    Words,
    Meaning,
}

impl MatchCue {
    pub fn label(self) -> &'static str {
        match self {
            Self::Both => "Matches your words and meaning",
            Self::Words => "Matches your words",
            Self::Meaning => "Close in meaning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultGroup {
    pub document_id: i64,
    pub title: String,
    pub doc_type: DocType,
    pub owner_email: Option<String>,
    pub passages: Vec<Passage>,
    #[serde(default)]
    pub cue: MatchCue,
    /// found by meaning alone, and much further from the query than the best result: shown apart,
    /// as less related, not as the equal of the results above it
    #[serde(default)]
    pub weak: bool,
}

/// An inventory item whose words match the query (shown above the documents, first page only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemHit {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub snippet: Vec<Segment>,
    /// the small thumbnail of its first photo (`/media/{id}`), if it has one
    #[serde(default)]
    pub cover: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    pub mode: SearchMode,
    /// up to 5 matching inventory items, and how many match in all
    #[serde(default)]
    pub items: Vec<ItemHit>,
    #[serde(default)]
    pub items_total: i64,
    pub groups: Vec<ResultGroup>,
    pub page: u32,
    pub has_more: bool,
    pub took_ms: u64,
}
