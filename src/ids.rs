//! Id claims: "one id, one record" as part of the commit (docs/FORMAT.md, "Id claims").
//!
//! A human record's id is taken by creating `ids/<kind>/<id>/claim.json` with the same
//! conditional create the chain uses, naming the record's content digest and the chain's
//! head at that moment, *before* any record of that id is appended. Only one claim per id
//! can exist. Then:
//!
//! - other content than the claim's: refused, naming the id and the record that holds it;
//! - the claim's content: the record is appended unless one already holds the id. Every
//!   record committed after the claim's head is checked, and the check runs again before
//!   each conditional create of the next sequence number, over the records committed since
//!   the previous one ([`EvidenceStore::append_unless`]). A create of sequence `n` succeeds
//!   only if nobody created `n` first, so a writer that commits has seen every record
//!   before its own: two writers with one id cannot both commit, whoever they are and
//!   whenever either was killed.
//!
//! After its record commits, a writer binds the id to it (`ids/<kind>/<id>/record.json`,
//! naming the sequence number and record hash). The binding answers "is this id stored?"
//! with one read, however long the chain is. A writer killed before its record leaves a
//! claim without a record: nothing was stored, and the same content submitted again is
//! stored at once. A writer killed between record and binding leaves a claim whose record
//! exists: the next writer of that id finds it and writes the binding.
//!
//! Stores written before claims existed (record format 1) are claimed once, by the first
//! writer that needs a claim: every human record already in the chain gets its claim and
//! binding, then `ids/backfill.json` marks the store as done.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::chain::{Appended, ChainError, Committed, EvidenceStore};
use crate::digest::{Blob, Digest};
use crate::human::CANONICAL_MEDIA_TYPE;
use crate::record::{now_millis, Draft, Record};
use crate::store::{ObjectStore, PutOutcome};
use crate::{canonical, failpoint};

/// Prefix of claim objects.
pub const IDS_PREFIX: &str = "ids/";
/// Key of the marker written once legacy human records have their claims.
pub const BACKFILL_KEY: &str = "ids/backfill.json";
/// Errors of the id layer.
#[derive(Debug, thiserror::Error)]
pub enum IdError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Canonical(#[from] canonical::CanonicalError),
    #[error("{key} is unreadable: {reason}; run `evidenced verify`")]
    Corrupt { key: String, reason: String },
}

/// `ids/<kind>/<id>/claim.json`: the id taken for one content digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub kind: String,
    pub id: String,
    /// Digest of the record's canonical item (`record/<kind>/<id>.json`).
    pub digest: Digest,
    /// Digest of the submitted bytes (the `original/<file>` item).
    pub original: Digest,
    #[serde(with = "time::serde::rfc3339")]
    pub claimed_at: OffsetDateTime,
    /// The chain's head when the claim was made: every record of the id is after it.
    pub after_seq: u64,
    /// 32 hex digits, random per claim.
    pub nonce: String,
}

/// `ids/<kind>/<id>/record.json`: the record that holds the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub kind: String,
    pub id: String,
    pub seq: u64,
    /// Hash of the record (docs/FORMAT.md, section 5).
    pub hash: Digest,
    pub digest: Digest,
}

/// `ids/backfill.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backfill {
    /// Every human record up to this sequence number has its claim and binding.
    pub through_seq: u64,
}

/// Directory of one id's objects, ending in `/`.
pub fn id_prefix(kind: &str, id: &str) -> String {
    format!("{IDS_PREFIX}{kind}/{id}/")
}

/// Key of an id's claim.
pub fn claim_key(kind: &str, id: &str) -> String {
    format!("{}claim.json", id_prefix(kind, id))
}

/// Key of an id's binding.
pub fn binding_key(kind: &str, id: &str) -> String {
    format!("{}record.json", id_prefix(kind, id))
}

/// What a key under `ids/` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdKey {
    Claim { kind: String, id: String },
    Binding { kind: String, id: String },
    Backfill,
}

