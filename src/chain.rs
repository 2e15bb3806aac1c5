//! The hash chain above any [`ObjectStore`]: content-addressed blobs and sequence-numbered
//! records, committed with a conditional create.
//!
//! Commit protocol (docs/FORMAT.md, "Writing"):
//! 1. write every blob (`put_if_absent`; an existing blob is the same bytes by construction);
//! 2. find the head (sequence and hash of the last record);
//! 3. create the record at `seq + 1` with a conditional create. That create is the commit;
//! 4. on "already exists", read the object back: if it is byte-for-byte our record (the SDK
//!    retried a put that had in fact succeeded) we are done; otherwise another writer won,
//!    so re-read the head and go to 3.
//!
//! Blobs go first, so a crash leaves at worst unreferenced blobs, never a record that points
//! at nothing.

use std::sync::Mutex;

use futures::stream::{self, StreamExt, TryStreamExt};

use crate::canonical::CanonicalError;
use crate::digest::{Blob, Digest};
use crate::failpoint;
use crate::record::{now_millis, Draft, Provenance, Record, FORMAT_VERSION};
use crate::store::{ObjectStore, PutOutcome, StoreError};

/// Prefix of record keys.
pub const RECORDS_PREFIX: &str = "chain/records/";
/// Prefix of blob keys.
pub const BLOBS_PREFIX: &str = "blobs/sha256/";

/// Attempts at the next sequence number before giving up (each lost race is one attempt).
const MAX_COMMIT_ATTEMPTS: u32 = 200;
/// Concurrent reads when loading records.
const READ_CONCURRENCY: usize = 16;

/// Key of the record with sequence number `seq`.
pub fn record_key(seq: u64) -> String {
    format!("{RECORDS_PREFIX}{seq:020}.json")
}

/// Sequence number from a record key, if it is one.
pub fn parse_record_key(key: &str) -> Option<u64> {
    let name = key.strip_prefix(RECORDS_PREFIX)?.strip_suffix(".json")?;
    if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// Key of the blob with the given digest.
pub fn blob_key(digest: &Digest) -> String {
    let h = digest.hex();
    format!("{BLOBS_PREFIX}{}/{h}", &h[..2])
}

/// Errors of the chain layer.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    #[error("record {key} is unreadable: {reason}; run `evidenced verify` to locate the damage")]
    Corrupt { key: String, reason: String },
    #[error(
        "gave up committing after {0} attempts: other writers kept taking the next sequence number"
    )]
    Contended(u32),
    #[error("item {name}: digest or size does not match the bytes supplied")]
    ItemMismatch { name: String },
    #[error("{items} items but {blobs} blobs supplied")]
    BlobCount { items: usize, blobs: usize },
}

/// The last committed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// 0 when the chain is empty.
    pub seq: u64,
    /// [`Digest::ZERO`] when the chain is empty.
    pub hash: Digest,
}

impl Head {
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: Digest::ZERO,
    };
}

/// A record as read from the store, with its bytes and hash.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    pub key: String,
    pub seq: u64,
    pub hash: Digest,
    pub bytes: Vec<u8>,
    pub record: Record,
}

/// What a successful append returns.
#[derive(Debug, Clone)]
pub struct Committed {
    pub seq: u64,
    pub hash: Digest,
    pub record: Record,
    /// Blob bytes newly created by this append (0 when every blob already existed).
    pub new_blob_bytes: u64,
}

/// The evidence store: chain semantics over a byte-moving backend.
#[derive(Debug)]
pub struct EvidenceStore<S> {
    store: S,
    head: Mutex<Option<Head>>,
}

impl<S: ObjectStore> EvidenceStore<S> {
    pub fn new(store: S) -> EvidenceStore<S> {
        EvidenceStore {
            store,
            head: Mutex::new(None),
        }
    }

    /// The byte-moving backend underneath.
    pub fn backend(&self) -> &S {
        &self.store
    }

    fn cached_head(&self) -> Option<Head> {
        self.head.lock().map(|g| *g).unwrap_or(None)
    }

    fn set_cached_head(&self, head: Head) {
        if let Ok(mut g) = self.head.lock() {
            *g = Some(head);
        }
    }

    /// Find the head: from the cached head (or a listing when there is none), probe forward
    /// until the next sequence number is free.
    pub async fn head(&self) -> Result<Head, ChainError> {
        let mut head = match self.cached_head() {
            Some(h) => h,
            None => {
                let keys = self.store.list(RECORDS_PREFIX).await?;
                match keys.iter().filter_map(|k| parse_record_key(k)).max() {
                    None => Head::EMPTY,
                    Some(seq) => {
                        let key = record_key(seq);
                        let bytes =
                            self.store
                                .get(&key)
                                .await?
                                .ok_or_else(|| ChainError::Corrupt {
                                    key: key.clone(),
                                    reason: "listed but not readable".into(),
                                })?;
                        Head {
                            seq,
                            hash: Digest::of_record(&bytes),
                        }
                    }
                }
            }
        };
        loop {
            let key = record_key(head.seq + 1);
            match self.store.get(&key).await? {
                Some(bytes) => {
                    head = Head {
                        seq: head.seq + 1,
                        hash: Digest::of_record(&bytes),
                    }
                }
                None => break,
            }
        }
        self.set_cached_head(head);
        Ok(head)
    }

