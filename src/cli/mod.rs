//! The command line: `evidenced [--config FILE] [--store URL] <command>`.
//!
//! Exit codes: 0 ok; 1 verification found problems; 2 bad usage, configuration or input;
//! 3 the work could not be completed (store or AWS unreachable, I/O error).

mod bundle;
mod checkpoint;
mod collect;
mod docs;
mod healthcheck;
mod log;
mod report;
mod run;
mod segments;
mod submit;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::chain::EvidenceStore;
use crate::config::{Config, ConfigError};
use crate::store::{AnyStore, ReadCache, StoreLocation, DEFAULT_MEMORY_BUDGET};

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: verification found problems.
pub const EXIT_PROBLEMS: u8 = 1;
/// Exit code: bad usage, configuration or input.
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the work could not be completed.
pub const EXIT_FAILURE: u8 = 3;

/// Continuously collected, tamper-evident evidence for AWS FTR and Competency reviews.
///
/// evidenced keeps evidence (AWS state, backup and restore records, drill logs) in a
/// hash-chained, content-addressed store that an auditor can verify offline.
#[derive(Debug, Parser)]
#[command(name = "evidenced", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (TOML). Environment variables EVIDENCED_<SECTION>__<KEY>
    /// override it, e.g. EVIDENCED_STORE__URL.
    #[arg(long, global = true, env = "EVIDENCED_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Evidence store: a directory, a file:// URL, or s3://bucket/prefix. Overrides the
    /// configuration's [store] url. Default: ./evidence
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,

    /// Checkpoint witness: a directory or s3://bucket/prefix holding copies of the
    /// checkpoints (ideally in another account). Overrides [checkpoint] witness.
    #[arg(long, global = true, value_name = "URL")]
    pub witness: Option<String>,

    /// Trust only this Ed25519 public key (PEM) for checkpoints; repeatable. Default: the
    /// keys kept under chain/keys/ (compare their ids with one obtained out of band).
    /// Given, verify requires a checkpoint that vouches for the head.
    #[arg(long, global = true, value_name = "FILE")]
    pub public_key: Vec<PathBuf>,

    /// For verify, log, report and bundle: accept a location with no evidence chain (an
    /// empty store) instead of exiting 2 with "no evidence chain at URL".
    #[arg(long, global = true)]
    pub allow_empty: bool,

    /// For verify, log, report and bundle: keep the immutable objects read from the store
    /// (records, blobs, checkpoints) in this directory, and read them from it next time.
    /// Each entry is checked against its SHA-256 (a blob's against its digest) and fetched
    /// again when damaged. Use no cache to verify a store you do not trust.
    #[arg(long, global = true, env = "EVIDENCED_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// AWS profile (from ~/.aws/config: static keys, SSO, credential_process, assumed role)
    /// for the collectors and an S3 store, as the AWS CLI's --profile. Overrides
    /// AWS_PROFILE and [aws] profile.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// AWS region, as the AWS CLI's --region: the one region collected (replaces [aws]
    /// regions) and the S3 store's region unless [store] region is set.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Endpoint for every AWS service and the S3 store (an emulator, a VPC endpoint), as
    /// the AWS CLI's --endpoint-url. Overrides [aws] endpoint_url and [store] endpoint_url.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// More log output: -v info, -vv debug, -vvv trace (RUST_LOG, when set, wins).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Less log output: errors only (RUST_LOG, when set, wins).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The log verbosity asked for: -1 with `-q`, +n with `-v` repeated n times.
    pub fn verbosity(&self) -> i8 {
        if self.quiet {
            -1
        } else {
            self.verbose.min(3) as i8
        }
    }
}

