//! `evidenced report`: evaluate the requirements catalog over the store (or a bundle).

use std::path::PathBuf;

use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Time};

use super::{open_store, UsageError, EXIT_OK};
use crate::config::Config;
use crate::report::{self, ReportFormat};
use crate::requirements::{evaluate, Catalog, Evidence, Options, Window};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Evaluation time ("now"): RFC 3339, or a date (midnight UTC). Default: now, or the
    /// bundle's evaluation time.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Start of the review period: RFC 3339 or a date. Default: 365 days before --to.
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// End of the review period: RFC 3339, or a date (meaning the end of that day, 23:59:59Z).
    /// Default: --at.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
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
        (None, None) => to - Duration::days(365),
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

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let (catalog, evidence, w, opts) = match &args.bundle {
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
            (catalog, evidence, w, opts)
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
            let store = open_store(config).await?;
            let evidence = Evidence::load(&store, &catalog).await?;
            (catalog, evidence, w, options(config, args.lead_days))
        }
    };
    let evaluation = evaluate(&catalog, &evidence, w, &opts);
    let text = report::render(&evaluation, args.format);
    match &args.output {
        Some(p) => {
            std::fs::write(p, text).map_err(|e| UsageError(format!("{}: {e}", p.display())))?
        }
        None => print!("{text}"),
    }
    Ok(EXIT_OK)
}
