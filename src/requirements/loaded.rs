//! Evidence kept in memory between evaluations, brought up to date by reading only the
//! records committed since (and the blobs they add), so that the daemon's evaluation every
//! `requirements_interval_secs` costs what was written since the last one, not the age of
//! the chain.
//!
//! Fail closed: when the first new record does not link to the last one held (`prev` is
//! not its hash: the store was replaced or rewritten under a running process), what is
//! held is dropped and the chain is read again from the start.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::catalog::Catalog;
use super::evidence::{Evidence, EvidenceRecord};
use crate::chain::segments::{first_of, segment_of};
use crate::chain::{
    blob_key, record_key, ChainError, EvidenceStore, StoredRecord, CLOCK_TOLERANCE,
};
use crate::digest::Digest;
use crate::record::Provenance;
use crate::store::ObjectStore;
use crate::verify::{problem, step_back, ClockSkew, Problem};

/// Records read at once on a first load (and on a reload); small in tests, so that they
/// read in parts too.
const LOAD_PART: usize = if cfg!(test) { 7 } else { 5_000 };

/// The evidence one catalog reads, as of the last [`Loaded::refresh`].
#[derive(Debug, Clone)]
pub struct Loaded {
    evidence: Evidence,
    wanted: BTreeSet<String>,
    /// Records recorded before this are neither read nor held ([`crate::requirements::Window::horizon`]).
    horizon: Option<OffsetDateTime>,
    checked: Checked,
    /// The last record seen (taken, or passed over as older than the horizon): the next
    /// refresh reads after it.
    through: Option<(u64, Digest)>,
    /// Every record read, as its stored bytes, in sequence order, when asked for
    /// ([`Loaded::carrying`]).
    carried: Option<Vec<Carried>>,
}

/// A record as read, for a caller that writes the records out (a bundle carries exactly the
/// bytes its evaluation read): its stored bytes, and what blobs are selected by.
#[derive(Debug, Clone)]
pub struct Carried {
    pub seq: u64,
    pub hash: Digest,
    pub recorded_at: OffsetDateTime,
    /// The media type and digest of each item.
    pub items: Vec<(String, Digest)>,
    pub bytes: Vec<u8>,
}

impl Carried {
    /// `r`, its bytes taken (`r.bytes` is left empty).
    fn take(r: &mut StoredRecord) -> Carried {
        Carried {
            seq: r.seq,
            hash: r.hash,
            recorded_at: r.record.recorded_at,
            items: r
                .record
                .items
                .iter()
                .map(|i| (i.media_type.clone(), i.digest))
                .collect(),
            bytes: std::mem::take(&mut r.bytes),
        }
    }
}

impl From<StoredRecord> for Carried {
    fn from(mut r: StoredRecord) -> Carried {
        Carried::take(&mut r)
    }
}

/// What the reading checked, for a report that vouches for what it read (the records'
/// sequence and links, the blobs' digests) rather than for the whole store.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The first record read.
    pub first_seq: Option<u64>,
    /// The last record read, and its hash.
    pub last: Option<(u64, Digest)>,
    pub records: u64,
    /// Blobs read, and their bytes.
    pub blobs: u64,
    pub blob_bytes: u64,
    /// A gap or a broken link among the records read, a record recorded more than the
    /// clock tolerance before the one it follows, a blob missing or not matching its
    /// digest.
    pub problems: Vec<Problem>,
    /// The largest step back in `recorded_at` within the tolerance.
    pub clock_skew: Option<ClockSkew>,
    last_at: Option<OffsetDateTime>,
}

/// What links a record read to the one before it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    seq: u64,
    hash: Digest,
    prev: Digest,
    recorded_at: OffsetDateTime,
}

/// Records read and reduced ([`Loaded::prepare`]), not yet held.
struct Part {
    seen: Vec<Seen>,
    kept: Vec<EvidenceRecord>,
    /// Every record of the part, when the records are carried.
    carried: Vec<Carried>,
}

