//! `verify`: walk every record and every referenced blob, and name each problem with its
//! place. The algorithm is the one docs/FORMAT.md ("Verifying") spells out for independent
//! verifiers; keep the two in step.

mod ids;
mod segments;

pub use segments::Segments;

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use serde::Serialize;
use time::OffsetDateTime;

use crate::canonical;
use crate::chain::{
    blob_key, human_duration, parse_record_key, record_key, rfc3339, CLOCK_TOLERANCE,
    RECORDS_PREFIX,
};
use crate::digest::Digest;
use crate::record::{Record, FORMAT_VERSION, SUPPORTED_FORMATS};
use crate::store::{ObjectStore, StoreError, STALE_TEMP_AGE};

/// One problem found, with its place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Machine-readable name of the failed check, e.g. `blob-digest-mismatch`.
    pub check: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    pub message: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub ok: bool,
    pub records: u64,
    pub blobs: u64,
    pub blob_bytes: u64,
    /// Sequence number and hash of the last record, when the chain is not empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<Digest>,
    pub problems: Vec<Problem>,
    /// The largest step back in `recorded_at` between consecutive records that is within
    /// the clock tolerance (beyond it, `recorded-at-backwards` is a problem): two writers'
    /// clocks differed by at least this much.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<ClockSkew>,
    /// Segments compared with the chain (absent when the store has none and needs none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segments: Option<Segments>,
    /// What signed checkpoints vouch for (set by the command that checked them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<Vouching>,
}

/// What the checkpoints vouch for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Vouching {
    /// Checkpoints read (store and witness).
    pub checked: usize,
    /// Ids of the keys that signed valid checkpoints.
    pub signers: Vec<String>,
    /// The highest record a valid checkpoint vouches for.
    pub vouched_seq: Option<u64>,
    /// Records after it, which nothing signed vouches for yet.
    pub unvouched: u64,
    /// Whether an unvouched head is a problem (`--require-checkpoint`).
    pub required: bool,
    /// The RFC 3161 time-stamp tokens, when any exists or they are expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamps: Option<crate::checkpoint::tsa_verify::TimestampReport>,
}

impl Vouching {
    /// One line for the text output.
    pub fn describe(&self, head: u64) -> String {
        let signers = match self.signers.as_slice() {
            [] => String::new(),
            s => format!(", signed by key {}", s.join(", ")),
        };
        let tail = match (self.vouched_seq, self.unvouched) {
            (None, _) => "nothing signed vouches for any record: a cut or rewritten tail cannot be detected".to_string(),
            (Some(v), 0) => format!("the latest vouches for the head (record {v})"),
            (Some(v), n) => format!(
                "the latest vouches for record {v} of {head}: {n} record(s) after it are not vouched for yet"
            ),
        };
        format!("checkpoints: {} checked{signers}; {tail}", self.checked)
    }
}

/// Evidence of two writers' clocks disagreeing: record `seq` was recorded `behind_ms`
/// milliseconds before record `seq - 1`, although committed after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockSkew {
    pub seq: u64,
    pub behind_ms: i64,
}

/// Steps back shorter than this are not reported as skew (clock adjustments of a single
/// writer, timestamp rounding).
const SKEW_SHOWN: time::Duration = time::Duration::seconds(1);

impl ClockSkew {
    /// In words, for report headers.
    pub fn describe(&self) -> String {
        format!(
            "record {} was recorded {} before record {} although committed after it: writers' clocks differed by at least that much (within the {} tolerance; check NTP on every writer)",
            self.seq,
            human_duration(time::Duration::milliseconds(self.behind_ms)),
            self.seq - 1,
            human_duration(CLOCK_TOLERANCE)
        )
    }
}

/// Hooks for showing progress on long runs.
pub trait Progress: Send + Sync {
    fn start(&self, total_bytes: u64);
    fn advance(&self, bytes: u64);
    fn finish(&self);
}

