//! `evidenced keygen`, and signing a checkpoint after a committed run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;

use super::{Format, UsageError, EXIT_OK};
use crate::chain::EvidenceStore;
use crate::checkpoint::tsa_verify::TsaCheck;
use crate::checkpoint::{self, key_id, public_pem, tsa, AnySigner, KeyFileSigner, Signer as _};
use crate::config::Config;
use crate::store::{AnyStore, ObjectStore, StoreSettings};

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the new Ed25519 signing key (PKCS#8 PEM, mode 0600). Refuses to
    /// overwrite an existing file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format: the public key's PEM (and the key id on standard error), or one JSON
    /// object: `file`, `algorithm`, `key_id`, `public_key_pem`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn keygen(args: &KeygenArgs) -> anyhow::Result<u8> {
    let signer = KeyFileSigner::generate(&args.file).map_err(|e| UsageError(e.to_string()))?;
    let public = signer.public_key();
    let id = key_id(&public);
    match args.format {
        Format::Text => {
            print!("{}", public_pem(&public));
            eprintln!(
                "wrote {}; key id {id} (give this id to your auditor out of band)",
                args.file.display(),
            );
        }
        Format::Json => {
            let v = serde_json::json!({
                "file": args.file.display().to_string(),
                "algorithm": "ed25519",
                "key_id": id,
                "public_key_pem": public_pem(&public),
            });
            println!("{v:#}");
        }
    }
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
    time_stamp(config, store.backend(), witness.as_ref()).await;
    Ok(())
}

/// The configured trust roots for time-stamp tokens, or those of `--tsa-roots`.
fn tsa_roots(
    config: &Config,
    flag: Option<&Path>,
) -> Result<Option<Vec<x509_cert::Certificate>>, tsa::TsaError> {
    let paths = match flag {
        Some(p) => vec![p.to_path_buf()],
        None => config.checkpoint.tsa_roots.clone(),
    };
    if paths.is_empty() {
        return Ok(None);
    }
    tsa::load_roots(&paths).map(Some)
}

/// What `verify` and `report` check of time-stamp tokens: the roots of `--tsa-roots`
/// (`flag`) or `[checkpoint] tsa_roots`; tokens are expected when a TSA is configured or
/// roots are given.
pub fn tsa_check(config: &Config, flag: Option<&Path>) -> anyhow::Result<TsaCheck> {
    let roots = tsa_roots(config, flag).map_err(|e| UsageError(e.to_string()))?;
    Ok(TsaCheck {
        expected: config.checkpoint.tsa_url.is_some() || roots.is_some(),
        roots,
    })
}

/// With `[checkpoint] tsa_url`: request RFC 3161 tokens for the newest checkpoints that
/// lack one (the one just written first, at most [`tsa::PER_RUN`]). Never fails: a TSA
/// that is down, slow or refusing leaves a warning and the gap, which a later committed
/// run fills.
pub async fn time_stamp<S: ObjectStore, W: ObjectStore>(
    config: &Config,
    store: &S,
    witness: Option<&W>,
) {
    let Some(url) = &config.checkpoint.tsa_url else {
        return;
    };
    let timeout = config
        .checkpoint
        .tsa_timeout_seconds
        .map_or(tsa::DEFAULT_TIMEOUT, Duration::from_secs);
    let client = match tsa_roots(config, None)
        .and_then(|roots| tsa::TsaClient::new(url, timeout, roots))
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "No time-stamp was requested: the checkpoint stands without a token until this is fixed.");
            return;
        }
    };
    match tsa::stamp_pending(store, witness, &client, tsa::PER_RUN).await {
        Ok(p) => {
            if let Some((seq, e)) = &p.failed {
                tracing::warn!(
                    seq,
                    error = %e,
                    without_token = p.remaining.len(),
                    "Checkpoint not time-stamped: collection goes on, and the token is requested again after the next committed run."
                );
            } else if !p.remaining.is_empty() {
                tracing::info!(
                    stamped = p.stamped.len(),
                    without_token = p.remaining.len(),
                    "Older checkpoints still lack a time-stamp token; later committed runs request them."
                );
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "Time-stamping the checkpoints failed: the store could not be read or written; a later committed run tries again.");
        }
    }
}

/// Check the store's checkpoints against the configured witness, with `trusted` keys (or the
/// stored ones) and the time-stamp settings `tsa`.
pub async fn check_store<S: ObjectStore>(
    config: &Config,
    store: &S,
    trusted: Option<&[crate::checkpoint::PublicKey]>,
    tsa: &TsaCheck,
) -> anyhow::Result<crate::checkpoint::verify::CheckpointReport> {
    check_store_to(config, store, trusted, tsa, None).await
}

/// [`check_store`] with the chain's head as the reader found it (no listing of the chain).
pub async fn check_store_to<S: ObjectStore>(
    config: &Config,
    store: &S,
    trusted: Option<&[crate::checkpoint::PublicKey]>,
    tsa: &TsaCheck,
    head: Option<u64>,
) -> anyhow::Result<crate::checkpoint::verify::CheckpointReport> {
    let witness = open_witness(config).await?;
    Ok(crate::checkpoint::verify::verify_to(store, witness.as_ref(), trusted, tsa, head).await?)
}
