//! `evidenced run`: the long-running service on ECS.
//!
//! A ticker per job ([`ticker`]) fires it on its 6-field UTC cron schedule, parsed once by
//! the same parser that validated the configuration. On top of the clock this module adds:
//! - one run at a time per job: a tick that finds the previous run still going is skipped
//!   and the skip logged (a tick that finds a run still in its jitter delay is coalesced
//!   into it, and logged at debug level: nothing is running late);
//! - catch-up at start: a job whose last committed run is older than its interval (or that
//!   never ran) runs at once;
//! - a small random jitter before each run, so many tasks on one schedule do not stampede,
//!   never more than a tenth of the collector's interval (a 1-second schedule with
//!   `jitter_secs = 5` waits at most 100 ms); catch-up runs start without it;
//! - each run's log lines carry a `run` span with a `run_id` and the program `version`;
//! - a run that is partial or failed is degradation (a warning, the `RunsFailed` metric,
//!   "degraded" in the health verdict), never ill health: see [`health`].
//! - shutdown (the `shutdown` future: SIGTERM/SIGINT in production) stops the scheduler,
//!   lets in-flight runs finish within a deadline below the ECS stop timeout, then returns;
//!   what is still running is abandoned without committing half a record (a record is one
//!   conditional create, so it is either committed whole or not at all).

pub mod health;
pub mod healthz;
pub mod metrics;
pub mod schedule;
mod ticker;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument as _;

use health::{CollectorHealth, HealthState};

/// The program version, on every run's log lines.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The longest jitter a collector with this interval waits: `jitter`, capped at a tenth of
/// the interval.
pub fn jitter_bound(jitter: Duration, interval: Duration) -> Duration {
    jitter.min(interval / 10)
}

/// A job's run slot: idle, waiting out its jitter delay, or running.
const IDLE: u8 = 0;
const WAITING: u8 = 1;
const RUNNING: u8 = 2;

/// One scheduled job (a configured collector).
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub name: String,
    /// 6-field cron, UTC.
    pub schedule: String,
    /// Nominal interval of the schedule.
    pub interval: Duration,
}

/// What one run of a job achieved.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// Records committed (one per scope).
    pub records: u64,
    /// Records whose status was failed or partial.
    pub failures: u64,
    /// New blob bytes written.
    pub bytes: u64,
    /// The first error of a partial or failed record, with its scope (one line).
    pub first_problem: Option<String>,
    /// Why the run could not be recorded at all, if so.
    pub error: Option<String>,
}

/// Runs a job once; the daemon calls it on each tick.
pub trait Runner: Send + Sync + 'static {
    fn run<'a>(&'a self, job: &'a str) -> Pin<Box<dyn Future<Output = RunOutcome> + Send + 'a>>;
}

/// Receives each finished run (CloudWatch metrics in production).
pub trait MetricsSink: Send + Sync + 'static {
    fn run_finished<'a>(
        &'a self,
        job: &'a str,
        outcome: &'a RunOutcome,
        duration: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

    /// Staleness gauges, published every minute while the daemon runs.
    fn gauges<'a>(
        &'a self,
        job: &'a str,
        seconds_since_commit: f64,
        runs_since_commit: u64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
}

/// Daemon settings (`[daemon]` in the configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long in-flight runs may continue after a shutdown signal.
    pub shutdown_deadline: Duration,
    /// Upper bound of the random delay before each run.
    pub jitter: Duration,
    /// Where to write the health state for `evidenced healthcheck`.
    pub health_file: Option<PathBuf>,
    pub heartbeat: Duration,
}

/// Counters, shared with tests and the health endpoint.
#[derive(Debug, Default)]
pub struct Stats {
    pub started: AtomicU64,
    /// Ticks that found the previous run still going.
    pub skipped: AtomicU64,
    /// Ticks that found a run still waiting out its jitter delay (merged into that run).
    pub coalesced: AtomicU64,
    pub finished: AtomicU64,
    /// Notified whenever a counter changes.
    pub changed: Notify,
}

/// Errors that stop the daemon from starting.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Schedule(#[from] schedule::ScheduleError),
    #[error("no collectors are configured: add [[collector]] tables to the configuration")]
    NoJobs,
}

/// How the daemon ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub started: u64,
    pub skipped: u64,
    pub coalesced: u64,
    pub finished: u64,
    /// Runs still going when the shutdown deadline passed.
    pub abandoned: u64,
}

struct Shared {
    runner: Arc<dyn Runner>,
    metrics: Option<Arc<dyn MetricsSink>>,
    settings: Settings,
    stats: Arc<Stats>,
    health: Mutex<HealthState>,
    /// Last commit time per job (from the store at start, then from runs).
    last_commit: Mutex<HashMap<String, OffsetDateTime>>,
    /// When each job's current (or last) run started.
    run_started: Mutex<HashMap<String, std::time::Instant>>,
    token: CancellationToken,
    tracker: TaskTracker,
}