/// No progress display.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// A record key with the result of reading it.
type Fetched = (u64, String, Result<Option<Vec<u8>>, StoreError>);
/// A blob digest and size with the result of hashing it.
type Hashed = (Digest, u64, Result<Option<(Digest, u64)>, StoreError>);

struct Expected {
    size: u64,
    /// First record that references the blob, for the message.
    seq: u64,
    name: String,
}

/// Verify the chain, blobs and id claims in `store`. `concurrency` bounds the blobs hashed
/// at once. Errors are reserved for a store that cannot be read at all; damage is reported
/// as problems.
pub async fn verify<S: ObjectStore>(
    store: &S,
    concurrency: usize,
    progress: &dyn Progress,
) -> Result<Report, StoreError> {
    walk(store, concurrency, progress, true, None).await
}

/// [`verify`] of an excerpt of a store (an auditor bundle), which carries records and
/// blobs but not the id claims: ids are checked for duplicates only. With `first_seq`, the
/// excerpt holds record 1 and the records from `first_seq` on: the records between are
/// expected to be absent, and the `prev` of record `first_seq` is not checked (a signed
/// checkpoint in the excerpt anchors it; the caller checks that one does).
pub async fn verify_excerpt<S: ObjectStore>(
    store: &S,
    concurrency: usize,
    progress: &dyn Progress,
    first_seq: Option<u64>,
) -> Result<Report, StoreError> {
    walk(store, concurrency, progress, false, first_seq).await
}

