//! `evidenced report`: evaluate the requirements catalog over the store (or a bundle).

use std::path::PathBuf;

use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

use super::{UsageError, EXIT_OK, EXIT_PROBLEMS};
use crate::chain::EvidenceStore;
use crate::config::Config;
use crate::report::{self, ReportFormat};
use crate::requirements::Basis;
use crate::requirements::{evaluate, Catalog, Evidence, Options, Window};
use crate::store::AnyStore;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Evaluation time ("now"): RFC 3339, or a date (midnight UTC). Default: now, or the
    /// bundle's evaluation time.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Start of the review period: RFC 3339 or a date. Default: the start of the fourth
    /// full quarter before the one holding --at (four whole quarters plus the current one).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the review period: RFC 3339, or a date (meaning the end of that day, 23:59:59Z).
    /// Default: --at.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Output format: md, html, json, csv (one row per requirement × period) or oscal
    /// (OSCAL 1.1 assessment results; docs/REPORTS.md).
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// With `--format csv`: one row per cited fact instead of per requirement × period.
    #[arg(long)]
    pub evidence: bool,
    /// Evaluate an auditor bundle offline instead of the store.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Requirements catalog (TOML). Default: the bundle's catalog, else the built-in
    /// config/requirements.toml.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Warn this many days before a requirement lapses (overrides the catalog).
    #[arg(long, value_name = "DAYS")]
    pub lead_days: Option<u32>,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// For CI gates: exit 1 when any requirement has one of these statuses
    /// (comma-separated: fail, due-soon, unknown), naming each on standard error. The report
    /// is written either way.
    #[arg(long, value_name = "STATUSES", value_delimiter = ',', value_enum)]
    pub fail_on: Vec<Gate>,
    /// Verify the whole store first (every record object, blob and checkpoint, as
    /// `evidenced verify` does) instead of only what the evaluation reads: the records
    /// from its horizon to the head, their links, and the blobs it reads. Its cost grows
    /// with the store's age.
    #[arg(long)]
    pub verify_all: bool,
}

/// A status that `--fail-on` turns into exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Gate {
    Fail,
    DueSoon,
    Unknown,
}

impl Gate {
    fn matches(self, s: crate::requirements::Status) -> bool {
        use crate::requirements::Status;
        matches!(
            (self, s),
            (Gate::Fail, Status::Fail)
                | (Gate::DueSoon, Status::DueSoon)
                | (Gate::Unknown, Status::Unknown)
        )
    }
}

/// Parse a command-line time: RFC 3339, or `YYYY-MM-DD` (at midnight UTC, or at the end
/// of that day when `end_of_day`).
pub fn parse_time(flag: &str, s: &str, end_of_day: bool) -> Result<OffsetDateTime, UsageError> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    match Date::parse(s, &fmt) {
        Ok(d) => {
            let t = d.with_time(Time::MIDNIGHT).assume_utc();
            Ok(if end_of_day {
                t + Duration::days(1) - Duration::seconds(1)
            } else {
                t
            })
        }
        Err(_) => Err(UsageError(format!(
            "{flag} {s:?}: expected an RFC 3339 time (2026-09-30T12:00:00Z) or a date (2026-09-30)"
        ))),
    }
}

/// Resolve --at / --from / --to, with defaults from `fallback` (a bundle's window).
pub fn window(
    at: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    fallback: Option<Window>,
) -> Result<Window, UsageError> {
    let at = match (at, fallback) {
        (Some(s), _) => parse_time("--at", s, false)?,
        (None, Some(w)) => w.at,
        (None, None) => crate::record::now_millis(),
    };
    let to = match (to, fallback) {
        (Some(s), _) => parse_time("--to", s, true)?,
        (None, Some(w)) => w.to,
        (None, None) => at,
    };
    let from = match (from, fallback) {
        (Some(s), _) => parse_time("--from", s, false)?,
        (None, Some(w)) => w.from,
        (None, None) => crate::requirements::periods::Span::default_review_start(at.min(to)),
    };
    if from > to {
        return Err(UsageError(format!(
            "--from {} is after --to {}",
            crate::human::fmt_time(from),
            crate::human::fmt_time(to)
        )));
    }
    Ok(Window { at, from, to })
}

