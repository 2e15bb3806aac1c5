//! `evidenced verify [BUNDLE]`

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use super::{Format, UsageError, EXIT_OK, EXIT_PROBLEMS};
use crate::bundle::{self, Limits};
use crate::config::Config;
use crate::store::{AnyStore, LocalStore, ObjectStore};
use crate::verify::{self, Problem, Progress, Report};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An auditor bundle (.tar.gz) to verify offline instead of the store: safe extraction,
    /// MANIFEST, chain, blobs and checkpoints.
    #[arg(value_name = "BUNDLE")]
    pub bundle: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Blobs hashed at once. Default: the number of CPUs for a local store, 32 for S3.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Fail (exit 1) when no valid checkpoint vouches for the head: the last record of the
    /// store, or of the bundle. Default: on when [checkpoint] key_file, kms_key_id or witness is
    /// configured (or --witness / --public-key is given), and for a bundle made with a
    /// signing key.
    #[arg(long, overrides_with = "no_require_checkpoint")]
    pub require_checkpoint: bool,
    /// Do not fail when nothing vouches for the head (it is still reported).
    #[arg(long, overrides_with = "require_checkpoint")]
    pub no_require_checkpoint: bool,
    /// Largest bundle member accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_member)]
    pub max_member_bytes: u64,
    /// Largest total extracted size accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_total)]
    pub max_total_bytes: u64,
    /// PEM file of the trusted root certificate(s) of the RFC 3161 Time-Stamping Authority:
    /// check each time-stamp token's certificate chain (default: [checkpoint] tsa_roots).
    #[arg(long, value_name = "FILE")]
    pub tsa_roots: Option<PathBuf>,
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Verify a whole store (`excerpt` None) or a bundle's excerpt of one (from record 1, or
/// record 1 and the records from the given sequence on), with a progress bar on a terminal.
async fn walk<S: ObjectStore>(
    store: &S,
    jobs: usize,
    excerpt: Option<Option<u64>>,
) -> anyhow::Result<Report> {
    let bar;
    let progress: &dyn verify::Progress = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "verifying {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar = Bar(b);
        &bar
    } else {
        &verify::Silent
    };
    Ok(match excerpt {
        Some(first_seq) => verify::verify_excerpt(store, jobs, progress, first_seq).await?,
        None => verify::verify(store, jobs, progress).await?,
    })
}

/// The keys given with `--public-key`, or `None` to use the keys kept in the store.
pub fn trusted(config: &Config) -> anyhow::Result<Option<Vec<crate::checkpoint::PublicKey>>> {
    if config.cli.public_keys.is_empty() {
        return Ok(None);
    }
    let mut keys = Vec::new();
    for p in &config.cli.public_keys {
        let text =
            std::fs::read_to_string(p).map_err(|e| UsageError(format!("{}: {e}", p.display())))?;
        let key = crate::checkpoint::parse_public_pem(&text).ok_or_else(|| {
            UsageError(format!(
                "{}: not an Ed25519 or P-256 public key in PEM (SubjectPublicKeyInfo) form",
                p.display()
            ))
        })?;
        keys.push(key);
    }
    Ok(Some(keys))
}

/// Whether the head must be vouched for: the flags, else `default`.
fn required(args: &Args, default: bool) -> bool {
    match (args.require_checkpoint, args.no_require_checkpoint) {
        (true, _) => true,
        (_, true) => false,
        _ => default,
    }
}

/// What the checkpoints vouch for, and the `unvouched-head` problem when it is required
/// and the head is not vouched for.
fn vouching(
    report: &Report,
    cps: &crate::checkpoint::verify::CheckpointReport,
    required: bool,
    key: &str,
) -> (verify::Vouching, Option<Problem>) {
    let head = report.head_seq.unwrap_or(0);
    let v = verify::Vouching {
        checked: cps.checked,
        signers: cps.signers.iter().cloned().collect(),
        vouched_seq: cps.covered_seq,
        unvouched: head.saturating_sub(cps.covered_seq.unwrap_or(0)),
        required,
        timestamps: cps.timestamps.summary(),
    };
    let problem = (required && v.unvouched > 0).then(|| Problem {
        check: "unvouched-head",
        seq: report.head_seq,
        key: key.to_string(),
        expected: Some(format!("a valid checkpoint of record {head}")),
        actual: Some(match cps.covered_seq {
            Some(s) => format!("the latest valid checkpoint vouches up to record {s}"),
            None => "no valid checkpoint".into(),
        }),
        message: format!(
            "nothing signed vouches for records {}..{head}: the tail could have been cut or rewritten unnoticed (a checkpoint is written after each committed run; run `evidenced verify --no-require-checkpoint` to see the rest)",
            cps.covered_seq.unwrap_or(0) + 1
        ),
    });
    (v, problem)
}

