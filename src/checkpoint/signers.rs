//! The configured checkpoint signer: `[checkpoint] key_file` or `kms_key_id`.

use super::kms::KmsSigner;
use super::{CheckpointError, KeyFileSigner, PublicKey, Signer};
use crate::config::Config;

/// A key file or a KMS key.
#[derive(Debug)]
pub enum AnySigner {
    File(KeyFileSigner),
    Kms(KmsSigner),
}

impl AnySigner {
    /// The signer the configuration names, or `None` when checkpoints are not configured.
    pub async fn from_config(config: &Config) -> Result<Option<AnySigner>, CheckpointError> {
        let c = &config.checkpoint;
        match (&c.key_file, &c.kms_key_id) {
            (Some(_), Some(_)) => Err(CheckpointError::KeyFile {
                file: "[checkpoint]".into(),
                message: "key_file and kms_key_id are both set; choose one".into(),
            }),
            (Some(path), None) => Ok(Some(AnySigner::File(KeyFileSigner::load(path)?))),
            (None, Some(id)) => {
                let sdk = crate::collect::aws::sdk_config(&config.aws).await;
                let client = aws_sdk_kms::Client::new(&sdk);
                Ok(Some(AnySigner::Kms(KmsSigner::new(client, id).await?)))
            }
            (None, None) => Ok(None),
        }
    }
}

impl Signer for AnySigner {
    fn public_key(&self) -> PublicKey {
        match self {
            AnySigner::File(s) => s.public_key(),
            AnySigner::Kms(s) => s.public_key(),
        }
    }

    async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CheckpointError> {
        match self {
            AnySigner::File(s) => s.sign(message).await,
            AnySigner::Kms(s) => s.sign(message).await,
        }
    }
}