/// Output format for commands that print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Accept human records: drill logs, restore-test records, RTO/RPO objectives, access
    /// reviews, major changes, and reviewed declarations (public-bucket allowlist, data
    /// classification, backup scope), as Markdown with +++ TOML front matter, TOML, or JSON
    /// (examples in config/examples/).
    ///
    /// Every file is validated before anything is written; if any file is invalid the
    /// command exits 2, names the file and the field, and stores nothing. Each valid file
    /// becomes one record holding its original bytes and its normalised form.
    /// Resubmitting identical content is a no-op.
    Submit(submit::Args),
    /// Verify the store or an auditor bundle: every record link and hash, sequence
    /// continuity, every referenced blob's presence and digest.
    ///
    /// Each problem is reported with its place (sequence, key, expected and actual
    /// value). Exit 0 when clean, 1 when any problem is found.
    Verify(verify::Args),
    /// Show the chain, one line per record: sequence, recorded time, collector/kind,
    /// status, item count, record hash.
    Log(log::Args),
    /// Run the configured collectors: AWS Backup, Config, CloudWatch, S3 posture and the
    /// drill inbox, all at once. Each run in each account and region is one record,
    /// complete, partial or failed; a failed run is recorded, never skipped.
    Collect(collect::Args),
    /// Run as a service: every [[collector]] on its cron schedule (6 fields, UTC), one run
    /// at a time per collector, catch-up at start, graceful shutdown on SIGTERM within
    /// [daemon] shutdown_deadline_secs. Logs JSON lines on stdout.
    Run(run::Args),
    /// Check that the running daemon is alive (the ECS container health check): exit 1
    /// only when it is dead (no heartbeat for three beats) or stuck (a collector has
    /// committed nothing for more than twice its schedule); exit 0 otherwise.
    ///
    /// Partial and failed runs (a missing permission, an HTTP 500, a rejected inbox file)
    /// are degradation, not ill health: they are recorded in the chain, logged as warnings,
    /// counted in the RunsFailed metric and named in the "healthy, degraded" answer, but
    /// never make the check fail, so ECS does not replace a task that a restart cannot fix.
    Healthcheck(healthcheck::Args),
    /// Evaluate the requirements catalog over the evidence recorded since its horizon (the
    /// catalog's lookback before the review period), checking what it reads, and report,
    /// for each requirement: status (pass, fail, due-soon, unknown), next due date, the
    /// evidence cited and findings (docs/RULES.md). The header names the store, chain,
    /// head, what was verified, the horizon and the catalog; exit 1 when the evidence does
    /// not verify.
    Report(report::Args),
    /// Write an auditor bundle (.tar.gz) for a review period: the chain through the end of
    /// the period (with a signing key: record 1 and the records from the report's horizon,
    /// anchored by a signed checkpoint), the blobs of the period and those the report
    /// reads, checkpoints, public keys, the report in JSON, Markdown and HTML, the format
    /// docs, VERIFY.md and a SHA-256 MANIFEST.
    Bundle(bundle::Args),
    /// Write the segments the store is missing: copies of each 1,000 records in one
    /// object, so that reading the chain costs a request per 1,000 records
    /// (docs/FORMAT.md, "Segments"). Run once after upgrading a store written before
    /// format 3; writers and the daemon write new segments themselves. Never changes a
    /// record.
    Segments(segments::Args),
    /// Create an Ed25519 signing key file for checkpoints (`[checkpoint] key_file`).
    Keygen(checkpoint::KeygenArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff), or write one page per command with --dir.
    Man(docs::ManArgs),
}

/// Errors that are the caller's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Resolve configuration: file, then environment, then flags.
pub fn load_config(cli: &Cli) -> Result<Config, ConfigError> {
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(url) = &cli.store {
        config.store.url = url.clone();
    }
    if let Some(url) = &cli.witness {
        config.checkpoint.witness = Some(url.clone());
    }
    if let Some(p) = &cli.profile {
        config.aws.profile = Some(p.clone());
    }
    if let Some(r) = &cli.region {
        config.aws.regions = vec![r.clone()];
        if config.store.region.is_none() {
            config.store.region = Some(r.clone());
        }
    }
    if let Some(url) = &cli.endpoint_url {
        config.aws.endpoint_url = Some(url.clone());
        config.store.endpoint_url = Some(url.clone());
    }
    config.cli = crate::config::CliSettings {
        allow_empty: cli.allow_empty,
        public_keys: cli.public_key.clone(),
        quiet: cli.quiet,
        cache_dir: cli.cache_dir.clone(),
    };
    Ok(config)
}