fn finish(mut report: Report, extra: Vec<Problem>, args: &Args) -> anyhow::Result<u8> {
    report.problems.extend(extra);
    report.ok = report.problems.is_empty();
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", report.to_text()),
    }
    Ok(if report.ok { EXIT_OK } else { EXIT_PROBLEMS })
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let trusted = trusted(config)?;
    let tsa = super::checkpoint::tsa_check(config, args.tsa_roots.as_deref())?;
    if let Some(path) = &args.bundle {
        return verify_bundle(path, args, cpus, trusted.as_deref(), &tsa).await;
    }
    let store = super::open_chain(config).await?;
    let jobs = args.jobs.unwrap_or(match store.backend() {
        AnyStore::Local(_) => cpus,
        AnyStore::S3(_) => 32,
    });
    let mut report = walk(&store.objects(), jobs, None).await?;
    let cps =
        super::checkpoint::check_store(config, &store.objects(), trusted.as_deref(), &tsa).await?;
    let default =
        config.checkpoint.signs() || config.checkpoint.witness.is_some() || trusted.is_some();
    let (v, unvouched) = vouching(&report, &cps, required(args, default), "chain/checkpoints/");
    report.checkpoints = Some(v);
    let mut extra = cps.problems;
    extra.extend(unvouched);
    finish(report, extra, args)
}

async fn verify_bundle(
    path: &std::path::Path,
    args: &Args,
    cpus: usize,
    trusted: Option<&[crate::checkpoint::PublicKey]>,
    tsa: &crate::checkpoint::tsa_verify::TsaCheck,
) -> anyhow::Result<u8> {
    let limits = Limits {
        max_member: args.max_member_bytes,
        max_total: args.max_total_bytes,
        ..Limits::default()
    };
    let opened = match bundle::open(path, &limits) {
        Ok(o) => o,
        Err(e @ (bundle::BundleError::Unsafe { .. } | bundle::BundleError::Malformed { .. })) => {
            let empty = Report {
                ok: false,
                records: 0,
                blobs: 0,
                blob_bytes: 0,
                head_seq: None,
                head_hash: None,
                problems: Vec::new(),
                clock_skew: None,
                segments: None,
                checkpoints: None,
            };
            let key = match &e {
                bundle::BundleError::Unsafe { member, .. } => member.clone(),
                bundle::BundleError::Malformed { file, .. } => file.clone(),
                _ => path.display().to_string(),
            };
            let p = Problem {
                check: "unsafe-or-malformed-bundle",
                seq: None,
                key,
                expected: None,
                actual: None,
                message: format!("{e}; nothing was extracted outside a temporary directory"),
            };
            return finish(empty, vec![p], args);
        }
        Err(e) => return Err(UsageError(e.to_string()).into()),
    };
    let (mut report, cps, mut extra) =
        bundle_problems(&opened, Some(args.jobs.unwrap_or(cpus)), trusted, tsa).await?;
    let made_with_key = opened.meta.checkpoint_seq.is_some();
    let (v, unvouched) = vouching(
        &report,
        &cps,
        required(args, made_with_key || trusted.is_some()),
        &format!("{}/chain/checkpoints/", bundle::STORE_DIR),
    );
    if v.vouched_seq.is_none() {
        eprintln!(
            "warning: the bundle holds no valid checkpoint: nothing signed vouches for its records, so a cut or rewritten tail cannot be detected"
        );
    }
    report.checkpoints = Some(v);
    extra.extend(unvouched);
    finish(report, extra, args)
}