async fn walk<S: ObjectStore>(
    store: &S,
    concurrency: usize,
    progress: &dyn Progress,
    with_claims: bool,
    first_seq: Option<u64>,
) -> Result<Report, StoreError> {
    let mut problems = Vec::new();
    let mut keys: Vec<(u64, String)> = Vec::new();
    for key in store.list(RECORDS_PREFIX).await? {
        match parse_record_key(&key) {
            Some(seq) => keys.push((seq, key)),
            None => problems.push(Problem {
                check: "unexpected-key",
                seq: None,
                expected: None,
                actual: None,
                message: format!(
                    "{key} is not a record key (expected {RECORDS_PREFIX}<20-digit sequence>.json)"
                ),
                key,
            }),
        }
    }
    keys.sort();
    for tmp in store.temp_files().await? {
        if !tmp.is_stale() {
            tracing::warn!(
                file = %tmp.key,
                age_secs = tmp.age.as_secs(),
                "A temporary file younger than {}: a write in progress, or one interrupted recently; not a problem yet.",
                human_duration(secs(STALE_TEMP_AGE))
            );
            continue;
        }
        problems.push(Problem {
            check: "stale-temp-file",
            seq: None,
            expected: None,
            actual: Some(format!("{}s old", tmp.age.as_secs())),
            message: format!(
                "{} is a temporary file left by an interrupted write ({} old; no write takes longer than {}): the next write to this store removes it, or delete it by hand",
                tmp.key,
                human_duration(secs(tmp.age)),
                human_duration(secs(STALE_TEMP_AGE)),
            ),
            key: tmp.key,
        });
    }
    for key in store.overwritten(RECORDS_PREFIX).await? {
        problems.push(Problem {
            check: "overwritten-record",
            seq: parse_record_key(&key),
            expected: Some("1 version".into()),
            actual: Some("2 or more versions".into()),
            message: format!(
                "{key} was written more than once (or deleted): a committed record was replaced; compare its versions in the bucket"
            ),
            key,
        });
    }

    let fetched: Vec<Fetched> = stream::iter(keys)
        .map(|(seq, key)| async move {
            let r = store.get(&key).await;
            (seq, key, r)
        })
        .buffered(concurrency.max(4))
        .collect()
        .await;

    let mut expected_blobs: BTreeMap<Digest, Expected> = BTreeMap::new();
    let mut next_seq = 1u64;
    let mut prev_hash: Option<(u64, Digest)> = None;
    let mut prev_at: Option<(u64, OffsetDateTime)> = None;
    let mut records = 0u64;
    let mut head: Option<(u64, Digest)> = None;
    let mut humans: Vec<ids::Human> = Vec::new();
    let mut present = std::collections::BTreeSet::new();
    let mut clock_skew: Option<ClockSkew> = None;
    let mut hashes: BTreeMap<u64, Digest> = BTreeMap::new();

    for (seq, key, bytes) in fetched {
        let bytes = match bytes? {
            Some(b) => b,
            None => {
                problems.push(problem(
                    "missing-record",
                    Some(seq),
                    &key,
                    None,
                    None,
                    format!("record {seq} was listed but could not be read"),
                ));
                prev_hash = None;
                continue;
            }
        };
        records += 1;
        present.insert(seq);
        if seq > next_seq && next_seq == 2 && first_seq == Some(seq) {
            // The excerpt's expected gap.
            prev_hash = None;
        } else if seq > next_seq {
            let missing = if seq - next_seq == 1 {
                format!("record {next_seq} is missing")
            } else {
                format!("records {next_seq} to {} are missing", seq - 1)
            };
            problems.push(problem(
                "missing-record",
                Some(next_seq),
                &record_key(next_seq),
                Some(next_seq.to_string()),
                Some(seq.to_string()),
                format!(
                    "{missing}: the sequence jumps from {} to {seq}",
                    next_seq.saturating_sub(1)
                ),
            ));
            prev_hash = None;
        }
        next_seq = seq + 1;
        let hash = Digest::of_record(&bytes);
        head = Some((seq, hash));
        hashes.insert(seq, hash);

        let record = match Record::from_bytes(&bytes) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(problem(
                    "unreadable-record",
                    Some(seq),
                    &key,
                    None,
                    None,
                    format!("record {seq} does not parse: {e}"),
                ));
                None
            }
        };
        if record.is_some() && !canonical::is_canonical(&bytes) {
            problems.push(problem(
                "non-canonical-record",
                Some(seq),
                &key,
                None,
                None,
                format!("record {seq} is not in canonical JSON form (RFC 8785); it was rewritten after it was committed"),
            ));
        }
        if let Some(r) = &record {
            problems.extend(strict_fields(seq, &key, &bytes, r));
            if r.seq != seq {
                problems.push(problem(
                    "seq-mismatch",
                    Some(seq),
                    &key,
                    Some(seq.to_string()),
                    Some(r.seq.to_string()),
                    format!("the record stored at sequence {seq} says it is record {}: records were moved or swapped", r.seq),
                ));
            }
            if !SUPPORTED_FORMATS.contains(&r.format) {
                problems.push(problem(
                    "unsupported-format",
                    Some(seq),
                    &key,
                    Some(format!("1 to {FORMAT_VERSION}")),
                    Some(r.format.to_string()),
                    format!(
                        "record {seq} has format {} which this verifier does not know",
                        r.format
                    ),
                ));
            }
            let expected_prev = if seq == 1 {
                Some(Digest::ZERO)
            } else {
                prev_hash.filter(|(p, _)| *p + 1 == seq).map(|(_, h)| h)
            };
            if let Some(expected_prev) = expected_prev {
                if r.prev != expected_prev {
                    let message = if seq == 1 {
                        "record 1 must have the all-zero prev: the start of the chain was replaced"
                            .to_string()
                    } else {
                        format!(
                            "record {seq}'s prev is not the hash of record {}: record {} was altered, or record {seq} was not written on this chain",
                            seq - 1,
                            seq - 1
                        )
                    };
                    problems.push(problem(
                        "broken-link",
                        Some(seq),
                        &key,
                        Some(expected_prev.to_string()),
                        Some(r.prev.to_string()),
                        message,
                    ));
                }
            }
            if let Some((_, before)) = prev_at.filter(|(p, _)| *p + 1 == seq) {
                problems.extend(step_back(seq, &key, before, r.recorded_at, &mut clock_skew));
            }
            if let Some((kind, id, digest, _)) = crate::ids::human_identity(r) {
                humans.push(ids::Human {
                    seq,
                    format: r.format,
                    kind,
                    id,
                    digest,
                    hash,
                });
            }
            for item in &r.items {
                expected_blobs.entry(item.digest).or_insert(Expected {
                    size: item.size,
                    seq,
                    name: item.name.clone(),
                });
            }
        }
        prev_hash = Some((seq, hash));
        prev_at = record.as_ref().map(|r| (seq, r.recorded_at));
    }

    let (segment_problems, segment_summary) = segments::check(
        store,
        &hashes,
        head.map_or(0, |h| h.0),
        with_claims,
        concurrency,
    )
    .await?;
    problems.extend(segment_problems);
    drop(hashes);
    problems.extend(ids::duplicates(&humans));
    if with_claims {
        problems.extend(ids::claims(store, &humans, &present, concurrency).await?);
    }

    let total: u64 = expected_blobs.values().map(|e| e.size).sum();
    progress.start(total);
    let checked: Vec<Hashed> = stream::iter(expected_blobs.iter())
        .map(|(digest, exp)| async move {
            let r = store.digest(&blob_key(digest)).await;
            progress.advance(exp.size);
            (*digest, exp.size, r)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    progress.finish();

    let mut blob_problems = Vec::new();
    for (digest, size, result) in checked {
        let exp = &expected_blobs[&digest];
        let key = blob_key(&digest);
        match result? {
            None => blob_problems.push(problem(
                "missing-blob",
                Some(exp.seq),
                &key,
                Some(digest.to_string()),
                None,
                format!(
                    "blob of item {:?} (record {}) is missing",
                    exp.name, exp.seq
                ),
            )),
            Some((actual, actual_size)) => {
                if actual != digest {
                    blob_problems.push(problem(
                        "blob-digest-mismatch",
                        Some(exp.seq),
                        &key,
                        Some(digest.to_string()),
                        Some(actual.to_string()),
                        format!("blob of item {:?} (record {}) does not hash to its address: its bytes were changed", exp.name, exp.seq),
                    ));
                } else if actual_size != size {
                    blob_problems.push(problem(
                        "blob-size-mismatch",
                        Some(exp.seq),
                        &key,
                        Some(size.to_string()),
                        Some(actual_size.to_string()),
                        format!(
                            "blob of item {:?} (record {}) has another size than recorded",
                            exp.name, exp.seq
                        ),
                    ));
                }
            }
        }
    }
    blob_problems.sort_by(|a, b| (a.seq, &a.key).cmp(&(b.seq, &b.key)));
    problems.extend(blob_problems);

    Ok(Report {
        ok: problems.is_empty(),
        records,
        blobs: expected_blobs.len() as u64,
        blob_bytes: total,
        head_seq: head.map(|h| h.0),
        head_hash: head.map(|h| h.1),
        problems,
        clock_skew,
        segments: (segment_summary.checked > 0 || segment_summary.missing > 0)
            .then_some(segment_summary),
        checkpoints: None,
    })
}

/// `bad-writer-nonce` and `recorded-at-not-utc`: fields whose form the format fixes beyond
/// what parsing checks.
fn strict_fields(seq: u64, key: &str, bytes: &[u8], r: &Record) -> Vec<Problem> {
    let mut out = Vec::new();
    let nonce = &r.provenance.writer_nonce;
    if nonce.len() != 32
        || !nonce
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        out.push(problem(
            "bad-writer-nonce",
            Some(seq),
            key,
            Some("32 lowercase hex digits".into()),
            Some(nonce.clone()),
            format!("record {seq}'s provenance.writer_nonce is not 32 lowercase hex digits"),
        ));
    }
    let raw = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v["recorded_at"].as_str().map(str::to_string));
    if let Some(at) = raw.filter(|a| !a.ends_with('Z')) {
        out.push(problem(
            "recorded-at-not-utc",
            Some(seq),
            key,
            Some("an RFC 3339 time in UTC, ending in Z".into()),
            Some(at),
            format!("record {seq}'s recorded_at is not written in UTC with a trailing Z"),
        ));
    }
    out
}

