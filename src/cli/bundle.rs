//! `evidenced bundle --from TIME --to TIME -o FILE.tar.gz` (or `-o -` for standard output)

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::report::window;
use super::{Format, UsageError, EXIT_OK, EXIT_PROBLEMS};
use crate::bundle::{self, BundleError, BundleSpec, Destination, Progress, Seal};
use crate::chain::EvidenceStore;
use crate::config::Config;
use crate::digest::Digest;
use crate::requirements::catalog::DEFAULT_CATALOG;
use crate::requirements::loaded::Loaded;
use crate::requirements::Catalog;
use crate::store::AnyStore;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Start of the review period: RFC 3339 or a date.
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// End of the review period: RFC 3339, or a date (the end of that day).
    #[arg(long, value_name = "TIME")]
    pub to: String,
    /// Evaluation time of the bundled report. Default: --to, or now if that is earlier.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Where to write the bundle (.tar.gz). An existing file is refused unless --force.
    /// `-` writes the archive to standard output (not a terminal); the summary then goes
    /// to standard error.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Summary format: one line, or a JSON object (output, records, last_seq, first_seq
    /// (an excerpt's first record after record 1, else null), first_period_seq, blobs, checkpoint_seq, bytes, sha256, verified, signed).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
    /// Requirements catalog (TOML). Default: the built-in config/requirements.toml.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Warn this many days before a requirement lapses (overrides the catalog).
    #[arg(long, value_name = "DAYS")]
    pub lead_days: Option<u32>,
    /// Verify the whole store first (every record object, blob and checkpoint, as
    /// `evidenced verify` does) instead of only what the bundled report reads. Either way
    /// the auditor's `evidenced verify BUNDLE` checks everything the bundle carries.
    #[arg(long)]
    pub verify_all: bool,
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let to_stdout = args.output.as_os_str() == "-";
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(UsageError(
            "-o -: standard output is a terminal; redirect it to a file or a pipe, or give -o FILE"
                .into(),
        )
        .into());
    }
    // `/dev/null` and other non-files are not bundles someone could lose.
    if !to_stdout && !args.force && args.output.is_file() {
        return Err(UsageError(format!(
            "{}: the file exists; pass --force to replace it",
            args.output.display()
        ))
        .into());
    }
    let (catalog, text) = match &args.catalog {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| UsageError(format!("{}: {e}", p.display())))?;
            let c = Catalog::parse(&p.display().to_string(), &text)
                .map_err(|e| UsageError(e.to_string()))?;
            (c, text)
        }
        None => (
            Catalog::default_catalog().map_err(|e| UsageError(e.to_string()))?,
            DEFAULT_CATALOG.to_string(),
        ),
    };
    let mut w = window(args.at.as_deref(), Some(&args.from), Some(&args.to), None)?;
    if args.at.is_none() {
        w.at = w.to.min(crate::record::now_millis());
    }
    let options = super::report::options(config, args.lead_days);
    let store = super::open_chain(config).await?;
    let horizon = w.horizon(&catalog);
    // The records read are kept as read: a sealed bundle carries exactly those bytes.
    let mut loaded = Loaded::since(&catalog, horizon).carrying();
    loaded.refresh(&store).await?;
    crate::failpoint::hit("bundle-after-read");
    let checked = loaded.checked().clone();
    let carried = loaded.take_carried();
    let evidence = loaded.into_evidence();
    let basis = if args.verify_all {
        super::report::store_basis(config, &store).await?
    } else {
        super::report::read_basis(config, &store, &checked, horizon).await?
    };
    let verified = basis.verified;
    if !verified {
        eprintln!(
            "warning: the store does not verify; the bundled report says so at the top (run `evidenced verify`)"
        );
    }
    let signer = crate::checkpoint::AnySigner::from_config(config)
        .await
        .map_err(|e| UsageError(e.to_string()))?;
    let seal = match signer {
        Some(signer) => Some(KeySeal {
            config,
            store: &store,
            signer,
        }),
        None => {
            eprintln!(
                "warning: no checkpoint signing key is configured ([checkpoint] key_file, key_pem_env or kms_key_id), so the bundle carries no signed checkpoint of its last record: an auditor cannot detect a cut or rewritten tail (see `evidenced keygen`)"
            );
            None
        }
    };
    let display = (!config.cli.quiet && std::io::stderr().is_terminal()).then(ProgressLine::new);
    let show = |p: &Progress| {
        if let Some(d) = &display {
            d.show(p)
        }
    };
    let signed = seal.is_some();
    let spec = BundleSpec {
        window: w,
        catalog: &catalog,
        catalog_text: &text,
        options: &options,
        basis,
        evidence: &evidence,
        carried: &carried,
        seal: seal.as_ref().map(|s| s as &dyn Seal),
        progress: display
            .as_ref()
            .map(|_| &show as &(dyn Fn(&Progress) + Sync)),
    };
    let destination = match to_stdout {
        true => Destination::Stdout,
        false => Destination::File(&args.output),
    };
    let written = bundle::write(&store, &spec, destination).await;
    if let Some(d) = &display {
        d.clear();
    }
    let written = written.map_err(|e| match e {
        BundleError::Input(m) => anyhow::Error::new(UsageError(m)),
        other => anyhow::Error::new(other),
    })?;
    let m = &written.meta;
    let name = match to_stdout {
        true => "-".to_string(),
        false => args.output.display().to_string(),
    };
    let summary = match args.format {
        Format::Text => format!(
            "{name}: {} records ({}), {} blobs, checkpoint {}, {} bytes, {}",
            m.records,
            match m.first_seq {
                Some(f) => format!("1 and {f}..{}", m.last_seq),
                None => format!("1..{}", m.last_seq),
            },
            m.blobs,
            m.checkpoint_seq
                .map_or("none".to_string(), |s| s.to_string()),
            written.bytes,
            written.sha256
        ),
        Format::Json => format!(
            "{:#}",
            serde_json::json!({
                "output": name,
                "records": m.records,
                "last_seq": m.last_seq,
                "first_seq": m.first_seq,
                "first_period_seq": m.first_period_seq,
                "blobs": m.blobs,
                "checkpoint_seq": m.checkpoint_seq,
                "bytes": written.bytes,
                "sha256": written.sha256.to_string(),
                "verified": verified,
                "signed": signed,
            })
        ),
    };
    // The archive owns standard output when it goes there.
    match to_stdout {
        true => eprintln!("{summary}"),
        false => println!("{summary}"),
    }
    Ok(if verified { EXIT_OK } else { EXIT_PROBLEMS })
}

