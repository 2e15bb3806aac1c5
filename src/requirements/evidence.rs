//! The store contents evaluation reads, loaded once, and the facts a matcher finds in them.
//!
//! [`Evidence`] is plain data: records plus the blobs of the media types the catalog names.
//! Loading is the only I/O; everything after it is a pure function, so a bundle, the
//! production store and a test give the same answer for the same contents.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use time::OffsetDateTime;

use super::catalog::{Catalog, Matcher, Select};
use super::conditions::{first_failure, lookup};
use crate::chain::{ChainError, EvidenceStore};
use crate::digest::Digest;
use crate::human::CANONICAL_MEDIA_TYPE;
use crate::record::{Record, Scope};
use crate::store::ObjectStore;

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

/// One matching fact, with where it came from.
#[derive(Debug, Clone)]
pub struct Fact {
    pub seq: u64,
    pub record_hash: Digest,
    pub item: String,
    pub digest: Digest,
    /// The time the fact refers to.
    pub observed_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
    /// Short name for findings: `restore-test restore-2026-q3`, `restore job 8F1E2D`.
    pub label: String,
    pub value: Value,
    /// The record's scope (account, region).
    pub scope: Scope,
    /// Why an in-scope fact does not count (a failed `require` or check, a failed drill).
    pub rejected: Option<String>,
    /// The groups the fact covers (requirements with `expect`).
    pub groups: Vec<String>,
    /// The calendar period the fact names (`period_field`), e.g. `2026-Q2`.
    pub period: Option<String>,
    /// What its evidence table calls one fact (`what`), for findings.
    pub noun: Option<String>,
}

impl Fact {
    /// `111122223333/us-east-1`, or empty for evidence without a scope.
    pub fn place(&self) -> String {
        place(&self.scope)
    }
}

/// A scope in words: `account/region`, either part left out when absent.
pub fn place(s: &Scope) -> String {
    match (&s.account, &s.region) {
        (Some(a), Some(r)) => format!("{a}/{r}"),
        (Some(a), None) => a.clone(),
        (None, Some(r)) => r.clone(),
        (None, None) => String::new(),
    }
}

/// What a matcher found, and what it could not read.
#[derive(Debug, Default)]
pub struct Found {
    pub facts: Vec<Fact>,
    /// Whether any item of the media type was recorded at all.
    pub any_item: bool,
    /// Evidence that could not be read (missing blob, not JSON).
    pub unreadable: Vec<String>,
    /// What `required` tables found none of.
    pub absent: Vec<String>,
    /// Records holding evidence of the matcher recorded after the evaluation time.
    pub after: Vec<u64>,
}

fn is_drill(kind: &str) -> bool {
    crate::human::DRILL_KINDS.contains(&kind)
}