    /// Store `blobs` (the bytes behind `draft.items`, in the same order) and commit a record.
    pub async fn append(&self, draft: Draft, blobs: &[Blob]) -> Result<Committed, ChainError> {
        let mut new_blob_bytes = 0;
        if draft.items.len() != blobs.len() {
            return Err(ChainError::BlobCount {
                items: draft.items.len(),
                blobs: blobs.len(),
            });
        }
        for (item, blob) in draft.items.iter().zip(blobs) {
            if blob.digest() != item.digest || blob.size() != item.size {
                return Err(ChainError::ItemMismatch {
                    name: item.name.clone(),
                });
            }
            if self
                .store
                .put_blob_if_absent(&blob_key(&item.digest), blob)
                .await?
                == PutOutcome::Created
            {
                new_blob_bytes += blob.size();
            }
        }
        failpoint::hit("after-blobs");
        for _attempt in 0..MAX_COMMIT_ATTEMPTS {
            let head = self.head().await?;
            let record = Record {
                format: FORMAT_VERSION,
                seq: head.seq + 1,
                prev: head.hash,
                recorded_at: now_millis(),
                collector: draft.collector.clone(),
                kind: draft.kind.clone(),
                scope: draft.scope.clone(),
                status: draft.status,
                errors: draft.errors.clone(),
                items: draft.items.clone(),
                provenance: Provenance {
                    program: format!("evidenced {}", env!("CARGO_PKG_VERSION")),
                    writer_nonce: format!("{:032x}", rand::random::<u128>()),
                    caller_arn: draft.caller_arn.clone(),
                    api_calls: draft.api_calls.clone(),
                },
            };
            let bytes = record.to_bytes()?;
            let key = record_key(record.seq);
            let ours = match self.store.put_if_absent(&key, &bytes).await? {
                PutOutcome::Created => true,
                // The put may have succeeded and been retried by the SDK: read back.
                PutOutcome::AlreadyExists => {
                    self.store.get(&key).await?.as_deref() == Some(&bytes[..])
                }
            };
            if ours {
                let hash = Digest::of_record(&bytes);
                self.set_cached_head(Head {
                    seq: record.seq,
                    hash,
                });
                tracing::debug!(seq = record.seq, %hash, collector = %record.collector, "Record committed.");
                return Ok(Committed {
                    seq: record.seq,
                    hash,
                    record,
                    new_blob_bytes,
                });
            }
            tracing::debug!(
                seq = record.seq,
                "Lost the race for this sequence number; retrying."
            );
        }
        Err(ChainError::Contended(MAX_COMMIT_ATTEMPTS))
    }

    /// Every record key present, sorted by sequence number, with its sequence number.
    pub async fn record_keys(&self) -> Result<Vec<(u64, String)>, ChainError> {
        let mut keys: Vec<(u64, String)> = self
            .store
            .list(RECORDS_PREFIX)
            .await?
            .into_iter()
            .filter_map(|k| parse_record_key(&k).map(|s| (s, k)))
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Read and parse every record, in sequence order. Fails on the first unreadable one;
    /// `verify` is the tool that reports all damage.
    pub async fn records(&self) -> Result<Vec<StoredRecord>, ChainError> {
        let keys = self.record_keys().await?;
        self.read_records(&keys).await
    }

    /// Read the records at `keys` (as listed by [`EvidenceStore::record_keys`]), in the
    /// same order, several at a time.
    pub async fn read_records(
        &self,
        keys: &[(u64, String)],
    ) -> Result<Vec<StoredRecord>, ChainError> {
        stream::iter(keys.to_vec())
            .map(|(seq, key)| async move {
                let bytes = self
                    .store
                    .get(&key)
                    .await?
                    .ok_or_else(|| ChainError::Corrupt {
                        key: key.clone(),
                        reason: "listed but not readable".into(),
                    })?;
                let record = Record::from_bytes(&bytes).map_err(|e| ChainError::Corrupt {
                    key: key.clone(),
                    reason: e.to_string(),
                })?;
                Ok::<_, ChainError>(StoredRecord {
                    hash: Digest::of_record(&bytes),
                    key,
                    seq,
                    bytes,
                    record,
                })
            })
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await
    }

    /// The bytes of a blob, if present.
    pub async fn blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, ChainError> {
        Ok(self.store.get(&blob_key(digest)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_keys_sort_numerically_and_parse_back() {
        assert_eq!(record_key(7), "chain/records/00000000000000000007.json");
        assert!(record_key(10) > record_key(9));
        assert_eq!(parse_record_key(&record_key(123)), Some(123));
        assert_eq!(parse_record_key("chain/records/7.json"), None);
        assert_eq!(
            parse_record_key("chain/records/0000000000000000000x.json"),
            None
        );
    }
}
