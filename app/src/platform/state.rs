//! `AppState`: the one way into configuration, pools and adapters for handlers and server functions.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::config::Config;
use super::db::DbPool;

/// Where embeddings live, if anywhere.
#[derive(Clone)]
pub enum VectorDb {
    /// No database with pgvector: semantic search is off and the app says so.
    Absent,
    /// pgvector in the metadata database (`NEON_DATABASE_URL` unset).
    Shared(DbPool),
    /// A separate database (`NEON_DATABASE_URL`).
    Separate(DbPool),
}

impl VectorDb {
    pub fn pool(&self) -> Option<&DbPool> {
        match self {
            Self::Absent => None,
            Self::Shared(p) | Self::Separate(p) => Some(p),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: DbPool,
    pub vector: VectorDb,
    /// inventory photos and thumbnails
    pub images: crate::storage::Stores,
    /// exports (S3 when configured, as the deployment guide says; local disk otherwise)
    pub exports: crate::storage::Stores,
    /// uploaded documents (S3 when configured; local disk otherwise)
    pub documents: crate::storage::Stores,
    /// turns passages and queries into vectors; `None` when off or the model failed to load
    pub embedder: Option<Arc<dyn crate::embedding::Embedder>>,
    pub leptos_options: LeptosOptions,
    /// nudges idle job workers when a job is queued (they also poll every second)
    pub jobs_added: Arc<tokio::sync::Notify>,
    /// every kind of job, assembled from each feature's list (the one list of kinds)
    pub jobs: Arc<crate::jobs::Registry>,
    /// every kind of stored object (photos, documents, exports), for storage relocation
    pub holdings: Arc<[Arc<dyn crate::storage::relocate::Holdings>]>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// How long a health probe may take before the component counts as down.
    pub fn probe_timeout(&self) -> Duration {
        self.config.database_timeout.min(Duration::from_secs(3))
    }
}
