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

#[cfg(test)]
mod segment_tests;
pub mod segments;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::canonical::CanonicalError;
use crate::digest::{Blob, Digest};
use crate::failpoint;
use crate::record::{now_millis, Draft, Provenance, Record, FORMAT_VERSION};
use crate::store::{Cached, ObjectStore, PutOutcome, ReadCache, StoreError};

pub use segments::{
    encode as encode_segment, first_of, parse_segment_key, segment_key, segment_of,
    split as split_segment, SegmentError, SEGMENTS_PREFIX, SEGMENT_RECORDS,
};

/// Prefix of record keys.
pub const RECORDS_PREFIX: &str = "chain/records/";
/// Prefix of blob keys.
pub const BLOBS_PREFIX: &str = "blobs/sha256/";

/// Attempts at the next sequence number before giving up (each lost race is one attempt).
const MAX_COMMIT_ATTEMPTS: u32 = 200;
/// Concurrent reads when loading records and blobs (on S3 each is a round trip; the SDK
/// retries each one on its own).
pub const READ_CONCURRENCY: usize = 32;

/// How far two writers' clocks may disagree (docs/FORMAT.md, "Verifying"): a record may be
/// this much earlier than its predecessor, and a writer may be this much behind the head,
/// before either counts as time going backwards.
pub const CLOCK_TOLERANCE: Duration = Duration::minutes(5);

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
    #[error(
        "this machine's clock ({}) is behind the last record's recorded_at ({}, record {seq}) by {}; fix the clock (NTP) before writing. Nothing was committed",
        rfc3339(*now),
        rfc3339(*head),
        human_duration(*head - *now)
    )]
    ClockBehind {
        now: OffsetDateTime,
        head: OffsetDateTime,
        seq: u64,
    },
}

/// RFC 3339 rendering of a time, for messages.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

/// `1d 2h 3m 4s`-style rendering of a (non-negative) duration, whole seconds.
pub fn human_duration(d: Duration) -> String {
    let total = d.whole_seconds().unsigned_abs();
    let (days, rest) = (total / 86_400, total % 86_400);
    let (hours, rest) = (rest / 3_600, rest % 3_600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    let mut out = String::new();
    for (n, unit) in [(days, "d"), (hours, "h"), (minutes, "m")] {
        if n > 0 || !out.is_empty() {
            out.push_str(&format!("{n}{unit} "));
        }
    }
    out.push_str(&format!("{seconds}s"));
    out
}

/// The one field of a record the head needs beyond its hash. Unknown fields are ignored, so
/// reading it never fails on a record the verifier would call unreadable for other reasons.
#[derive(Deserialize)]
struct RecordedAt {
    #[serde(with = "time::serde::rfc3339")]
    recorded_at: OffsetDateTime,
}

/// `recorded_at` of stored record bytes, when they carry a readable one.
fn recorded_at_of(bytes: &[u8]) -> Option<OffsetDateTime> {
    serde_json::from_slice::<RecordedAt>(bytes)
        .ok()
        .map(|r| r.recorded_at)
}

/// The last committed record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// 0 when the chain is empty.
    pub seq: u64,
    /// [`Digest::ZERO`] when the chain is empty.
    pub hash: Digest,
    /// The record's `recorded_at`; `None` when the chain is empty or the head record does
    /// not parse (`verify` reports that).
    pub recorded_at: Option<OffsetDateTime>,
}

impl Head {
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: Digest::ZERO,
        recorded_at: None,
    };

    fn of(seq: u64, bytes: &[u8]) -> Head {
        Head {
            seq,
            hash: Digest::of_record(bytes),
            recorded_at: recorded_at_of(bytes),
        }
    }

    /// Refuse to write after this head when `now` is more than [`CLOCK_TOLERANCE`] earlier
    /// than its `recorded_at`: the new record would go back in time.
    pub fn check_clock(&self, now: OffsetDateTime) -> Result<(), ChainError> {
        match self.recorded_at {
            Some(head) if head - now > CLOCK_TOLERANCE => Err(ChainError::ClockBehind {
                now,
                head,
                seq: self.seq,
            }),
            _ => Ok(()),
        }
    }
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

