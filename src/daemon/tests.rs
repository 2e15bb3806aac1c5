//! Scheduling behaviour with an in-process runner whose runs the test holds open.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::*;

/// A runner whose runs block until the test releases them, tracking concurrency.
struct Held {
    gate: Semaphore,
    active: AtomicU64,
    max_active: AtomicU64,
    runs: AtomicU64,
}

impl Runner for Held {
    fn run<'a>(&'a self, _job: &'a str) -> Pin<Box<dyn Future<Output = RunOutcome> + Send + 'a>> {
        Box::pin(async move {
            let now = self.active.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_active.fetch_max(now, Ordering::SeqCst);
            self.runs.fetch_add(1, Ordering::SeqCst);
            if let Ok(permit) = self.gate.acquire().await {
                permit.forget();
            }
            self.active.fetch_sub(1, Ordering::SeqCst);
            RunOutcome {
                records: 1,
                ..RunOutcome::default()
            }
        })
    }
}

fn settings(deadline: Duration) -> Settings {
    Settings {
        shutdown_deadline: deadline,
        jitter: Duration::ZERO,
        health_file: None,
        heartbeat: Duration::from_secs(1),
    }
}

fn every_second() -> Vec<JobSpec> {
    vec![JobSpec {
        name: "slow".into(),
        schedule: "* * * * * *".into(),
        interval: Duration::from_secs(1),
    }]
}