/// Whole seconds of a std duration, as a `time` duration for [`human_duration`].
fn secs(d: std::time::Duration) -> time::Duration {
    time::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Record `seq`, recorded at `at`, after its predecessor recorded at `before`: a
/// `recorded-at-backwards` problem beyond [`CLOCK_TOLERANCE`]; within it, a step back of at
/// least a second is kept in `skew` when it is the largest so far.
pub(crate) fn step_back(
    seq: u64,
    key: &str,
    before: OffsetDateTime,
    at: OffsetDateTime,
    skew: &mut Option<ClockSkew>,
) -> Option<Problem> {
    let p = backwards(seq, key, before, at);
    if p.is_none() && before - at >= SKEW_SHOWN {
        let behind_ms = (before - at).whole_milliseconds() as i64;
        if skew.as_ref().is_none_or(|c| c.behind_ms < behind_ms) {
            *skew = Some(ClockSkew { seq, behind_ms });
        }
    }
    p
}

/// `recorded-at-backwards` when record `seq`, recorded at `at`, is more than
/// [`CLOCK_TOLERANCE`] earlier than its predecessor, recorded at `before`.
fn backwards(seq: u64, key: &str, before: OffsetDateTime, at: OffsetDateTime) -> Option<Problem> {
    let earliest = before - CLOCK_TOLERANCE;
    if at >= earliest {
        return None;
    }
    Some(problem(
        "recorded-at-backwards",
        Some(seq),
        key,
        Some(format!(">= {}", rfc3339(earliest))),
        Some(rfc3339(at)),
        format!(
            "record {seq} was recorded at {}, {} before record {} ({}), more than the {} two writers' clocks may differ: a writer's clock was wrong, or records were rewritten",
            rfc3339(at),
            human_duration(before - at),
            seq - 1,
            rfc3339(before),
            human_duration(CLOCK_TOLERANCE),
        ),
    ))
}

/// A problem at its place; shared by the chain, checkpoint and bundle checks.
pub(crate) fn problem(
    check: &'static str,
    seq: Option<u64>,
    key: &str,
    expected: Option<String>,
    actual: Option<String>,
    message: String,
) -> Problem {
    Problem {
        check,
        seq,
        key: key.to_string(),
        expected,
        actual,
        message,
    }
}

impl Report {
    /// Human-readable lines: one per problem, then a summary.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            out.push_str("PROBLEM ");
            out.push_str(p.check);
            if let Some(s) = p.seq {
                out.push_str(&format!(" seq={s}"));
            }
            out.push_str(&format!(" key={}", p.key));
            if let Some(e) = &p.expected {
                out.push_str(&format!(" expected={e}"));
            }
            if let Some(a) = &p.actual {
                out.push_str(&format!(" actual={a}"));
            }
            out.push_str(&format!(": {}\n", p.message));
        }
        let head = match (self.head_seq, &self.head_hash) {
            (Some(s), Some(h)) => format!(", head {s} {h}"),
            _ => String::new(),
        };
        if self.ok {
            out.push_str(&format!(
                "OK: {} records, {} blobs ({} bytes) verified{head}\n",
                self.records, self.blobs, self.blob_bytes
            ));
        } else {
            out.push_str(&format!(
                "FAILED: {} problem(s) in {} records, {} blobs ({} bytes){head}\n",
                self.problems.len(),
                self.records,
                self.blobs,
                self.blob_bytes
            ));
        }
        if let Some(g) = &self.segments {
            out.push_str(&format!(
                "segments: {} checked against the chain, {} not written yet{}\n",
                g.checked,
                g.missing,
                if g.missing > 0 {
                    " (`evidenced segments` writes them; reads are slower without them)"
                } else {
                    ""
                }
            ));
        }
        if let Some(v) = &self.checkpoints {
            out.push_str(&v.describe(self.head_seq.unwrap_or(0)));
            out.push('\n');
            if let Some(t) = &v.timestamps {
                out.push_str(&t.describe());
                out.push('\n');
            }
        }
        out
    }
}
