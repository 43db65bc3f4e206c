//! The Bartleby HTTP server: builds the state, the router and its middleware.
//! `main.rs` is the command line; tests build the same router with [`router`].

/// mimalloc instead of glibc's allocator for every binary built on this crate (the server, the
/// benchmarks, the tests): a page render allocates a great deal in small pieces, and glibc's
/// malloc and free took about a quarter of the server's time at 32 clients.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod backup;
pub mod documents;
pub mod embedded_pg;
pub mod health;
pub mod imports;
pub mod listen;
pub mod maintenance;
pub mod media;
pub mod middleware;
pub mod progress;

use std::sync::Arc;

use anyhow::{Context, Result};
use app::embedding::{Embedder, LocalEmbedder, OpenAiEmbedder};
use app::platform::config::Config;
use app::platform::db::{self, DbPool, META_MIGRATIONS, VECTOR_MIGRATIONS};
use app::platform::session_store::PgSessionStore;
use app::platform::{AppState, VectorDb};
use app::{shell, App};
use axum::routing::get;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Connects to the databases, applies migrations and assembles the state.
/// `database_url` is the metadata database (the embedded one's URL when `DATABASE_URL` is unset).
pub async fn build_state(config: Config, database_url: &str) -> Result<AppState> {
    build_state_with(config, database_url, true).await
}

/// As [`build_state`]; `check_model = false` skips the embedding-model check (`bartleby reindex`,
/// which is how a mismatch gets resolved).
pub async fn build_state_with(config: Config, database_url: &str, check_model: bool) -> Result<AppState> {
    tokio::fs::create_dir_all(&config.dirs.data)
        .await
        .with_context(|| format!("cannot create the data directory {}", config.dirs.data.display()))?;
    let applied = db::run_migrations(database_url, META_MIGRATIONS).await.context("metadata database")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "metadata migrations applied");
    }
    let db = db::build_pool(database_url, config.database_pool_size, config.database_timeout)?;
    let vector = connect_vector_db(&config, database_url).await;
    let leptos_options = LeptosOptions::builder()
        .output_name("bartleby")
        .site_root(config.site_root.to_string_lossy().to_string())
        .site_pkg_dir(bundle_dir(&config.site_root))
        .site_addr(std::net::SocketAddr::new(config.bind_addr, config.port))
        .build();
    let images = app::storage::build::images(&config)?;
    let exports = app::storage::build::exports(&config)?;
    let documents = app::storage::build::documents(&config)?;
    let embedder = load_embedder(&config).await?;
    if let (Some(e), Some(pool), true) = (&embedder, vector.pool(), check_model) {
        check_embedding_model(pool, e.as_ref()).await?;
    }
    Ok(AppState {
        config: Arc::new(config),
        db,
        vector,
        images,
        exports,
        documents,
        embedder,
        leptos_options,
        jobs_added: Arc::new(tokio::sync::Notify::new()),
        jobs: Arc::new(app::jobs::Registry::new(
            app::documents::jobs::jobs()
                .into_iter()
                .chain(app::inventory::jobs())
                .chain(app::account::jobs())
                .collect(),
        )),
        holdings: app::documents::holdings()
            .into_iter()
            .chain(app::inventory::holdings())
            .chain(app::account::holdings())
            .collect(),
    })
}