/// One line on standard error, redrawn at most ten times a second.
struct ProgressLine {
    last: Mutex<Option<Instant>>,
}

impl ProgressLine {
    fn new() -> ProgressLine {
        ProgressLine {
            last: Mutex::new(None),
        }
    }

    fn show(&self, p: &Progress) {
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        let now = Instant::now();
        let finished = p.records == p.records_total && p.blobs == p.blobs_total;
        if last.is_some_and(|t| now - t < Duration::from_millis(100)) && !finished {
            return;
        }
        *last = Some(now);
        eprint!(
            "\r\x1b[Kbundle: records {}/{}, blobs {}/{}, {:.1} MiB archived",
            p.records,
            p.records_total,
            p.blobs,
            p.blobs_total,
            p.bytes as f64 / (1024.0 * 1024.0)
        );
    }

    fn clear(&self) {
        eprint!("\r\x1b[K");
    }
}

/// Signs the checkpoint of a bundle's last record with the configured key, into the store
/// and the witness.
struct KeySeal<'a> {
    config: &'a Config,
    store: &'a EvidenceStore<AnyStore>,
    signer: crate::checkpoint::AnySigner,
}

impl Seal for KeySeal<'_> {
    fn seal(
        &self,
        seq: u64,
        hash: Digest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move {
            let witness = super::checkpoint::open_witness(self.config)
                .await
                .map_err(|e| e.to_string())?;
            crate::checkpoint::write_at(self.store, &self.signer, witness.as_ref(), seq, hash)
                .await
                .map_err(|e| e.to_string())?;
            super::checkpoint::time_stamp(self.config, self.store.backend(), witness.as_ref())
                .await;
            Ok(())
        })
    }
}
