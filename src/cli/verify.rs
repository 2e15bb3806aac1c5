//! `evidenced verify`

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

use super::{open_store, Format, EXIT_OK, EXIT_PROBLEMS};
use crate::config::Config;
use crate::store::AnyStore;
use crate::verify::{self, Progress};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Blobs hashed at once. Default: the number of CPUs for a local store, 32 for S3.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
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

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let store = open_store(config).await?;
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let jobs = args.jobs.unwrap_or(match store.backend() {
        AnyStore::Local(_) => cpus,
        AnyStore::S3(_) => 32,
    });
    let report = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "verifying {bytes}/{total_bytes} {wide_bar} {binary_bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        verify::verify(store.backend(), jobs, &Bar(bar)).await?
    } else {
        verify::verify(store.backend(), jobs, &verify::Silent).await?
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Text => print!("{}", report.to_text()),
    }
    Ok(if report.ok { EXIT_OK } else { EXIT_PROBLEMS })
}