impl RunOutcome {
    /// Whether the run was partial, failed or not recorded: degradation, not ill health.
    pub fn degraded(&self) -> bool {
        self.failures > 0 || self.error.is_some()
    }
}

impl Shared {
    fn write_health(&self) {
        let Some(path) = &self.settings.health_file else {
            return;
        };
        let state = match self.health.lock() {
            Ok(mut h) => {
                h.heartbeat_at = OffsetDateTime::now_utc();
                h.clone()
            }
            Err(_) => return,
        };
        if let Err(e) = state.write(path) {
            tracing::warn!(error = %e, "Could not write the health file.");
        }
    }

    /// Start a run of `job` unless one is already waiting to start or still going.
    fn fire(self: &Arc<Self>, job: &JobSpec, slot: &Arc<AtomicU8>, reason: &'static str) {
        if let Err(state) = slot.compare_exchange(IDLE, WAITING, Ordering::SeqCst, Ordering::SeqCst)
        {
            let counter = match state {
                WAITING => &self.stats.coalesced,
                _ => &self.stats.skipped,
            };
            counter.fetch_add(1, Ordering::SeqCst);
            self.stats.changed.notify_waiters();
            if state == WAITING {
                tracing::debug!(
                    collector = %job.name,
                    reason,
                    "Tick coalesced: a run of this collector is already waiting out its jitter delay."
                );
            } else {
                let running_s = self
                    .run_started
                    .lock()
                    .ok()
                    .and_then(|m| m.get(&job.name).map(|t| t.elapsed().as_secs()));
                tracing::warn!(
                    collector = %job.name,
                    reason,
                    running_s,
                    interval_s = job.interval.as_secs(),
                    "Run skipped: the previous run is still going (running_s: how long it has been running)."
                );
            }
            return;
        }
        if self.token.is_cancelled() {
            slot.store(IDLE, Ordering::SeqCst);
            return;
        }
        let shared = Arc::clone(self);
        let slot = Arc::clone(slot);
        let name = job.name.clone();
        // Catch-up runs start at once: a task starting (a deployment, a replacement) is
        // already out of step with the others.
        let jitter = match reason {
            "catch-up" => Duration::ZERO,
            _ => jitter_bound(self.settings.jitter, job.interval),
        };
        let run_id = format!("{:016x}", rand::random::<u64>());
        let span =
            tracing::info_span!("run", run_id = %run_id, collector = %name, version = VERSION);
        let run = async move {
            let job = name;
            let jitter_ms = jitter.as_millis() as u64;
            if jitter_ms > 0 {
                let wait = Duration::from_millis(rand::random::<u64>() % jitter_ms);
                tokio::select! {
                    _ = shared.token.cancelled() => {
                        slot.store(IDLE, Ordering::SeqCst);
                        return;
                    }
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if let Ok(mut m) = shared.run_started.lock() {
                m.insert(job.clone(), std::time::Instant::now());
            }
            slot.store(RUNNING, Ordering::SeqCst);
            shared.stats.started.fetch_add(1, Ordering::SeqCst);
            shared.stats.changed.notify_waiters();
            tracing::info!(collector = %job, reason, "Run started.");
            let t0 = std::time::Instant::now();
            let outcome = shared.runner.run(&job).await;
            let elapsed = t0.elapsed();
            if let Ok(mut h) = shared.health.lock() {
                let t = OffsetDateTime::now_utc();
                if outcome.records > 0 {
                    h.last_commit_at = Some(t);
                    if let Ok(mut m) = shared.last_commit.lock() {
                        m.insert(job.clone(), t);
                    }
                }
                if let Some(c) = h.collectors.iter_mut().find(|c| c.name == job) {
                    if outcome.records > 0 {
                        c.last_commit_at = Some(t);
                    }
                    if outcome.degraded() {
                        c.degraded_runs += 1;
                        c.last_error = outcome.error.clone().or(outcome.first_problem.clone());
                    } else {
                        c.degraded_runs = 0;
                        c.last_error = None;
                    }
                }
            }
            shared.write_health();
            if let Some(m) = &shared.metrics {
                m.run_finished(&job, &outcome, elapsed).await;
            }
            if outcome.degraded() {
                tracing::warn!(
                    collector = %job,
                    records = outcome.records,
                    failures = outcome.failures,
                    first_error = outcome.first_problem.as_deref(),
                    error = outcome.error.as_deref(),
                    "Run degraded: partial or failed (recorded; the daemon stays healthy)."
                );
            }
            tracing::info!(
                collector = %job,
                records = outcome.records,
                failures = outcome.failures,
                bytes = outcome.bytes,
                duration_ms = elapsed.as_millis() as u64,
                error = outcome.error.as_deref(),
                "Run finished."
            );
            slot.store(IDLE, Ordering::SeqCst);
            shared.stats.finished.fetch_add(1, Ordering::SeqCst);
            shared.stats.changed.notify_waiters();
        };
        self.tracker.spawn(run.instrument(span));
    }
}

/// Run the daemon until `shutdown` resolves. `last_commits` maps each job to the time of its
/// last committed record in the store (for catch-up and the initial health state).
pub async fn run(
    jobs: Vec<JobSpec>,
    last_commits: HashMap<String, OffsetDateTime>,
    runner: Arc<dyn Runner>,
    metrics: Option<Arc<dyn MetricsSink>>,
    settings: Settings,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, DaemonError> {
    if jobs.is_empty() {
        return Err(DaemonError::NoJobs);
    }
    let now = OffsetDateTime::now_utc();
    let shared = Arc::new(Shared {
        runner,
        metrics,
        health: Mutex::new(HealthState {
            pid: std::process::id(),
            started_at: now,
            heartbeat_at: now,
            heartbeat_secs: settings.heartbeat.as_secs().max(1),
            last_commit_at: last_commits.values().max().copied(),
            collectors: jobs
                .iter()
                .map(|j| CollectorHealth {
                    name: j.name.clone(),
                    interval_secs: j.interval.as_secs().max(1),
                    last_commit_at: last_commits.get(&j.name).copied(),
                    degraded_runs: 0,
                    last_error: None,
                })
                .collect(),
        }),
        last_commit: Mutex::new(last_commits.clone()),
        run_started: Mutex::new(HashMap::new()),
        settings,
        stats: Arc::clone(&stats),
        token: CancellationToken::new(),
        tracker: TaskTracker::new(),
    });
    shared.write_health();

    let ticks = CancellationToken::new();
    let mut tickers = Vec::new();
    let mut flags = Vec::new();
    let jitter = shared.settings.jitter;
    for job in &jobs {
        let cron = schedule::parse(&job.schedule)?;
        let running: ticker::Slot = Arc::new(AtomicU8::new(IDLE));
        flags.push((job.clone(), Arc::clone(&running)));
        let shared = Arc::clone(&shared);
        let spec = job.clone();
        tickers.push(ticker::spawn(
            job.name.clone(),
            cron,
            ticks.clone(),
            move || shared.fire(&spec, &running, "schedule"),
        ));
        tracing::info!(
            collector = %job.name,
            schedule = %job.schedule,
            interval_s = job.interval.as_secs(),
            jitter_max_ms = jitter_bound(jitter, job.interval).as_millis() as u64,
            "Scheduled."
        );
    }

    // Catch up: anything whose last commit is older than its interval runs now.
    let mut due_now = Vec::new();
    for (job, running) in &flags {
        let due = match last_commits.get(&job.name) {
            None => true,
            Some(t) => (now - *t) > job.interval,
        };
        if due {
            due_now.push(job.name.clone());
            shared.fire(job, running, "catch-up");
        }
    }
    tracing::info!(
        due = due_now.len(),
        collectors = %due_now.join(","),
        "Catch-up checked."
    );

    let heartbeat = {
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(shared.settings.heartbeat.max(Duration::from_secs(1)));
            loop {
                tokio::select! {
                    _ = shared.token.cancelled() => break,
                    _ = tick.tick() => shared.write_health(),
                }
            }
        })
    };

    let gauges = shared.metrics.clone().map(|m| {
        let shared = Arc::clone(&shared);
        let jobs = jobs.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = shared.token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let now = OffsetDateTime::now_utc();
                for job in &jobs {
                    let since = shared
                        .last_commit
                        .lock()
                        .ok()
                        .and_then(|m| m.get(&job.name).copied())
                        .unwrap_or(now);
                    let runs = schedule::fires_between(&job.schedule, since, now);
                    m.gauges(&job.name, (now - since).as_seconds_f64(), runs)
                        .await;
                }
            }
        })
    });

    shutdown.await;
    tracing::info!(
        deadline_s = shared.settings.shutdown_deadline.as_secs(),
        "Shutdown requested; finishing in-flight runs."
    );
    ticks.cancel();
    for t in tickers {
        if let Err(e) = t.await {
            tracing::warn!(error = %e, "A schedule ticker did not stop cleanly.");
        }
    }
    shared.token.cancel();
    shared.tracker.close();
    let abandoned = match tokio::time::timeout(
        shared.settings.shutdown_deadline,
        shared.tracker.wait(),
    )
    .await
    {
        Ok(()) => 0,
        Err(_) => {
            let n = shared.tracker.len() as u64;
            tracing::warn!(
                abandoned = n,
                "Shutdown deadline passed; abandoning runs that have not committed."
            );
            n
        }
    };
    heartbeat.abort();
    if let Some(g) = gauges {
        g.abort();
    }
    Ok(Summary {
        started: stats.started.load(Ordering::SeqCst),
        skipped: stats.skipped.load(Ordering::SeqCst),
        coalesced: stats.coalesced.load(Ordering::SeqCst),
        finished: stats.finished.load(Ordering::SeqCst),
        abandoned,
    })
}

#[cfg(test)]
mod tests;