/// The configured embedder. The local model is loaded once per process (tests build many states).
pub async fn load_embedder(config: &Config) -> Result<Option<Arc<dyn Embedder>>> {
    use app::platform::config::EmbeddingConfig;
    static LOCAL: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<std::path::PathBuf, Arc<LocalEmbedder>>>,
    > = std::sync::OnceLock::new();
    match &config.embedding {
        EmbeddingConfig::Off => {
            tracing::info!("EMBEDDING_PROVIDER=none: search matches words only");
            Ok(None)
        }
        EmbeddingConfig::OpenAi { base_url, api_key, model, dimensions } => {
            let e = OpenAiEmbedder::new(base_url, api_key.expose(), model, *dimensions)
                .map_err(|e| anyhow::anyhow!("configuration error in OPENAI_BASE_URL: {e}"))?;
            tracing::info!(model, dimensions, "embeddings from an OpenAI-compatible API");
            Ok(Some(Arc::new(e)))
        }
        EmbeddingConfig::Local { model_dir, idle } => {
            let cache = LOCAL.get_or_init(Default::default);
            if let Some(e) = cache.lock().ok().and_then(|c| c.get(model_dir).cloned()) {
                return Ok(Some(e));
            }
            let dir = model_dir.clone();
            let idle = *idle;
            match tokio::task::spawn_blocking(move || LocalEmbedder::load(&dir, idle)).await? {
                Ok(e) => {
                    let e = Arc::new(e);
                    if let Ok(mut c) = cache.lock() {
                        c.insert(model_dir.clone(), e.clone());
                    }
                    tracing::info!(dir = %model_dir.display(), "local embedding model found (loaded on first use)");
                    Ok(Some(e))
                }
                Err(err) => {
                    // Bartleby still runs: documents are searchable by their words
                    tracing::error!(error = %err, "no embedding model: search matches words only");
                    Ok(None)
                }
            }
        }
    }
}

/// Refuses to start when the stored vectors came from another model (a vector database that is
/// down now is checked again by the next start; search falls back meanwhile).
async fn check_embedding_model(pool: &DbPool, embedder: &dyn Embedder) -> Result<()> {
    let mut c = match pool.get().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "vector database unavailable: the embedding model is checked at the next start");
            return Ok(());
        }
    };
    match app::vectors::check_model(&mut c, embedder.model_id(), embedder.dimensions()).await {
        Ok(()) => Ok(()),
        Err(app::vectors::VectorError::Mismatch(m)) => Err(anyhow::anyhow!("{m}")),
        Err(e) => {
            tracing::warn!(error = %e, "could not check the embedding model");
            Ok(())
        }
    }
}

/// Decides where vectors live. A vector database that is down at start-up does not stop Bartleby:
/// search falls back to full text and the health check reports it.
async fn connect_vector_db(config: &Config, database_url: &str) -> VectorDb {
    let pool = |url: &str| -> Option<DbPool> {
        db::build_pool(url, config.database_pool_size, config.database_timeout)
            .map_err(|e| tracing::error!(error = %e, "vector database pool"))
            .ok()
    };
    if let Some(url) = &config.vector_database_url {
        match db::run_migrations(url.expose(), VECTOR_MIGRATIONS).await {
            Ok(applied) if !applied.is_empty() => tracing::info!(?applied, "vector migrations applied"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "vector database (NEON_DATABASE_URL) not ready; search falls back to full text")
            }
        }
        return pool(url.expose()).map(VectorDb::Separate).unwrap_or(VectorDb::Absent);
    }
    match db::has_pgvector(database_url).await {
        Ok(true) => match db::run_migrations(database_url, VECTOR_MIGRATIONS).await {
            Ok(_) => pool(database_url).map(VectorDb::Shared).unwrap_or(VectorDb::Absent),
            Err(e) => {
                tracing::warn!(error = %e, "could not enable pgvector in the metadata database; semantic search is off");
                VectorDb::Absent
            }
        },
        Ok(false) => {
            tracing::warn!("no vector database: NEON_DATABASE_URL is unset and the metadata database has no pgvector; semantic search is off");
            VectorDb::Absent
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not check the metadata database for pgvector");
            VectorDb::Absent
        }
    }
}

/// Where the pages find the WASM, JS and CSS: `pkg/<hash>`, the directory `scripts/build-site.sh`
/// named by the bundle's content and wrote into `pkg/current` (plain `pkg` when the site was never
/// built: pages then render without their script).
pub fn bundle_dir(site_root: &std::path::Path) -> String {
    let current = std::fs::read_to_string(site_root.join("pkg/current")).unwrap_or_default();
    let hash = current.trim();
    if !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return format!("pkg/{hash}");
    }
    tracing::warn!(site = %site_root.display(), "no built bundle (pkg/current): run scripts/build-site.sh");
    "pkg".to_owned()
}

