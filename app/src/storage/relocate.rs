//! Moving stored objects between backends: `storage migrate` (every object not on a target, to
//! it) and `storage sync` (objects that fell back to local disk, to the preferred provider — the
//! same move from one source). One engine, for every kind of stored object: each feature says
//! where its objects are recorded through [`Holdings`], with typed queries of its own.
//!
//! A move is: copy to a temporary file (checking the size and sha256 against the row, where it
//! records them), put on the target, read back and compare, point the row at the target (only
//! if it still names the source), delete the old copy. Safe to interrupt and run again at any
//! point; an object that fails stays where it was.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use diesel::QueryResult;
use diesel_async::pooled_connection::deadpool::PoolError;
use diesel_async::AsyncPgConnection;

use super::{Backend, BlobKey, BlobStore, StorageError, Stores};
use crate::platform::config::Config;
use crate::platform::db::DbPool;
use crate::platform::AppState;

/// One stored object, as its row records it.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub id: i64,
    pub backend: Backend,
    pub key: String,
    pub content_type: String,
    pub bytes: i64,
    /// `None` for rows written before their table recorded one
    pub sha256: Option<String>,
}

/// Which objects to move.
#[derive(Debug, Clone, Copy)]
pub enum Selection {
    /// every object not on this backend (`storage migrate`)
    NotOn(Backend),
    /// every object on this backend (`storage sync`: local disk)
    On(Backend),
    /// every object (`backup`)
    All,
    /// every object of one user (deleting an account)
    OfUser(i64),
}

/// A table of stored objects. Each feature implements it for its tables, with typed queries.
#[async_trait]
pub trait Holdings: Send + Sync {
    /// For messages: "photos and thumbnails".
    fn label(&self) -> &'static str;
    /// The stores that hold these objects.
    fn stores<'a>(&self, state: &'a AppState) -> &'a Stores;
    /// Where these objects live on local disk.
    fn local_dir(&self, config: &Config) -> std::path::PathBuf;
    /// Whether they may be kept on `backend` (Vercel Blob holds photos only).
    fn can_live_on(&self, _backend: Backend) -> bool {
        true
    }
    async fn count(&self, c: &mut AsyncPgConnection, which: Selection) -> QueryResult<i64>;
    /// The next `limit` objects after id `after`, in id order.
    async fn batch(
        &self,
        c: &mut AsyncPgConnection,
        which: Selection,
        after: i64,
        limit: i64,
    ) -> QueryResult<Vec<StoredObject>>;
    /// Points the row at `to`, if it still names `from`. Returns whether it did.
    async fn moved(&self, c: &mut AsyncPgConnection, id: i64, from: Backend, to: Backend) -> QueryResult<bool>;
}

/// Why relocation stopped (one object failing does not stop it: see [`Step::outcome`]).
#[derive(Debug, thiserror::Error)]
pub enum RelocateError {
    #[error("{label} cannot be kept on {backend}")]
    NotHere { label: &'static str, backend: Backend },
    #[error("the metadata database is unavailable: {0}")]
    Pool(#[from] PoolError),
    #[error("the metadata database failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("the temporary directory: {0}")]
    Io(#[from] std::io::Error),
}

/// Why one object did not move.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    #[error("its key is not one Bartleby writes")]
    Key,
    #[error("{0} is not configured")]
    Unconfigured(Backend),
    #[error("the {0} copy does not match its record (size or sha256)")]
    Mismatch(Backend),
    #[error("the copy on {0} does not verify")]
    Unverified(Backend),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("the metadata database failed: {0}")]
    Database(String),
}

/// What a relocation did (or, in a dry run, would do).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// objects selected to move
    pub total: u64,
    pub moved: u64,
    pub failed: u64,
}

/// One object moved (or not), for progress lines.
pub struct Step<'a> {
    pub done: u64,
    pub total: u64,
    pub key: &'a str,
    pub from: Backend,
    pub outcome: Result<(), MoveError>,
}

/// Streams an object to a temporary file, returning its size and sha256.
async fn download(store: &dyn BlobStore, key: &BlobKey, dest: &Path) -> Result<(u64, String), StorageError> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let n = super::copy_to_file(store, key, dest, |piece| hasher.update(piece)).await?;
    Ok((n, format!("{:x}", hasher.finalize())))
}

