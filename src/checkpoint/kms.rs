//! Checkpoints signed by an asymmetric AWS KMS key: the private key never leaves KMS.
//!
//! `[checkpoint] kms_key_id` names the key (id, ARN or alias). At start the public key is
//! read with `kms:GetPublicKey`; each checkpoint is signed with `kms:Sign` over the signed
//! lines themselves (message type `RAW`):
//! - `ECC_NIST_P256` keys with `ECDSA_SHA_256`: checkpoint format v2, DER signature;
//! - `ECC_NIST_EDWARDS25519` keys with `ED25519_SHA_512` (pure Ed25519): format v1, the
//!   same as a key file's, so nothing about verifying changes.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{Alg, CheckpointError, PublicKey, Signer};

/// A KMS key that signs checkpoints.
#[derive(Debug, Clone)]
pub struct KmsSigner {
    client: aws_sdk_kms::Client,
    key_id: String,
    public: PublicKey,
}

fn kms_error(key_id: &str, op: &str, e: impl std::error::Error + 'static) -> CheckpointError {
    CheckpointError::KeyFile {
        file: format!("KMS key {key_id}"),
        message: format!(
            "kms:{op}: {}",
            one_line(&DisplayErrorContext(&e).to_string())
        ),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl KmsSigner {
    /// Read the key's public half; refuse a key that cannot sign checkpoints.
    pub async fn new(
        client: aws_sdk_kms::Client,
        key_id: &str,
    ) -> Result<KmsSigner, CheckpointError> {
        let out = client
            .get_public_key()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| kms_error(key_id, "GetPublicKey", e))?;
        let spec = out
            .key_spec()
            .map_or("unknown".to_string(), |s| s.as_str().to_string());
        let refuse = |why: String| {
            CheckpointError::KeyFile {
            file: format!("KMS key {key_id}"),
            message: format!(
                "{why}; checkpoints need an asymmetric SIGN_VERIFY key of spec ECC_NIST_P256 or ECC_NIST_EDWARDS25519"
            ),
        }
        };
        if out.key_usage().is_some_and(|u| u.as_str() != "SIGN_VERIFY") {
            return Err(refuse(format!(
                "its key usage is {}",
                out.key_usage().map_or("", |u| u.as_str())
            )));
        }
        let der = out
            .public_key()
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| refuse("GetPublicKey returned no public key".into()))?;
        let public = PublicKey::from_spki_der(&der)
            .ok_or_else(|| refuse(format!("its key spec is {spec}")))?;
        Ok(KmsSigner {
            client,
            key_id: key_id.to_string(),
            public,
        })
    }

    fn algorithm(&self) -> SigningAlgorithmSpec {
        match self.public.alg() {
            Alg::Ed25519 => SigningAlgorithmSpec::from("ED25519_SHA_512"),
            Alg::EcdsaP256Sha256 => SigningAlgorithmSpec::EcdsaSha256,
        }
    }
}

impl Signer for KmsSigner {
    fn public_key(&self) -> PublicKey {
        self.public.clone()
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CheckpointError> {
        let out = self
            .client
            .sign()
            .key_id(&self.key_id)
            .message(Blob::new(message))
            .message_type(MessageType::Raw)
            .signing_algorithm(self.algorithm())
            .send()
            .await
            .map_err(|e| kms_error(&self.key_id, "Sign", e))?;
        let signature = out
            .signature()
            .map(|b| b.as_ref().to_vec())
            .ok_or_else(|| CheckpointError::KeyFile {
                file: format!("KMS key {}", self.key_id),
                message: "kms:Sign returned no signature".into(),
            })?;
        // Never write a checkpoint that would not verify.
        if !self.public.verify(message, &signature) {
            return Err(CheckpointError::KeyFile {
                file: format!("KMS key {}", self.key_id),
                message:
                    "kms:Sign returned a signature that does not verify with the key's public half"
                        .into(),
            });
        }
        Ok(signature)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::operation::get_public_key::GetPublicKeyOutput;
    use aws_sdk_kms::operation::sign::SignOutput;
    use aws_sdk_kms::types::{KeySpec, KeyUsageType};
    use aws_smithy_mocks::{mock, mock_client};
    use ed25519_dalek::Signer as _;

    use super::*;
    use crate::chain::EvidenceStore;
    use crate::record::{Draft, Status};
    use crate::store::LocalStore;

    /// KMS's ECC_NIST_EDWARDS25519 keys, which moto does not implement: GetPublicKey and
    /// Sign answered by a local Ed25519 key.
    fn ed25519_kms(key: ed25519_dalek::SigningKey) -> aws_sdk_kms::Client {
        let spki = PublicKey::Ed25519(key.verifying_key()).spki_der();
        let get = mock!(aws_sdk_kms::Client::get_public_key).then_output(move || {
            GetPublicKeyOutput::builder()
                .key_id("arn:aws:kms:us-east-1:111122223333:key/ed")
                .key_spec(KeySpec::from("ECC_NIST_EDWARDS25519"))
                .key_usage(KeyUsageType::SignVerify)
                .public_key(Blob::new(spki.clone()))
                .build()
        });
        let sign = mock!(aws_sdk_kms::Client::sign)
            .match_requests(|r| {
                r.message_type() == Some(&MessageType::Raw)
                    && r.signing_algorithm().map(|a| a.as_str()) == Some("ED25519_SHA_512")
            })
            .then_compute_output(move |r| {
                let msg = r.message().map(|b| b.as_ref().to_vec()).unwrap_or_default();
                SignOutput::builder()
                    .signature(Blob::new(key.sign(&msg).to_bytes().to_vec()))
                    .build()
            });
        mock_client!(aws_sdk_kms, [&get, &sign])
    }

    #[tokio::test]
    async fn an_ed25519_kms_key_signs_checkpoints_that_verify_offline() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let signer = KmsSigner::new(ed25519_kms(key.clone()), "alias/evidenced")
            .await
            .unwrap();
        assert_eq!(signer.public_key(), PublicKey::Ed25519(key.verifying_key()));
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(LocalStore::new(dir.path()));
        let draft = Draft::empty("test", "test", Status::Failed);
        store.append(draft, &[]).await.unwrap();
        let signed = super::super::write(&store, &signer, None::<&LocalStore>)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(signed.checkpoint.alg, Alg::Ed25519);
        assert!(signed.body.starts_with(b"evidenced checkpoint v1\n"));
        let report = super::super::verify::verify(
            store.backend(),
            None::<&LocalStore>,
            None,
            &Default::default(),
        )
        .await
        .unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(report.covered_seq, Some(1));
    }

    #[tokio::test]
    async fn a_key_that_cannot_sign_checkpoints_is_refused_by_name() {
        let get = mock!(aws_sdk_kms::Client::get_public_key).then_output(|| {
            GetPublicKeyOutput::builder()
                .key_spec(KeySpec::Rsa2048)
                .key_usage(KeyUsageType::SignVerify)
                .public_key(Blob::new(vec![0x30, 0x82]))
                .build()
        });
        let client = mock_client!(aws_sdk_kms, [&get]);
        let err = KmsSigner::new(client, "alias/rsa")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("KMS key alias/rsa")
                && err.contains("RSA_2048")
                && err.contains("ECC_NIST_P256"),
            "{err}"
        );
    }
}