/// What [`EvidenceStore::append_unless`] did.
#[derive(Debug, Clone)]
pub enum Appended {
    Committed(Box<Committed>),
    /// The first record that matched; nothing was committed.
    Found(Box<StoredRecord>),
}

/// The evidence store: chain semantics over a byte-moving backend.
#[derive(Debug)]
pub struct EvidenceStore<S> {
    store: S,
    head: Mutex<Option<Head>>,
    /// Set once this process has seen `ids/backfill.json` (or written it).
    ids_backfilled: AtomicBool,
    /// Immutable objects already read ([`EvidenceStore::with_cache`]).
    cache: Option<ReadCache>,
    /// The segments present (last record of each), once listed.
    segments: Mutex<Option<BTreeSet<u64>>>,
    /// The bytes of the records of the segment not yet written that this process committed,
    /// or read while finding the head (that one segment's, and no more than 4 MiB of them):
    /// the commit that completes the segment reads only the others.
    own_unsegmented: Mutex<BTreeMap<u64, Vec<u8>>>,
}

impl<S: ObjectStore> EvidenceStore<S> {
    pub fn new(store: S) -> EvidenceStore<S> {
        EvidenceStore {
            store,
            head: Mutex::new(None),
            ids_backfilled: AtomicBool::new(false),
            cache: None,
            segments: Mutex::new(None),
            own_unsegmented: Mutex::new(BTreeMap::new()),
        }
    }

    /// Read immutable objects (records, blobs, checkpoints) through `cache`, so that none
    /// is read twice: for commands that read much of the store (verify, report, bundle,
    /// log), not for the daemon, which would keep every object it ever read.
    pub fn with_cache(mut self, cache: ReadCache) -> EvidenceStore<S> {
        self.cache = Some(cache);
        self
    }

