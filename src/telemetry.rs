//! Logging with `tracing`: readable text on a terminal, JSON lines otherwise, fields first.
//! Commands print their results on stdout, so their logs go to stderr (default level
//! `warn`); the daemon logs on stdout (default level `info`), which ECS ships to CloudWatch
//! Logs. `RUST_LOG` sets the filter. Nothing logs credentials: configuration is never logged
//! whole, and the AWS SDK's own logs stay at `warn`.
//!
//! JSON lines are meant for a log system (CloudWatch Logs Insights): each event's fields are
//! top-level and typed (numbers are numbers, an absent value is an absent field), and the
//! current span's fields are under `span` (a run's lines carry `span.run_id`,
//! `span.collector` and `span.version`).
//!
//! Third-party crates log at `warn` and above unless `RUST_LOG` names them: aws-config's,
//! h2's and hyper's connection chatter is noise at `info`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Crates whose verbose events can contain credentials or signatures: capped at `info`
/// even when `RUST_LOG` names them.
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

/// Crates whose `info` events are noise: at `warn` unless `RUST_LOG` names them.
const NOISY_TARGETS: &[&str] = &["h2", "tower", "aws_smithy_types"];

/// The filter: `RUST_LOG` (or `default`), third-party crates at `warn` unless named there,
/// credential-bearing crates never above `info`.
pub fn filter(rust_log: Option<&str>, default: &str) -> EnvFilter {
    let rust_log = rust_log.map(str::trim).filter(|s| !s.is_empty());
    let mut filter = rust_log
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let named = |target: &str| {
        rust_log.is_some_and(|s| {
            s.split(',')
                .any(|d| d.trim().split(['=', '[']).next() == Some(target))
        })
    };
    for target in CREDENTIAL_BEARING_TARGETS.iter().chain(NOISY_TARGETS) {
        // The SDK's debug and trace events print resolved identities (access key ids) and
        // signing material: never more than info, whatever RUST_LOG asks for.
        let level = if named(target) && CREDENTIAL_BEARING_TARGETS.contains(target) {
            "info"
        } else if named(target) {
            continue;
        } else {
            "warn"
        };
        if let Ok(d) = format!("{target}={level}").parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// Install the global subscriber. Safe to call once per process. `verbosity` shifts the
/// default level (`-v` +1, `-q` -1); `RUST_LOG`, when set, wins.
pub fn init(daemon: bool, verbosity: i8) {
    let levels = ["error", "warn", "info", "debug", "trace"];
    let base: i8 = if daemon { 2 } else { 1 };
    let default = levels[(base + verbosity).clamp(0, 4) as usize];
    let rust_log = std::env::var("RUST_LOG").ok();
    let builder = tracing_subscriber::fmt().with_env_filter(filter(rust_log.as_deref(), default));
    let result = match (
        daemon,
        daemon && std::io::stdout().is_terminal() || !daemon && std::io::stderr().is_terminal(),
    ) {
        (true, true) => builder.with_writer(std::io::stdout).try_init(),
        (true, false) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stdout)
            .try_init(),
        (false, true) => builder.with_writer(std::io::stderr).try_init(),
        (false, false) => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // A subscriber already installed (tests) is fine.
    let _ = result;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn third_party_noise_is_warn_unless_named_and_credentials_never_above_info() {
        let f = filter(Some("info"), "info").to_string();
        assert!(f.contains("h2=warn"), "{f}");
        assert!(f.contains("aws_config=warn"), "{f}");
        assert!(f.contains("hyper=warn"), "{f}");
        let f = filter(Some("info,h2=debug,aws_config=trace"), "info").to_string();
        assert!(f.contains("h2=debug"), "{f}");
        assert!(f.contains("aws_config=info"), "{f}");
        assert!(!f.contains("aws_config=trace"), "{f}");
        let f = filter(None, "warn").to_string();
        assert!(f.contains("hyper_util=warn"), "{f}");
    }
}
