//! Test support: the local store, counting the objects it is asked to read.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{LocalStore, ObjectStore, PutOutcome, StoreError};

pub struct Counting {
    inner: LocalStore,
    /// Reads of keys under the chain's records prefix.
    pub record_gets: AtomicUsize,
    /// Reads of blobs (`get`, and `digest`, which reads the whole blob).
    pub blob_gets: AtomicUsize,
    /// Reads of any other key.
    pub other_gets: AtomicUsize,
    /// Keys returned by listings (what a listing costs on S3: a request per 1,000).
    pub listed_keys: AtomicUsize,
}

impl Counting {
    pub fn new(root: &Path) -> Counting {
        Counting {
            inner: LocalStore::new(root),
            record_gets: AtomicUsize::new(0),
            blob_gets: AtomicUsize::new(0),
            other_gets: AtomicUsize::new(0),
            listed_keys: AtomicUsize::new(0),
        }
    }

    /// Every read so far.
    pub fn gets(&self) -> usize {
        self.record_gets.load(Ordering::SeqCst)
            + self.blob_gets.load(Ordering::SeqCst)
            + self.other_gets.load(Ordering::SeqCst)
    }

    /// Start counting from zero.
    pub fn reset(&self) {
        for c in [
            &self.record_gets,
            &self.blob_gets,
            &self.other_gets,
            &self.listed_keys,
        ] {
            c.store(0, Ordering::SeqCst);
        }
    }
}

impl Counting {
    /// The counter of GETs of `key`'s kind.
    fn counter(&self, key: &str) -> &AtomicUsize {
        if key.starts_with(crate::chain::RECORDS_PREFIX) {
            &self.record_gets
        } else if key.starts_with(crate::chain::BLOBS_PREFIX) {
            &self.blob_gets
        } else {
            &self.other_gets
        }
    }
}

impl ObjectStore for Counting {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.counter(key).fetch_add(1, Ordering::SeqCst);
        self.inner.get(key).await
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        for key in keys {
            self.counter(key).fetch_add(1, Ordering::SeqCst);
        }
        self.inner.get_many(keys).await
    }
    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, StoreError> {
        self.inner.put_if_absent(key, bytes).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let keys = self.inner.list(prefix).await?;
        self.listed_keys.fetch_add(keys.len(), Ordering::SeqCst);
        Ok(keys)
    }
    async fn list_after(&self, prefix: &str, start_after: &str) -> Result<Vec<String>, StoreError> {
        let keys = self.inner.list_after(prefix, start_after).await?;
        self.listed_keys.fetch_add(keys.len(), Ordering::SeqCst);
        Ok(keys)
    }
    async fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.inner.head(key).await
    }
}