/// Parse a key under `ids/`; `None` for anything this format does not define.
pub fn parse_id_key(key: &str) -> Option<IdKey> {
    if key == BACKFILL_KEY {
        return Some(IdKey::Backfill);
    }
    let rest = key.strip_prefix(IDS_PREFIX)?;
    let mut parts = rest.split('/');
    let (kind, id, file) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || kind.is_empty() || id.is_empty() {
        return None;
    }
    let (kind, id) = (kind.to_string(), id.to_string());
    match file {
        "record.json" => Some(IdKey::Binding { kind, id }),
        "claim.json" => Some(IdKey::Claim { kind, id }),
        _ => None,
    }
}

/// The `(kind, id)` of a human record's canonical item name `record/<kind>/<id>.json`.
pub fn human_id(item_name: &str) -> Option<(&str, &str)> {
    let rest = item_name.strip_prefix("record/")?.strip_suffix(".json")?;
    let (kind, id) = rest.split_once('/')?;
    (!kind.is_empty() && !id.is_empty() && !id.contains('/')).then_some((kind, id))
}

/// The human-record identity of a record: kind, id, canonical digest and original digest.
pub fn human_identity(record: &Record) -> Option<(String, String, Digest, Option<Digest>)> {
    let canonical = record
        .items
        .iter()
        .find(|i| i.media_type == CANONICAL_MEDIA_TYPE)?;
    let (kind, id) = human_id(&canonical.name)?;
    let original = record
        .items
        .iter()
        .find(|i| i.name.starts_with("original/"))
        .map(|i| i.digest);
    Some((kind.to_string(), id.to_string(), canonical.digest, original))
}

/// Where an id stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// No record holds the id and nobody claims it.
    Free,
    /// Record `seq` holds the id with content `digest` (from submitted bytes `original`).
    Stored {
        seq: u64,
        digest: Digest,
        original: Digest,
    },
    /// Claimed for `claim.digest`, and no record holds it yet (its writer is committing,
    /// or was stopped before it did).
    Claimed(Claim),
}

/// What storing a human record did.
#[derive(Debug, Clone)]
pub enum Stored {
    /// This call committed the record.
    Committed(Box<Committed>),
    /// Identical content already holds the id, in record `seq`; nothing was written.
    AlreadyStored { seq: u64 },
    /// Other content holds the id: in record `seq`, or (`None`) in a claim whose record
    /// is not committed. `same_original` is true when the holder came from the same
    /// submitted bytes (the same file under another name).
    Taken {
        seq: Option<u64>,
        digest: Digest,
        same_original: bool,
    },
}

/// The id layer over an evidence store.
pub struct Ids<'a, S> {
    store: &'a EvidenceStore<S>,
}

impl<'a, S: ObjectStore> Ids<'a, S> {
    pub fn new(store: &'a EvidenceStore<S>) -> Ids<'a, S> {
        Ids { store }
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        key: &str,
    ) -> Result<Option<T>, IdError> {
        let Some(bytes) = self
            .store
            .backend()
            .get(key)
            .await
            .map_err(ChainError::from)?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| IdError::Corrupt {
                key: key.to_string(),
                reason: e.to_string(),
            })
    }

    async fn create<T: Serialize>(&self, key: &str, value: &T) -> Result<PutOutcome, IdError> {
        let bytes = canonical::to_vec(value)?;
        Ok(self
            .store
            .backend()
            .put_if_absent(key, &bytes)
            .await
            .map_err(ChainError::from)?)
    }

    /// Where `kind`/`id` stands: one read when the id is bound (the common case), two
    /// when it is free.
    pub async fn lookup(&self, kind: &str, id: &str) -> Result<Lookup, IdError> {
        self.backfill().await?;
        if let Some(b) = self.get_json::<Binding>(&binding_key(kind, id)).await? {
            let claim = self.get_json::<Claim>(&claim_key(kind, id)).await?;
            return Ok(Lookup::Stored {
                seq: b.seq,
                digest: b.digest,
                original: claim.map_or(b.digest, |c| c.original),
            });
        }
        let Some(claim) = self.get_json::<Claim>(&claim_key(kind, id)).await? else {
            return Ok(Lookup::Free);
        };
        // No binding: the claimant is committing, or was stopped before its record or
        // after it (then bind it now).
        match self.find_record(&claim).await? {
            Some((seq, hash)) => {
                self.bind(&claim, seq, hash).await?;
                Ok(Lookup::Stored {
                    seq,
                    digest: claim.digest,
                    original: claim.original,
                })
            }
            None => Ok(Lookup::Claimed(claim)),
        }
    }