/// The whole application: pages, server functions, health, sessions and the protective middleware.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let config = state.config.clone();

    let idle = middleware::idle_timeout(&state);
    let sessions = SessionManagerLayer::new(PgSessionStore::new(state.db.clone()))
        .with_name(config.session_cookie_name.clone())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        // `Secure` is added per request by `middleware::guard` when the request came over https
        .with_secure(false)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(idle));

    Router::new()
        .route("/api/health", get(health::health))
        .route("/media/{id}", get(media::serve_asset))
        .route("/exports/{id}", get(media::download_export))
        .route("/account/archives/{id}", get(media::download_archive))
        .route("/documents/{id}/file", get(documents::download_document))
        .route(
            "/inventory/import",
            axum::routing::post(imports::upload_import).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/documents/upload",
            axum::routing::post(documents::upload_documents).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/inventory/{id}/photos",
            axum::routing::post(media::upload_photos).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .merge(
            Router::new()
                .leptos_routes_with_context(&state, routes, middleware::page_context, move || shell(options.clone()))
                .layer(axum::middleware::from_fn_with_state(
                    config.http.page_render_timeout,
                    middleware::render_deadline,
                )),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            {
                let state = state.clone();
                move || {
                    leptos::prelude::provide_context(state.clone());
                    middleware::page_context();
                }
            },
            shell,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::require_sign_in))
        .layer(sessions)
        .layer(axum::middleware::from_fn(middleware::refuse_nul))
        .layer(axum::middleware::from_fn_with_state(state.clone(), middleware::guard))
        // a request body that sends nothing for this long is cut off (the upload handlers then
        // answer "interrupted" and remove what they had spooled)
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(config.http.body_idle_timeout))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(middleware::panic_page))
        .layer(tower_http::compression::CompressionLayer::new().compress_when({
            use tower_http::compression::predicate::{Predicate, SizeAbove};
            SizeAbove::new(1024).and(middleware::worth_compressing)
        }))
        .layer(axum::middleware::from_fn(middleware::friendly_errors))
        // each request's start and end (method, path, status, latency) at debug level; a 5xx
        // answer at warn (the cause, when there is one, is logged where it happened)
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN)),
        )
        .with_state(state)
}

/// Every 10 seconds, probes each storage provider that is marked down (see `app::storage::guard`),
/// so uploads go to it again as soon as it answers.
pub fn spawn_provider_probes(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(10));
        loop {
            tick.tick().await;
            tokio::join!(state.images.probe(), state.documents.probe(), state.exports.probe());
        }
    })
}

/// Every five minutes, moves photos, documents and exports that fell back to local disk to the provider, if it answers.
pub fn spawn_storage_sync(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            tick.tick().await;
            match app::storage::relocate::sync(&state, &state.holdings, |_| {}).await {
                Ok(r) if r.moved > 0 || r.failed > 0 => {
                    tracing::info!(moved = r.moved, still_local = r.failed, "storage sync")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "storage sync failed"),
            }
        }
    })
}

