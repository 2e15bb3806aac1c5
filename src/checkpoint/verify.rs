//! Checking checkpoints against the chain: each signature, the chain id, and that the
//! record at the signed sequence number still exists with the signed hash. A chain that
//! ends before a signed checkpoint was truncated; a record whose hash differs from the
//! signed head was rewritten. With a witness, a checkpoint the witness holds and the store
//! lacks shows that the store's copy was removed.
//!
//! What this does not prove: that records after the latest checkpoint are complete (nothing
//! signed names them yet), nor that the signing key is the operator's — compare its id with
//! one obtained out of band.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{key_id, parse_checkpoint_key, parse_public_pem, PublicKey, Signed, KEYS_PREFIX};
use crate::chain::{parse_record_key, record_key, RECORDS_PREFIX};
use crate::digest::Digest;
use crate::store::{ObjectStore, StoreError};
use crate::verify::{problem, Problem};

/// The outcome of checking checkpoints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckpointReport {
    /// Checkpoints read (store and witness).
    pub checked: usize,
    /// Highest sequence number vouched for by a valid checkpoint.
    pub covered_seq: Option<u64>,
    /// Ids of the keys that signed valid checkpoints.
    pub signers: std::collections::BTreeSet<String>,
    pub problems: Vec<Problem>,
    /// Sequence numbers of the valid checkpoints.
    #[serde(skip)]
    pub valid: std::collections::BTreeSet<u64>,
    /// The RFC 3161 time-stamp tokens beside the checkpoints ([`super::tsa_verify`]).
    pub timestamps: super::tsa_verify::TimestampReport,
}

/// The public keys kept under `chain/keys/`, each under the name of its own id.
async fn load_keys<S: ObjectStore>(
    store: &S,
    into: &mut BTreeMap<String, PublicKey>,
    problems: &mut Vec<Problem>,
) -> Result<(), StoreError> {
    for k in store.list(KEYS_PREFIX).await? {
        let Some(bytes) = store.get(&k).await? else {
            continue;
        };
        let Some(key) = std::str::from_utf8(&bytes).ok().and_then(parse_public_pem) else {
            problems.push(problem(
                "unreadable-key",
                None,
                &k,
                None,
                None,
                format!(
                    "{k} is not an Ed25519 or P-256 public key in PEM (SubjectPublicKeyInfo) form"
                ),
            ));
            continue;
        };
        let id = key_id(&key);
        let named = k
            .strip_prefix(KEYS_PREFIX)
            .and_then(|n| n.strip_suffix(".pem"));
        if named != Some(id.as_str()) {
            problems.push(problem(
                "key-id-mismatch",
                None,
                &k,
                Some(super::public_key_key(&id)),
                Some(k.clone()),
                format!("{k} holds the key with id {id}: a public key is stored under the name of its own id"),
            ));
            continue;
        }
        into.insert(id, key);
    }
    Ok(())
}

/// Check every checkpoint in `store` (and `witness`). `trusted`, when given, are the only
/// keys accepted; otherwise the public keys kept in the store and witness are used. The
/// time-stamp tokens beside the checkpoints are checked as `tsa` says.
pub async fn verify<S: ObjectStore, W: ObjectStore>(
    store: &S,
    witness: Option<&W>,
    trusted: Option<&[PublicKey]>,
    tsa: &super::tsa_verify::TsaCheck,
) -> Result<CheckpointReport, StoreError> {
    verify_to(store, witness, trusted, tsa, None).await
}

