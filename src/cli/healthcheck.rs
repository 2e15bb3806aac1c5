//! `evidenced healthcheck`: the ECS container health check (the runtime image has no curl).

use std::path::PathBuf;

use super::{EXIT_OK, EXIT_PROBLEMS};
use crate::config::Config;
use crate::daemon::health::HealthState;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Health state file written by `evidenced run` (default: [daemon] health_file).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let path = args
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(&config.daemon.health_file));
    let verdict = HealthState::read(&path)
        .map_err(|e| format!("no readable health state: {e}"))
        .and_then(|s| s.judge(time::OffsetDateTime::now_utc()));
    match verdict {
        Ok(msg) => {
            println!("{msg}");
            Ok(EXIT_OK)
        }
        Err(reason) => {
            println!("unhealthy: {reason}");
            Ok(EXIT_PROBLEMS)
        }
    }
}
