//! Checkpoint keys: the Ed25519 signing-key file (PKCS#8 PEM, the form `openssl genpkey
//! -algorithm ed25519` writes) and public keys (SubjectPublicKeyInfo PEM, what `openssl pkey
//! -pubout` writes) of the two algorithms checkpoints are signed with, Ed25519 and ECDSA
//! P-256 (what AWS KMS offers), so an auditor can check signatures with openssl alone.
//!
//! Every DER form used is a fixed prefix followed by the key bytes (RFC 8410 for Ed25519,
//! RFC 5480 for an uncompressed P-256 point), so they are built and parsed here without an
//! ASN.1 library.

use std::future::Future;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use super::CheckpointError;
use crate::digest::Digest;

/// DER prefix of a PKCS#8 v1 Ed25519 private key (the 32-byte seed follows).
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (the 32-byte key follows).
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// DER prefix of a P-256 SubjectPublicKeyInfo (id-ecPublicKey, prime256v1; the 65-byte
/// uncompressed point follows).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A checkpoint signature algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// Ed25519 (RFC 8032, pure) over the signed lines: checkpoint format v1.
    Ed25519,
    /// ECDSA with P-256 and SHA-256 over the signed lines, the signature DER-encoded
    /// (RFC 3279): checkpoint format v2, line `alg ecdsa-p256-sha256`.
    EcdsaP256Sha256,
}

impl Alg {
    /// The `alg` line's value (format v2).
    pub fn name(self) -> &'static str {
        match self {
            Alg::Ed25519 => "ed25519",
            Alg::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        }
    }

    pub fn from_name(s: &str) -> Option<Alg> {
        [Alg::Ed25519, Alg::EcdsaP256Sha256]
            .into_iter()
            .find(|a| a.name() == s)
    }
}

/// A public key that verifies checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Ed25519(VerifyingKey),
    /// The 65-byte uncompressed point (`04 || X || Y`).
    P256(Vec<u8>),
}

impl PublicKey {
    /// The algorithm this key signs with.
    pub fn alg(&self) -> Alg {
        match self {
            PublicKey::Ed25519(_) => Alg::Ed25519,
            PublicKey::P256(_) => Alg::EcdsaP256Sha256,
        }
    }

    /// The raw key bytes the key id is computed over.
    fn raw(&self) -> &[u8] {
        match self {
            PublicKey::Ed25519(k) => k.as_bytes(),
            PublicKey::P256(point) => point,
        }
    }

    /// SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> Vec<u8> {
        let mut der = match self {
            PublicKey::Ed25519(_) => SPKI_PREFIX.to_vec(),
            PublicKey::P256(_) => P256_SPKI_PREFIX.to_vec(),
        };
        der.extend_from_slice(self.raw());
        der
    }

    /// Parse SubjectPublicKeyInfo DER of an Ed25519 or P-256 key.
    pub fn from_spki_der(der: &[u8]) -> Option<PublicKey> {
        if let Some(raw) = der.strip_prefix(&SPKI_PREFIX[..]) {
            let raw: [u8; 32] = raw.try_into().ok()?;
            return VerifyingKey::from_bytes(&raw).ok().map(PublicKey::Ed25519);
        }
        let point = der.strip_prefix(&P256_SPKI_PREFIX[..])?;
        (point.len() == 65 && point[0] == 0x04).then(|| PublicKey::P256(point.to_vec()))
    }

    /// Verify `signature` over `message` with this key's algorithm.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(k) => <[u8; 64]>::try_from(signature)
                .ok()
                .is_some_and(|s| k.verify_strict(message, &Signature::from_bytes(&s)).is_ok()),
            PublicKey::P256(point) => {
                use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
                    .verify(message, signature)
                    .is_ok()
            }
        }
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n")
}

fn unpem(label: &str, text: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = text[start..].find(&end)? + start;
    let body: String = text[start..stop].split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// Public key as SubjectPublicKeyInfo PEM.
pub fn public_pem(key: &PublicKey) -> String {
    pem("PUBLIC KEY", &key.spki_der())
}

/// Parse a SubjectPublicKeyInfo PEM holding an Ed25519 or P-256 key.
pub fn parse_public_pem(text: &str) -> Option<PublicKey> {
    PublicKey::from_spki_der(&unpem("PUBLIC KEY", text)?)
}

/// Key id: the first 16 hex digits of SHA-256 over the raw public key (the 32 Ed25519 key
/// bytes, or the 65-byte uncompressed P-256 point).
pub fn key_id(key: &PublicKey) -> String {
    Digest::of(key.raw()).hex()[..16].to_string()
}

/// What signs checkpoints: a key file, or a key held in AWS KMS.
pub trait Signer: Send + Sync {
    fn public_key(&self) -> PublicKey;
    /// The signature of `message` in the form of [`PublicKey::alg`]: 64 bytes for
    /// Ed25519, DER for ECDSA.
    fn sign(&self, message: &[u8])
        -> impl Future<Output = Result<Vec<u8>, CheckpointError>> + Send;
}

/// An Ed25519 key read from a PKCS#8 PEM file.
pub struct KeyFileSigner {
    key: SigningKey,
}

impl std::fmt::Debug for KeyFileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(
            f,
            "KeyFileSigner({})",
            key_id(&PublicKey::Ed25519(self.key.verifying_key()))
        )
    }
}

impl KeyFileSigner {
    /// Read a key file.
    pub fn load(path: &Path) -> Result<KeyFileSigner, CheckpointError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| CheckpointError::KeyFile {
            file: file.clone(),
            message: e.to_string(),
        })?;
        KeyFileSigner::from_pem(&file, &text)
    }

    /// Read a key from its PEM text; `source` names where it came from in errors.
    pub fn from_pem(source: &str, text: &str) -> Result<KeyFileSigner, CheckpointError> {
        let file = source.to_string();
        let bad = || CheckpointError::KeyFile {
            file: file.clone(),
            message: "not an Ed25519 PKCS#8 PEM private key (create one with `evidenced keygen`)"
                .into(),
        };
        let der = unpem("PRIVATE KEY", text).ok_or_else(bad)?;
        let seed: [u8; 32] = der
            .strip_prefix(&PKCS8_PREFIX[..])
            .and_then(|s| s.try_into().ok())
            .ok_or_else(bad)?;
        Ok(KeyFileSigner {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Create a new key file with mode 0600; refuses to overwrite.
    pub fn generate(path: &Path) -> Result<KeyFileSigner, CheckpointError> {
        let seed: [u8; 32] = rand::random();
        let key = SigningKey::from_bytes(&seed);
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let text = pem("PRIVATE KEY", &der);
        let file = path.display().to_string();
        let err = |e: std::io::Error| CheckpointError::KeyFile {
            file: file.clone(),
            message: e.to_string(),
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(err)?;
        f.write_all(text.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        Ok(KeyFileSigner { key })
    }
}

impl Signer for KeyFileSigner {
    fn public_key(&self) -> PublicKey {
        PublicKey::Ed25519(self.key.verifying_key())
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CheckpointError> {
        Ok(self.key.sign(message).to_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_forms_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pem");
        let s = KeyFileSigner::generate(&p).unwrap();
        let again = KeyFileSigner::load(&p).unwrap();
        assert_eq!(s.public_key(), again.public_key());
        assert!(KeyFileSigner::generate(&p).is_err(), "overwrote a key file");
        let pubpem = public_pem(&s.public_key());
        assert_eq!(parse_public_pem(&pubpem), Some(s.public_key()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