/// Verify an opened bundle: MANIFEST, the bundled report, chain, blobs, checkpoints and
/// the bundle's own metadata. Problem keys are paths inside the bundle.
pub async fn bundle_problems(
    opened: &bundle::Opened,
    jobs: Option<usize>,
    trusted: Option<&[crate::checkpoint::PublicKey]>,
    tsa: &crate::checkpoint::tsa_verify::TsaCheck,
) -> anyhow::Result<(
    Report,
    crate::checkpoint::verify::CheckpointReport,
    Vec<Problem>,
)> {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let cpus = jobs.unwrap_or(cpus);
    let mut extra = bundle::check_manifest(opened.root());
    extra.extend(bundle::check_report(opened).await);
    let store = opened.local_store();
    let first_seq = opened.meta.first_seq;
    let mut report = walk(&store, cpus, Some(first_seq)).await?;
    // Blobs of records recorded before the period are included only when the report reads
    // them; their absence is expected, not damage.
    let excused = bundle::read::excused_blobs(opened).await?;
    report.problems.retain(|p| {
        !(p.check == "missing-blob" && p.expected.as_ref().is_some_and(|d| excused.contains(d)))
    });
    let mut cps =
        crate::checkpoint::verify::verify(&store, None::<&LocalStore>, trusted, tsa).await?;
    // Name places as paths inside the bundle.
    for p in report.problems.iter_mut() {
        p.key = format!("{}/{}", bundle::STORE_DIR, p.key);
    }
    extra.extend(cps.problems.drain(..).map(|mut p| {
        p.key = format!("{}/{}", bundle::STORE_DIR, p.key);
        p
    }));
    extra.extend(meta_problems(opened, &store).await?);
    if let Some(first) = first_seq {
        // Nothing but a signed checkpoint ties records `first..` to record 1: one must vouch
        // for a record of the excerpt.
        if cps.covered_seq.is_none_or(|c| c < first) {
            extra.push(Problem {
                check: "excerpt-unanchored",
                seq: Some(first),
                key: format!("{}#first_seq", bundle::META),
                expected: Some(format!("a valid checkpoint of a record from {first} on")),
                actual: cps.covered_seq.map(|c| format!("the highest vouches for record {c}")),
                message: format!(
                    "the bundle carries record 1 and records {first} to {}, and no valid checkpoint vouches for any of {first} to {}: nothing ties them to the chain record 1 names",
                    opened.meta.last_seq, opened.meta.last_seq
                ),
            });
        }
    }
    if report.head_seq != Some(opened.meta.last_seq) {
        extra.push(Problem {
            check: "bundle-truncated",
            seq: report.head_seq,
            key: bundle::META.to_string(),
            expected: Some(opened.meta.last_seq.to_string()),
            actual: report.head_seq.map(|s| s.to_string()),
            message: format!(
                "{} says the bundle holds records 1..{} but the chain in it ends at {}",
                bundle::META,
                opened.meta.last_seq,
                report.head_seq.unwrap_or(0)
            ),
        });
    }
    Ok((report, cps, extra))
}

/// `bundle-meta-mismatch`: bundle.json's `chain`, `records` and `checkpoint_seq` against
/// what the bundle holds.
async fn meta_problems(
    opened: &bundle::Opened,
    store: &LocalStore,
) -> anyhow::Result<Vec<Problem>> {
    let meta = &opened.meta;
    let mut out = Vec::new();
    let mut mismatch = |field: &str, expected: String, actual: String| {
        out.push(Problem {
            check: "bundle-meta-mismatch",
            seq: None,
            key: format!("{}#{field}", bundle::META),
            message: format!(
                "{} says {field} is {actual} but the bundle's contents give {expected}",
                bundle::META
            ),
            expected: Some(expected),
            actual: Some(actual),
        });
    };
    let chain = crate::checkpoint::chain_id(store).await?;
    let chain = chain.map_or_else(|| "none (no record 1)".to_string(), |d| d.to_string());
    if chain != meta.chain {
        mismatch("chain", chain, meta.chain.clone());
    }
    let seqs: Vec<u64> = store
        .list(crate::chain::RECORDS_PREFIX)
        .await?
        .iter()
        .filter_map(|k| crate::chain::parse_record_key(k))
        .collect();
    let records = seqs.len() as u64;
    if records != meta.records {
        mismatch("records", records.to_string(), meta.records.to_string());
    }
    if let Some(first) = meta.first_seq {
        let after_1 = seqs.iter().copied().filter(|s| *s > 1).min();
        if after_1 != Some(first) {
            let show = |s: Option<u64>| s.map_or("none".to_string(), |s| s.to_string());
            mismatch("first_seq", show(after_1), first.to_string());
        }
    }
    let checkpoint = store
        .list(crate::checkpoint::CHECKPOINTS_PREFIX)
        .await?
        .iter()
        .filter_map(|k| crate::checkpoint::parse_checkpoint_key(k))
        .filter(|s| *s <= meta.last_seq)
        .max();
    if checkpoint != meta.checkpoint_seq {
        let show = |s: Option<u64>| s.map_or("null".to_string(), |s| s.to_string());
        mismatch(
            "checkpoint_seq",
            show(checkpoint),
            show(meta.checkpoint_seq),
        );
    }
    Ok(out)
}
