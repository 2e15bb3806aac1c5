//! SHA-256 digests as they appear in records (`sha256:<64 lowercase hex>`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// The domain tag prepended to a record's bytes before hashing, so that a record hash can
/// never be confused with a blob digest computed over the same bytes.
pub const RECORD_DOMAIN: &[u8] = b"evidenced/record/v1\n";

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

/// A digest string that is not `sha256:` followed by 64 lowercase hex digits.
#[derive(Debug, thiserror::Error)]
#[error("invalid digest {0:?}: expected \"sha256:\" followed by 64 lowercase hex digits")]
pub struct DigestParseError(pub String);

impl Digest {
    /// The all-zero digest, used as `prev` of the first record.
    pub const ZERO: Digest = Digest([0; 32]);

    /// Digest of a byte string.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// Hash of a record: SHA-256 over [`RECORD_DOMAIN`] followed by the record's bytes.
    pub fn of_record(bytes: &[u8]) -> Digest {
        let mut h = Sha256::new();
        h.update(RECORD_DOMAIN);
        h.update(bytes);
        Digest(h.finalize().into())
    }

    /// The 64 hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Base64 of the raw digest, as S3 expects in `x-amz-checksum-sha256`.
    pub fn base64(&self) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }
}

/// Bytes with their SHA-256, computed once when the blob is made. The digest cannot
/// disagree with the bytes, so the chain does not hash them a second time. A blob may be
/// held in pieces (a long listing is its documents, not one copy of them all); a store
/// writes the pieces in order.
#[derive(Debug, Clone)]
pub struct Blob {
    pieces: Vec<bytes::Bytes>,
    size: u64,
    digest: Digest,
    /// Already in the store (streamed there by `store::SpoolWriter`): no bytes held.
    stored: bool,
}

impl Blob {
    pub fn new(bytes: Vec<u8>) -> Blob {
        let digest = Digest::of(&bytes);
        Blob {
            size: bytes.len() as u64,
            pieces: vec![bytes.into()],
            digest,
            stored: false,
        }
    }

    /// A blob already put into the store (a document streamed there as it was written,
    /// `store::SpooledBlob`): it carries its digest and size but no bytes, and the chain
    /// does not put it again.
    pub fn stored(digest: Digest, size: u64) -> Blob {
        Blob {
            pieces: Vec::new(),
            size,
            digest,
            stored: true,
        }
    }

    /// See [`Blob::stored`].
    pub fn is_stored(&self) -> bool {
        self.stored
    }

    /// The bytes, in order.
    pub fn pieces(&self) -> &[bytes::Bytes] {
        &self.pieces
    }

    /// The bytes in one piece: shared when the blob is one piece, joined otherwise.
    pub fn to_bytes(&self) -> bytes::Bytes {
        match self.pieces.as_slice() {
            [one] => one.clone(),
            pieces => pieces.concat().into(),
        }
    }

    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

/// A blob written piece by piece and hashed as it grows. Short writes are gathered into
/// one buffer; a long piece handed over whole is kept as it is, not copied.
pub struct BlobWriter {
    pieces: Vec<bytes::Bytes>,
    short: Vec<u8>,
    size: u64,
    hasher: Sha256,
}

impl Default for BlobWriter {
    fn default() -> BlobWriter {
        BlobWriter::new()
    }
}

impl BlobWriter {
    pub fn new() -> BlobWriter {
        BlobWriter {
            pieces: Vec::new(),
            short: Vec::new(),
            size: 0,
            hasher: Sha256::new(),
        }
    }

    /// Append a copy of `piece`.
    pub fn write(&mut self, piece: &[u8]) {
        self.short.extend_from_slice(piece);
        self.hasher.update(piece);
        self.size += piece.len() as u64;
    }

    /// Append `piece` itself.
    pub fn write_owned(&mut self, piece: Vec<u8>) {
        self.hasher.update(&piece);
        self.size += piece.len() as u64;
        self.flush_short();
        self.pieces.push(piece.into());
    }

    fn flush_short(&mut self) {
        if !self.short.is_empty() {
            self.pieces.push(std::mem::take(&mut self.short).into());
        }
    }

    pub fn finish(mut self) -> Blob {
        self.flush_short();
        Blob {
            pieces: self.pieces,
            size: self.size,
            digest: Digest(self.hasher.finalize().into()),
            stored: false,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s
            .strip_prefix("sha256:")
            .ok_or_else(|| DigestParseError(s.to_string()))?;
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(DigestParseError(s.to_string()));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out).map_err(|_| DigestParseError(s.to_string()))?;
        Ok(Digest(out))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Incremental hashing for streamed content.
#[derive(Default)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finish(self) -> Digest {
        Digest(self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_bad_forms() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
        assert!(
            "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"
                .parse::<Digest>()
                .is_err()
        );
        assert!("ba7816bf".parse::<Digest>().is_err());
    }

    #[test]
    fn record_hash_carries_domain_tag() {
        assert_ne!(Digest::of_record(b"{}"), Digest::of(b"{}"));
        let mut tagged = RECORD_DOMAIN.to_vec();
        tagged.extend_from_slice(b"{}");
        assert_eq!(Digest::of_record(b"{}"), Digest::of(&tagged));
    }

    #[test]
    fn a_blob_written_in_pieces_has_the_digest_of_its_bytes() {
        let mut w = BlobWriter::new();
        w.write(b"ab");
        w.write_owned(b"cd".to_vec());
        w.write(b"");
        w.write(b"e");
        w.write_owned(Vec::new());
        w.write_owned(vec![0u8; 200]);
        let b = w.finish();
        let all = b.to_bytes();
        assert_eq!(&all[..5], b"abcde");
        assert_eq!(b.size(), 205);
        assert_eq!(all.len(), 205);
        assert_eq!(b.digest(), Digest::of(&all));
        assert_eq!(
            b.pieces().len(),
            5,
            "short writes are gathered, owned pieces kept"
        );
    }
}
