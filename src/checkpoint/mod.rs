//! Signed checkpoints: after each committed run, a short text note naming the chain, the
//! head sequence number and hash, and the time, signed with Ed25519 (a key file, or AWS
//! KMS) or ECDSA P-256 (AWS KMS), stored in the store and
//! in an optional second location (a witness). Truncating or rewriting the tail of the
//! chain then contradicts a signed statement ([`verify`]).
//!
//! The format (docs/FORMAT-checkpoints-bundles.md, "Checkpoints") is checkable with `head`,
//! `tail`, `base64` and `openssl pkeyutl -verify -rawin`:
//!
//! ```text
//! evidenced checkpoint v1
//! chain sha256:<hash of record 1>
//! seq 42
//! head sha256:<hash of record 42>
//! time 2026-11-23T17:00:00.123Z
//! key 0123456789abcdef
//! signature 0123456789abcdef <base64 of the 64-byte Ed25519 signature over lines 1-6>
//! ```
//!
//! Format v2 (ECDSA P-256, for keys held in AWS KMS) has `evidenced checkpoint v2` on line 1,
//! a seventh line `alg ecdsa-p256-sha256` and the DER ECDSA signature over lines 1-7 on
//! line 8.

mod keys;
pub mod kms;
mod signers;
pub mod tsa;
pub mod tsa_verify;
pub mod verify;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use keys::{key_id, parse_public_pem, public_pem, Alg, KeyFileSigner, PublicKey, Signer};
pub use signers::AnySigner;

use crate::chain::{record_key, ChainError, EvidenceStore};
use crate::digest::Digest;
use crate::human::fmt_time;
use crate::store::{ObjectStore, StoreError};

/// Prefix of checkpoint keys.
pub const CHECKPOINTS_PREFIX: &str = "chain/checkpoints/";
/// Prefix of public keys kept beside the checkpoints.
pub const KEYS_PREFIX: &str = "chain/keys/";
/// First line of a format-1 checkpoint (Ed25519).
const HEADER: &str = "evidenced checkpoint v1";
/// First line of a format-2 checkpoint (with an `alg` line).
const HEADER_V2: &str = "evidenced checkpoint v2";

/// Key of the checkpoint for sequence number `seq`.
pub fn checkpoint_key(seq: u64) -> String {
    format!("{CHECKPOINTS_PREFIX}{seq:020}.txt")
}

/// Sequence number from a checkpoint key.
pub fn parse_checkpoint_key(key: &str) -> Option<u64> {
    let n = key.strip_prefix(CHECKPOINTS_PREFIX)?.strip_suffix(".txt")?;
    (n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit())).then(|| n.parse().ok())?
}

/// Key of a public key file.
pub fn public_key_key(id: &str) -> String {
    format!("{KEYS_PREFIX}{id}.pem")
}

/// Errors of checkpoint signing and parsing.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("signing key {file}: {message}")]
    KeyFile { file: String, message: String },
    #[error("checkpoint {key}: {message}")]
    Malformed { key: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// A checkpoint statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Hash of record 1: names the chain.
    pub chain: Digest,
    pub seq: u64,
    pub head: Digest,
    pub time: OffsetDateTime,
    pub key_id: String,
    /// Ed25519 is written as format v1 (no `alg` line), anything else as v2.
    pub alg: Alg,
}

/// A checkpoint with its signature, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub checkpoint: Checkpoint,
    /// The exact signed bytes (every line but the last).
    pub body: Vec<u8>,
    /// 64 bytes for Ed25519, DER for ECDSA.
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// The signed text (six lines for v1, seven for v2, each ending in `\n`).
    pub fn body(&self) -> String {
        let (header, alg) = match self.alg {
            Alg::Ed25519 => (HEADER, String::new()),
            other => (HEADER_V2, format!("alg {}\n", other.name())),
        };
        format!(
            "{header}\nchain {}\nseq {}\nhead {}\ntime {}\nkey {}\n{alg}",
            self.chain,
            self.seq,
            self.head,
            fmt_time(self.time),
            self.key_id
        )
    }
}