/// Re-embeds every document with the configured model: adopts the model in the vector database
/// (dropping vectors of another model), queues every document and runs the queue here. Resumable.
/// `ran(done, total)` after each job. Returns how many jobs are still waiting (to retry later).
pub async fn reindex(state: &AppState, mut say: impl FnMut(String), mut ran: impl FnMut(u64, u64)) -> Result<i64> {
    use app::vectors::{self, VectorError};
    let err = |e: app::error::AppError| anyhow::anyhow!("{e}");
    let Some(embedder) = state.embedder.clone() else {
        anyhow::bail!("no embedding model is configured or it failed to load (see the log above): nothing to reindex")
    };
    let Some(pool) = state.vector.pool().cloned() else {
        anyhow::bail!("there is no vector database (NEON_DATABASE_URL, or pgvector in the metadata database)")
    };
    let mut vc = pool.get().await.context("vector database")?;
    match vectors::check_model(&mut vc, embedder.model_id(), embedder.dimensions()).await {
        Ok(()) => say(format!(
            "The vectors are {} ({} dimensions): embedding whatever is missing.",
            embedder.model_id(),
            embedder.dimensions()
        )),
        Err(VectorError::Mismatch(m)) => {
            say(format!(
                "Switching the vectors from {} to {} ({} dimensions).",
                m.stored, m.configured, m.configured_dims
            ));
            vectors::adopt_model(&mut vc, embedder.model_id(), m.configured_dims).await?;
        }
        Err(e) => return Err(e.into()),
    }
    drop(vc);
    let queued = app::documents::jobs::queue_reindex(state).await.map_err(err)?;
    say(format!("{queued} document(s) to embed."));
    let users = {
        let mut c = db::conn(&state.db).await.map_err(err)?;
        let users = app::inventory::embedding::queue_reembedding(&mut c).await?;
        say(format!("{users} user(s) with inventory items to embed."));
        users
    };
    // a job per document and per user, and any that were waiting already
    let total = (queued + users) as u64;
    let kinds = state.jobs.kinds(app::jobs::Lane::Model);
    let mut done = 0u64;
    while app::jobs::run_one(state, "reindex", &kinds).await.map_err(err)? {
        done += 1;
        ran(done, total.max(done));
    }
    app::jobs::unfinished(state).await.map_err(err)
}

/// Starts the ingest workers (`INGEST_WORKERS`, default 1): they take jobs from the queue in
/// Postgres, so several servers share the work.
pub fn spawn_ingest_workers(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "bartleby".into());
    (0..state.config.ingest_workers)
        .map(|i| {
            let worker = format!("{host}:{}:{i}", std::process::id());
            tokio::spawn(app::jobs::work(state.clone(), worker, app::jobs::Lane::Model))
        })
        .collect()
}

/// Starts the photo workers (thumbnails): one per core, at most 4, so a burst of uploads is
/// decoded a few at a time instead of all at once; and one worker for long jobs (archives).
pub fn spawn_photo_workers(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "bartleby".into());
    let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4);
    let mut workers: Vec<_> = (0..n)
        .map(|i| {
            let worker = format!("{host}:{}:photo{i}", std::process::id());
            tokio::spawn(app::jobs::work(state.clone(), worker, app::jobs::Lane::Quick))
        })
        .collect();
    let worker = format!("{host}:{}:long", std::process::id());
    workers.push(tokio::spawn(app::jobs::work(state.clone(), worker, app::jobs::Lane::Long)));
    workers
}

/// A temporary file untouched for this long belongs to no request: an upload that stalls is cut
/// off after `HTTP_BODY_IDLE_SECS`, and every handler removes its files when it answers.
pub const TMP_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Removes the files in `dir` last written more than `max_age` ago (left by a server that was
/// killed mid-request). Returns how many.
pub async fn sweep_tmp(dir: &std::path::Path, max_age: std::time::Duration) -> std::io::Result<usize> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    while let Some(entry) = entries.next_entry().await? {
        let Ok(meta) = entry.metadata().await else { continue };
        let old = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age > max_age);
        if meta.is_file() && old && tokio::fs::remove_file(entry.path()).await.is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Hourly, and once at start-up: the light maintenance ([`maintenance::upkeep`]: abandoned temporary
/// files, expired sessions, old sign-in failures and jobs, bloated indexes), and the embedding of
/// inventory items left waiting (say, edited while the model was off).
pub fn spawn_housekeeping(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            maintenance::upkeep(&state).await;
            match app::inventory::photo_text::queue_unread(&state).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(photos = n, "queued the reading of photos by OCR");
                    state.jobs_added.notify_waiters();
                }
                Err(e) => tracing::warn!(error = %e, "could not queue the reading of photos"),
            }
            if state.embedder.is_some() && state.vector.pool().is_some() {
                if let Ok(mut c) = db::conn(&state.db).await {
                    match app::inventory::embedding::queue_item_embedding(&mut c).await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(users = n, "queued the embedding of inventory items");
                            state.jobs_added.notify_waiters();
                        }
                        Err(e) => tracing::warn!(error = %e, "could not queue the embedding of inventory items"),
                    }
                }
            }
        }
    })
}
