//! Accepting human records into the store: `evidenced submit` and, later, the inbox.
//!
//! Each accepted file becomes one record with two items: the normalised canonical JSON
//! (`record/<kind>/<id>.json`) and the original bytes (`original/<file name>`). A record id
//! is used once: resubmitting identical content is a no-op that points at the existing
//! record; reusing an id for different content is refused, since stored evidence is never
//! replaced (submit a new id instead).

use std::collections::HashMap;

use crate::chain::{ChainError, EvidenceStore};
use crate::digest::{Blob, Digest};
use crate::human::{HumanRecord, CANONICAL_MEDIA_TYPE};
use crate::record::{Draft, Item, Scope, Status};
use crate::store::ObjectStore;
use crate::{canonical, human};

/// Collector name of records written by `submit`.
pub const SUBMIT_COLLECTOR: &str = "submit";

/// Item name of a human record's canonical form.
pub fn canonical_item_name(kind: &str, id: &str) -> String {
    format!("record/{kind}/{id}.json")
}

/// Errors while accepting human records.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Input(#[from] human::InputError),
    #[error("{file}: field `id`: {kind} {id:?} is already stored (record {seq}) with different content; evidence is never replaced, submit it under a new id")]
    IdReused {
        file: String,
        kind: String,
        id: String,
        seq: u64,
    },
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Canonical(#[from] canonical::CanonicalError),
}

impl SubmitError {
    /// True when the caller's input is at fault (exit code 2), not the store.
    pub fn is_input(&self) -> bool {
        matches!(self, SubmitError::Input(_) | SubmitError::IdReused { .. })
    }
}

/// What happened to one submitted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Committed {
        seq: u64,
        hash: Digest,
    },
    /// Identical content was already stored in record `seq`.
    AlreadyStored {
        seq: u64,
    },
}

/// An accepted human record, ready to append.
pub struct Prepared {
    pub human: HumanRecord,
    /// The canonical document and the original file, in the order of `draft.items`.
    pub blobs: [Blob; 2],
    pub draft: Draft,
}

/// Build the draft and blobs for a validated human record.
pub fn prepare(human: HumanRecord, collector: &str) -> Result<Prepared, SubmitError> {
    let blobs = [
        Blob::new(canonical::value_to_vec(&human.canonical)?),
        Blob::new(human.original.clone()),
    ];
    let items = vec![
        Item {
            name: canonical_item_name(&human.kind, &human.id),
            digest: blobs[0].digest(),
            size: blobs[0].size(),
            media_type: CANONICAL_MEDIA_TYPE.to_string(),
            observed_at: human.observed_at,
        },
        Item {
            name: format!("original/{}", human.file_name),
            digest: blobs[1].digest(),
            size: blobs[1].size(),
            media_type: human.original_media_type.to_string(),
            observed_at: human.observed_at,
        },
    ];
    let draft = Draft {
        collector: collector.to_string(),
        kind: human.kind.clone(),
        scope: Scope::default(),
        status: Status::Complete,
        errors: Vec::new(),
        items,
        caller_arn: None,
        api_calls: Vec::new(),
    };
    Ok(Prepared {
        human,
        blobs,
        draft,
    })
}

/// Index of human-record items already in the store: item name → (digest, seq).
pub async fn existing_ids<S: ObjectStore>(
    store: &EvidenceStore<S>,
) -> Result<HashMap<String, (Digest, u64)>, ChainError> {
    let mut out = HashMap::new();
    for r in store.records().await? {
        for item in &r.record.items {
            if item.media_type == CANONICAL_MEDIA_TYPE {
                out.entry(item.name.clone()).or_insert((item.digest, r.seq));
            }
        }
    }
    Ok(out)
}

/// Check a prepared record against the index: `Ok(Some(seq))` when identical content is
/// stored already, an error when its id is taken by other content.
pub fn check_duplicate(
    index: &HashMap<String, (Digest, u64)>,
    p: &Prepared,
    file: &str,
) -> Result<Option<u64>, SubmitError> {
    let name = &p.draft.items[0].name;
    match index.get(name) {
        None => Ok(None),
        Some((digest, seq)) if *digest == p.draft.items[0].digest => Ok(Some(*seq)),
        Some((_, seq)) => Err(SubmitError::IdReused {
            file: file.to_string(),
            kind: p.human.kind.clone(),
            id: p.human.id.clone(),
            seq: *seq,
        }),
    }
}

/// Append one prepared record.
pub async fn commit<S: ObjectStore>(
    store: &EvidenceStore<S>,
    p: Prepared,
) -> Result<Outcome, SubmitError> {
    let c = store.append(p.draft, &p.blobs).await?;
    Ok(Outcome::Committed {
        seq: c.seq,
        hash: c.hash,
    })
}
