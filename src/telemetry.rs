//! Logging with `tracing`: readable text on a terminal, JSON lines otherwise, fields first.
//! Commands print their results on stdout, so their logs go to stderr (default level
//! `warn`); the daemon logs on stdout (default level `info`), which ECS ships to CloudWatch
//! Logs. `RUST_LOG` sets the filter. Nothing logs credentials: configuration is never logged
//! whole, and the AWS SDK's own logs stay at `warn`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Crates whose verbose events can contain credentials or signatures.
const CREDENTIAL_BEARING_TARGETS: &[&str] = &[
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http_client",
    "aws_sigv4",
    "aws_runtime",
    "aws_config",
    "aws_credential_types",
    "hyper",
    "hyper_util",
    "rustls",
];

/// Install the global subscriber. Safe to call once per process.
pub fn init(daemon: bool) {
    let default = if daemon { "info" } else { "warn" };
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // The SDK's debug and trace events print resolved identities (access key ids) and
    // signing material; cap them at info whatever RUST_LOG asks for.
    for target in CREDENTIAL_BEARING_TARGETS {
        if let Ok(d) = format!("{target}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match (
        daemon,
        daemon && std::io::stdout().is_terminal() || !daemon && std::io::stderr().is_terminal(),
    ) {
        (true, true) => builder.with_writer(std::io::stdout).try_init(),
        (true, false) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stdout)
            .try_init(),
        (false, true) => builder.with_writer(std::io::stderr).try_init(),
        (false, false) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // A subscriber already installed (tests) is fine.
    let _ = result;
}
