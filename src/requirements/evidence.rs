//! The store contents evaluation reads, loaded once ([`super::facts`] finds a matcher's facts
//! in them).
//!
//! [`Evidence`] is plain data: records plus the blobs of the media types the catalog names.
//! Loading is the only I/O; everything after it is a pure function, so a bundle, the
//! production store and a test give the same answer for the same contents.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use super::catalog::Catalog;
use crate::chain::{ChainError, EvidenceStore};
use crate::digest::Digest;
use crate::human::CANONICAL_MEDIA_TYPE;
use crate::record::Record;
use crate::store::ObjectStore;

pub use super::facts::{find, place, Fact, Found, View};

/// One record with its place in the chain.
#[derive(Debug, Clone)]
pub struct EvidenceRecord {
    pub seq: u64,
    pub hash: Digest,
    pub record: Record,
}

/// What evaluation may read.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub records: Vec<EvidenceRecord>,
    /// Blob bytes by digest, for the items whose media type a matcher reads.
    pub blobs: BTreeMap<Digest, Vec<u8>>,
    /// When record 1 was recorded, when `records` do not start at it (they start at the
    /// evaluation's horizon).
    pub first: Option<OffsetDateTime>,
}

impl Evidence {
    /// Media types the catalog reads.
    pub fn wanted(catalog: &Catalog) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for r in &catalog.requirements {
            for m in &r.evidence {
                out.insert(m.media_type().to_string());
                out.extend(m.join.iter().map(|j| j.media_type().to_string()));
            }
            out.extend(r.expect.iter().map(|e| e.media_type().to_string()));
            if r.after_major_change_days.is_some() {
                out.insert(CANONICAL_MEDIA_TYPE.to_string());
            }
        }
        out.remove("");
        out
    }

    /// When the store's first record was recorded, if it has any.
    pub fn first_recorded(&self) -> Option<OffsetDateTime> {
        match self.records.first() {
            Some(r) if r.seq == 1 => Some(r.record.recorded_at),
            first => self.first.or(first.map(|r| r.record.recorded_at)),
        }
    }

    /// Whether a record recorded before `horizon` is held.
    pub fn reaches_before(&self, horizon: OffsetDateTime) -> bool {
        self.records.iter().any(|r| r.record.recorded_at < horizon)
    }

    /// Drop the records recorded before `horizon`, and the blobs only they named; the
    /// time of record 1 is kept for [`Evidence::first_recorded`].
    pub fn keep_since(&mut self, horizon: OffsetDateTime) {
        if !self.reaches_before(horizon) {
            return;
        }
        self.first = self.first_recorded();
        self.records.retain(|r| r.record.recorded_at >= horizon);
        let named: BTreeSet<Digest> = self
            .records
            .iter()
            .flat_map(|r| r.record.items.iter().map(|i| i.digest))
            .collect();
        self.blobs.retain(|d, _| named.contains(d));
    }

    /// The records up to sequence `last` and their blobs (a copy): what a bundle that ends
    /// at `last` carries of this evidence.
    pub fn through(&self, last: u64) -> Evidence {
        let records: Vec<EvidenceRecord> = self
            .records
            .iter()
            .filter(|r| r.seq <= last)
            .cloned()
            .collect();
        let blobs = records
            .iter()
            .flat_map(|r| r.record.items.iter())
            .filter_map(|i| self.blobs.get_key_value(&i.digest))
            .map(|(d, b)| (*d, b.clone()))
            .collect();
        Evidence {
            first: self.first,
            records,
            blobs,
        }
    }

    /// The records recorded at or after `horizon` and their blobs (a copy, for a caller
    /// that did not [`Evidence::keep_since`]).
    pub fn since(&self, horizon: OffsetDateTime) -> Evidence {
        let mut out = self.clone();
        out.keep_since(horizon);
        out
    }

    /// Load every record and the blobs of the media types `catalog` reads (several at a
    /// time). A blob that is missing is left out (the facts it held are not counted;
    /// `verify` names it). The daemon keeps a [`super::loaded::Loaded`] instead, and reads
    /// only what is new at each evaluation.
    pub async fn load<S: ObjectStore>(
        store: &EvidenceStore<S>,
        catalog: &Catalog,
    ) -> Result<Evidence, ChainError> {
        let mut loaded = super::loaded::Loaded::new(catalog);
        loaded.refresh(store).await?;
        Ok(loaded.into_evidence())
    }

    /// Load the records recorded at or after `horizon` (read back from the head), the time
    /// of record 1, and the blobs of the media types `catalog` reads; with what the reading
    /// checked (sequence, links, blob digests).
    pub async fn load_since<S: ObjectStore>(
        store: &EvidenceStore<S>,
        catalog: &Catalog,
        horizon: OffsetDateTime,
    ) -> Result<(Evidence, super::loaded::Checked), ChainError> {
        let mut loaded = super::loaded::Loaded::since(catalog, horizon);
        loaded.refresh(store).await?;
        let checked = loaded.checked().clone();
        Ok((loaded.into_evidence(), checked))
    }

    /// Digests of the blobs evaluation read (a bundle must carry them).
    pub fn blob_digests(&self) -> impl Iterator<Item = &Digest> {
        self.blobs.keys()
    }
}
