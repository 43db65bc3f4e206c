//! Deleting an account: every row (the user's row, and everything that references it, goes by
//! `ON DELETE CASCADE`), every vector (the vector database may be another server: no cascade
//! reaches it) and every stored object on every backend.

use crate::auth::repo::User;
use crate::error::AppError;
use crate::platform::db::{conn, query_failed};
use crate::platform::AppState;
use crate::storage::relocate::Selection;
use crate::storage::{Backend, BlobKey, Stores};

/// What deleting an account left behind (nothing, unless a provider failed).
#[derive(Debug, Default)]
pub struct Deleted {
    pub objects: usize,
    /// objects a provider did not delete: (backend, key)
    pub left: Vec<(Backend, String)>,
}

/// Deletes the account of `user` once they have given their password again.
#[tracing::instrument(skip_all, fields(user_id = user.id))]
pub async fn delete_account(state: &AppState, user: &User, password: &str) -> Result<Deleted, AppError> {
    crate::auth::service::confirm_password(state, user, password).await?;
    let mut c = conn(&state.db).await?;
    // what is stored where, read before the rows that say so are gone
    let mut objects: Vec<(&Stores, Backend, String)> = Vec::new();
    for holding in state.holdings.iter() {
        let mut after = 0;
        loop {
            let batch = holding.batch(&mut c, Selection::OfUser(user.id), after, 1000).await.map_err(query_failed)?;
            let Some(last) = batch.last() else { break };
            after = last.id;
            objects.extend(batch.into_iter().map(|o| (holding.stores(state), o.backend, o.key)));
        }
    }
    // the vectors first: if their database is away, nothing has been deleted yet
    let vectors = async {
        if let Some(pool) = state.vector.pool() {
            let mut vc = pool.get().await.map_err(|_| AppError::Unavailable)?;
            crate::vectors::delete_user(&mut vc, user.id).await.map_err(query_failed)?;
        }
        Ok::<_, AppError>(())
    };
    vectors.await?;
    crate::auth::repo::delete_sessions_of(&mut c, user.id).await.map_err(query_failed)?;
    crate::auth::repo::delete_user(&mut c, user.id).await.map_err(query_failed)?;
    // a job that was embedding as the account went may have written a vector since
    if let Some(pool) = state.vector.pool() {
        if let Ok(mut vc) = pool.get().await {
            let _ = crate::vectors::delete_user(&mut vc, user.id).await;
        }
    }
    let mut deleted = Deleted { objects: objects.len(), left: Vec::new() };
    for (stores, backend, key) in objects {
        let Some(k) = BlobKey::from_stored(&key) else { continue };
        if let Err(e) = stores.delete(backend, &k).await {
            tracing::error!(error = %e, %backend, key, "a deleted account's object could not be deleted");
            deleted.left.push((backend, key));
        }
    }
    tracing::info!(objects = deleted.objects, left = deleted.left.len(), "account deleted");
    Ok(deleted)
}
