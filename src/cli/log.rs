//! `evidenced log`

use serde::Serialize;

use super::{Format, EXIT_OK};
use crate::config::Config;
use crate::digest::Digest;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format: one line per record, or a JSON array.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(Serialize)]
struct Line {
    seq: u64,
    recorded_at: String,
    collector: String,
    kind: String,
    status: &'static str,
    items: usize,
    errors: usize,
    hash: Digest,
}

/// RFC 3339 UTC with exactly three fraction digits, so the text log's columns line up.
fn fixed_millis(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format)
        .unwrap_or_else(|_| crate::human::fmt_time(t))
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let store = super::open_chain(config).await?;
    let records = store.records().await?;
    let lines: Vec<Line> = records
        .iter()
        .map(|r| Line {
            seq: r.seq,
            recorded_at: fixed_millis(r.record.recorded_at),
            collector: r.record.collector.clone(),
            kind: r.record.kind.clone(),
            status: r.record.status.as_str(),
            items: r.record.items.len(),
            errors: r.record.errors.len(),
            hash: r.hash,
        })
        .collect();
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&lines)?),
        Format::Text => {
            for l in &lines {
                println!(
                    "{:>6}  {}  {:<28}  {:<8}  {:>3} items  {}",
                    l.seq,
                    l.recorded_at,
                    format!("{}/{}", l.collector, l.kind),
                    l.status,
                    l.items,
                    l.hash
                );
            }
            if lines.is_empty() {
                eprintln!("the store is empty");
            }
        }
    }
    Ok(EXIT_OK)
}
