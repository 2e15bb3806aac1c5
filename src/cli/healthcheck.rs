//! `evidenced healthcheck`: the ECS container health check (the runtime image has no curl).

use std::path::PathBuf;

use super::{Format, EXIT_OK, EXIT_PROBLEMS};
use crate::config::Config;
use crate::daemon::health::HealthState;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Health state file written by `evidenced run` (default: [daemon] health_file).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format: one line, or a JSON object (`healthy`, `degraded`, `message`, and
    /// the state per collector when the health file could be read).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let path = args
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(&config.daemon.health_file));
    let state = HealthState::read(&path).map_err(|e| format!("no readable health state: {e}"));
    let verdict = state
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|s| s.judge(time::OffsetDateTime::now_utc()));
    let code = if verdict.is_ok() {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    };
    match (args.format, &verdict) {
        (Format::Text, Ok(msg)) => println!("{msg}"),
        (Format::Text, Err(reason)) => println!("unhealthy: {reason}"),
        (Format::Json, _) => {
            let collectors = state.as_ref().ok().map(|s| &s.collectors);
            let out = serde_json::json!({
                "healthy": verdict.is_ok(),
                "degraded": collectors.is_some_and(|c| c.iter().any(|c| c.degraded_runs > 0)),
                "message": match &verdict {
                    Ok(m) => m.clone(),
                    Err(r) => format!("unhealthy: {r}"),
                },
                "collectors": collectors,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(code)
}
