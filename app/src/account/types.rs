//! What the account page shows, shared by the server and the browser.

use serde::{Deserialize, Serialize};

/// Where an archive is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArchiveStatus {
    Queued,
    Building,
    Ready,
    Failed,
}

impl ArchiveStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Building => "building",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "building" => Self::Building,
            "ready" => Self::Ready,
            _ => Self::Failed,
        }
    }
}

/// The newest archive a user asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRun {
    pub id: i64,
    pub status: ArchiveStatus,
    pub done: i32,
    pub total: i32,
    pub detail: Option<String>,
    /// the stored archive, once ready (download it at `/account/archives/{id}`)
    pub archive_id: Option<i64>,
    pub bytes: i64,
    /// when it was asked for, as pages show times
    pub started: String,
}