/// Open the configured store for reading evidence (verify, log, report, bundle): a
/// location that holds no chain, a missing directory, an empty one, a missing bucket or a
/// mistyped prefix, is an error (exit 2), never an empty success, unless `--allow-empty`.
pub async fn open_chain(config: &Config) -> anyhow::Result<EvidenceStore<AnyStore>> {
    let url = config.store.settings().url;
    // These commands read much of the store: never the same immutable object twice.
    let dir = config
        .cli
        .cache_dir
        .as_deref()
        .map(|d| ReadCache::store_dir(d, &url));
    let store = open_store(config)
        .await?
        .with_cache(ReadCache::new(DEFAULT_MEMORY_BUDGET, dir));
    if config.cli.allow_empty {
        return Ok(store);
    }
    let none = |why: String| {
        anyhow::Error::new(UsageError(format!(
            "no evidence chain at {url}: {why}; check --store (or [store] url), or pass --allow-empty to accept an empty store"
        )))
    };
    match store.head().await {
        Ok(h) if h.seq > 0 => Ok(store),
        Ok(_) => Err(none(match store.backend() {
            AnyStore::Local(l) if !l.root().exists() => "the directory does not exist".into(),
            AnyStore::Local(_) => "it holds no record (no chain/records/)".into(),
            AnyStore::S3(_) => "no record under this prefix (chain/records/)".into(),
        })),
        Err(crate::chain::ChainError::Store(e)) if e.to_string().contains("NoSuchBucket") => {
            Err(none("the bucket does not exist".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Open the configured store. An S3 store shares the `[aws]` SDK settings (timeouts,
/// retries, connection-pool idle timeout) with the collectors.
pub async fn open_store(config: &Config) -> anyhow::Result<EvidenceStore<AnyStore>> {
    let settings = config.store.settings();
    let sdk = match StoreLocation::parse(&settings.url) {
        Ok(StoreLocation::S3 { .. }) => Some(crate::collect::aws::sdk_config(&config.aws).await),
        _ => None,
    };
    let store = AnyStore::open(&settings, sdk.as_ref())
        .await
        .map_err(|e| UsageError(e.to_string()))?;
    Ok(EvidenceStore::new(store))
}

/// Run the parsed command and return the process exit code.
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    // Generated from the definitions alone: no configuration is read.
    match &cli.command {
        Command::Completions(args) => return docs::completions(args),
        Command::Man(args) => return docs::man(args),
        _ => {}
    }
    let config = load_config(&cli)?;
    let code = match &cli.command {
        Command::Submit(args) => submit::run(&config, args).await,
        Command::Verify(args) => verify::run(&config, args).await,
        Command::Log(args) => log::run(&config, args).await,
        Command::Collect(args) => collect::run(&config, args).await,
        Command::Run(args) => run::run(&config, args).await,
        Command::Healthcheck(args) => healthcheck::run(&config, args).await,
        Command::Report(args) => report::run(&config, args).await,
        Command::Bundle(args) => bundle::run(&config, args).await,
        Command::Segments(args) => segments::run(&config, args).await,
        Command::Keygen(args) => checkpoint::keygen(args),
        Command::Completions(_) | Command::Man(_) => Ok(EXIT_OK),
    };
    crate::store::stats::print_if_asked();
    code
}

/// The exit code for an error that ended a command.
pub fn exit_code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.is::<UsageError>() || cause.is::<ConfigError>() {
            return EXIT_USAGE;
        }
        if let Some(e) = cause.downcast_ref::<crate::submit::SubmitError>() {
            if e.is_input() {
                return EXIT_USAGE;
            }
        }
    }
    EXIT_FAILURE
}
