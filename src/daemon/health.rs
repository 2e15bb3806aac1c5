//! Health state: written by the daemon, read by `evidenced healthcheck` (the ECS container
//! health check; the runtime image has no curl) and by the optional `/healthz` endpoint.
//!
//! The state is a small JSON file replaced atomically (write, fsync, rename).

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
    /// The shortest collector interval; staleness is judged against twice this.
    pub min_interval_secs: u64,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_commit_at: Option<OffsetDateTime>,
    /// Whether the last run's AWS calls succeeded.
    pub last_aws_ok: bool,
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

    /// `Ok(summary)` when healthy at `now`, `Err(reason)` otherwise.
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
        let stale_after = time::Duration::seconds(2 * self.min_interval_secs.max(1) as i64);
        match self.last_commit_at {
            None => {
                return Err(format!(
                    "no run committed since the daemon started at {}",
                    crate::human::fmt_time(self.started_at)
                ))
            }
            Some(t) if now - t > stale_after => {
                return Err(format!(
                    "last commit {}s ago, more than twice the shortest schedule ({}s)",
                    (now - t).whole_seconds(),
                    self.min_interval_secs
                ))
            }
            Some(_) => {}
        }
        if !self.last_aws_ok {
            return Err(format!(
                "the last run's AWS calls failed: {}",
                self.last_error.as_deref().unwrap_or("unknown error")
            ));
        }
        Ok(format!(
            "healthy: last commit {}s ago",
            self.last_commit_at
                .map(|t| (now - t).whole_seconds())
                .unwrap_or(0)
        ))
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
            min_interval_secs: 900,
            last_commit_at: Some(datetime!(2026-01-01 00:50 UTC)),
            last_aws_ok: true,
            last_error: None,
        }
    }

    #[test]
    fn judges_alive_stale_never_committed_and_aws_failure() {
        let now = datetime!(2026-01-01 01:00:05 UTC);
        assert!(state().judge(now).is_ok());
        let dead = datetime!(2026-01-01 01:01 UTC);
        assert!(state().judge(dead).unwrap_err().contains("not alive"));
        let mut s = state();
        s.last_commit_at = Some(datetime!(2026-01-01 00:29 UTC));
        assert!(s
            .judge(now)
            .unwrap_err()
            .contains("twice the shortest schedule"));
        s.last_commit_at = None;
        assert!(s.judge(now).unwrap_err().contains("no run committed"));
        let mut s = state();
        s.last_aws_ok = false;
        s.last_error = Some("AccessDenied".into());
        assert!(s.judge(now).unwrap_err().contains("AccessDenied"));
    }
}
