//! `evidenced collect --once [--collector NAME]`

use super::{open_store, UsageError, EXIT_OK};
use crate::collect::{self, CollectError};
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run the configured collectors once and exit (the daemon runs them on their
    /// schedules).
    #[arg(long)]
    pub once: bool,
    /// Run only the [[collector]] with this name.
    #[arg(long, value_name = "NAME")]
    pub collector: Option<String>,
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
    super::checkpoint::after_commit(config, &store).await?;
    Ok(EXIT_OK)
}
