//! Ed25519 keys: the signing-key file (PKCS#8 PEM, the form `openssl genpkey -algorithm
//! ed25519` writes) and public keys (SubjectPublicKeyInfo PEM, what `openssl pkey -pubout`
//! writes), so an auditor can check signatures with openssl alone.
//!
//! Both DER forms are a fixed prefix followed by the 32 key bytes (RFC 8410), so they are
//! built and parsed here without an ASN.1 library.

use std::future::Future;
use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

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
pub fn public_pem(key: &VerifyingKey) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(key.as_bytes());
    pem("PUBLIC KEY", &der)
}

/// Parse a SubjectPublicKeyInfo PEM holding an Ed25519 key.
pub fn parse_public_pem(text: &str) -> Option<VerifyingKey> {
    let der = unpem("PUBLIC KEY", text)?;
    let raw: [u8; 32] = der.strip_prefix(&SPKI_PREFIX[..])?.try_into().ok()?;
    VerifyingKey::from_bytes(&raw).ok()
}

/// Key id: the first 16 hex digits of SHA-256 over the raw 32-byte public key.
pub fn key_id(key: &VerifyingKey) -> String {
    Digest::of(key.as_bytes()).hex()[..16].to_string()
}

/// What signs checkpoints. A key file today; AWS KMS (`ECC_NIST_EDWARDS25519` keys) can be
/// another implementation, which is why signing is asynchronous.
pub trait Signer: Send + Sync {
    fn public_key(&self) -> VerifyingKey;
    fn sign(
        &self,
        message: &[u8],
    ) -> impl Future<Output = Result<[u8; 64], CheckpointError>> + Send;
}

/// An Ed25519 key read from a PKCS#8 PEM file.
pub struct KeyFileSigner {
    key: SigningKey,
}

impl std::fmt::Debug for KeyFileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "KeyFileSigner({})", key_id(&self.key.verifying_key()))
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
        let bad = || CheckpointError::KeyFile {
            file: file.clone(),
            message: "not an Ed25519 PKCS#8 PEM private key (create one with `evidenced keygen`)"
                .into(),
        };
        let der = unpem("PRIVATE KEY", &text).ok_or_else(bad)?;
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
    fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    async fn sign(&self, message: &[u8]) -> Result<[u8; 64], CheckpointError> {
        Ok(self.key.sign(message).to_bytes())
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