async fn wait_for(stats: &Stats, cond: impl Fn(&Stats) -> bool) {
    loop {
        let notified = stats.changed.notified();
        if cond(stats) {
            return;
        }
        notified.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_slower_than_its_schedule_never_overlaps_itself() {
    let runner = Arc::new(Held {
        gate: Semaphore::new(0),
        active: AtomicU64::new(0),
        max_active: AtomicU64::new(0),
        runs: AtomicU64::new(0),
    });
    let stats = Arc::new(Stats::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(
        every_second(),
        HashMap::new(),
        runner.clone(),
        None,
        settings(Duration::from_secs(5)),
        stats.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    // The catch-up run starts and is held open; ticks arrive every second and are skipped.
    wait_for(&stats, |s| s.skipped.load(Ordering::SeqCst) >= 2).await;
    assert_eq!(runner.max_active.load(Ordering::SeqCst), 1);
    assert_eq!(runner.runs.load(Ordering::SeqCst), 1);
    // Release it: the next tick may start another run, never two at once.
    runner.gate.add_permits(1000);
    wait_for(&stats, |s| s.finished.load(Ordering::SeqCst) >= 2).await;
    let _ = tx.send(());
    let summary = daemon.await.unwrap().unwrap();
    assert_eq!(runner.max_active.load(Ordering::SeqCst), 1);
    assert!(summary.skipped >= 2);
    assert_eq!(summary.abandoned, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_runs_only_what_is_overdue() {
    let runner = Arc::new(Held {
        gate: Semaphore::new(1000),
        active: AtomicU64::new(0),
        max_active: AtomicU64::new(0),
        runs: AtomicU64::new(0),
    });
    let jobs = vec![
        JobSpec {
            name: "fresh".into(),
            schedule: "0 0 0 1 1 *".into(),
            interval: Duration::from_secs(86_400 * 365),
        },
        JobSpec {
            name: "overdue".into(),
            schedule: "0 0 0 1 1 *".into(),
            interval: Duration::from_secs(3600),
        },
    ];
    let now = OffsetDateTime::now_utc();
    let last = HashMap::from([
        ("fresh".to_string(), now - time::Duration::hours(2)),
        ("overdue".to_string(), now - time::Duration::hours(2)),
    ]);
    let stats = Arc::new(Stats::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(
        jobs,
        last,
        runner.clone(),
        None,
        settings(Duration::from_secs(5)),
        stats.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    wait_for(&stats, |s| s.finished.load(Ordering::SeqCst) >= 1).await;
    let _ = tx.send(());
    let summary = daemon.await.unwrap().unwrap();
    assert_eq!(summary.started, 1, "only the overdue job catches up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_abandons_runs_past_the_deadline() {
    let runner = Arc::new(Held {
        gate: Semaphore::new(0),
        active: AtomicU64::new(0),
        max_active: AtomicU64::new(0),
        runs: AtomicU64::new(0),
    });
    let stats = Arc::new(Stats::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(
        every_second(),
        HashMap::new(),
        runner.clone(),
        None,
        settings(Duration::from_millis(200)),
        stats.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    wait_for(&stats, |s| s.started.load(Ordering::SeqCst) >= 1).await;
    let _ = tx.send(());
    let summary = daemon.await.unwrap().unwrap();
    assert_eq!(summary.abandoned, 1);
    assert_eq!(summary.finished, 0);
}

/// A runner whose every run commits one record that is partial.
struct AlwaysPartial;

impl Runner for AlwaysPartial {
    fn run<'a>(&'a self, _job: &'a str) -> Pin<Box<dyn Future<Output = RunOutcome> + Send + 'a>> {
        Box::pin(async move {
            RunOutcome {
                records: 1,
                failures: 1,
                first_problem: Some(
                    "slow account 111122223333 region eu-west-1: partial: backup:ListBackupJobs: AccessDeniedException".into(),
                ),
                ..RunOutcome::default()
            }
        })
    }
}

/// Receives run outcomes, as CloudWatch would.
#[derive(Default)]
struct Recorded {
    degraded: AtomicU64,
}

impl MetricsSink for Recorded {
    fn run_finished<'a>(
        &'a self,
        _job: &'a str,
        outcome: &'a RunOutcome,
        _duration: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if outcome.degraded() {
                self.degraded.fetch_add(1, Ordering::SeqCst);
            }
        })
    }

    fn gauges<'a>(
        &'a self,
        _job: &'a str,
        _seconds_since_commit: f64,
        _runs_since_commit: u64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async {})
    }
}

fn with_health(file: &std::path::Path) -> Settings {
    Settings {
        health_file: Some(file.to_path_buf()),
        ..settings(Duration::from_secs(5))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_always_partial_collector_is_degraded_not_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("health.json");
    let metrics = Arc::new(Recorded::default());
    let stats = Arc::new(Stats::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(
        every_second(),
        HashMap::new(),
        Arc::new(AlwaysPartial),
        Some(metrics.clone() as Arc<dyn MetricsSink>),
        with_health(&file),
        stats.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    wait_for(&stats, |s| s.finished.load(Ordering::SeqCst) >= 2).await;
    let state = health::HealthState::read(&file).unwrap();
    let _ = tx.send(());
    daemon.await.unwrap().unwrap();
    assert!(metrics.degraded.load(Ordering::SeqCst) >= 2);
    let verdict = state.judge(state.heartbeat_at);
    let text = verdict.expect("partial runs are degradation, not ill health");
    assert!(
        text.starts_with("healthy, degraded:") && text.contains("AccessDeniedException"),
        "{text}"
    );
    assert!(state.collectors[0].degraded_runs >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_collector_makes_the_daemon_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("health.json");
    // The catch-up run never finishes: the collector is stuck, the heartbeat goes on.
    let runner = Arc::new(Held {
        gate: Semaphore::new(0),
        active: AtomicU64::new(0),
        max_active: AtomicU64::new(0),
        runs: AtomicU64::new(0),
    });
    let stats = Arc::new(Stats::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(
        every_second(),
        HashMap::new(),
        runner.clone(),
        None,
        Settings {
            shutdown_deadline: Duration::from_millis(100),
            ..with_health(&file)
        },
        stats.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    wait_for(&stats, |s| s.skipped.load(Ordering::SeqCst) >= 1).await;
    let state = health::HealthState::read(&file).unwrap();
    let _ = tx.send(());
    daemon.await.unwrap().unwrap();
    // Judged within the heartbeat limit (3 s) but past twice the schedule (2 s).
    let at = state.heartbeat_at + time::Duration::milliseconds(2500);
    let err = state
        .judge(at)
        .expect_err("a stuck collector is ill health");
    assert!(err.contains("stuck") && err.contains("\"slow\""), "{err}");
    assert!(
        state.judge(state.started_at).is_ok(),
        "healthy at the start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jitter_longer_than_the_schedule_does_not_skip_every_tick() {
    let runner = Arc::new(Held {
        gate: Semaphore::new(1000),
        active: AtomicU64::new(0),
        max_active: AtomicU64::new(0),
        runs: AtomicU64::new(0),
    });
    let stats = Arc::new(Stats::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(
        every_second(),
        HashMap::new(),
        runner.clone(),
        None,
        Settings {
            // Five times the schedule: capped at a tenth of the interval (100 ms).
            jitter: Duration::from_secs(5),
            ..settings(Duration::from_secs(5))
        },
        stats.clone(),
        async move {
            let _ = rx.await;
        },
    ));
    let ran = tokio::time::timeout(
        Duration::from_secs(30),
        wait_for(&stats, |s| s.finished.load(Ordering::SeqCst) >= 4),
    )
    .await;
    let _ = tx.send(());
    let summary = daemon.await.unwrap().unwrap();
    assert!(ran.is_ok(), "runs did not happen: {summary:?}");
    assert_eq!(
        summary.skipped, 0,
        "a tick was skipped although no run was going"
    );
    // At most the catch-up run and the first tick meet; an uncapped 5 s jitter would merge
    // most ticks into waiting runs.
    assert!(summary.coalesced <= 1, "{summary:?}");
}

#[test]
fn jitter_is_capped_at_a_tenth_of_the_interval() {
    let s = Duration::from_secs;
    assert_eq!(jitter_bound(s(5), s(1)), Duration::from_millis(100));
    assert_eq!(jitter_bound(s(5), s(300)), s(5));
    assert_eq!(jitter_bound(s(60), s(300)), s(30));
    assert_eq!(jitter_bound(Duration::ZERO, s(300)), Duration::ZERO);
}
