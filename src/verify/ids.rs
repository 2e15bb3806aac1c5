//! Id checks of `verify` (docs/FORMAT.md, "Id claims"): one record per kind and id, and
//! claims and records in agreement both ways.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};

use super::{problem, Problem};
use crate::canonical;
use crate::chain::record_key;
use crate::digest::Digest;
use crate::ids::{parse_id_key, Binding, Claim, IdKey, IDS_PREFIX};
use crate::store::{ObjectStore, StoreError};

/// A human record as the chain holds it.
#[derive(Debug, Clone)]
pub(super) struct Human {
    pub seq: u64,
    pub format: u32,
    pub kind: String,
    pub id: String,
    pub digest: Digest,
    pub hash: Digest,
}

/// `duplicate-id`: a second record of a kind and id.
pub(super) fn duplicates(humans: &[Human]) -> Vec<Problem> {
    let mut first: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut out = Vec::new();
    for h in humans {
        match first.get(&(h.kind.as_str(), h.id.as_str())) {
            None => {
                first.insert((&h.kind, &h.id), h.seq);
            }
            Some(&seq) => out.push(problem(
                "duplicate-id",
                Some(h.seq),
                &record_key(h.seq),
                Some(format!("{} {} only in record {seq}", h.kind, h.id)),
                Some(format!("also in record {}", h.seq)),
                format!(
                    "{} {:?} is stored again in record {} (first in record {seq}): a record id is used once per kind",
                    h.kind, h.id, h.seq
                ),
            )),
        }
    }
    out
}

/// One id's objects under `ids/`.
#[derive(Default)]
struct IdObjects {
    claim: Option<Claim>,
    binding: Option<(String, Binding)>,
}

/// Claims against records, both ways: every record of format 2 or later has a claim of its
/// content; every binding names a record holding the claimed content.
pub(super) async fn claims<S: ObjectStore>(
    store: &S,
    humans: &[Human],
    present: &std::collections::BTreeSet<u64>,
    concurrency: usize,
) -> Result<Vec<Problem>, StoreError> {
    let mut problems = Vec::new();
    let mut wanted = Vec::new();
    for key in store.list(IDS_PREFIX).await? {
        match parse_id_key(&key) {
            Some(IdKey::Backfill) => {}
            Some(k) => wanted.push((k, key)),
            None => problems.push(problem(
                "unexpected-key",
                None,
                &key,
                None,
                None,
                format!("{key} is not an id claim key (expected ids/<kind>/<id>/claim.json or record.json)"),
            )),
        }
    }
    let fetched: Vec<_> = stream::iter(wanted)
        .map(|(k, key)| async move {
            let r = store.get(&key).await;
            (k, key, r)
        })
        .buffered(concurrency.max(4))
        .collect()
        .await;
    let mut ids: BTreeMap<(String, String), IdObjects> = BTreeMap::new();
    for (k, key, bytes) in fetched {
        let Some(bytes) = bytes? else {
            problems.push(unreadable(&key, "listed but not readable".into()));
            continue;
        };
        if !canonical::is_canonical(&bytes) {
            problems.push(unreadable(&key, "not canonical JSON".into()));
            continue;
        }
        match k {
            IdKey::Claim { kind, id } => match serde_json::from_slice::<Claim>(&bytes) {
                Ok(c) if c.kind == kind && c.id == id => {
                    ids.entry((kind, id)).or_default().claim = Some(c);
                }
                Ok(c) => problems.push(mismatch(
                    &key,
                    format!("{kind} {id}"),
                    format!("{} {}", c.kind, c.id),
                    format!(
                        "{key} claims {} {:?}, not the id its key names",
                        c.kind, c.id
                    ),
                )),
                Err(e) => problems.push(unreadable(&key, e.to_string())),
            },
            IdKey::Binding { kind, id } => match serde_json::from_slice::<Binding>(&bytes) {
                Ok(b) if b.kind == kind && b.id == id => {
                    ids.entry((kind, id)).or_default().binding = Some((key, b));
                }
                Ok(b) => problems.push(mismatch(
                    &key,
                    format!("{kind} {id}"),
                    format!("{} {}", b.kind, b.id),
                    format!(
                        "{key} binds {} {:?}, not the id its key names",
                        b.kind, b.id
                    ),
                )),
                Err(e) => problems.push(unreadable(&key, e.to_string())),
            },
            IdKey::Backfill => {}
        }
    }

    // Records → claims.
    let mut first: BTreeMap<(&str, &str), &Human> = BTreeMap::new();
    for h in humans {
        first.entry((&h.kind, &h.id)).or_insert(h);
    }
    for h in first.values() {
        let objects = ids.get(&(h.kind.clone(), h.id.clone()));
        let claim = objects.and_then(|o| o.claim.as_ref());
        let claimed = claim.is_some_and(|c| c.digest == h.digest);
        if h.format >= 2 && !claimed {
            problems.push(problem(
                "unclaimed-id",
                Some(h.seq),
                &crate::ids::claim_key(&h.kind, &h.id),
                Some(h.digest.to_string()),
                claim.map(|c| c.digest.to_string()),
                format!(
                    "record {} holds {} {:?} but no claim under ids/ names its content: the id was not claimed when it was committed, or its claim was removed or replaced",
                    h.seq, h.kind, h.id
                ),
            ));
        }
    }

    // Claims and bindings → records.
    for ((kind, id), o) in &ids {
        let record = first.get(&(kind.as_str(), id.as_str()));
        if let Some((key, b)) = &o.binding {
            if !present.contains(&b.seq) {
                // The record is missing from the chain: reported as `missing-record`.
                continue;
            }
            let fine = o.claim.as_ref().is_some_and(|c| c.digest == b.digest)
                && record
                    .is_some_and(|h| h.seq == b.seq && h.digest == b.digest && h.hash == b.hash);
            if !fine {
                problems.push(mismatch(
                    key,
                    format!("record {} ({}) holding {}", b.seq, b.hash, b.digest),
                    match record {
                        Some(h) => format!("record {} ({}) holding {}", h.seq, h.hash, h.digest),
                        None => "no record of this id".into(),
                    },
                    format!(
                        "{key} binds {kind} {id:?} to record {}, which does not hold the claimed content: claims or records were altered",
                        b.seq
                    ),
                ));
            }
            continue;
        }
        let Some(c) = &o.claim else {
            continue;
        };
        match record {
            Some(h) if h.digest == c.digest => tracing::warn!(
                kind, id, seq = h.seq,
                "The id's claim has no binding (a writer was stopped after committing); the next writer of this id writes it."
            ),
            Some(h) => problems.push(mismatch(
                &crate::ids::claim_key(kind, id),
                h.digest.to_string(),
                c.digest.to_string(),
                format!(
                    "the claim of {kind} {id:?} names other content than record {}, which holds the id",
                    h.seq
                ),
            )),
            None => tracing::warn!(
                kind, id,
                "A claim without a record: a submission was interrupted before it committed (nothing was stored); submitting the file again stores it."
            ),
        }
    }
    Ok(problems)
}

fn unreadable(key: &str, reason: String) -> Problem {
    problem(
        "unreadable-claim",
        None,
        key,
        None,
        None,
        format!("{key} is not a valid id claim or binding: {reason}"),
    )
}

fn mismatch(key: &str, expected: String, actual: String, message: String) -> Problem {
    problem(
        "claim-mismatch",
        None,
        key,
        Some(expected),
        Some(actual),
        message,
    )
}