/// Moves every selected object of `holdings` to `target`, reading each from its backend in
/// `sources` (local disk rooted where these objects live). `progress` is called after each.
pub async fn relocate(
    state: &AppState,
    holdings: &dyn Holdings,
    which: Selection,
    sources: &HashMap<Backend, Arc<dyn BlobStore>>,
    target: &dyn BlobStore,
    dry_run: bool,
    mut progress: impl FnMut(Step<'_>),
) -> Result<Report, RelocateError> {
    let to = target.backend();
    if !holdings.can_live_on(to) {
        return Err(RelocateError::NotHere { label: holdings.label(), backend: to });
    }
    let db: &DbPool = &state.db;
    let total = holdings.count(&mut *db.get().await?, which).await?;
    let mut report = Report { total: u64::try_from(total).unwrap_or(0), ..Default::default() };
    if dry_run {
        return Ok(report);
    }
    let tmp_dir = state.config.dirs.uploads.join("tmp");
    tokio::fs::create_dir_all(&tmp_dir).await?;
    let mut after = 0i64;
    loop {
        let batch = holdings.batch(&mut *db.get().await?, which, after, 100).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        for object in batch {
            let outcome = move_one(db, holdings, &object, sources, target, &tmp_dir).await;
            match &outcome {
                Ok(()) => report.moved += 1,
                Err(e) => {
                    tracing::warn!(error = %e, key = object.key, from = object.backend.as_str(), to = to.as_str(), "an object did not move");
                    report.failed += 1;
                }
            }
            progress(Step {
                done: report.moved + report.failed,
                total: report.total,
                key: &object.key,
                from: object.backend,
                outcome,
            });
        }
    }
    Ok(report)
}

#[tracing::instrument(skip_all, fields(key = object.key.as_str(), from = object.backend.as_str(), to = target.backend().as_str()), err(Display))]
async fn move_one(
    db: &DbPool,
    holdings: &dyn Holdings,
    object: &StoredObject,
    sources: &HashMap<Backend, Arc<dyn BlobStore>>,
    target: &dyn BlobStore,
    tmp_dir: &Path,
) -> Result<(), MoveError> {
    let from = object.backend;
    let to = target.backend();
    let key = BlobKey::from_stored(&object.key).ok_or(MoveError::Key)?;
    let source = sources.get(&from).ok_or(MoveError::Unconfigured(from))?;
    let tmp = tmp_dir.join(format!("relocate-{}", key.as_str().replace('/', "_")));
    let copied = async {
        let (n, sha) = download(source.as_ref(), &key, &tmp).await?;
        if i64::try_from(n).ok() != Some(object.bytes) || object.sha256.as_ref().is_some_and(|s| *s != sha) {
            return Err(MoveError::Mismatch(from));
        }
        target.put_file(&key, &tmp, &object.content_type).await?;
        let (n2, sha2) = download(target, &key, &tmp).await?;
        if n2 != n || sha2 != sha {
            return Err(MoveError::Unverified(to));
        }
        Ok(())
    }
    .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    copied?;
    let mut c = db.get().await.map_err(|e| MoveError::Database(e.to_string()))?;
    let repointed =
        holdings.moved(&mut c, object.id, from, to).await.map_err(|e| MoveError::Database(e.to_string()))?;
    drop(c);
    if repointed {
        if let Err(e) = source.delete(&key).await {
            tracing::warn!(error = %e, key = object.key, "moved, but the old copy could not be removed");
        }
    }
    Ok(())
}

/// Moves what fell back to local disk to the preferred provider, for every holding whose stores
/// prefer one: `relocate` from local disk. A provider remembered as down is probed first, so the
/// objects move as soon as it answers again.
pub async fn sync(
    state: &AppState,
    holdings: &[Arc<dyn Holdings>],
    mut progress: impl FnMut(&Report),
) -> Result<Report, RelocateError> {
    let mut all = Report::default();
    for h in holdings {
        let stores = h.stores(state);
        let local = stores.local_backend();
        if stores.preferred_backend() == local {
            continue;
        }
        stores.probe().await;
        let sources = HashMap::from([(local, stores.local.clone())]);
        let mut running = all;
        let r = relocate(state, h.as_ref(), Selection::On(local), &sources, stores.preferred.as_ref(), false, |s| {
            match s.outcome {
                Ok(()) => running.moved += 1,
                Err(_) => running.failed += 1,
            }
            progress(&running);
        })
        .await?;
        all.total += r.total;
        all.moved += r.moved;
        all.failed += r.failed;
    }
    Ok(all)
}

/// Implements [`Holdings`] for a table of stored objects with the columns `id`, `backend`,
/// `key`, `bytes` and `sha256` (nullable or not), and one that gives the content type — with
/// typed diesel queries, so a feature names its table and columns, never SQL text:
///
/// ```ignore
/// impl_holdings!(Photos {
///     table: inventory_assets, label: "photos and thumbnails", stores: images,
///     local_dir: inventory_images, on_vercel: true, content_type: content_type => |c| c,
/// });
/// ```
#[macro_export]
macro_rules! impl_holdings {
    ($ty:ident {
        table: $table:ident,
        label: $label:expr,
        stores: $stores:ident,
        local_dir: $dir:ident,
        on_vercel: $vercel:expr,
        content_type: $ct:ident => $map:expr $(,)?
    }) => {
        #[async_trait::async_trait]
        impl $crate::storage::relocate::Holdings for $ty {
            fn label(&self) -> &'static str {
                $label
            }
            fn stores<'a>(&self, state: &'a $crate::platform::AppState) -> &'a $crate::storage::Stores {
                &state.$stores
            }
            fn local_dir(&self, config: &$crate::platform::config::Config) -> std::path::PathBuf {
                config.dirs.$dir.clone()
            }
            fn can_live_on(&self, backend: $crate::storage::Backend) -> bool {
                $vercel || backend != $crate::storage::Backend::Vercel
            }
            async fn count(
                &self,
                c: &mut diesel_async::AsyncPgConnection,
                which: $crate::storage::relocate::Selection,
            ) -> diesel::QueryResult<i64> {
                use diesel::prelude::*;
                use diesel_async::RunQueryDsl;
                use $crate::platform::schema::$table::dsl as t;
                use $crate::storage::relocate::Selection;
                let q = t::$table.into_boxed();
                let q = match which {
                    Selection::NotOn(b) => q.filter(t::backend.ne(b)),
                    Selection::On(b) => q.filter(t::backend.eq(b)),
                    Selection::All => q,
                    Selection::OfUser(u) => q.filter(t::user_id.eq(u)),
                };
                q.count().get_result(c).await
            }
            async fn batch(
                &self,
                c: &mut diesel_async::AsyncPgConnection,
                which: $crate::storage::relocate::Selection,
                after: i64,
                limit: i64,
            ) -> diesel::QueryResult<Vec<$crate::storage::relocate::StoredObject>> {
                use diesel::prelude::*;
                use diesel_async::RunQueryDsl;
                use $crate::platform::schema::$table::dsl as t;
                use $crate::storage::relocate::{Selection, StoredObject};
                let q = t::$table.filter(t::id.gt(after)).into_boxed();
                let q = match which {
                    Selection::NotOn(b) => q.filter(t::backend.ne(b)),
                    Selection::On(b) => q.filter(t::backend.eq(b)),
                    Selection::All => q,
                    Selection::OfUser(u) => q.filter(t::user_id.eq(u)),
                };
                let rows: Vec<(i64, $crate::storage::Backend, String, String, i64, Option<String>)> = q
                    .order(t::id)
                    .limit(limit)
                    .select((t::id, t::backend, t::key, t::$ct, t::bytes, t::sha256.nullable()))
                    .load(c)
                    .await?;
                let content_type: fn(String) -> String = $map;
                Ok(rows
                    .into_iter()
                    .map(|(id, backend, key, ct, bytes, sha256)| StoredObject {
                        id,
                        backend,
                        key,
                        content_type: content_type(ct),
                        bytes,
                        sha256,
                    })
                    .collect())
            }
            async fn moved(
                &self,
                c: &mut diesel_async::AsyncPgConnection,
                id: i64,
                from: $crate::storage::Backend,
                to: $crate::storage::Backend,
            ) -> diesel::QueryResult<bool> {
                use diesel::prelude::*;
                use diesel_async::RunQueryDsl;
                use $crate::platform::schema::$table::dsl as t;
                let n = diesel::update(t::$table.filter(t::id.eq(id)).filter(t::backend.eq(from)))
                    .set(t::backend.eq(to))
                    .execute(c)
                    .await?;
                Ok(n > 0)
            }
        }
    };
}
