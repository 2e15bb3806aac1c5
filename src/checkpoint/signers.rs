//! The configured checkpoint signer: `[checkpoint] key_file`, `key_pem_env` or `kms_key_id`.

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
        let set = [
            c.key_file.is_some(),
            c.key_pem_env.is_some(),
            c.kms_key_id.is_some(),
        ];
        if set.iter().filter(|s| **s).count() > 1 {
            return Err(CheckpointError::KeyFile {
                file: "[checkpoint]".into(),
                message: "set only one of key_file, key_pem_env and kms_key_id".into(),
            });
        }
        if let Some(path) = &c.key_file {
            return Ok(Some(AnySigner::File(KeyFileSigner::load(path)?)));
        }
        if let Some(var) = &c.key_pem_env {
            let source = format!("[checkpoint] key_pem_env: environment variable {var}");
            let text = std::env::var(var).map_err(|_| CheckpointError::KeyFile {
                file: source.clone(),
                message: "not set (or not UTF-8)".into(),
            })?;
            return Ok(Some(AnySigner::File(KeyFileSigner::from_pem(
                &source, &text,
            )?)));
        }
        if let Some(id) = &c.kms_key_id {
            let sdk = crate::collect::aws::sdk_config(&config.aws).await;
            let client = aws_sdk_kms::Client::new(&sdk);
            return Ok(Some(AnySigner::Kms(KmsSigner::new(client, id).await?)));
        }
        Ok(None)
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
