//! The `evidenced` binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use evidenced::cli;

#[tokio::main]
async fn main() -> ExitCode {
    let parsed = cli::Cli::parse();
    evidenced::telemetry::init(
        matches!(parsed.command, cli::Command::Run(_)),
        parsed.verbosity(),
    );
    match cli::run(parsed).await {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(cli::exit_code_for(&err))
        }
    }
}