/// What one [`Loaded::refresh`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    /// Records added to the evidence.
    pub records: usize,
    /// Whether what was held had to be dropped and the chain read from its start.
    pub reloaded: bool,
}

impl Loaded {
    /// Nothing loaded yet: the first [`Loaded::refresh`] reads the whole chain.
    pub fn new(catalog: &Catalog) -> Loaded {
        Loaded {
            evidence: Evidence::default(),
            wanted: Evidence::wanted(catalog),
            horizon: None,
            checked: Checked::default(),
            through: None,
            carried: None,
        }
    }

    /// Also keep every record read as its stored bytes ([`Loaded::take_carried`]).
    pub fn carrying(mut self) -> Loaded {
        self.carried = Some(Vec::new());
        self
    }

    /// The records read so far as their stored bytes, in sequence order (empty unless
    /// [`Loaded::carrying`]); from the first record of the first part read, which may lie
    /// before the horizon.
    pub fn take_carried(&mut self) -> Vec<Carried> {
        self.carried
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Nothing loaded yet; the first [`Loaded::refresh`] reads back from the head only as
    /// far as `horizon` (and record 1, for the time the store began).
    pub fn since(catalog: &Catalog, horizon: OffsetDateTime) -> Loaded {
        Loaded {
            horizon: Some(horizon),
            ..Loaded::new(catalog)
        }
    }

    /// Move the horizon forward (the daemon's evaluation time advances): records recorded
    /// before it are dropped. A horizon earlier than the current one changes nothing.
    pub fn advance_horizon(&mut self, horizon: OffsetDateTime) {
        if self.horizon.is_some_and(|h| h >= horizon) {
            return;
        }
        self.horizon = Some(horizon);
        self.evidence.keep_since(horizon);
    }

    /// What the reads so far checked.
    pub fn checked(&self) -> &Checked {
        &self.checked
    }

    /// The evidence as of the last refresh.
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }

    pub fn into_evidence(self) -> Evidence {
        self.evidence
    }

    /// Read the records committed since the last refresh, and the blobs of the wanted
    /// media types that they add.
    pub async fn refresh<S: ObjectStore>(
        &mut self,
        store: &EvidenceStore<S>,
    ) -> Result<Refreshed, ChainError> {
        if let Some(records) = self.read_new(store).await? {
            return Ok(Refreshed {
                records,
                reloaded: false,
            });
        }
        // The chain no longer links to what is held: read it again from its start.
        self.evidence = Evidence::default();
        self.checked = Checked::default();
        self.through = None;
        if let Some(c) = self.carried.as_mut() {
            c.clear();
        }
        let records = self.read_new(store).await?.unwrap_or(0);
        Ok(Refreshed {
            records,
            reloaded: true,
        })
    }

    /// Add the records after the last one held, in parts, so that a first read of a long
    /// chain never holds the bytes of more than a part at once. `None` (having added
    /// nothing) when the first of them does not link to the last one held; how many were
    /// added otherwise.
    async fn read_new<S: ObjectStore>(
        &mut self,
        store: &EvidenceStore<S>,
    ) -> Result<Option<usize>, ChainError> {
        let held = self.through;
        if held.is_none() {
            if let Some(horizon) = self.horizon {
                return self.read_back(store, horizon).await.map(Some);
            }
        }
        let after = held.map_or(0, |h| h.0);
        let mut records = 0;
        let keys = store.keys_after(after).await?;
        self.evidence.records.reserve_exact(keys.len());
        let mut linked = false;
        for part in keys.chunks(LOAD_PART) {
            let new = store.read_records(part).await?;
            if !linked && !links(held, &new) {
                return Ok(None);
            }
            linked = true;
            records += self.take(store, new).await?;
        }
        let last = self.through.map_or(after, |r| r.0);
        let tail = store.records_after(last).await?;
        if !linked && !links(held, &tail) {
            return Ok(None);
        }
        records += self.take(store, tail).await?;
        Ok(Some(records))
    }