    /// The backend as readers should use it: through the cache when there is one.
    pub fn objects(&self) -> Cached<'_, S> {
        Cached {
            store: &self.store,
            cache: self.cache.as_ref(),
        }
    }

    /// The byte-moving backend underneath.
    pub fn backend(&self) -> &S {
        &self.store
    }

    /// True once this process knows the store's legacy human records are claimed
    /// ([`crate::ids`]).
    pub fn ids_backfilled(&self) -> bool {
        self.ids_backfilled.load(Ordering::Acquire)
    }

    pub fn set_ids_backfilled(&self) {
        self.ids_backfilled.store(true, Ordering::Release);
    }

    fn cached_head(&self) -> Option<Head> {
        self.head.lock().map(|g| *g).unwrap_or(None)
    }

    fn set_cached_head(&self, head: Head) {
        if let Ok(mut g) = self.head.lock() {
            *g = Some(head);
        }
    }

    /// Find the head: from the cached head (or, when there is none, the records listed
    /// after the last segment), probe forward until the next sequence number is free.
    pub async fn head(&self) -> Result<Head, ChainError> {
        let mut head = match self.cached_head() {
            Some(h) => h,
            None => self.listed_head().await?,
        };
        loop {
            let key = record_key(head.seq + 1);
            match self.objects().get(&key).await? {
                Some(bytes) => {
                    head = Head::of(head.seq + 1, &bytes);
                    self.hold_unsegmented(head.seq, bytes);
                }
                None => break,
            }
        }
        self.set_cached_head(head);
        Ok(head)
    }

    /// The highest record listed. Records before the last segment exist (a segment is
    /// written only after its last record), so only the keys after it are listed: one
    /// page for up to 1,000 records on S3, whatever the chain's length. When the record
    /// that segment ends at is not there, the whole prefix is listed.
    async fn listed_head(&self) -> Result<Head, ChainError> {
        if let Some(&last) = self.segments().await?.last() {
            let after = self
                .store
                .list_after(RECORDS_PREFIX, &record_key(last))
                .await?;
            let seq = after
                .iter()
                .filter_map(|k| parse_record_key(k))
                .max()
                .unwrap_or(last);
            if let Some(bytes) = self.objects().get(&record_key(seq)).await? {
                return Ok(Head::of(seq, &bytes));
            }
            tracing::warn!(
                segment = %segment_key(last),
                "A segment names records that are not in the chain; listing every record."
            );
        }
        let keys = self.store.list(RECORDS_PREFIX).await?;
        match keys.iter().filter_map(|k| parse_record_key(k)).max() {
            None => Ok(Head::EMPTY),
            Some(seq) => Ok(Head::of(seq, &self.listed_bytes(&record_key(seq)).await?)),
        }
    }

    /// Store `blobs` (the bytes behind `draft.items`, in the same order) and commit a record.
    pub async fn append(&self, draft: Draft, blobs: &[Blob]) -> Result<Committed, ChainError> {
        match self
            .append_unless(draft, blobs, u64::MAX, |_| false)
            .await?
        {
            Appended::Committed(c) => Ok(*c),
            Appended::Found(r) => Err(ChainError::Corrupt {
                key: r.key,
                reason: "matched a predicate that matches nothing".into(),
            }),
        }
    }

    /// [`EvidenceStore::append`] unless a record after `after_seq` satisfies `found`.
    /// Before each conditional create of sequence `n`, every record from the last one
    /// checked to `n - 1` is checked, so a commit happens only when no record before it
    /// (after `after_seq`) matches: the check is part of the commit. `u64::MAX` checks
    /// nothing.
    pub async fn append_unless(
        &self,
        draft: Draft,
        blobs: &[Blob],
        after_seq: u64,
        found: impl Fn(&Record) -> bool,
    ) -> Result<Appended, ChainError> {
        let mut checked = after_seq;
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
            // Streamed into the store before this append (its writer counted its bytes).
            if blob.is_stored() {
                continue;
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
            if head.seq == 0 {
                self.start_ids().await?;
            }
            while checked < head.seq {
                checked += 1;
                if let Some(r) = self.record(checked).await? {
                    if found(&r.record) {
                        return Ok(Appended::Found(Box::new(r)));
                    }
                }
            }
            let now = now_millis();
            head.check_clock(now)?;
            let record = Record {
                format: FORMAT_VERSION,
                seq: head.seq + 1,
                prev: head.hash,
                recorded_at: now,
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
                    recorded_at: Some(record.recorded_at),
                });
                tracing::debug!(seq = record.seq, %hash, collector = %record.collector, "Record committed.");
                self.hold_unsegmented(record.seq, bytes);
                self.segment_after_commit(record.seq).await;
                return Ok(Appended::Committed(Box::new(Committed {
                    seq: record.seq,
                    hash,
                    record,
                    new_blob_bytes,
                })));
            }
            tracing::debug!(
                seq = record.seq,
                "Lost the race for this sequence number; retrying."
            );
        }
        Err(ChainError::Contended(MAX_COMMIT_ATTEMPTS))
    }

    /// A new chain has no human record without an id claim: say so before its first
    /// record, so that no writer ever reads the chain to claim earlier ones
    /// ([`crate::ids::Ids::backfill`]).
    async fn start_ids(&self) -> Result<(), ChainError> {
        if !self.ids_backfilled() {
            let marker = crate::canonical::to_vec(&crate::ids::Backfill { through_seq: 0 })?;
            self.store
                .put_if_absent(crate::ids::BACKFILL_KEY, &marker)
                .await?;
            self.set_ids_backfilled();
        }
        Ok(())
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
    /// same order, several at a time; runs of them from segments where segments exist.
    pub async fn read_records(
        &self,
        keys: &[(u64, String)],
    ) -> Result<Vec<StoredRecord>, ChainError> {
        let records = self.read_via_segments(keys).await?;
        // A record read exists: the head is at least there.
        if let Some(r) = records.last() {
            if self.cached_head().is_none_or(|h| h.seq < r.seq) {
                self.set_cached_head(Head::of(r.seq, &r.bytes));
            }
        }
        Ok(records)
    }

    /// [`EvidenceStore::read_records`] from the record objects only.
    async fn read_objects(&self, keys: &[(u64, String)]) -> Result<Vec<StoredRecord>, ChainError> {
        stream::iter(keys.to_vec())
            .map(|(seq, key)| self.read_object(seq, key))
            .buffered(READ_CONCURRENCY)
            .try_collect()
            .await
    }

    /// The record object at `key`, which must exist.
    async fn read_object(&self, seq: u64, key: String) -> Result<StoredRecord, ChainError> {
        let bytes = self.listed_bytes(&key).await?;
        stored(seq, key, bytes)
    }

    /// The bytes of an object that must exist (it was listed, or the chain reaches it).
    async fn listed_bytes(&self, key: &str) -> Result<Vec<u8>, ChainError> {
        self.objects()
            .get(key)
            .await?
            .ok_or_else(|| ChainError::Corrupt {
                key: key.to_string(),
                reason: "listed but not readable".into(),
            })
    }

    /// Record 1 and every record from `start` to the head, in sequence order (every record
    /// when `start` is 1 or 2): the runs from segments where there are segments, then the
    /// records after the head this process knew. Fails on the first record that is missing
    /// or unreadable.
    pub async fn records_from(&self, start: u64) -> Result<Vec<StoredRecord>, ChainError> {
        if start <= 2 {
            return self.records().await;
        }
        let head = self.head().await?;
        let mut keys = vec![(1, record_key(1))];
        keys.extend((start..=head.seq).map(|s| (s, record_key(s))));
        let mut out = self.read_records(&keys).await?;
        let last = out.last().map_or(head.seq, |r| r.seq);
        out.extend(self.records_after(last).await?);
        Ok(out)
    }

    /// Record `seq`, or `None` when absent.
    pub async fn record(&self, seq: u64) -> Result<Option<StoredRecord>, ChainError> {
        let key = record_key(seq);
        let Some(bytes) = self.objects().get(&key).await? else {
            return Ok(None);
        };
        stored(seq, key, bytes).map(Some)
    }

    /// The keys of the records after `seq` up to the head this process knows (all those
    /// listed, when it knows none yet), for a caller that reads them in parts with
    /// [`EvidenceStore::read_records`] and then the rest with
    /// [`EvidenceStore::records_after`].
    pub async fn keys_after(&self, seq: u64) -> Result<Vec<(u64, String)>, ChainError> {
        Ok(match self.cached_head() {
            Some(h) => (seq + 1..=h.seq).map(|s| (s, record_key(s))).collect(),
            None => self
                .record_keys()
                .await?
                .into_iter()
                .filter(|(s, _)| *s > seq)
                .collect(),
        })
    }

    /// Every record after `seq`, in sequence order: the records up to the head this
    /// process knows are read several at a time, then the chain is probed forward until the
    /// next sequence number is free. Once the head is known (after any read of it or any
    /// commit), that is exactly the new records and one probe; a process that knows no head
    /// yet lists the chain first.
    pub async fn records_after(&self, seq: u64) -> Result<Vec<StoredRecord>, ChainError> {
        let keys = self.keys_after(seq).await?;
        let mut out = self.read_records(&keys).await?;
        let mut last = out.last().map_or(seq, |r| r.seq);
        if let Some(h) = self.cached_head() {
            last = last.max(h.seq);
        }
        loop {
            let next = last + 1;
            match self.record(next).await? {
                Some(r) => {
                    last = next;
                    out.push(r);
                }
                None => break,
            }
        }
        if let Some(r) = out.last() {
            if self.cached_head().is_none_or(|h| h.seq < r.seq) {
                self.set_cached_head(Head::of(r.seq, &r.bytes));
            }
        }
        Ok(out)
    }

    /// The bytes of a blob, if present.
    pub async fn blob(&self, digest: &Digest) -> Result<Option<Vec<u8>>, ChainError> {
        Ok(self.objects().get(&blob_key(digest)).await?)
    }

    /// The blobs of `digests`, in that order, read [`READ_CONCURRENCY`] at a time (at most
    /// `ahead` of them held before they are consumed).
    pub fn blobs(
        &self,
        digests: Vec<Digest>,
        ahead: usize,
    ) -> impl futures::Stream<Item = Result<(Digest, Option<Vec<u8>>), ChainError>> + '_ {
        stream::iter(digests)
            .map(move |d| async move { Ok::<_, ChainError>((d, self.blob(&d).await?)) })
            .buffered(ahead.clamp(1, READ_CONCURRENCY))
    }
}

