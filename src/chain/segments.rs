//! Segments (format 3, docs/FORMAT.md "Segments"): a derived copy of 1,000 consecutive
//! records in one object, written after the fact, so that a cold read of N records costs
//! about N / 1,000 requests instead of N.
//!
//! A segment is never the authority: the records under `chain/records/` are. A reader takes
//! records from a segment only when they link, every `prev` the hash of the record before,
//! and the last record it returns is pinned to its own object; anything else and it reads
//! the objects instead, with a warning. `verify` compares every segment with the chain.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt, TryStreamExt};
use rayon::prelude::*;

use super::{record_key, stored, ChainError, EvidenceStore, StoredRecord, READ_CONCURRENCY};
use crate::digest::Digest;
use crate::store::{ObjectStore, PutOutcome};

/// Prefix of segment keys.
pub const SEGMENTS_PREFIX: &str = "chain/segments/";
/// Records in one segment: segment `n` holds records `(n - 1) * 1000 + 1` to `n * 1000`.
pub const SEGMENT_RECORDS: u64 = 1000;
/// The most bytes of the records of the segment not yet written that a writer holds for
/// writing it ([`EvidenceStore::hold_unsegmented`]).
const HELD_BYTES: usize = 4 << 20;
/// A run of fewer records than this from one segment is read as single objects.
const MIN_FROM_SEGMENT: usize = 8;

/// Key of the segment whose last record is `last` (a multiple of [`SEGMENT_RECORDS`]).
pub fn segment_key(last: u64) -> String {
    format!("{SEGMENTS_PREFIX}{last:020}.jsonl")
}

/// The last sequence number a segment key names, if the key is one: 20 digits, a positive
/// multiple of [`SEGMENT_RECORDS`], `.jsonl`.
pub fn parse_segment_key(key: &str) -> Option<u64> {
    let name = key.strip_prefix(SEGMENTS_PREFIX)?.strip_suffix(".jsonl")?;
    if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let last: u64 = name.parse().ok()?;
    (last > 0 && last % SEGMENT_RECORDS == 0).then_some(last)
}

/// The first record of the segment that ends at `last`.
pub fn first_of(last: u64) -> u64 {
    last + 1 - SEGMENT_RECORDS
}

/// The last record of the segment that holds record `seq` (`seq` ≥ 1).
pub fn segment_of(seq: u64) -> u64 {
    seq.div_ceil(SEGMENT_RECORDS) * SEGMENT_RECORDS
}

/// A segment's bytes: each record's stored bytes followed by one line feed.
pub fn encode<'a>(records: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        out.extend_from_slice(r);
        out.push(b'\n');
    }
    out
}

/// A segment that is not shaped as the format says.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SegmentError {
    #[error("{key}: does not end with a line feed")]
    Unterminated { key: String },
    #[error("{key}: {lines} lines; a segment holds exactly {SEGMENT_RECORDS} records")]
    Count { key: String, lines: usize },
    #[error("{key}: line {line} is empty")]
    Empty { key: String, line: usize },
}

/// The record bytes of a segment, one per line, checking its shape only: exactly
/// [`SEGMENT_RECORDS`] non-empty lines, each ended by a line feed.
pub fn split<'a>(key: &str, bytes: &'a [u8]) -> Result<Vec<&'a [u8]>, SegmentError> {
    let Some(body) = bytes.strip_suffix(b"\n") else {
        return Err(SegmentError::Unterminated { key: key.into() });
    };
    let lines: Vec<&[u8]> = body.split(|b| *b == b'\n').collect();
    if lines.len() as u64 != SEGMENT_RECORDS {
        return Err(SegmentError::Count {
            key: key.into(),
            lines: lines.len(),
        });
    }
    if let Some(i) = lines.iter().position(|l| l.is_empty()) {
        return Err(SegmentError::Empty {
            key: key.into(),
            line: i + 1,
        });
    }
    Ok(lines)
}

/// One unit of a read: a run of records taken from one segment, or one record object.
enum Part {
    Segment { last: u64, seqs: Vec<u64> },
    Object(u64, String),
}

