//! `evidenced completions SHELL` and `evidenced man`: shell completions and man pages
//! generated from the command line's own definitions, so they cannot drift from `--help`.

use std::io::Write;
use std::path::PathBuf;

use clap::CommandFactory;

use super::{Cli, UsageError, EXIT_OK};

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for. Install e.g. with
    /// `evidenced completions bash > /etc/bash_completion.d/evidenced`.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write one page per command (evidenced.1, evidenced-submit.1, ...) into this
    /// directory instead of the main page to standard output.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "evidenced", &mut out);
    out.flush()?;
    Ok(EXIT_OK)
}

pub fn man(args: &ManArgs) -> anyhow::Result<u8> {
    let cmd = Cli::command();
    match &args.dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| UsageError(format!("{}: {e}", dir.display())))?;
            clap_mangen::generate_to(cmd, dir)
                .map_err(|e| UsageError(format!("{}: {e}", dir.display())))?;
            eprintln!("wrote the man pages into {}", dir.display());
        }
    }
    Ok(EXIT_OK)
}