/// Facts of `m` among records recorded at or before `cutoff`.
pub fn find(m: &Matcher, ev: &Evidence, cutoff: OffsetDateTime) -> Found {
    let media = m.media_type();
    let mut found = Found::default();
    // (record index, item index) of every item of the media type.
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for (ri, r) in ev.records.iter().enumerate() {
        for (ii, item) in r.record.items.iter().enumerate() {
            if item.media_type != media {
                continue;
            }
            if let Some(h) = &m.human {
                if &r.record.kind != h {
                    continue;
                }
            }
            if r.record.recorded_at > cutoff {
                // Not known at the evaluation time: said, never silently dropped.
                found.after.push(r.seq);
                continue;
            }
            hits.push((ri, ii));
        }
    }
    found.any_item = !hits.is_empty();
    if m.select == Select::Latest {
        let mut latest: BTreeMap<(Option<String>, Option<String>), (usize, usize)> =
            BTreeMap::new();
        for (ri, ii) in hits {
            let Scope { account, region } = ev.records[ri].record.scope.clone();
            latest.insert((account, region), (ri, ii));
        }
        hits = latest.into_values().collect();
        hits.sort();
    }
    // Latest recorded state per scope and key (records are in sequence order): the same
    // name in two accounts or regions is two facts.
    let mut keyed: BTreeMap<(Option<String>, Option<String>, String), Fact> = BTreeMap::new();
    let mut unkeyed: Vec<Fact> = Vec::new();
    for (ri, ii) in hits {
        let r = &ev.records[ri];
        let item = &r.record.items[ii];
        let Some(bytes) = ev.blobs.get(&item.digest) else {
            found.unreadable.push(format!(
                "record {} item {} ({}) is not available",
                r.seq, item.name, item.digest
            ));
            continue;
        };
        let doc: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                found.unreadable.push(format!(
                    "record {} item {} is not JSON: {e}",
                    r.seq, item.name
                ));
                continue;
            }
        };
        let elements: Vec<Value> = match &m.items {
            None => vec![doc],
            Some(path) => match lookup(&doc, path) {
                Some(Value::Array(a)) => a.clone(),
                _ => {
                    found.unreadable.push(format!(
                        "record {} item {}: `{path}` is not an array",
                        r.seq, item.name
                    ));
                    continue;
                }
            },
        };
        for value in elements {
            let key = m
                .key
                .as_deref()
                .and_then(|k| lookup(&value, k))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
            let observed_at = match &m.time {
                None => Some(item.observed_at),
                Some(field) => lookup(&value, field).and_then(Value::as_str).and_then(|s| {
                    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
                }),
            };
            let period = m
                .period_field
                .as_deref()
                .and_then(|f| lookup(&value, f))
                .and_then(Value::as_str)
                .map(str::to_string);
            let mut label = label(m, &value, key.as_deref(), &item.name);
            let scope = r.record.scope.clone();
            if m.human.is_none() && !place(&scope).is_empty() {
                label = format!("{label} ({})", place(&scope));
            }
            let fact = Fact {
                seq: r.seq,
                record_hash: r.hash,
                item: item.name.clone(),
                digest: item.digest,
                // A fact without its time cannot place itself in a period; the filter
                // below drops it.
                observed_at: observed_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
                recorded_at: r.record.recorded_at,
                label,
                value: if observed_at.is_some() {
                    value
                } else {
                    Value::Null
                },
                scope: scope.clone(),
                rejected: None,
                groups: Vec::new(),
                period,
                noun: m.what.clone(),
            };
            match key {
                Some(k) => {
                    keyed.insert((scope.account, scope.region, k), fact);
                }
                None => unkeyed.push(fact),
            }
        }
    }
    for mut fact in unkeyed.into_iter().chain(keyed.into_values()) {
        if fact.value.is_null() {
            continue;
        }
        if media == CANONICAL_MEDIA_TYPE {
            let kind = lookup(&fact.value, "kind").and_then(Value::as_str);
            if let Some(h) = &m.human {
                if kind != Some(h.as_str()) {
                    continue;
                }
            }
            // A failed drill never satisfies a requirement, whatever the catalog says.
            if kind.is_some_and(is_drill) {
                let outcome = lookup(&fact.value, "outcome").and_then(Value::as_str);
                if outcome != Some("pass") {
                    fact.rejected = Some(format!(
                        "its outcome is {}",
                        outcome.unwrap_or("not recorded")
                    ));
                }
            }
        }
        if first_failure(&m.filter, &fact.value).is_some() {
            continue;
        }
        if fact.rejected.is_none() {
            fact.rejected = first_failure(&m.require, &fact.value);
        }
        found.facts.push(fact);
    }
    found.facts.sort_by_key(|f| (f.observed_at, f.seq));
    found
}

fn label(m: &Matcher, v: &Value, key: Option<&str>, item: &str) -> String {
    if let Some(h) = &m.human {
        let id = lookup(v, "id").and_then(Value::as_str).unwrap_or("?");
        return format!("{h} {id}");
    }
    match (key, &m.key) {
        // `restore_job_id` → "restore job <id>"; other keys (names, ARNs) speak for themselves.
        (Some(k), Some(field)) if field.ends_with("_id") => {
            format!("{} {k}", field.trim_end_matches("_id").replace('_', " "))
        }
        (Some(k), Some(_)) => k.to_string(),
        _ => item.to_string(),
    }
}