/// A record's bytes as read from `key`, parsed.
fn stored(seq: u64, key: String, bytes: Vec<u8>) -> Result<StoredRecord, ChainError> {
    let record = Record::from_bytes(&bytes).map_err(|e| ChainError::Corrupt {
        key: key.clone(),
        reason: e.to_string(),
    })?;
    Ok(StoredRecord {
        hash: Digest::of_record(&bytes),
        key,
        seq,
        bytes,
        record,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::record::{Scope, Status};
    use crate::store::counting::Counting;
    use crate::store::LocalStore;

    fn draft() -> Draft {
        Draft::empty("test", "test", Status::Failed)
    }

    /// Commit `draft()` as record 1 with the given `recorded_at`, bypassing the clock check.
    async fn crafted_first_record(store: &LocalStore, recorded_at: OffsetDateTime) {
        let record = Record {
            format: FORMAT_VERSION,
            seq: 1,
            prev: Digest::ZERO,
            recorded_at,
            collector: "test".into(),
            kind: "test".into(),
            scope: Scope::default(),
            status: Status::Failed,
            errors: Vec::new(),
            items: Vec::new(),
            provenance: Provenance {
                program: "test".into(),
                writer_nonce: "0".repeat(32),
                caller_arn: None,
                api_calls: Vec::new(),
            },
        };
        let bytes = record.to_bytes().unwrap();
        assert_eq!(
            store.put_if_absent(&record_key(1), &bytes).await.unwrap(),
            PutOutcome::Created
        );
    }

    #[tokio::test]
    async fn append_refuses_when_this_clock_is_behind_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalStore::new(dir.path());
        let future = now_millis() + Duration::days(365);
        crafted_first_record(&local, future).await;
        let store = EvidenceStore::new(local);
        let err = store.append(draft(), &[]).await.unwrap_err();
        assert!(
            matches!(err, ChainError::ClockBehind { seq: 1, head, .. } if head == future),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("fix the clock (NTP) before writing"), "{msg}");
        assert!(
            msg.contains("by 364d 23h 59m") || msg.contains("by 365d"),
            "{msg}"
        );
        let keys: Vec<u64> = store
            .record_keys()
            .await
            .unwrap()
            .iter()
            .map(|k| k.0)
            .collect();
        assert_eq!(keys, vec![1], "a record was written");
    }

    #[tokio::test]
    async fn append_accepts_a_head_slightly_in_the_future() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalStore::new(dir.path());
        crafted_first_record(&local, now_millis() + Duration::minutes(1)).await;
        let store = EvidenceStore::new(local);
        assert_eq!(store.append(draft(), &[]).await.unwrap().seq, 2);
    }

    #[tokio::test]
    async fn the_clock_check_reads_no_more_than_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let writer = EvidenceStore::new(Counting::new(dir.path()));
        for _ in 0..5 {
            writer.append(draft(), &[]).await.unwrap();
        }
        // A fresh writer (no cached head): one listing, the last record, one probe past it.
        let store = EvidenceStore::new(Counting::new(dir.path()));
        let committed = store.append(draft(), &[]).await.unwrap();
        assert_eq!(committed.seq, 6);
        assert_eq!(store.backend().record_gets.load(Ordering::SeqCst), 2);
        // With the head cached, only the probe past it.
        store.backend().record_gets.store(0, Ordering::SeqCst);
        store.append(draft(), &[]).await.unwrap();
        assert_eq!(store.backend().record_gets.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn check_clock_allows_the_tolerance_and_no_more() {
        let now = now_millis();
        let head = |at| Head {
            seq: 9,
            hash: Digest::ZERO,
            recorded_at: Some(at),
        };
        assert!(head(now + CLOCK_TOLERANCE).check_clock(now).is_ok());
        assert!(head(now - Duration::days(1)).check_clock(now).is_ok());
        assert!(Head::EMPTY.check_clock(now).is_ok());
        assert!(matches!(
            head(now + CLOCK_TOLERANCE + Duration::milliseconds(1)).check_clock(now),
            Err(ChainError::ClockBehind { seq: 9, .. })
        ));
        assert_eq!(human_duration(Duration::seconds(90_061)), "1d 1h 1m 1s");
        assert_eq!(human_duration(Duration::seconds(7)), "7s");
    }

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
