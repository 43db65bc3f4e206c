//! A storage provider that hangs must not hang Bartleby: every call to it has a time limit, and a
//! provider that failed is remembered as down for a while (a circuit breaker) so later calls fail
//! at once instead of each waiting out the limit. Uploads then go to local disk (see
//! [`super::Stores::put_file`]) and reads of objects only the provider has answer "temporarily
//! unavailable" straight away. A background probe ([`super::Stores::probe`]) closes the breaker
//! again once the provider answers, and `/api/health` reads its state without calling anyone.

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::body::Body;

use super::{Backend, BlobKey, BlobStore, StorageError};

/// How long a provider is skipped after a failure; doubled for each failure in a row, up to [`MAX_OPEN`].
const FIRST_OPEN: Duration = Duration::from_secs(15);
const MAX_OPEN: Duration = Duration::from_secs(300);
/// A transfer gets the time limit plus this long per MiB (a 25 MB photo over a slow link).
const PER_MIB: Duration = Duration::from_millis(500);

/// What is known of a provider, from the calls and probes made to it.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderState {
    /// It answered the last call (or nothing has been asked of it yet).
    Up,
    /// It failed: calls are skipped until `retry_in` has passed (then one goes through to test it).
    Down { reason: String, retry_in: Duration },
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    reason: String,
}

/// A provider with a time limit on every call and a memory of its last failure.
pub struct GuardedStore {
    inner: Arc<dyn BlobStore>,
    timeout: Duration,
    breaker: Mutex<Breaker>,
}

impl GuardedStore {
    pub fn new(inner: Arc<dyn BlobStore>, timeout: Duration) -> Self {
        Self { inner, timeout, breaker: Mutex::new(Breaker::default()) }
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn state(&self) -> ProviderState {
        let b = self.breaker();
        match b.open_until {
            Some(until) if b.failures > 0 => ProviderState::Down {
                reason: b.reason.clone(),
                retry_in: until.saturating_duration_since(Instant::now()),
            },
            _ => ProviderState::Up,
        }
    }

    fn succeeded(&self) {
        let mut b = self.breaker();
        if b.failures > 0 {
            tracing::info!(backend = self.inner.backend().as_str(), "storage provider answers again");
        }
        *b = Breaker::default();
    }

    fn failed(&self, reason: String) {
        let mut b = self.breaker();
        b.failures = b.failures.saturating_add(1);
        let open = FIRST_OPEN.saturating_mul(1 << b.failures.saturating_sub(1).min(5)).min(MAX_OPEN);
        tracing::warn!(
            backend = self.inner.backend().as_str(),
            reason,
            skipped_for_secs = open.as_secs(),
            "storage provider down"
        );
        b.open_until = Some(Instant::now() + open);
        b.reason = reason;
    }

    /// Runs one call under the time limit, or refuses it while the breaker is open.
    async fn call<T>(
        &self,
        limit: Duration,
        f: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let backend = self.inner.backend();
        {
            let b = self.breaker();
            if let Some(until) = b.open_until.filter(|u| *u > Instant::now()) {
                let secs = until.saturating_duration_since(Instant::now()).as_secs() + 1;
                return Err(StorageError::Provider {
                    backend,
                    message: format!("not answering ({}); next try in {secs} s", b.reason),
                });
            }
        }
        match tokio::time::timeout(limit, f).await {
            Ok(Ok(v)) => {
                self.succeeded();
                Ok(v)
            }
            // the provider answered: it is up, the object is just not there
            Ok(Err(StorageError::NotFound)) => {
                self.succeeded();
                Err(StorageError::NotFound)
            }
            // a local file that could not be read is not the provider's fault
            Ok(Err(e @ StorageError::Io(_))) => Err(e),
            Ok(Err(e)) => {
                self.failed(e.to_string());
                Err(e)
            }
            Err(_) => {
                let message = format!("no answer within {} s", limit.as_secs());
                self.failed(message.clone());
                Err(StorageError::Provider { backend, message })
            }
        }
    }

    /// Asks the provider for an object that does not exist: "not found" means it is up. Made by
    /// the background probe while the breaker is open; writes nothing.
    pub async fn probe(&self) -> ProviderState {
        let key = BlobKey::probe();
        let result = tokio::time::timeout(self.timeout, self.inner.get(&key)).await;
        match result {
            Ok(Ok(_)) | Ok(Err(StorageError::NotFound)) => self.succeeded(),
            Ok(Err(e)) => self.failed(e.to_string()),
            Err(_) => self.failed(format!("no answer within {} s", self.timeout.as_secs())),
        }
        self.state()
    }
}

#[async_trait]
impl BlobStore for GuardedStore {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    async fn put_file(&self, key: &BlobKey, source: &Path, content_type: &str) -> Result<(), StorageError> {
        let mib = tokio::fs::metadata(source).await.map(|m| m.len() / (1024 * 1024)).unwrap_or(0);
        let limit = self.timeout + PER_MIB.saturating_mul(u32::try_from(mib).unwrap_or(u32::MAX));
        self.call(limit, self.inner.put_file(key, source, content_type)).await
    }