/// Evaluation options from the command line and the configured collectors' schedules.
pub fn options(config: &Config, lead_days: Option<u32>) -> Options {
    Options {
        lead_days,
        ..Options::default()
    }
    .with_schedules(config.collectors.iter().map(|c| (c.name(), c.schedule())))
}

/// Verify the store (records, blobs, checkpoints against the configured witness) and say
/// what a report made from it stands on.
pub async fn store_basis(
    config: &Config,
    store: &EvidenceStore<AnyStore>,
) -> anyhow::Result<Basis> {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = match store.backend() {
        AnyStore::Local(_) => cpus,
        AnyStore::S3(_) => 32,
    };
    let report = crate::verify::verify(&store.objects(), jobs, &crate::verify::Silent).await?;
    basis_with_checkpoints(config, store, &report, None).await
}

/// The basis of `report`, with the store's checkpoints checked against the configured
/// witness and keys (up to `head` when given, else the highest record listed).
async fn basis_with_checkpoints(
    config: &Config,
    store: &EvidenceStore<AnyStore>,
    report: &crate::verify::Report,
    head: Option<u64>,
) -> anyhow::Result<Basis> {
    let trusted = super::verify::trusted(config)?;
    let tsa = super::checkpoint::tsa_check(config, None)?;
    let cps =
        super::checkpoint::check_store_to(config, &store.objects(), trusted.as_deref(), &tsa, head)
            .await?;
    let chain = crate::checkpoint::chain_id(store.backend()).await?;
    Ok(Basis::new(
        config.store.settings().url,
        chain,
        report,
        &cps,
        &[],
    ))
}

/// Say what a report stands on when only what its evaluation read was checked: the records
/// from `checked.first_seq` to the last one read (sequence and links; a valid checkpoint
/// at or after them vouches for their hashes), the blobs it read (digests), and the
/// checkpoints against the configured witness. Nothing read (an empty store, or nothing
/// recorded since the horizon) does not verify.
pub async fn read_basis(
    config: &Config,
    store: &EvidenceStore<AnyStore>,
    checked: &crate::requirements::loaded::Checked,
    horizon: OffsetDateTime,
) -> anyhow::Result<Basis> {
    let mut problems = checked.problems.clone();
    let mut head = checked.last;
    if head.is_none() {
        let h = store.head().await?;
        if h.seq > 0 {
            head = Some((h.seq, h.hash));
            problems.push(crate::verify::problem(
                "nothing-read",
                None,
                crate::chain::RECORDS_PREFIX,
                None,
                None,
                format!(
                    "no record was recorded since the evaluation's horizon ({}): nothing this report could stand on was checked",
                    crate::human::fmt_time(horizon)
                ),
            ));
        }
    }
    let report = crate::verify::Report {
        ok: problems.is_empty(),
        records: checked.records,
        blobs: checked.blobs,
        blob_bytes: checked.blob_bytes,
        head_seq: head.map(|h| h.0),
        head_hash: head.map(|h| h.1),
        problems,
        clock_skew: checked.clock_skew.clone(),
        segments: None,
        checkpoints: None,
    };
    let head = Some(store.head().await?.seq);
    let mut basis = basis_with_checkpoints(config, store, &report, head).await?;
    if let (Some(first), Some((last, _))) = (checked.first_seq, checked.last) {
        let before = match first {
            1 => "blobs the evaluation does not read were not checked".to_string(),
            _ => format!(
                "records before {first}, and blobs the evaluation does not read, were not checked"
            ),
        };
        basis.checked = Some(format!(
            "records {first} to {last} (from the evaluation's horizon, {}, to the head): their sequence, links and times; and the {} blob(s) the evaluation read; {before} (`evidenced verify`, or `--verify-all`, checks every object)",
            crate::human::fmt_time(horizon),
            checked.blobs
        ));
    }
    Ok(basis)
}

