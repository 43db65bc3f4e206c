//! `GET /api/health`: the state of each database and storage backend, for people and load balancers.
//! 200 while the metadata database answers (a missing or down vector database only degrades search);
//! 503 when the metadata database is unreachable.

use app::platform::db;
use app::platform::{AppState, VectorDb};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Health {
    /// `ok`, `degraded` (search falls back to full text) or `unavailable`.
    pub status: &'static str,
    pub version: &'static str,
    pub metadata_db: Component,
    pub vector_db: Component,
    /// The embedding model: `ok` with its id, or `absent` (search matches words only).
    pub embedder: Component,
    /// Whether the local model is in memory now (it is read on first use and given back when
    /// idle); absent for a remote model or none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_loaded: Option<bool>,
    pub storage: Vec<StorageComponent>,
    /// The last backup: `ok` or `failed` with when and where, `never`, or `off` (no schedule and
    /// none made by hand).
    pub backup: Component,
    /// `ok` when Postgres limits each user's work to their own rows, `off` when the database user
    /// could not create the role that does it.
    pub row_level_security: Component,
}

#[derive(Debug, Serialize)]
pub struct Component {
    /// `ok`, `down` or `absent`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StorageComponent {
    pub backend: &'static str,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

async fn probe(pool: &db::DbPool, state: &AppState) -> Component {
    match db::ping(pool, state.probe_timeout()).await {
        Ok(t) => Component { status: "ok", latency_ms: Some((t.as_secs_f64() * 1e4).round() / 10.0), detail: None },
        Err(e) => {
            tracing::warn!(error = %e, "health probe failed");
            Component { status: "down", latency_ms: None, detail: Some("not answering".into()) }
        }
    }
}

/// Local disk: the data directory is there and not read-only (looked at, never written to).
async fn local_storage(state: &AppState) -> StorageComponent {
    let dir = &state.config.dirs.data;
    match tokio::fs::metadata(dir).await {
        Ok(m) if m.is_dir() && !m.permissions().readonly() => {
            StorageComponent { backend: "local", status: "ok", detail: None }
        }
        Ok(_) => StorageComponent { backend: "local", status: "down", detail: Some("data directory read-only".into()) },
        Err(e) => {
            tracing::warn!(error = %e, dir = %dir.display(), "data directory missing");
            StorageComponent { backend: "local", status: "down", detail: Some("data directory missing".into()) }
        }
    }
}

/// Each configured provider as last seen by the calls made to it and the background probe (no
/// call is made here: a health check that writes objects, or waits on a hanging provider, would
/// itself be a load).
fn providers(state: &AppState) -> Vec<StorageComponent> {
    use app::storage::guard::ProviderState;
    let mut out: Vec<StorageComponent> = Vec::new();
    for (backend, seen) in [&state.images, &state.documents, &state.exports].iter().filter_map(|s| s.provider_state()) {
        let backend = backend.as_str();
        let component = match seen {
            ProviderState::Up => StorageComponent { backend, status: "ok", detail: None },
            ProviderState::Down { reason, retry_in } => StorageComponent {
                backend,
                status: "down",
                detail: Some(format!(
                    "{reason}; new files go to local disk; probed again within {} s",
                    retry_in.as_secs() + 10
                )),
            },
        };
        match out.iter_mut().find(|c| c.backend == backend) {
            Some(existing) if existing.status == "ok" => *existing = component,
            Some(_) => {}
            None => out.push(component),
        }
    }
    out
}

async fn last_backup(state: &AppState) -> Component {
    use app::platform::runs::{self, RunKind};
    let last = match state.db.get().await {
        Ok(mut c) => runs::last(&mut c, RunKind::Backup, false).await.ok().flatten(),
        Err(_) => None,
    };
    let scheduled = state.config.backup_every.is_some();
    match last {
        Some(run) => Component {
            status: if run.ok { "ok" } else { "failed" },
            latency_ms: None,
            detail: Some(format!("{} UTC: {}", app::platform::format_time(run.started_at), run.detail)),
        },
        None if scheduled => {
            Component { status: "never", latency_ms: None, detail: Some("the first is due soon".into()) }
        }
        None => Component {
            status: "off",
            latency_ms: None,
            detail: Some("no BACKUP_SCHEDULE; run `bartleby backup`".into()),
        },
    }
}

pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let (metadata_db, vector_db, local) = tokio::join!(
        probe(&state.db, &state),
        async {
            match &state.vector {
                VectorDb::Absent => Component {
                    status: "absent",
                    latency_ms: None,
                    detail: Some("no pgvector database configured; search uses full text".into()),
                },
                VectorDb::Shared(p) => {
                    let mut c = probe(p, &state).await;
                    c.detail = Some("in the metadata database".into());
                    c
                }
                VectorDb::Separate(p) => {
                    let mut c = probe(p, &state).await;
                    c.detail = Some(if c.status == "ok" {
                        "NEON_DATABASE_URL".into()
                    } else {
                        "NEON_DATABASE_URL not answering; search uses full text".into()
                    });
                    c
                }
            }
        },
        local_storage(&state),
    );
    let embedder = match &state.embedder {
        Some(e) => Component {
            status: "ok",
            latency_ms: None,
            detail: Some(format!(
                "{} ({} dimensions){}",
                e.model_id(),
                e.dimensions(),
                match e.loaded() {
                    Some(true) => ", loaded",
                    Some(false) => ", loaded on first use",
                    None => "",
                }
            )),
        },
        None => Component { status: "absent", latency_ms: None, detail: Some("search matches words only".into()) },
    };
    let backup = last_backup(&state).await;
    let row_level_security = if metadata_db.status != "ok" {
        Component { status: "down", latency_ms: None, detail: None }
    } else if db::rls_enforced(&state.db).await {
        let vectors = match &state.vector {
            VectorDb::Separate(p) if !db::rls_enforced(p).await => {
                "; not in the vector database (its user cannot create the role)"
            }
            VectorDb::Absent => "",
            _ => ", searches of the vectors too",
        };
        Component {
            status: "ok",
            latency_ms: None,
            detail: Some(format!("each user's work runs as bartleby_user{vectors}")),
        }
    } else {
        Component {
            status: "off",
            latency_ms: None,
            detail: Some("the database user cannot create the role bartleby_user; the app's own filters remain".into()),
        }
    };
    let mut storage = vec![local];
    storage.extend(providers(&state));
    let status = if metadata_db.status != "ok" {
        "unavailable"
    } else if vector_db.status != "ok"
        || embedder.status != "ok"
        || storage.iter().any(|s| s.status != "ok")
        || backup.status == "failed"
    {
        "degraded"
    } else {
        "ok"
    };
    let code = if metadata_db.status == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (
        code,
        Json(Health {
            status,
            version: env!("CARGO_PKG_VERSION"),
            metadata_db,
            vector_db,
            model_loaded: state.embedder.as_ref().and_then(|e| e.loaded()),
            embedder,
            storage,
            backup,
            row_level_security,
        }),
    )
}