impl<S: ObjectStore> EvidenceStore<S> {
    /// The segments present (the last record of each), listed once per process and kept
    /// up to date with the ones this process writes.
    pub async fn segments(&self) -> Result<BTreeSet<u64>, ChainError> {
        if let Some(known) = self.known_segments() {
            return Ok(known);
        }
        let lasts: BTreeSet<u64> = self
            .store
            .list(SEGMENTS_PREFIX)
            .await?
            .iter()
            .filter_map(|k| parse_segment_key(k))
            .collect();
        if let Ok(mut g) = self.segments.lock() {
            *g = Some(lasts.clone());
        }
        Ok(lasts)
    }

    fn known_segments(&self) -> Option<BTreeSet<u64>> {
        self.segments.lock().ok().and_then(|g| g.clone())
    }

    fn note_segment(&self, last: u64) {
        if let Ok(mut g) = self.segments.lock() {
            if let Some(set) = g.as_mut() {
                set.insert(last);
            }
        }
    }

    /// Read the records at `keys` (sorted by sequence number), in that order: runs inside a
    /// present segment from the segment, the rest as single objects, several at a time.
    /// Records taken from segments are used only when every consecutive pair links and the
    /// last one returned matches its object; otherwise they are read again as objects.
    pub(super) async fn read_via_segments(
        &self,
        keys: &[(u64, String)],
    ) -> Result<Vec<StoredRecord>, ChainError> {
        let segments = self.segments().await?;
        if segments.is_empty() {
            return self.read_objects(keys).await;
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut i = 0;
        while i < keys.len() {
            if keys[i].0 == 0 {
                // Not a place in any segment (and not a valid record: `verify` says so).
                parts.push(Part::Object(0, keys[i].1.clone()));
                i += 1;
                continue;
            }
            let last = segment_of(keys[i].0);
            // A run of consecutive records inside one segment.
            let run = 1 + keys[i..]
                .windows(2)
                .take_while(|w| w[1].0 == w[0].0 + 1 && segment_of(w[1].0) == last)
                .count();
            if segments.contains(&last) && run >= MIN_FROM_SEGMENT {
                parts.push(Part::Segment {
                    last,
                    seqs: keys[i..i + run].iter().map(|(s, _)| *s).collect(),
                });
            } else {
                parts.extend(
                    keys[i..i + run]
                        .iter()
                        .map(|(s, k)| Part::Object(*s, k.clone())),
                );
            }
            i += run;
        }
        if !parts.iter().any(|p| matches!(p, Part::Segment { .. })) {
            return self.read_objects(keys).await;
        }
        let read: Vec<(bool, Vec<StoredRecord>)> = stream::iter(parts)
            .map(|part| async move {
                match part {
                    Part::Object(seq, key) => {
                        Ok::<_, ChainError>((false, vec![self.read_object(seq, key).await?]))
                    }
                    Part::Segment { last, seqs } => match self.take_from_segment(last, &seqs).await
                    {
                        Some(records) => Ok((true, records)),
                        None => {
                            let keys: Vec<_> = seqs.iter().map(|s| (*s, record_key(*s))).collect();
                            Ok((false, self.read_objects(&keys).await?))
                        }
                    },
                }
            })
            .buffered(READ_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await?;
        // A run from a segment is pinned by the link into the record after it, or else
        // by its last record's own object.
        let mut unpinned = Vec::new();
        for (i, (from_segment, run)) in read.iter().enumerate() {
            let (true, Some(last)) = (*from_segment, run.last()) else {
                continue;
            };
            let next = read.get(i + 1).and_then(|(_, r)| r.first());
            if next.is_none_or(|n| n.seq != last.seq + 1) {
                unpinned.push((last.seq, last.key.clone(), last.hash));
            }
        }
        let mut pinned = true;
        for (seq, key, hash) in unpinned {
            pinned &= self.read_object(seq, key).await?.hash == hash;
        }
        let records: Vec<StoredRecord> = read.into_iter().flat_map(|(_, r)| r).collect();
        let links = records
            .windows(2)
            .all(|w| w[1].seq != w[0].seq + 1 || w[1].record.prev == w[0].hash);
        if links && pinned {
            return Ok(records);
        }
        tracing::warn!(
            first = keys.first().map(|k| k.0),
            last = keys.last().map(|k| k.0),
            "Records read from segments do not link to the chain's objects; reading the objects instead. Run `evidenced verify`."
        );
        self.read_objects(keys).await
    }

    /// The records `seqs` of the segment ending at `last`, when it can be read and its
    /// lines are the records of those places, each linking to the line before; `None`
    /// (after a warning) otherwise.
    async fn take_from_segment(&self, last: u64, seqs: &[u64]) -> Option<Vec<StoredRecord>> {
        let key = segment_key(last);
        let bytes = match self.objects().get(&key).await {
            Ok(Some(b)) => b,
            Ok(None) => {
                tracing::warn!(segment = %key, "A listed segment is gone; reading its records one by one.");
                return None;
            }
            Err(e) => {
                tracing::warn!(segment = %key, error = %e, "Cannot read a segment; reading its records one by one.");
                return None;
            }
        };
        let seqs = seqs.to_vec();
        // Hashing and parsing a thousand records is the work of a cold read: it runs on
        // every core, off the async workers.
        let parsed = tokio::task::spawn_blocking(move || parse_lines(&key, &bytes, last, &seqs));
        match parsed.await {
            Ok(records) => records,
            Err(e) => {
                tracing::warn!(segment = %segment_key(last), error = %e, "Parsing a segment failed; reading its records one by one.");
                None
            }
        }
    }

    /// Hold the bytes of record `seq`, which this process just committed (or read while
    /// finding the head), until the segment it belongs to is written; what is held of
    /// earlier segments is dropped. Past [`HELD_BYTES`] a record is not held (the segment
    /// reads it back).
    pub(super) fn hold_unsegmented(&self, seq: u64, bytes: Vec<u8>) {
        let mut own = self
            .own_unsegmented
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *own = own.split_off(&first_of(segment_of(seq)));
        let held: usize = own.values().map(Vec::len).sum();
        if held + bytes.len() <= HELD_BYTES {
            own.insert(seq, bytes);
        }
    }

    /// The records of the segment ending at `last`: those this process holds from the
    /// bytes it put or read, the others read from their objects.
    async fn segment_records(&self, last: u64) -> Result<Vec<StoredRecord>, ChainError> {
        let mut own: BTreeMap<u64, Vec<u8>> = {
            let mut held = self
                .own_unsegmented
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let mut run = held.split_off(&first_of(last));
            *held = run.split_off(&(last + 1));
            run
        };
        let missing: Vec<_> = (first_of(last)..=last)
            .filter(|s| !own.contains_key(s))
            .map(|s| (s, record_key(s)))
            .collect();
        // `read_objects` returns a record for each key, in order, or fails.
        let mut read = self.read_objects(&missing).await?.into_iter();
        let mut records = Vec::with_capacity(SEGMENT_RECORDS as usize);
        for seq in first_of(last)..=last {
            match own.remove(&seq) {
                Some(bytes) => records.push(stored(seq, record_key(seq), bytes)?),
                None => records.extend(read.next()),
            }
        }
        Ok(records)
    }

    /// Write the segment ending at `last` from the records (the bytes this process holds,
    /// and the record objects of the others), unless it exists. Refuses (an error naming the
    /// record) when they do not form a linked run.
    pub async fn write_segment(&self, last: u64) -> Result<PutOutcome, ChainError> {
        let records = self.segment_records(last).await?;
        for w in records.windows(2) {
            if w[1].record.prev != w[0].hash {
                return Err(ChainError::Corrupt {
                    key: w[1].key.clone(),
                    reason: format!(
                        "its prev is not the hash of record {}; no segment is written over a broken link",
                        w[0].seq
                    ),
                });
            }
        }
        if let Some(r) = records.iter().find(|r| r.record.seq != r.seq) {
            return Err(ChainError::Corrupt {
                key: r.key.clone(),
                reason: format!("it says it is record {}", r.record.seq),
            });
        }
        let bytes = encode(records.iter().map(|r| r.bytes.as_slice()));
        let outcome = self.store.put_if_absent(&segment_key(last), &bytes).await?;
        self.note_segment(last);
        Ok(outcome)
    }

    /// Write every segment the chain is long enough for and that is missing (the
    /// migration of a store written before format 3, and the catch-up after a writer that
    /// died before writing one). Returns how many it wrote.
    pub async fn backfill_segments(&self) -> Result<u64, ChainError> {
        let head = self.head().await?;
        let present = self.segments().await?;
        let due: Vec<u64> = (1..=head.seq / SEGMENT_RECORDS)
            .map(|n| n * SEGMENT_RECORDS)
            .filter(|l| !present.contains(l))
            .collect();
        let mut written = 0;
        for last in due {
            if self.write_segment(last).await? == PutOutcome::Created {
                written += 1;
                tracing::info!(segment = %segment_key(last), "Segment written.");
            }
        }
        Ok(written)
    }

    /// After committing `seq`: write the segment it completes, if it completes one. A
    /// failure is logged, never returned: the record is committed, and the segment is
    /// only a derived copy that `evidenced segments` or the next daemon start writes.
    pub(super) async fn segment_after_commit(&self, seq: u64) {
        if seq == 0 || seq % SEGMENT_RECORDS != 0 {
            return;
        }
        if let Err(e) = self.write_segment(seq).await {
            tracing::warn!(segment = %segment_key(seq), error = %e, "Could not write the segment this record completes; `evidenced segments` writes it later.");
        }
    }
}

/// The records `seqs` (sorted, inside the segment) of segment `key` ending at `last`, when
/// its lines are the records of those places, each linking to the line before; `None`
/// (after a warning) otherwise. The lines are hashed and parsed in parallel, then checked
/// in order.
fn parse_lines(key: &str, bytes: &[u8], last: u64, seqs: &[u64]) -> Option<Vec<StoredRecord>> {
    let lines = match split(key, bytes) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "Unreadable segment; reading its records one by one.");
            return None;
        }
    };
    let first = first_of(last);
    let (lo, hi) = (*seqs.first()?, *seqs.last()?);
    let from = usize::try_from(lo.checked_sub(first)?).ok()?;
    let to = usize::try_from(hi - first + 1).ok()?.min(lines.len());
    let lines_read = lines.get(from..to).unwrap_or_default();
    let mut prev: Option<Digest> = from
        .checked_sub(1)
        .and_then(|i| lines.get(i))
        .map(|l| Digest::of_record(l));
    let parsed: Vec<(u64, Result<StoredRecord, ChainError>)> = lines_read
        .par_iter()
        .enumerate()
        .map(|(i, line)| {
            let seq = lo + i as u64;
            (seq, stored(seq, record_key(seq), line.to_vec()))
        })
        .collect();
    let wanted: BTreeSet<u64> = seqs.iter().copied().collect();
    let mut out = Vec::with_capacity(seqs.len());
    for (seq, r) in parsed {
        let r = match r {
            Ok(r) if r.record.seq == seq && prev.is_none_or(|p| r.record.prev == p) => r,
            _ => {
                tracing::warn!(segment = %key, seq, "A segment line is not the record of its place; reading its records one by one.");
                return None;
            }
        };
        prev = Some(r.hash);
        if wanted.contains(&seq) {
            out.push(r);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_multiples_of_the_segment_length_only() {
        assert_eq!(
            segment_key(1000),
            "chain/segments/00000000000000001000.jsonl"
        );
        assert_eq!(parse_segment_key(&segment_key(5000)), Some(5000));
        for bad in [
            "chain/segments/00000000000000000999.jsonl",
            "chain/segments/00000000000000000000.jsonl",
            "chain/segments/1000.jsonl",
            "chain/segments/00000000000000001000.json",
            "chain/records/00000000000000001000.jsonl",
        ] {
            assert_eq!(parse_segment_key(bad), None, "{bad}");
        }
        assert_eq!(
            (segment_of(1), segment_of(1000), segment_of(1001)),
            (1000, 1000, 2000)
        );
        assert_eq!(first_of(2000), 1001);
    }

    #[test]
    fn split_takes_exactly_a_segment_of_lines() {
        let lines: Vec<Vec<u8>> = (0..SEGMENT_RECORDS)
            .map(|i| format!("{{\"n\":{i}}}").into_bytes())
            .collect();
        let bytes = encode(lines.iter().map(Vec::as_slice));
        let got = split("k", &bytes).unwrap();
        assert_eq!(got.len() as u64, SEGMENT_RECORDS);
        assert_eq!(got[7], b"{\"n\":7}");
        assert!(matches!(
            split("k", &bytes[..bytes.len() - 1]),
            Err(SegmentError::Unterminated { .. })
        ));
        let short = encode(lines[1..].iter().map(Vec::as_slice));
        assert!(matches!(
            split("k", &short),
            Err(SegmentError::Count { lines: 999, .. })
        ));
        let mut empty = lines.clone();
        empty[3].clear();
        assert!(matches!(
            split("k", &encode(empty.iter().map(Vec::as_slice))),
            Err(SegmentError::Empty { line: 4, .. })
        ));
    }
}