/// The basis of a report made from a bundle: the bundle verified as `verify BUNDLE` does.
async fn bundle_basis(
    config: &Config,
    path: &std::path::Path,
    opened: &crate::bundle::Opened,
) -> anyhow::Result<Basis> {
    let tsa = super::checkpoint::tsa_check(config, None)?;
    let (report, cps, extra) = super::verify::bundle_problems(opened, None, None, &tsa).await?;
    let chain = crate::checkpoint::chain_id(&opened.local_store()).await?;
    Ok(Basis::new(
        format!("bundle {}", path.display()),
        chain,
        &report,
        &cps,
        &extra,
    ))
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    if args.evidence && args.format != ReportFormat::Csv {
        return Err(UsageError("--evidence goes with --format csv".into()).into());
    }
    let (catalog, evidence, w, opts, basis) = match &args.bundle {
        Some(path) => {
            let opened = crate::bundle::open(path, &crate::bundle::Limits::default())
                .map_err(|e| UsageError(e.to_string()))?;
            let catalog = match &args.catalog {
                Some(p) => Catalog::load(p).map_err(|e| UsageError(e.to_string()))?,
                None => opened.catalog().map_err(|e| UsageError(e.to_string()))?,
            };
            let w = window(
                args.at.as_deref(),
                args.from.as_deref(),
                args.to.as_deref(),
                Some(
                    opened
                        .meta
                        .window()
                        .map_err(|e| UsageError(e.to_string()))?,
                ),
            )?;
            let evidence = Evidence::load(&opened.store(), &catalog).await?;
            let mut opts = opened.meta.options();
            opts.lead_days = args.lead_days.or(opts.lead_days);
            let basis = bundle_basis(config, path, &opened).await?;
            (catalog, evidence, w, opts, basis)
        }
        None => {
            let catalog = match &args.catalog {
                Some(p) => Catalog::load(p).map_err(|e| UsageError(e.to_string()))?,
                None => Catalog::default_catalog().map_err(|e| UsageError(e.to_string()))?,
            };
            let w = window(
                args.at.as_deref(),
                args.from.as_deref(),
                args.to.as_deref(),
                None,
            )?;
            let store = super::open_chain(config).await?;
            let horizon = w.horizon(&catalog);
            let (evidence, checked) = Evidence::load_since(&store, &catalog, horizon).await?;
            let basis = if args.verify_all {
                store_basis(config, &store).await?
            } else {
                read_basis(config, &store, &checked, horizon).await?
            };
            (catalog, evidence, w, options(config, args.lead_days), basis)
        }
    };
    let mut evaluation = evaluate(&catalog, &evidence, w, &opts);
    let verified = basis.verified;
    evaluation.basis = Some(basis);
    let text = if args.evidence {
        report::csv::evidence(&evaluation)
    } else {
        report::render(&evaluation, args.format)
    };
    match &args.output {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| UsageError(format!("{}: {e}", p.display())))?
        }
        None => print!("{text}"),
    }
    if !verified {
        eprintln!("error: the evidence under this report does not verify (see the report's header; run `evidenced verify`)");
        return Ok(EXIT_PROBLEMS);
    }
    let gated: Vec<_> = evaluation
        .requirements
        .iter()
        .filter(|r| args.fail_on.iter().any(|g| g.matches(r.status)))
        .collect();
    for r in &gated {
        eprintln!("{}: {} ({})", r.status.as_str(), r.id, r.title);
    }
    if !gated.is_empty() {
        eprintln!(
            "error: {} requirement(s) have a status named by --fail-on",
            gated.len()
        );
        return Ok(EXIT_PROBLEMS);
    }
    Ok(EXIT_OK)
}