    /// The record holding a claim's id, searched after the claim's `after_seq` (only when
    /// the binding is missing).
    async fn find_record(&self, claim: &Claim) -> Result<Option<(u64, Digest)>, IdError> {
        let head = self.store.head().await?;
        for seq in claim.after_seq + 1..=head.seq {
            let Some(r) = self.store.record(seq).await? else {
                continue;
            };
            if holds(&r.record, claim) {
                return Ok(Some((seq, r.hash)));
            }
        }
        Ok(None)
    }

    async fn bind(&self, claim: &Claim, seq: u64, hash: Digest) -> Result<(), IdError> {
        let binding = Binding {
            kind: claim.kind.clone(),
            id: claim.id.clone(),
            seq,
            hash,
            digest: claim.digest,
        };
        // Two writers binding the same record write the same bytes; either create is fine.
        self.create(&binding_key(&claim.kind, &claim.id), &binding)
            .await?;
        Ok(())
    }

    /// Store a human record (the draft's first item is its canonical form, the second its
    /// original bytes) unless its id is already held; see the module docs.
    pub async fn store(&self, draft: Draft, blobs: &[Blob]) -> Result<Stored, IdError> {
        let canonical = draft.items.first().cloned();
        let identity = canonical
            .as_ref()
            .and_then(|c| human_id(&c.name).map(|(k, i)| (k.to_string(), i.to_string())));
        let (Some(canonical), Some((kind, id))) = (canonical, identity) else {
            return Err(IdError::Corrupt {
                key: "draft".into(),
                reason: "not a human record".into(),
            });
        };
        let original = draft
            .items
            .get(1)
            .map(|i| i.digest)
            .unwrap_or(canonical.digest);
        let taken = |seq, digest, stored_original| Stored::Taken {
            seq,
            digest,
            same_original: stored_original == original,
        };
        let claim = loop {
            match self.lookup(&kind, &id).await? {
                Lookup::Stored {
                    seq,
                    digest,
                    original: stored_original,
                } => {
                    return Ok(match digest == canonical.digest {
                        true => Stored::AlreadyStored { seq },
                        false => taken(Some(seq), digest, stored_original),
                    })
                }
                Lookup::Claimed(c) if c.digest != canonical.digest => {
                    return Ok(taken(None, c.digest, c.original))
                }
                Lookup::Claimed(c) => break c,
                Lookup::Free => {
                    let head = self.store.head().await?;
                    let claim = Claim {
                        kind: kind.clone(),
                        id: id.clone(),
                        digest: canonical.digest,
                        original,
                        claimed_at: now_millis(),
                        after_seq: head.seq,
                        nonce: format!("{:032x}", rand::random::<u128>()),
                    };
                    // Lost to another writer (or our own create retried by the SDK): look
                    // again, and take the claim as it is stored.
                    if self.create(&claim_key(&kind, &id), &claim).await? == PutOutcome::Created {
                        break claim;
                    }
                }
            }
        };
        failpoint::hit("after-id-claim");
        match self
            .store
            .append_unless(draft, blobs, claim.after_seq, |r| holds(r, &claim))
            .await?
        {
            Appended::Committed(c) => {
                failpoint::hit("after-id-record");
                self.bind(&claim, c.seq, c.hash).await?;
                Ok(Stored::Committed(c))
            }
            Appended::Found(r) => match human_identity(&r.record) {
                Some((_, _, digest, _)) if digest == claim.digest => {
                    self.bind(&claim, r.seq, r.hash).await?;
                    Ok(Stored::AlreadyStored { seq: r.seq })
                }
                // Another record of the id, stored before claims existed.
                other => Ok(taken(
                    Some(r.seq),
                    other.as_ref().map_or(claim.digest, |o| o.2),
                    other.and_then(|o| o.3).unwrap_or(claim.digest),
                )),
            },
        }
    }