    /// Add `new` (and the wanted blobs it names) to what is held, keeping of each record
    /// only what evaluation reads. Returns how many records were read.
    async fn take<S: ObjectStore>(
        &mut self,
        store: &EvidenceStore<S>,
        new: Vec<StoredRecord>,
    ) -> Result<usize, ChainError> {
        let part = self.prepare(store, new).await?;
        Ok(self.commit(part))
    }

    /// The first half of [`Loaded::take`], in any order of parts: the wanted blobs of the
    /// records at or after the horizon are read, and each record is reduced to what links
    /// it ([`Seen`]) and, when kept, what evaluation reads: its provenance (program, nonce,
    /// caller, the list of AWS calls) is dropped, and its lists take no more room than
    /// their length. The record's bytes are not held past this.
    async fn prepare<S: ObjectStore>(
        &mut self,
        store: &EvidenceStore<S>,
        new: Vec<StoredRecord>,
    ) -> Result<Part, ChainError> {
        let horizon = self.horizon;
        let keep = |r: &StoredRecord| horizon.is_none_or(|h| r.record.recorded_at >= h);
        let kept: Vec<&StoredRecord> = new.iter().filter(|r| keep(r)).collect();
        self.add_blobs(store, &kept).await?;
        let carry = self.carried.is_some();
        let mut part = Part {
            seen: Vec::with_capacity(new.len()),
            kept: Vec::with_capacity(kept.len()),
            carried: Vec::new(),
        };
        for mut r in new {
            part.seen.push(Seen {
                seq: r.seq,
                hash: r.hash,
                prev: r.record.prev,
                recorded_at: r.record.recorded_at,
            });
            if carry {
                part.carried.push(Carried::take(&mut r));
            }
            if !keep(&r) {
                continue;
            }
            let mut record = r.record;
            // Parsing grows these lists a few at a time; held for the process's life,
            // they keep only their length.
            record.items.shrink_to_fit();
            record.errors.shrink_to_fit();
            record.provenance = Provenance {
                program: String::new(),
                writer_nonce: String::new(),
                caller_arn: None,
                api_calls: Vec::new(),
            };
            part.kept.push(EvidenceRecord {
                seq: r.seq,
                hash: r.hash,
                record,
            });
        }
        Ok(part)
    }

    /// The second half of [`Loaded::take`], in sequence order: check each record's link to
    /// the one before, and hold the kept ones.
    fn commit(&mut self, part: Part) -> usize {
        for s in &part.seen {
            self.check_link(s);
            if s.seq == 1 {
                self.evidence.first = Some(s.recorded_at);
            }
        }
        self.evidence.records.extend(part.kept);
        if let Some(c) = self.carried.as_mut() {
            c.extend(part.carried);
        }
        part.seen.len()
    }

