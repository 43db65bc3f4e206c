//! `POST /inventory/import`: a CSV file to import. It is kept as the user's pending import and
//! the browser goes to its preview; nothing becomes an item until the user confirms there.

use app::error::AppError;
use app::platform::AppState;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;

use crate::media::{rand_u64, spool, SpoolError, Uploader};

pub use app::upload::IMPORT_MAX_BYTES;
use app::upload::{Refusal, Upload};

/// Pending imports older than this are removed when the user uploads another.
const PENDING_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

fn refused(why: Refusal, json: bool) -> Response {
    if json {
        AppError::validation("file", why.message(Upload::Import)).into_response()
    } else {
        Redirect::to(&format!("/inventory/import?{}", why.query("error"))).into_response()
    }
}

pub async fn upload_import(
    State(state): State<AppState>,
    Uploader { user, json }: Uploader,
    mut multipart: Multipart,
) -> Response {
    let tmp = state.config.dirs.uploads.join("tmp");
    let mut upload = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") && upload.is_none() => {
                match spool(field, &tmp, IMPORT_MAX_BYTES).await {
                    Ok(Some(raw)) => upload = Some(raw),
                    Ok(None) => {}
                    Err(SpoolError::TooLarge) => return refused(Refusal::TooLarge { limit_mb: None }, json),
                    Err(SpoolError::Empty) => return refused(Refusal::Empty, json),
                    Err(SpoolError::Malformed) => return refused(Refusal::Malformed, json),
                    Err(SpoolError::Io(e)) => return e.into_response(),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(_) => return refused(Refusal::Malformed, json),
        }
    }
    let Some(raw) = upload else { return refused(Refusal::NoneChosen, json) };
    let token = format!("{:016x}{:016x}", rand_u64(), rand_u64());
    let result = async {
        let path = app::inventory::import::pending_path(&state, user.id, &token)?;
        let dir = path.parent().ok_or(AppError::Internal)?;
        tokio::fs::create_dir_all(dir).await.map_err(|_| AppError::Unavailable)?;
        forget_old_imports(dir).await;
        tokio::fs::rename(&raw.path, &path).await.map_err(|e| {
            tracing::error!(error = %e, "keeping a pending import");
            AppError::Unavailable
        })
    }
    .await;
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&raw.path).await;
        return e.into_response();
    }
    tracing::info!(user_id = user.id, bytes = raw.bytes, "import file received");
    if json {
        Json(serde_json::json!({ "token": token })).into_response()
    } else {
        Redirect::to(&format!("/inventory/import/{token}")).into_response()
    }
}

async fn forget_old_imports(dir: &std::path::Path) {
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else { return };
    while let Ok(Some(e)) = entries.next_entry().await {
        let old = e.metadata().await.ok().and_then(|m| m.modified().ok()).and_then(|t| t.elapsed().ok());
        if old.is_some_and(|age| age > PENDING_MAX_AGE) {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
    }
}