    /// Give every human record already in the chain its claim and binding, once per store
    /// (then `ids/backfill.json` exists and this is one read per process).
    pub async fn backfill(&self) -> Result<(), IdError> {
        if self.store.ids_backfilled() {
            return Ok(());
        }
        if self.get_json::<Backfill>(BACKFILL_KEY).await?.is_none() {
            let head = self.store.head().await?;
            let keys = self.store.record_keys().await?;
            let keys: Vec<_> = keys.into_iter().filter(|(s, _)| *s <= head.seq).collect();
            let mut claimed = 0u64;
            for r in self.store.read_records(&keys).await? {
                let Some((kind, id, digest, original)) = human_identity(&r.record) else {
                    continue;
                };
                let claim = Claim {
                    kind: kind.clone(),
                    id: id.clone(),
                    digest,
                    original: original.unwrap_or(digest),
                    claimed_at: r.record.recorded_at,
                    after_seq: r.seq - 1,
                    nonce: "0".repeat(32),
                };
                // A second record of an id (stored twice before claims existed) keeps the
                // first one's claim; `verify` reports the duplicate.
                if self.create(&claim_key(&kind, &id), &claim).await? == PutOutcome::Created {
                    self.bind(&claim, r.seq, r.hash).await?;
                    claimed += 1;
                }
            }
            self.create(
                BACKFILL_KEY,
                &Backfill {
                    through_seq: head.seq,
                },
            )
            .await?;
            if claimed > 0 {
                tracing::info!(
                    records = claimed,
                    through_seq = head.seq,
                    "Claimed the ids of human records stored before id claims existed."
                );
            }
        }
        self.store.set_ids_backfilled();
        Ok(())
    }
}

/// True when `record` holds the claimed id (with any content: a second record of the id
/// is what must never be committed).
fn holds(record: &Record, claim: &Claim) -> bool {
    human_identity(record).is_some_and(|(kind, id, _, _)| kind == claim.kind && id == claim.id)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::store::counting::Counting;
    use crate::submit::{self, Outcome};

    fn file(id: &str) -> Vec<u8> {
        format!("{{\"kind\": \"tabletop\", \"id\": \"{id}\", \"started_at\": \"2026-04-02T09:00:00Z\", \"ended_at\": \"2026-04-02T10:00:00Z\", \"scenario\": \"Ransomware\", \"outcome\": \"pass\", \"participants\": [\"ops-oncall\"]}}").into_bytes()
    }

    async fn submit_one(store: &EvidenceStore<Counting>, id: &str) -> Outcome {
        let name = format!("{id}.json");
        let h = crate::human::parse(&name, &file(id), time::OffsetDateTime::now_utc()).unwrap();
        let p = submit::prepare(h, submit::SUBMIT_COLLECTOR).unwrap();
        submit::check(store, &p, &name).await.unwrap();
        submit::commit(store, p, &name).await.unwrap()
    }

    #[tokio::test]
    async fn storing_or_finding_an_id_reads_as_many_records_on_a_long_chain_as_on_a_short_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(Counting::new(dir.path()));
        let gets = || store.backend().record_gets.load(Ordering::SeqCst);
        let mut new_id = Vec::new();
        let mut again = Vec::new();
        for (round, length) in [10usize, 150].into_iter().enumerate() {
            while store.head().await.unwrap().seq < length as u64 {
                let n = store.head().await.unwrap().seq;
                submit_one(&store, &format!("fill-{n}")).await;
            }
            let before = gets();
            let id = format!("probe-{round}");
            assert!(matches!(
                submit_one(&store, &id).await,
                Outcome::Committed { .. }
            ));
            new_id.push(gets() - before);
            let before = gets();
            assert!(matches!(
                submit_one(&store, &id).await,
                Outcome::AlreadyStored { .. }
            ));
            again.push(gets() - before);
        }
        assert_eq!(
            new_id[0], new_id[1],
            "a new id read more records on the longer chain"
        );
        assert_eq!(
            again[0], again[1],
            "a stored id read more records on the longer chain"
        );
        assert!(new_id[1] <= 2 && again[1] == 0, "{new_id:?} {again:?}");
    }
}