    /// A first read that starts at the horizon: parts aligned with the segments are read
    /// back from the head until one begins with a record recorded before `horizon` less the
    /// clock tolerance (docs/RULES.md, "The horizon"): a writer never commits a record more
    /// than the tolerance before the one it follows, so the record before that one lies
    /// before the horizon. Then they are taken in order. Record 1 is read for the time the
    /// store began.
    async fn read_back<S: ObjectStore>(
        &mut self,
        store: &EvidenceStore<S>,
        horizon: OffsetDateTime,
    ) -> Result<usize, ChainError> {
        let head = store.head().await?;
        let stop = horizon - CLOCK_TOLERANCE;
        // Each part is reduced as it is read, so that no more than one part's bytes are
        // held at once; the kept records are gathered newest first (one allocation grown
        // a part at a time, never a second copy) and turned round at the end.
        let mut seen: Vec<(Vec<Seen>, Vec<Carried>)> = Vec::new();
        let mut kept: Vec<EvidenceRecord> = Vec::new();
        let mut hi = head.seq;
        let mut next = if hi > 0 {
            Some(read_part(store, hi).await?)
        } else {
            None
        };
        while let Some(part) = next.take() {
            // A head part wholly before the horizon: nothing since it.
            if seen.is_empty() && part.iter().all(|r| r.record.recorded_at < stop) {
                break;
            }
            let lo = first_of(segment_of(hi));
            let more = lo > 1 && part.first().is_some_and(|r| r.record.recorded_at >= stop);
            let part = self.prepare(store, part).await?;
            if more {
                next = Some(read_part(store, lo - 1).await?);
            }
            kept.reserve_exact(part.kept.len());
            kept.extend(part.kept.into_iter().rev());
            seen.push((part.seen, part.carried));
            hi = lo - 1;
        }
        kept.reverse();
        if hi > 0 {
            let first = store.record(1).await?.ok_or_else(|| ChainError::Corrupt {
                key: record_key(1),
                reason: "record 1 is missing (run `evidenced verify`)".into(),
            })?;
            self.evidence.first = Some(first.record.recorded_at);
        }
        let mut records = 0;
        for (part, carried) in seen.into_iter().rev() {
            records += self.commit(Part {
                seen: part,
                kept: Vec::new(),
                carried,
            });
        }
        if self.evidence.records.is_empty() {
            self.evidence.records = kept;
        } else {
            self.evidence.records.extend(kept);
        }
        // Records committed while reading back.
        let last = self.checked.last.map_or(head.seq, |l| l.0);
        let tail = store.records_after(last).await?;
        records += self.take(store, tail).await?;
        // Nothing since the horizon: the next refresh reads after the head, not back again.
        if self.through.is_none() && head.seq > 0 {
            self.through = Some((head.seq, head.hash));
        }
        Ok(records)
    }

    /// Check that `r` follows the last record read: the next sequence number, and `prev`
    /// its hash.
    fn check_link(&mut self, r: &Seen) {
        let c = &mut self.checked;
        c.first_seq.get_or_insert(r.seq);
        c.records += 1;
        if let Some((seq, hash)) = c.last {
            if r.seq != seq + 1 {
                c.problems.push(problem(
                    "missing-record",
                    Some(seq + 1),
                    &record_key(seq + 1),
                    Some((seq + 1).to_string()),
                    Some(r.seq.to_string()),
                    format!("the records read jump from {seq} to {}", r.seq),
                ));
            } else if r.prev != hash {
                c.problems.push(problem(
                    "broken-link",
                    Some(r.seq),
                    &record_key(r.seq),
                    Some(hash.to_string()),
                    Some(r.prev.to_string()),
                    format!("record {}'s prev is not the hash of record {seq}", r.seq),
                ));
            }
        }
        if let Some(before) = c
            .last_at
            .filter(|_| c.last.is_some_and(|l| l.0 + 1 == r.seq))
        {
            c.problems.extend(step_back(
                r.seq,
                &record_key(r.seq),
                before,
                r.recorded_at,
                &mut c.clock_skew,
            ));
        }
        c.last = Some((r.seq, r.hash));
        c.last_at = Some(r.recorded_at);
        self.through = c.last;
    }

