//! `[daemon]`: how `evidenced run` behaves on ECS.

use serde::Deserialize;

/// Settings of the long-running service.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// Seconds in-flight runs may continue after SIGTERM; keep it below the ECS stop
    /// timeout (30 s by default) so the task exits before it is killed.
    #[serde(default = "default_deadline")]
    pub shutdown_deadline_secs: u64,
    /// Upper bound of the random delay before each scheduled run, in seconds; capped at a
    /// tenth of each collector's interval.
    #[serde(default = "default_jitter")]
    pub jitter_secs: u64,
    /// Health state file read by `evidenced healthcheck`.
    #[serde(default = "default_health_file")]
    pub health_file: String,
    /// Seconds between health-file heartbeats (and metric gauges).
    #[serde(default = "default_heartbeat")]
    pub heartbeat_secs: u64,
    /// Serve `GET /healthz` on this port (127.0.0.1 and the task's interfaces); unset: off.
    #[serde(default)]
    pub healthz_port: Option<u16>,
    /// CloudWatch namespace for the daemon's own metrics; unset: no metrics published.
    #[serde(default)]
    pub metrics_namespace: Option<String>,
    /// Seconds between requirement evaluations (due-soon warnings in the log, and the
    /// per-requirement metrics when a namespace is set).
    #[serde(default = "default_requirements_interval")]
    pub requirements_interval_secs: u64,
    /// Requirements catalog; unset: the built-in default (config/requirements.toml).
    #[serde(default)]
    pub catalog: Option<String>,
}

fn default_requirements_interval() -> u64 {
    900
}

fn default_deadline() -> u64 {
    25
}
fn default_jitter() -> u64 {
    5
}
fn default_health_file() -> String {
    "/var/lib/evidenced/health.json".to_string()
}
fn default_heartbeat() -> u64 {
    10
}

impl Default for DaemonConfig {
    fn default() -> DaemonConfig {
        DaemonConfig {
            shutdown_deadline_secs: default_deadline(),
            jitter_secs: default_jitter(),
            health_file: default_health_file(),
            heartbeat_secs: default_heartbeat(),
            healthz_port: None,
            metrics_namespace: None,
            requirements_interval_secs: default_requirements_interval(),
            catalog: None,
        }
    }
}
