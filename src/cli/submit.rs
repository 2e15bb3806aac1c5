//! `evidenced submit FILE...`

use std::path::PathBuf;

use super::{open_store, Format, UsageError, EXIT_OK};
use crate::config::Config;
use crate::submit::{self, Outcome, SUBMIT_COLLECTOR};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Files to submit (.md with +++ TOML front matter, .toml, .json).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format: one line per file, or one JSON object with a `records` array (file,
    /// kind, id, outcome `stored` or `already-stored`, seq, hash). When a later file fails,
    /// the object still lists what was stored and carries the `error`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// One file in `--format json`.
#[derive(serde::Serialize)]
struct Stored {
    file: String,
    kind: String,
    id: String,
    outcome: &'static str,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hash: Option<String>,
}

/// What `--format json` prints.
#[derive(serde::Serialize)]
struct Summary<'a> {
    records: &'a [Stored],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn print_json(records: &[Stored], error: Option<String>) {
    let s = serde_json::to_string_pretty(&Summary { records, error })
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    println!("{s}");
}

/// The bytes of a file given on the command line, read through the opened handle and never
/// more than `max + 1` of them, whatever size it reports: a device or an endless pipe is
/// refused, not read until memory runs out. Regular files and pipes (`<(…)`) are read.
fn read_capped(path: &std::path::Path, name: &str, max: usize) -> Result<Vec<u8>, UsageError> {
    use std::io::Read as _;
    use std::os::unix::fs::FileTypeExt as _;
    let err = |e: std::io::Error| UsageError(format!("{name}: {e}"));
    let file = std::fs::File::open(path).map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    let ft = meta.file_type();
    if !ft.is_file() && !ft.is_fifo() {
        let kind = crate::collect::inbox::FileKind::of(ft);
        return Err(UsageError(format!(
            "{name}: a {kind}, not a regular file; nothing read"
        )));
    }
    let limit = |size: String| {
        UsageError(format!(
            "{name}: larger than {max} bytes ({size}); human records are limited to {max} bytes"
        ))
    };
    if meta.len() > max as u64 {
        return Err(limit(format!("it is {} bytes", meta.len())));
    }
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() > max {
        return Err(limit("more was read than its size said".into()));
    }
    Ok(bytes)
}

pub async fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let mut done = Vec::new();
    let result = store_all(config, args, &mut done).await;
    if args.format == Format::Json {
        print_json(&done, result.as_ref().err().map(|e| format!("{e:#}")));
    }
    result
}

/// Validate every file, then store each; `done` receives each file stored (or found stored).
async fn store_all(config: &Config, args: &Args, done: &mut Vec<Stored>) -> anyhow::Result<u8> {
    let now = time::OffsetDateTime::now_utc();
    // Validate everything before writing anything.
    let mut prepared = Vec::new();
    for path in &args.files {
        let name = path.display().to_string();
        let bytes = read_capped(path, &name, crate::human::MAX_SIZE)?;
        let human = crate::human::parse(&name, &bytes, now).map_err(submit::SubmitError::from)?;
        prepared.push((name, submit::prepare(human, SUBMIT_COLLECTOR)?));
    }
    let mut seen = std::collections::HashMap::new();
    for (name, p) in &prepared {
        let item = &p.draft.items[0].name;
        if let Some(other) = seen.insert(item.clone(), name.clone()) {
            return Err(UsageError(format!(
                "{name}: field `id`: {} {:?} is also submitted by {other}",
                p.human.kind, p.human.id
            ))
            .into());
        }
    }
    let store = open_store(config).await?;
    // Refuse early, before anything is written, when an id is held by other content. The
    // commit below decides again, atomically, through the id's claim.
    for (name, p) in &prepared {
        submit::check(&store, p, name)
            .await
            .map_err(|e| match e.is_input() {
                true => anyhow::Error::from(e),
                false => anyhow::Error::from(e).context("reading the store to check record ids"),
            })?;
    }
    let json = args.format == Format::Json;
    for (name, p) in prepared {
        let kind = p.human.kind.clone();
        let id = p.human.id.clone();
        let outcome = match submit::commit(&store, p, &name).await {
            Ok(o) => o,
            Err(e) if e.is_input() => return Err(e.into()),
            Err(e) => {
                return Err(anyhow::Error::from(e).context(format!("{name}: storing the record")))
            }
        };
        let (outcome, seq, hash) = match outcome {
            Outcome::Committed { seq, hash, .. } => {
                if !json {
                    println!("{name}: stored {kind} {id} as record {seq} ({hash})");
                }
                ("stored", seq, Some(hash.to_string()))
            }
            Outcome::AlreadyStored { seq } => {
                if !json {
                    println!(
                        "{name}: {kind} {id} is already stored as record {seq}; nothing written"
                    );
                }
                ("already-stored", seq, None)
            }
        };
        done.push(Stored {
            file: name,
            kind,
            id,
            outcome,
            seq,
            hash,
        });
    }
    super::checkpoint::after_commit(config, &store).await?;
    Ok(EXIT_OK)
}
