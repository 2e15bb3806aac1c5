//! `evidenced keygen`, and signing a checkpoint after a committed run.

use std::path::PathBuf;

use anyhow::Context as _;

use super::{UsageError, EXIT_OK};
use crate::chain::EvidenceStore;
use crate::checkpoint::{self, key_id, public_pem, KeyFileSigner, Signer as _};
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

/// Load the signing key named by `[checkpoint] key_pem_env`: the variable's PEM text goes
/// through a private temporary file (mode 0600, removed as soon as the key is read) because
/// the signer reads key files. The temporary directory is `TMPDIR`, else the directory of
/// `[daemon] health_file` (the one writable path of the ECS task).
fn load_pem_env(config: &Config, var: &str) -> Result<KeyFileSigner, String> {
    use std::io::Write as _;
    let pem = std::env::var(var).map_err(|_| {
        format!("[checkpoint] key_pem_env: environment variable {var} is not set (or not UTF-8)")
    })?;
    let health_dir = std::path::Path::new(&config.daemon.health_file)
        .parent()
        .map(std::path::Path::to_path_buf);
    let mut file = tempfile::NamedTempFile::new()
        .or_else(|e| match &health_dir {
            Some(dir) => tempfile::NamedTempFile::new_in(dir),
            None => Err(e),
        })
        .map_err(|e| format!("[checkpoint] key_pem_env: no writable temporary directory: {e}"))?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| format!("[checkpoint] key_pem_env: {e}"))?;
    KeyFileSigner::load(file.path()).map_err(|_| {
        format!("[checkpoint] key_pem_env: {var} does not hold an Ed25519 PKCS#8 PEM private key (create one with `evidenced keygen`)")
    })
}

/// The configured checkpoint signer: `[checkpoint] key_file`, else `key_pem_env`, else none.
pub(crate) fn signer(config: &Config) -> Result<Option<KeyFileSigner>, String> {
    match (&config.checkpoint.key_file, &config.checkpoint.key_pem_env) {
        (Some(path), _) => KeyFileSigner::load(path)
            .map(Some)
            .map_err(|e| e.to_string()),
        (None, Some(var)) => load_pem_env(config, var).map(Some),
        (None, None) => Ok(None),
    }
}

/// After a committed run: sign and write a checkpoint when `[checkpoint] key_file` or
/// `key_pem_env` is set.
pub async fn after_commit<S: ObjectStore>(
    config: &Config,
    store: &EvidenceStore<S>,
) -> anyhow::Result<()> {
    let after = "the records above are committed, but no checkpoint was written; the next committed run checkpoints the head once this is fixed";
    let signer = match signer(config) {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(()),
        Err(e) => return Err(UsageError(format!("{e}; {after}")).into()),
    };
    let witness = open_witness(config).await?;
    checkpoint::write(store, &signer, witness.as_ref())
        .await
        .with_context(|| format!("writing the checkpoint: {after}"))?;
    Ok(())
}
