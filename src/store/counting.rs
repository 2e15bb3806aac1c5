//! Test support: the local store, counting the records it is asked to read.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{LocalStore, ObjectStore, PutOutcome, StoreError};

pub struct Counting {
    inner: LocalStore,
    /// Reads of keys under the chain's records prefix.
    pub record_gets: AtomicUsize,
}

impl Counting {
    pub fn new(root: &Path) -> Counting {
        Counting {
            inner: LocalStore::new(root),
            record_gets: AtomicUsize::new(0),
        }
    }
}

impl ObjectStore for Counting {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        if key.starts_with(crate::chain::RECORDS_PREFIX) {
            self.record_gets.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.get(key).await
    }
    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, StoreError> {
        self.inner.put_if_absent(key, bytes).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.inner.head(key).await
    }
}
