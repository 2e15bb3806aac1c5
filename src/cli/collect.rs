//! `evidenced collect --once [--collector NAME]`

use super::{open_store, Format, UsageError, EXIT_FAILURE, EXIT_OK, EXIT_PROBLEMS};
use crate::collect::{self, CollectError, RunReport};
use crate::config::Config;
use crate::record::Status;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run the configured collectors once and exit (the daemon runs them on their
    /// schedules). Exit 0 when every run is complete; 1 when any run was partial or failed
    /// (each such run is still recorded, and named on stderr, one line each); 3 when no usable
    /// AWS credentials were found (none at all, or an SSO session to renew).
    #[arg(long)]
    pub once: bool,
    /// Run only the [[collector]] with this name.
    #[arg(long, value_name = "NAME")]
    pub collector: Option<String>,
    /// Output format: one line per record, or a JSON array of the runs (collector, kind,
    /// seq, account, region, status, items, new_blob_bytes, errors). The exit code and the
    /// stderr lines naming degraded runs are the same in both.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// One run in `--format json`.
#[derive(serde::Serialize)]
struct JsonRun<'a> {
    collector: &'a str,
    kind: &'a str,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    status: &'static str,
    items: usize,
    new_blob_bytes: u64,
    errors: &'a [crate::record::RunError],
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    if !args.once {
        return Err(UsageError(
            "collect runs on schedules only inside the daemon; use `collect --once`".into(),
        )
        .into());
    }
    if config.collectors.is_empty() {
        return Err(UsageError(
            "no [[collector]] is configured; see config/evidenced.example.toml".into(),
        )
        .into());
    }
    let store = open_store(config).await?;
    let reports = match collect::run_once(&store, config, args.collector.as_deref()).await {
        Ok(r) => r,
        Err(CollectError::NoSuchCollector(n)) => {
            return Err(UsageError(format!("no [[collector]] is named {n:?}")).into())
        }
        Err(e) => return Err(e.into()),
    };
    match args.format {
        Format::Json => {
            let runs: Vec<JsonRun> = reports
                .iter()
                .map(|r| JsonRun {
                    collector: &r.collector,
                    kind: &r.kind,
                    seq: r.seq,
                    account: r.scope.account.as_deref(),
                    region: r.scope.region.as_deref(),
                    status: r.status.as_str(),
                    items: r.items,
                    new_blob_bytes: r.new_blob_bytes,
                    errors: &r.errors,
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&runs)?);
        }
        Format::Text => {
            for r in &reports {
                let scope = match (&r.scope.account, &r.scope.region) {
                    (Some(a), Some(g)) => format!(" {a}/{g}"),
                    (Some(a), None) => format!(" {a}"),
                    _ => String::new(),
                };
                println!(
                    "{}{scope}: record {} {} {} ({} items, {} new blob bytes)",
                    r.collector,
                    r.seq,
                    r.kind,
                    r.status.as_str(),
                    r.items,
                    r.new_blob_bytes
                );
                for e in &r.errors {
                    let region = e
                        .region
                        .as_deref()
                        .map(|g| format!(" [{g}]"))
                        .unwrap_or_default();
                    println!("  {}{region}: {}", e.operation, e.message);
                }
            }
        }
    }
    super::checkpoint::after_commit(config, &store).await?;
    let degraded: Vec<&RunReport> = reports
        .iter()
        .filter(|r| r.status != Status::Complete)
        .collect();
    for r in &degraded {
        eprintln!("{}", problem_line(r));
    }
    if let Some(e) = degraded
        .iter()
        .flat_map(|r| r.errors.iter())
        .find(|e| collect::calls::is_credentials_message(&e.message))
    {
        eprintln!("error: {}", e.message);
        return Ok(EXIT_FAILURE);
    }
    Ok(if degraded.is_empty() {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    })
}

/// One line naming a partial or failed run: collector, account, region, status and its
/// first error, e.g. `backup account 111122223333 region eu-west-1: partial:
/// backup:ListBackupJobs: AccessDeniedException: ...`.
pub(super) fn problem_line(r: &RunReport) -> String {
    let mut scope = String::new();
    if let Some(a) = &r.scope.account {
        scope.push_str(&format!(" account {a}"));
    }
    if let Some(g) = &r.scope.region {
        scope.push_str(&format!(" region {g}"));
    }
    let first = r
        .errors
        .first()
        .map(|e| format!("{}: {}", e.operation, e.message))
        .unwrap_or_else(|| "no error recorded".into());
    format!("{}{scope}: {}: {first}", r.collector, r.status.as_str())
}
