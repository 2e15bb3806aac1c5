//! `evidenced segments`: write the segments a store is missing (docs/FORMAT.md,
//! "Segments"): once after upgrading a store written before format 3, or after a writer
//! died before writing one. Writers and the daemon write new ones themselves.

use serde::Serialize;

use super::{Format, EXIT_OK};
use crate::chain::SEGMENT_RECORDS;
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: a sentence, or one JSON object (written, present, head, after).
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Serialize)]
struct Outcome {
    /// Segments this run wrote.
    written: u64,
    /// Segments the store holds now.
    present: u64,
    /// The chain's last record.
    head: u64,
    /// Records after the last complete segment (read one by one until 1,000 more exist).
    after: u64,
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let store = super::open_chain(config).await?;
    let written = store.backfill_segments().await?;
    let head = store.head().await?.seq;
    let present = store.segments().await?.len() as u64;
    let o = Outcome {
        written,
        present,
        head,
        after: head % SEGMENT_RECORDS,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&o)?),
        Format::Text => println!(
            "{} segment(s) written; {} present, covering records 1 to {}; {} record(s) after the last one",
            o.written,
            o.present,
            head - o.after,
            o.after
        ),
    }
    Ok(EXIT_OK)
}
