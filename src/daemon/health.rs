//! Health state: written by the daemon, read by `evidenced healthcheck` (the ECS container
//! health check; the runtime image has no curl) and by the optional `/healthz` endpoint.
//!
//! Health is liveness: the verdict is "unhealthy" only when the daemon is dead or stuck, so
//! that ECS replacing the task can help. A run that was partial or failed (a missing
//! permission in one member account, an HTTP 500, a rejected inbox file) is recorded in the
//! chain, counted in the `RunsFailed` metric and logged as a warning; here it only shows as
//! "degraded" in the healthy verdict. Restarting the task would not grant a permission.
//!
//! The state is a small JSON file replaced atomically (write, then rename).

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What the daemon last reported about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthState {
    pub pid: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Refreshed every heartbeat while the daemon runs.
    #[serde(with = "time::serde::rfc3339")]
    pub heartbeat_at: OffsetDateTime,
    pub heartbeat_secs: u64,
    /// The latest commit of any collector.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_commit_at: Option<OffsetDateTime>,
    /// Each scheduled collector: staleness is judged per collector, against twice its own
    /// schedule.
    #[serde(default)]
    pub collectors: Vec<CollectorHealth>,
}

/// One collector's liveness and degradation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectorHealth {
    pub name: String,
    /// Nominal interval of its schedule.
    pub interval_secs: u64,
    /// Its last committed record (from the store at start, then from runs), whatever the
    /// record's status: a failed run is recorded too.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_commit_at: Option<OffsetDateTime>,
    /// Consecutive finished runs that were partial or failed (0 after a complete run).
    #[serde(default)]
    pub degraded_runs: u64,
    /// The first error of the last degraded run.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// Health file problems.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a health state file: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

impl HealthState {
    pub fn write(&self, path: &Path) -> Result<(), HealthError> {
        let io = |source| HealthError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(self).map_err(|e| HealthError::Parse {
            path: path.display().to_string(),
            source: e,
        })?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn read(path: &Path) -> Result<HealthState, HealthError> {
        let bytes = std::fs::read(path).map_err(|source| HealthError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| HealthError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// `Ok(summary)` when the daemon is alive at `now` (degraded collectors are named in
    /// the summary), `Err(reason)` when it is dead (no heartbeat for three beats) or stuck
    /// (a collector without a commit for more than twice its schedule, counted from its
    /// last commit or from the daemon's start, whichever is later).
    pub fn judge(&self, now: OffsetDateTime) -> Result<String, String> {
        let heartbeat_age = now - self.heartbeat_at;
        let max_heartbeat = Duration::from_secs(3 * self.heartbeat_secs.max(1));
        if heartbeat_age > max_heartbeat {
            return Err(format!(
                "daemon not alive: last heartbeat {}s ago (limit {}s)",
                heartbeat_age.whole_seconds(),
                max_heartbeat.as_secs()
            ));
        }
        let mut degraded = Vec::new();
        for c in &self.collectors {
            let since = c
                .last_commit_at
                .map_or(self.started_at, |t| t.max(self.started_at));
            let limit = time::Duration::seconds(2 * c.interval_secs.max(1) as i64);
            if now - since > limit {
                return Err(format!(
                    "daemon stuck: collector {:?} has committed nothing for {}s, more than twice its schedule ({}s){}",
                    c.name,
                    (now - since).whole_seconds(),
                    c.interval_secs,
                    match c.last_commit_at {
                        Some(t) => format!("; its last record is from {}", crate::human::fmt_time(t)),
                        None => format!(" since the daemon started at {}", crate::human::fmt_time(self.started_at)),
                    }
                ));
            }
            if c.degraded_runs > 0 {
                degraded.push(format!(
                    "{} ({} run{} partial or failed{})",
                    c.name,
                    c.degraded_runs,
                    if c.degraded_runs == 1 { "" } else { "s" },
                    c.last_error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ));
            }
        }
        let last = match self.last_commit_at {
            Some(t) => format!("last commit {}s ago", (now - t).whole_seconds().max(0)),
            None => "no commit yet".to_string(),
        };
        if degraded.is_empty() {
            Ok(format!("healthy: {last}"))
        } else {
            Ok(format!(
                "healthy, degraded: {last}; {}",
                degraded.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn state() -> HealthState {
        HealthState {
            pid: 1,
            started_at: datetime!(2026-01-01 00:00 UTC),
            heartbeat_at: datetime!(2026-01-01 01:00 UTC),
            heartbeat_secs: 10,
            last_commit_at: Some(datetime!(2026-01-01 00:50 UTC)),
            collectors: vec![
                CollectorHealth {
                    name: "alarms".into(),
                    interval_secs: 900,
                    last_commit_at: Some(datetime!(2026-01-01 00:50 UTC)),
                    degraded_runs: 0,
                    last_error: None,
                },
                CollectorHealth {
                    name: "backup".into(),
                    interval_secs: 3600,
                    last_commit_at: Some(datetime!(2026-01-01 00:10 UTC)),
                    degraded_runs: 0,
                    last_error: None,
                },
            ],
        }
    }

    #[test]
    fn judges_alive_dead_and_stuck_per_collector() {
        let now = datetime!(2026-01-01 01:00:05 UTC);
        assert_eq!(
            state().judge(now).as_deref(),
            Ok("healthy: last commit 605s ago")
        );
        let dead = datetime!(2026-01-01 01:01 UTC);
        assert!(state().judge(dead).unwrap_err().contains("not alive"));
        // The 15-minute collector stuck for 31 minutes, the hourly one fine.
        let mut s = state();
        s.collectors[0].last_commit_at = Some(datetime!(2026-01-01 00:29 UTC));
        let err = s.judge(now).unwrap_err();
        assert!(
            err.contains("\"alarms\"") && err.contains("twice its schedule"),
            "{err}"
        );
        // The hourly one may go 2 hours.
        let mut s = state();
        s.collectors[1].last_commit_at = Some(datetime!(2025-12-31 23:10 UTC));
        assert!(
            s.judge(now).is_ok(),
            "a commit from before the start counts from the start"
        );
        s.started_at = datetime!(2025-12-31 22:00 UTC);
        s.collectors[1].last_commit_at = Some(datetime!(2025-12-31 22:50 UTC));
        assert!(s.judge(now).unwrap_err().contains("\"backup\""));
        // Never committed: counted from the start.
        let mut s = state();
        s.collectors[0].last_commit_at = None;
        s.started_at = datetime!(2026-01-01 00:40 UTC);
        assert!(s.judge(now).is_ok());
        s.started_at = datetime!(2026-01-01 00:20 UTC);
        assert!(s
            .judge(now)
            .unwrap_err()
            .contains("since the daemon started"));
    }

    #[test]
    fn degraded_runs_are_healthy_and_named() {
        let now = datetime!(2026-01-01 01:00:05 UTC);
        let mut s = state();
        s.collectors[1].degraded_runs = 3;
        s.collectors[1].last_error =
            Some("111122223333/eu-west-1 backup:ListBackupJobs: AccessDeniedException".into());
        let ok = s.judge(now).expect("a degraded collector is alive");
        assert!(
            ok.starts_with("healthy, degraded:") && ok.contains("backup (3 runs partial or failed: 111122223333/eu-west-1 backup:ListBackupJobs: AccessDenied"),
            "{ok}"
        );
    }
}