/// [`verify`], with the chain's last record given (`head`, as the reader found it) instead
/// of found from a listing of every record key.
pub async fn verify_to<S: ObjectStore, W: ObjectStore>(
    store: &S,
    witness: Option<&W>,
    trusted: Option<&[PublicKey]>,
    tsa: &super::tsa_verify::TsaCheck,
    head: Option<u64>,
) -> Result<CheckpointReport, StoreError> {
    let mut report = CheckpointReport::default();
    let mut keys = BTreeMap::new();
    match trusted {
        Some(t) => {
            for k in t {
                keys.insert(key_id(k), k.clone());
            }
        }
        None => {
            load_keys(store, &mut keys, &mut report.problems).await?;
            if let Some(w) = witness {
                load_keys(w, &mut keys, &mut report.problems).await?;
            }
        }
    }
    let last = match head {
        Some(h) => h,
        None => store
            .list(RECORDS_PREFIX)
            .await?
            .iter()
            .filter_map(|k| parse_record_key(k))
            .max()
            .unwrap_or(0),
    };
    let chain = super::chain_id(store).await?;
    let mut hashes: BTreeMap<u64, Option<Digest>> = BTreeMap::new();

    let mut sources: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    for k in super::tsa::list_checkpoints(store).await? {
        if let Some(b) = store.get(&k).await? {
            sources.push(("store", k, b));
        }
    }
    if let Some(w) = witness {
        for k in super::tsa::list_checkpoints(w).await? {
            let Some(b) = w.get(&k).await? else { continue };
            match store.get(&k).await? {
                None => report.problems.push(problem(
                    "checkpoint-missing-from-store",
                    parse_checkpoint_key(&k),
                    &k,
                    None,
                    None,
                    format!("the witness holds checkpoint {k} but the store does not: the store's copy was removed"),
                )),
                Some(s) if s != b => report.problems.push(problem(
                    "checkpoint-differs-from-witness",
                    parse_checkpoint_key(&k),
                    &k,
                    Some(Digest::of(&b).to_string()),
                    Some(Digest::of(&s).to_string()),
                    format!("checkpoint {k} in the store differs from the witness's copy"),
                )),
                Some(_) => {}
            }
            sources.push(("witness", k, b));
        }
    }

    for (origin, key, bytes) in sources {
        report.checked += 1;
        let signed = match Signed::parse(&key, &bytes) {
            Ok(s) => s,
            Err(e) => {
                report.problems.push(problem(
                    "unreadable-checkpoint",
                    parse_checkpoint_key(&key),
                    &key,
                    None,
                    None,
                    format!("{origin}: {e}"),
                ));
                continue;
            }
        };
        let c = &signed.checkpoint;
        if parse_checkpoint_key(&key) != Some(c.seq) {
            report.problems.push(problem(
                "checkpoint-misplaced",
                Some(c.seq),
                &key,
                Some(super::checkpoint_key(c.seq)),
                Some(key.clone()),
                format!(
                    "{origin}: the checkpoint for sequence {} is stored under another key",
                    c.seq
                ),
            ));
            continue;
        }
        let Some(vk) = keys.get(&c.key_id) else {
            report.problems.push(problem("unknown-checkpoint-key", Some(c.seq), &key, None, Some(c.key_id.clone()), format!("{origin}: checkpoint {} is signed by key {} which is not trusted or not found under {KEYS_PREFIX}", c.seq, c.key_id)));
            continue;
        };
        if vk.alg() != c.alg || !vk.verify(&signed.body, &signed.signature) {
            report.problems.push(problem("bad-checkpoint-signature", Some(c.seq), &key, None, None, format!("{origin}: the signature of checkpoint {} does not verify with key {}: the checkpoint was altered", c.seq, c.key_id)));
            continue;
        }
        if chain != Some(c.chain) {
            report.problems.push(problem("checkpoint-chain-mismatch", Some(c.seq), &key, Some(c.chain.to_string()), chain.map(|d| d.to_string()), format!("{origin}: checkpoint {} names another chain (record 1 differs from the one signed)", c.seq)));
            continue;
        }
        if c.seq > last {
            report.problems.push(problem("chain-truncated", Some(c.seq), &record_key(c.seq), Some(c.seq.to_string()), Some(last.to_string()), format!("{origin}: checkpoint signed at {} vouches for records up to {} but the chain ends at {last}: the tail was truncated", crate::human::fmt_time(c.time), c.seq)));
            continue;
        }
        let hash = match hashes.get(&c.seq) {
            Some(h) => *h,
            None => {
                let h = store
                    .get(&record_key(c.seq))
                    .await?
                    .map(|b| Digest::of_record(&b));
                hashes.insert(c.seq, h);
                h
            }
        };
        match hash {
            None => report.problems.push(problem("chain-truncated", Some(c.seq), &record_key(c.seq), Some(c.head.to_string()), None, format!("{origin}: record {} named by a signed checkpoint is missing", c.seq))),
            Some(h) if h != c.head => report.problems.push(problem("checkpoint-head-mismatch", Some(c.seq), &record_key(c.seq), Some(c.head.to_string()), Some(h.to_string()), format!("{origin}: record {} does not hash to the head signed in its checkpoint: the chain was rewritten at or before record {}", c.seq, c.seq))),
            Some(_) => {
                report.covered_seq = Some(report.covered_seq.map_or(c.seq, |s: u64| s.max(c.seq)));
                report.signers.insert(c.key_id.clone());
                report.valid.insert(c.seq);
            }
        }
    }
    report.timestamps =
        super::tsa_verify::verify_store(store, witness, tsa, &report.valid, &mut report.problems)
            .await?;
    Ok(report)
}
