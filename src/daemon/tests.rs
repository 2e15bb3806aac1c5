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
                aws_ok: true,
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