    /// The blobs of the wanted media types that `records` name and are not held yet, read
    /// several at a time. A missing blob, or one whose bytes do not match its digest, is
    /// left out (the facts it held are not counted; `verify` names it).
    async fn add_blobs<S: ObjectStore>(
        &mut self,
        store: &EvidenceStore<S>,
        records: &[&StoredRecord],
    ) -> Result<(), ChainError> {
        let mut digests: BTreeSet<Digest> = BTreeSet::new();
        for r in records {
            for item in &r.record.items {
                if self.wanted.contains(&item.media_type)
                    && !self.evidence.blobs.contains_key(&item.digest)
                {
                    digests.insert(item.digest);
                }
            }
        }
        let keys: Vec<String> = digests.iter().map(blob_key).collect();
        let read = store.objects().get_many(&keys).await?;
        for (d, bytes) in digests.into_iter().zip(read) {
            let key = blob_key(&d);
            let c = &mut self.checked;
            match bytes {
                None => c.problems.push(problem(
                    "missing-blob",
                    None,
                    &key,
                    None,
                    None,
                    format!("blob {d}, which evaluation reads, is missing"),
                )),
                Some(bytes) => {
                    c.blobs += 1;
                    c.blob_bytes += bytes.len() as u64;
                    let actual = Digest::of(&bytes);
                    if actual == d {
                        self.evidence.blobs.insert(d, bytes);
                    } else {
                        c.problems.push(problem(
                            "blob-digest-mismatch",
                            None,
                            &key,
                            Some(d.to_string()),
                            Some(actual.to_string()),
                            format!("blob {d} does not hash to its name"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The records of the part (aligned with the segments) that ends at `hi`.
async fn read_part<S: ObjectStore>(
    store: &EvidenceStore<S>,
    hi: u64,
) -> Result<Vec<StoredRecord>, ChainError> {
    let lo = first_of(segment_of(hi));
    let keys: Vec<(u64, String)> = (lo..=hi).map(|s| (s, record_key(s))).collect();
    store.read_records(&keys).await
}

/// Whether the first of `new` links to the last record held (or nothing is held).
fn links(held: Option<(u64, Digest)>, new: &[StoredRecord]) -> bool {
    match (held, new.first()) {
        (Some((seq, hash)), Some(first)) if first.record.prev != hash => {
            tracing::warn!(
                seq = first.seq,
                expected_prev = %hash,
                actual_prev = %first.record.prev,
                held_through = seq,
                "The store's next record does not link to the last one read; reading the chain again from its start (run `evidenced verify`)."
            );
            false
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use time::macros::datetime;

    use super::*;
    use crate::requirements::{evaluate, Options, Window};
    use crate::store::counting::Counting;
    use crate::store::LocalStore;
    use crate::submit;

    /// A restore test (a drill the default catalog reads) with its own id and day.
    fn drill(id: &str, day: u32) -> Vec<u8> {
        format!(
            "{{\"kind\": \"restore-test\", \"id\": \"{id}\", \"started_at\": \"2026-03-{day:02}T09:00:00Z\", \"ended_at\": \"2026-03-{day:02}T10:00:00Z\", \"outcome\": \"pass\", \"participants\": [\"ops\"], \"checks\": [\"row counts\"], \"resource_types\": [\"RDS\"], \"resources\": [\"db-1\"]}}"
        )
        .into_bytes()
    }

    async fn submit(store: &EvidenceStore<Counting>, id: &str, day: u32) {
        let name = format!("{id}.json");
        let h =
            crate::human::parse(&name, &drill(id, day), time::OffsetDateTime::now_utc()).unwrap();
        let p = submit::prepare(h, submit::SUBMIT_COLLECTOR).unwrap();
        submit::check(store, &p, &name).await.unwrap();
        submit::commit(store, p, &name).await.unwrap();
    }

    fn window() -> Window {
        Window {
            at: time::OffsetDateTime::now_utc(),
            from: datetime!(2026-01-01 0:00 UTC),
            to: datetime!(2027-01-01 0:00 UTC),
        }
    }

    #[tokio::test]
    async fn a_second_evaluation_reads_only_the_records_committed_since_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(Counting::new(dir.path()));
        let catalog = Catalog::default_catalog().unwrap();
        for i in 0..20 {
            submit(&store, &format!("early-{i}"), 1 + i % 28).await;
        }
        let mut loaded = Loaded::new(&catalog);
        let first = loaded.refresh(&store).await.unwrap();
        assert_eq!(first.records, 20);
        let new = 3;
        for i in 0..new {
            submit(&store, &format!("late-{i}"), 10 + i).await;
        }
        store.backend().reset();
        let second = loaded.refresh(&store).await.unwrap();
        let backend = store.backend();
        assert_eq!(second.records, new as usize);
        assert!(!second.reloaded);
        // The new records, and one probe past the head.
        assert_eq!(backend.record_gets.load(Ordering::SeqCst), new as usize + 1);
        // Each new record's canonical document: the only blobs the catalog reads.
        assert_eq!(backend.blob_gets.load(Ordering::SeqCst), new as usize);
        // Nothing new: one probe.
        backend.reset();
        assert_eq!(loaded.refresh(&store).await.unwrap().records, 0);
        assert_eq!(backend.gets(), 1);

        // The same verdicts as a process that reads everything from scratch.
        let fresh = Evidence::load(&EvidenceStore::new(LocalStore::new(dir.path())), &catalog)
            .await
            .unwrap();
        let w = window();
        let opts = Options::default();
        let incremental = evaluate(&catalog, loaded.evidence(), w, &opts);
        let scratch = evaluate(&catalog, &fresh, w, &opts);
        assert_eq!(
            serde_json::to_value(&incremental).unwrap(),
            serde_json::to_value(&scratch).unwrap()
        );
        assert_eq!(loaded.evidence().records.len(), fresh.records.len());
        assert_eq!(loaded.evidence().blobs, fresh.blobs);
    }

    #[tokio::test]
    async fn a_chain_that_no_longer_links_to_what_is_held_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let catalog = Catalog::default_catalog().unwrap();
        let store = EvidenceStore::new(Counting::new(dir.path()));
        for i in 0..3 {
            submit(&store, &format!("a-{i}"), 1 + i).await;
        }
        let mut loaded = Loaded::new(&catalog);
        loaded.refresh(&store).await.unwrap();
        // Another chain of four records appears at the same place.
        let replaced = EvidenceStore::new(Counting::new(other.path()));
        for i in 0..4 {
            submit(&replaced, &format!("b-{i}"), 5 + i).await;
        }
        let r = loaded
            .refresh(&EvidenceStore::new(Counting::new(other.path())))
            .await
            .unwrap();
        assert!(r.reloaded);
        assert_eq!(r.records, 4);
        let seqs: Vec<u64> = loaded.evidence().records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_first_read_in_parts_holds_every_record_and_none_of_its_provenance() {
        use crate::record::{ApiCall, Draft, Scope, Status};
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(LocalStore::new(dir.path()));
        let n = LOAD_PART * 3 + 2;
        for i in 0..n {
            let draft = Draft {
                collector: "backup-main".into(),
                kind: "backup".into(),
                scope: Scope::default(),
                status: Status::Complete,
                errors: Vec::new(),
                items: Vec::new(),
                caller_arn: Some("arn:aws:iam::111122223333:role/evidenced".into()),
                api_calls: vec![ApiCall {
                    operation: "ListBackupJobs".into(),
                    region: Some("us-east-1".into()),
                    request_id: Some(format!("req-{i}")),
                }],
            };
            store.append(draft, &[]).await.unwrap();
        }
        let mut loaded = Loaded::new(&Catalog::default_catalog().unwrap());
        let r = loaded
            .refresh(&EvidenceStore::new(LocalStore::new(dir.path())))
            .await
            .unwrap();
        assert_eq!((r.records, r.reloaded), (n, false));
        let all = EvidenceStore::new(LocalStore::new(dir.path()))
            .records()
            .await
            .unwrap();
        let held = &loaded.evidence().records;
        assert_eq!(held.len(), all.len());
        for (h, a) in held.iter().zip(&all) {
            assert_eq!((h.seq, h.hash), (a.seq, a.hash));
            assert_eq!(a.record.provenance.api_calls.len(), 1, "the store keeps it");
            assert!(h.record.provenance.api_calls.is_empty());
            assert!(h.record.provenance.caller_arn.is_none());
            let mut rest = a.record.clone();
            rest.provenance = h.record.provenance.clone();
            assert_eq!(h.record, rest, "everything but the provenance is held");
        }
    }
}
