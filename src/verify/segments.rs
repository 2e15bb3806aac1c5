//! Check 9 of docs/FORMAT.md ("Verifying"): every segment is the chain's records, byte for
//! byte, and is stored under the key of its own last record.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::{problem, Problem};
use crate::chain::{first_of, parse_segment_key, split_segment, SEGMENTS_PREFIX, SEGMENT_RECORDS};
use crate::digest::Digest;
use crate::store::{ObjectStore, StoreError};

/// What the segment check saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segments {
    /// Segments read and compared with the chain.
    pub checked: u64,
    /// Complete runs of 1,000 records that have no segment yet (not a problem: segments
    /// are written after the fact; `evidenced segments` writes them).
    pub missing: u64,
}

/// Compare every segment under [`SEGMENTS_PREFIX`] with `hashes` (record hash by sequence
/// number, as read from the record objects). `head` is the last record read; complete runs
/// up to it without a segment are counted as missing when `count_missing`.
pub(super) async fn check<S: ObjectStore>(
    store: &S,
    hashes: &BTreeMap<u64, Digest>,
    head: u64,
    count_missing: bool,
    concurrency: usize,
) -> Result<(Vec<Problem>, Segments), StoreError> {
    let mut problems = Vec::new();
    let mut lasts = Vec::new();
    for key in store.list(SEGMENTS_PREFIX).await? {
        match parse_segment_key(&key) {
            Some(last) => lasts.push((last, key)),
            None => problems.push(problem(
                "unexpected-key",
                None,
                &key,
                None,
                None,
                format!("{key} is not a segment key (expected {SEGMENTS_PREFIX}<20-digit multiple of {SEGMENT_RECORDS}>.jsonl)"),
            )),
        }
    }
    let fetched: Vec<_> = stream::iter(lasts.iter())
        .map(|(last, key)| async move { (*last, key, store.get(key).await) })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    for (last, key, bytes) in fetched {
        let bytes = bytes?;
        let lines = match &bytes {
            None => Err(format!("segment {key} was listed but could not be read")),
            Some(b) => split_segment(key, b).map_err(|e| e.to_string()),
        };
        let lines = match lines {
            Ok(l) => l,
            Err(message) => {
                problems.push(problem(
                    "unreadable-segment",
                    Some(last),
                    key,
                    None,
                    None,
                    message,
                ));
                continue;
            }
        };
        let first = first_of(last);
        let differing: Vec<(u64, Digest, Option<&Digest>)> = lines
            .iter()
            .enumerate()
            .map(|(i, line)| (first + i as u64, Digest::of_record(line)))
            .filter_map(|(seq, h)| {
                let chain = hashes.get(&seq);
                (chain != Some(&h)).then_some((seq, h, chain))
            })
            .collect();
        if let Some((seq, actual, expected)) = differing.first() {
            let what = match expected {
                Some(_) => format!("line {} is not the bytes of record {seq}", seq - first + 1),
                None => format!("it holds record {seq}, which is not in the chain"),
            };
            problems.push(problem(
                "segment-mismatch",
                Some(*seq),
                key,
                expected.map(|d| d.to_string()),
                Some(actual.to_string()),
                format!(
                    "segment {key} differs from the chain in {} of its {SEGMENT_RECORDS} records: {what}. A segment is a copy, never the authority: the chain's record objects or the segment were altered",
                    differing.len()
                ),
            ));
        }
    }
    let present: std::collections::BTreeSet<u64> = lasts.iter().map(|(l, _)| *l).collect();
    let missing = if count_missing {
        (1..=head / SEGMENT_RECORDS)
            .filter(|n| !present.contains(&(n * SEGMENT_RECORDS)))
            .count() as u64
    } else {
        0
    };
    Ok((
        problems,
        Segments {
            checked: lasts.len() as u64,
            missing,
        },
    ))
}
