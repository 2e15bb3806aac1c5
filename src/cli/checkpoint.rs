//! `evidenced keygen`, and signing a checkpoint after a committed run.

use std::path::PathBuf;

use anyhow::Context as _;

use super::{UsageError, EXIT_OK};
use crate::chain::EvidenceStore;
use crate::checkpoint::{self, key_id, public_pem, AnySigner, KeyFileSigner, Signer as _};
use crate::config::Config;
use crate::store::{AnyStore, ObjectStore, StoreSettings};

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the new Ed25519 signing key (PKCS#8 PEM, mode 0600). Refuses to
    /// overwrite an existing file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

pub fn keygen(args: &KeygenArgs) -> anyhow::Result<u8> {
    let signer = KeyFileSigner::generate(&args.file).map_err(|e| UsageError(e.to_string()))?;
    let public = signer.public_key();
    print!("{}", public_pem(&public));
    eprintln!(
        "wrote {}; key id {} (give this id to your auditor out of band)",
        args.file.display(),
        key_id(&public)
    );
    Ok(EXIT_OK)
}

/// Open the configured witness, if any.
pub async fn open_witness(config: &Config) -> anyhow::Result<Option<AnyStore>> {
    let Some(url) = &config.checkpoint.witness else {
        return Ok(None);
    };
    let settings = StoreSettings {
        url: url.clone(),
        ..config.store.settings()
    };
    let sdk = match crate::store::StoreLocation::parse(url) {
        Ok(crate::store::StoreLocation::S3 { .. }) => {
            Some(crate::collect::aws::sdk_config(&config.aws).await)
        }
        _ => None,
    };
    let w = AnyStore::open(&settings, sdk.as_ref())
        .await
        .map_err(|e| UsageError(format!("[checkpoint] witness: {e}")))?;
    Ok(Some(w))
}

/// After a committed run: sign and write a checkpoint when `[checkpoint] key_file` or
/// `kms_key_id` is set.
pub async fn after_commit<S: ObjectStore>(
    config: &Config,
    store: &EvidenceStore<S>,
) -> anyhow::Result<()> {
    if !config.checkpoint.signs() {
        return Ok(());
    }
    let after = "the records above are committed, but no checkpoint was written; the next committed run checkpoints the head once this is fixed";
    let Some(signer) = AnySigner::from_config(config)
        .await
        .map_err(|e| UsageError(format!("{e}; {after}")))?
    else {
        return Ok(());
    };
    let witness = open_witness(config).await?;
    checkpoint::write(store, &signer, witness.as_ref())
        .await
        .with_context(|| format!("writing the checkpoint: {after}"))?;
    Ok(())
}