    /// The answer must start within the limit; after that each piece of the body must come within
    /// it too (a provider that stalls mid-object ends the download instead of holding it open).
    async fn get(&self, key: &BlobKey) -> Result<Body, StorageError> {
        let body = self.call(self.timeout, self.inner.get(key)).await?;
        Ok(idle_limited(body, self.timeout))
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StorageError> {
        self.call(self.timeout, self.inner.delete(key)).await
    }

    /// Listing walks the whole bucket, page by page: the maintenance command's, with no breaker
    /// (it is run by a person, who sees the error).
    async fn list(&self) -> Option<Result<Vec<super::Listed>, StorageError>> {
        self.inner.list().await
    }
}

/// A body whose every chunk must arrive within `limit` of the last.
fn idle_limited(body: Body, limit: Duration) -> Body {
    use futures::StreamExt;
    let stream = body.into_data_stream();
    let limited = futures::stream::unfold(Some(stream), move |stream| async move {
        let mut stream = stream?;
        match tokio::time::timeout(limit, stream.next()).await {
            Ok(Some(chunk)) => Some((chunk.map_err(std::io::Error::other), Some(stream))),
            Ok(None) => None,
            Err(_) => Some((Err(std::io::Error::other("the storage provider stopped sending")), None)),
        }
    });
    Body::from_stream(limited)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that never answers.
    struct Hanging;

    #[async_trait]
    impl BlobStore for Hanging {
        fn backend(&self) -> Backend {
            Backend::S3
        }
        async fn put_file(&self, _: &BlobKey, _: &Path, _: &str) -> Result<(), StorageError> {
            std::future::pending().await
        }
        async fn get(&self, _: &BlobKey) -> Result<Body, StorageError> {
            std::future::pending().await
        }
        async fn delete(&self, _: &BlobKey) -> Result<(), StorageError> {
            std::future::pending().await
        }
    }

    #[tokio::test]
    async fn a_hanging_provider_is_given_up_on_once_then_skipped() {
        let store = GuardedStore::new(Arc::new(Hanging), Duration::from_millis(200));
        let key = BlobKey::probe();
        let started = Instant::now();
        assert!(matches!(store.get(&key).await, Err(StorageError::Provider { .. })));
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(matches!(store.state(), ProviderState::Down { .. }));
        // the next calls do not wait at all
        let started = Instant::now();
        for _ in 0..10 {
            assert!(matches!(store.delete(&key).await, Err(StorageError::Provider { .. })));
        }
        assert!(started.elapsed() < Duration::from_millis(50), "{:?}", started.elapsed());
        // a probe that fails keeps it down
        assert!(matches!(store.probe().await, ProviderState::Down { .. }));
    }
}