impl Signed {
    /// The stored bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        use base64::Engine as _;
        let mut out = self.body.clone();
        out.extend_from_slice(
            format!(
                "signature {} {}\n",
                self.checkpoint.key_id,
                base64::engine::general_purpose::STANDARD.encode(&self.signature)
            )
            .as_bytes(),
        );
        out
    }

    /// Parse stored bytes; `key` names the object in errors.
    pub fn parse(key: &str, bytes: &[u8]) -> Result<Signed, CheckpointError> {
        use base64::Engine as _;
        let bad = |message: String| CheckpointError::Malformed {
            key: key.to_string(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let v2 = lines.first() == Some(&format!("{HEADER_V2}\n").as_str());
        let count = if v2 { 8 } else { 7 };
        if lines.len() != count || !lines.iter().all(|l| l.ends_with('\n')) {
            return Err(bad(format!(
                "expected exactly {count} lines, each ending in a newline"
            )));
        }
        let field = |i: usize, name: &str| -> Result<&str, CheckpointError> {
            lines[i]
                .trim_end_matches('\n')
                .strip_prefix(name)
                .and_then(|r| r.strip_prefix(' '))
                .ok_or_else(|| bad(format!("line {} must start with `{name} `", i + 1)))
        };
        if !v2 && lines[0] != format!("{HEADER}\n") {
            return Err(bad(format!("line 1 must be `{HEADER}` or `{HEADER_V2}`")));
        }
        let digest = |i: usize, name: &str| -> Result<Digest, CheckpointError> {
            field(i, name)?
                .parse()
                .map_err(|e: crate::digest::DigestParseError| bad(format!("line {}: {e}", i + 1)))
        };
        let chain = digest(1, "chain")?;
        let seq: u64 = field(2, "seq")?
            .parse()
            .map_err(|_| bad("line 3: seq is not a number".into()))?;
        let head = digest(3, "head")?;
        let time = OffsetDateTime::parse(field(4, "time")?, &Rfc3339)
            .map_err(|e| bad(format!("line 5: time: {e}")))?;
        let key_id = field(5, "key")?.to_string();
        let alg = match v2 {
            false => Alg::Ed25519,
            true => {
                let name = field(6, "alg")?;
                match Alg::from_name(name) {
                    Some(a) if a != Alg::Ed25519 => a,
                    _ => return Err(bad(format!("line 7: unknown alg {name:?}"))),
                }
            }
        };
        let last = count - 1;
        let sig_line = field(last, "signature")?;
        let (sig_key, sig_b64) = sig_line.split_once(' ').ok_or_else(|| {
            bad(format!(
                "line {count}: expected `signature <key id> <base64>`"
            ))
        })?;
        if sig_key != key_id {
            return Err(bad(format!(
                "line {count} names key {sig_key} but line 6 names {key_id}"
            )));
        }
        let signature = base64::engine::general_purpose::STANDARD
            .decode(sig_b64)
            .ok()
            .filter(|v| match alg {
                Alg::Ed25519 => v.len() == 64,
                Alg::EcdsaP256Sha256 => (8..=72).contains(&v.len()),
            })
            .ok_or_else(|| {
                bad(format!(
                    "line {count}: signature is not base64 of a {} signature",
                    alg.name()
                ))
            })?;
        let body: Vec<u8> = lines[..last].concat().into_bytes();
        Ok(Signed {
            checkpoint: Checkpoint {
                chain,
                seq,
                head,
                time,
                key_id,
                alg,
            },
            body,
            signature,
        })
    }
}

/// The chain id: the hash of record 1, or `None` for an empty chain.
pub async fn chain_id<S: ObjectStore>(store: &S) -> Result<Option<Digest>, StoreError> {
    Ok(store
        .get(&record_key(1))
        .await?
        .map(|b| Digest::of_record(&b)))
}

/// Sign the current head and write the checkpoint (and the public key) to the store and,
/// when given, to the witness. Returns `None` for an empty chain. Writing is
/// create-if-absent: a checkpoint already written for this head stands.
pub async fn write<S: ObjectStore, W: ObjectStore>(
    store: &EvidenceStore<S>,
    signer: &impl Signer,
    witness: Option<&W>,
) -> Result<Option<Signed>, CheckpointError> {
    let head = store.head().await?;
    write_at(store, signer, witness, head.seq, head.hash).await
}

/// Sign and write a checkpoint of record `seq` with hash `hash` (an earlier record than
/// the head, for a bundle that ends there), unless one exists for `seq` already.
pub async fn write_at<S: ObjectStore, W: ObjectStore>(
    store: &EvidenceStore<S>,
    signer: &impl Signer,
    witness: Option<&W>,
    seq: u64,
    hash: Digest,
) -> Result<Option<Signed>, CheckpointError> {
    let Some(chain) = chain_id(store.backend()).await? else {
        return Ok(None);
    };
    let head = crate::chain::Head {
        seq,
        hash,
        recorded_at: None,
    };
    let public = signer.public_key();
    let checkpoint = Checkpoint {
        chain,
        seq: head.seq,
        head: head.hash,
        time: crate::record::now_millis(),
        key_id: key_id(&public),
        alg: public.alg(),
    };
    let body = checkpoint.body().into_bytes();
    let signature = signer.sign(&body).await?;
    let signed = Signed {
        checkpoint,
        body,
        signature,
    };
    let key = checkpoint_key(head.seq);
    let pem = public_pem(&public);
    let pem_key = public_key_key(&signed.checkpoint.key_id);
    let bytes = signed.to_bytes();
    store
        .backend()
        .put_if_absent(&pem_key, pem.as_bytes())
        .await?;
    store.backend().put_if_absent(&key, &bytes).await?;
    if let Some(w) = witness {
        w.put_if_absent(&pem_key, pem.as_bytes()).await?;
        // The witness gets the store's copy when one already existed.
        let stored = store.backend().get(&key).await?.unwrap_or(bytes);
        w.put_if_absent(&key, &stored).await?;
    }
    tracing::debug!(seq = head.seq, head = %head.hash, "Checkpoint written.");
    Ok(Some(signed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Signed {
        let checkpoint = Checkpoint {
            chain: Digest::of(b"1"),
            seq: 42,
            head: Digest::of(b"42"),
            time: time::macros::datetime!(2026-11-23 17:00:00.123 UTC),
            key_id: "0123456789abcdef".into(),
            alg: Alg::Ed25519,
        };
        Signed {
            body: checkpoint.body().into_bytes(),
            checkpoint,
            signature: vec![7; 64],
        }
    }

    #[test]
    fn round_trips_and_signs_exactly_six_lines() {
        let s = sample();
        let bytes = s.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert_eq!(text.lines().count(), 7);
        assert!(
            text.contains("\nseq 42\nhead sha256:")
                && text.contains("\ntime 2026-11-23T17:00:00.123Z\nkey 0123456789abcdef\n"),
            "{text}"
        );
        assert_eq!(Signed::parse("k", &bytes).unwrap(), s);
        assert_eq!(parse_checkpoint_key(&checkpoint_key(42)), Some(42));
    }

    #[test]
    fn malformed_checkpoints_are_named() {
        let good = String::from_utf8(sample().to_bytes()).unwrap();
        for (bad, why) in [
            (good.replace("seq 42", "seq x"), "seq is not a number"),
            (
                good.replace("evidenced checkpoint v1", "evidenced checkpoint v3"),
                "line 1",
            ),
            (
                good.replace("evidenced checkpoint v1", "evidenced checkpoint v2"),
                "8 lines",
            ),
            (
                good.replace("signature 0123456789abcdef", "signature ffffffffffffffff"),
                "line 7 names key",
            ),
            (good.trim_end().to_string(), "7 lines"),
            (good.replace("head sha256:", "head sha1:"), "line 4"),
        ] {
            let err = Signed::parse("chain/checkpoints/x.txt", bad.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("chain/checkpoints/x.txt") && err.contains(why),
                "{why}: {err}"
            );
        }
    }
}
