//! Backends that only move bytes by key. All chain semantics live above them, in
//! [`crate::chain`], once.
//!
//! Keys are relative, `/`-separated, and made only of `[A-Za-z0-9._-]` segments; a backend
//! maps them under its root (a directory or an S3 prefix).

mod any;
mod blob_writer;
mod cache;
#[cfg(test)]
pub(crate) mod counting;
mod local;
mod s3;
pub mod stats;

use std::future::Future;

/// Objects [`ObjectStore::get_many`] asks for at once, by default.
pub const GET_MANY_CONCURRENCY: usize = 32;

pub use any::{check_bucket_name, AnyStore, StoreLocation, StoreSettings};
pub use blob_writer::{SpoolWriter, SpooledBlob};
pub use cache::{is_immutable, Cached, ReadCache, DEFAULT_MEMORY_BUDGET};
pub use local::{LocalStore, TempFile, STALE_TEMP_AGE};
pub use s3::S3Store;

use crate::digest::{Blob, Digest};

/// Result of a conditional create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// This call created the object.
    Created,
    /// An object already existed at the key; nothing was changed.
    AlreadyExists,
}

/// Errors from a backend, naming the key and the operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("{op} {key}: {source}")]
    Io {
        op: &'static str,
        key: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{op} {key}: {message}")]
    Remote {
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("{key}: the store returned checksum {actual} but we sent {expected}; the object may be corrupt")]
    ChecksumMismatch {
        key: String,
        expected: String,
        actual: String,
    },
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
}

/// A store of immutable objects. Implementations never overwrite or delete.
pub trait ObjectStore: Send + Sync {
    /// The object's bytes, or `None` when absent.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;

    /// The objects at `keys`, in that order (`None` for one that is absent), several at a
    /// time; one GET each. A backend may read them in fewer, larger steps (the local
    /// directory reads a batch in one blocking task, not one task per file).
    fn get_many(
        &self,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>, StoreError>> + Send {
        use futures::stream::{self, StreamExt, TryStreamExt};
        stream::iter(keys)
            .map(|k| self.get(k))
            .buffered(GET_MANY_CONCURRENCY)
            .try_collect()
    }

    /// Create the object unless one exists at `key`. Atomic: concurrent callers never both
    /// get [`PutOutcome::Created`], and a reader never sees a partial object.
    fn put_if_absent(
        &self,
        key: &str,
        bytes: &[u8],
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;

    /// [`ObjectStore::put_if_absent`] of a blob, whose digest is already known: backends
    /// that hand the bytes to another thread or to the network share them instead of
    /// copying them, and use the digest as the upload checksum.
    fn put_blob_if_absent(
        &self,
        key: &str,
        blob: &Blob,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send {
        async move { self.put_if_absent(key, &blob.to_bytes()).await }
    }

    /// [`ObjectStore::put_if_absent`] of a blob streamed to a spool file
    /// ([`SpoolWriter`]): the local directory links the file into place and S3 uploads it
    /// from disk, so the blob is never held in memory. This default reads it whole.
    fn put_spooled_if_absent(
        &self,
        key: &str,
        blob: &SpooledBlob,
    ) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send {
        async move {
            let bytes = blob.read().map_err(|source| StoreError::Io {
                op: "read the spool of",
                key: key.to_string(),
                source,
            })?;
            self.put_if_absent(key, &bytes).await
        }
    }

    /// Every key under `prefix`, sorted, following pagination to the end.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// The keys under `prefix` that sort after `start_after`, sorted. S3 asks for exactly
    /// those (`StartAfter`), so the cost follows the keys returned, not the keys before.
    fn list_after(
        &self,
        prefix: &str,
        start_after: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send {
        async move {
            let mut keys = self.list(prefix).await?;
            keys.retain(|k| k.as_str() > start_after);
            Ok(keys)
        }
    }

    /// Size of the object, or `None` when absent.
    fn head(&self, key: &str) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// SHA-256 and size of the object's bytes, or `None` when absent. Backends that can
    /// stream (the local directory) override this to avoid holding whole blobs in memory.
    fn digest(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<(Digest, u64)>, StoreError>> + Send {
        async move {
            Ok(self
                .get(key)
                .await?
                .map(|b| (Digest::of(&b), b.len() as u64)))
        }
    }

    /// Whether [`ObjectStore::digest`] hashes as it reads, without holding the object (then
    /// a cache does not read it whole to hash it).
    fn streams_digest(&self) -> bool {
        false
    }

    /// Keys under `prefix` that have been written more than once. Only a versioned backend
    /// can tell (S3 with versioning, as the evidence bucket requires); others report none.
    /// A record key with two versions means someone overwrote a committed record.
    fn overwritten(
        &self,
        _prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Temporary files of writes in progress or interrupted ones, with their age. Only the
    /// local directory has them (an S3 put is atomic); other backends report none.
    fn temp_files(&self) -> impl Future<Output = Result<Vec<TempFile>, StoreError>> + Send {
        async { Ok(Vec::new()) }
    }
}

/// Reject keys that could escape the store root or that backends would map ambiguously.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let bad = |reason| {
        Err(StoreError::InvalidKey {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() || key.len() > 512 {
        return bad("empty or longer than 512 bytes");
    }
    for seg in key.split('/') {
        if seg.is_empty() || seg == "." || seg == ".." {
            return bad("empty, '.' or '..' path segment");
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return bad("only A-Z a-z 0-9 . _ - and / are allowed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_root() {
        assert!(check_key("blobs/sha256/ab/abcd").is_ok());
        for bad in [
            "", "/abs", "a//b", "../x", "a/../b", "a/./b", "a b", "a\\b", "é",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
    }
}
