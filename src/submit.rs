//! Accepting human records into the store: `evidenced submit` and, later, the inbox.
//!
//! Each accepted file becomes one record with two items: the normalised canonical JSON
//! (`record/<kind>/<id>.json`) and the original bytes (`original/<file name>`). A record id
//! is used once: resubmitting identical content is a no-op that points at the existing
//! record; reusing an id for different content is refused, since stored evidence is never
//! replaced (submit a new id instead). Both are decided by the id's claim ([`crate::ids`]),
//! created in the same commit, so two writers racing with one id store it once.

use crate::chain::{ChainError, EvidenceStore};
use crate::digest::{Blob, Digest};
use crate::human::{HumanRecord, CANONICAL_MEDIA_TYPE};
use crate::ids::{IdError, Ids, Lookup, Stored};
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
    #[error("{file}: field `id`: {kind} {id:?} {held_by}; evidence is never replaced, submit it under a new id")]
    IdReused {
        file: String,
        kind: String,
        id: String,
        /// Where the id is held, in words.
        held_by: String,
        /// The record holding the id, once committed.
        seq: Option<u64>,
        /// The holder came from the same submitted bytes (the same file under another
        /// name).
        same_original: bool,
    },
    #[error(transparent)]
    Id(IdError),
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
        /// Items in the record, and blob bytes newly written.
        items: usize,
        new_blob_bytes: u64,
    },
    /// Identical content was already stored in record `seq`.
    AlreadyStored { seq: u64 },
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

/// Where a prepared record's id stands, without writing: `Ok(Some(seq))` when identical
/// content is stored already, `Ok(None)` when the id is free (or claimed for this same
/// content), an error when other content holds it. One read when the id is stored.
pub async fn check<S: ObjectStore>(
    store: &EvidenceStore<S>,
    p: &Prepared,
    file: &str,
) -> Result<Option<u64>, SubmitError> {
    let ours = p.draft.items[0].digest;
    let original = p.draft.items[1].digest;
    match Ids::new(store).lookup(&p.human.kind, &p.human.id).await? {
        Lookup::Free => Ok(None),
        Lookup::Stored { seq, digest, .. } if digest == ours => Ok(Some(seq)),
        Lookup::Claimed(claim) if claim.digest == ours => Ok(None),
        Lookup::Stored {
            seq, original: o, ..
        } => Err(id_reused(p, file, Some(seq), o == original)),
        Lookup::Claimed(claim) => Err(id_reused(p, file, None, claim.original == original)),
    }
}

fn id_reused(p: &Prepared, file: &str, seq: Option<u64>, same_original: bool) -> SubmitError {
    SubmitError::IdReused {
        file: file.to_string(),
        kind: p.human.kind.clone(),
        id: p.human.id.clone(),
        held_by: match seq {
            Some(seq) => format!("is already stored (record {seq}) with different content"),
            None => "is already claimed for different content, whose record is not committed (another writer is storing it, or was stopped: submitting that content again stores it)".into(),
        },
        seq,
        same_original,
    }
}

/// Store one prepared record under its id claim ([`crate::ids`]): committed, already
/// stored with identical content (nothing written), or refused when other content holds
/// the id.
pub async fn commit<S: ObjectStore>(
    store: &EvidenceStore<S>,
    p: Prepared,
    file: &str,
) -> Result<Outcome, SubmitError> {
    let ids = Ids::new(store);
    let taken = |seq, same_original| id_reused(&p, file, seq, same_original);
    match ids.store(p.draft.clone(), &p.blobs).await? {
        Stored::Committed(c) => Ok(Outcome::Committed {
            seq: c.seq,
            hash: c.hash,
            items: c.record.items.len(),
            new_blob_bytes: c.new_blob_bytes,
        }),
        Stored::AlreadyStored { seq } => Ok(Outcome::AlreadyStored { seq }),
        Stored::Taken {
            seq, same_original, ..
        } => Err(taken(seq, same_original)),
    }
}

impl From<IdError> for SubmitError {
    fn from(e: IdError) -> SubmitError {
        match e {
            IdError::Chain(c) => SubmitError::Chain(c),
            IdError::Canonical(c) => SubmitError::Canonical(c),
            e => SubmitError::Id(e),
        }
    }
}
