//! Fault injection on the real client path: evidenced → fault proxy → moto. Runs complete
//! after retries or fail cleanly; the chain never forks; nothing accepted is lost.

use std::process::Command;
use std::time::Duration;

use crate::faultproxy::FaultProxy;
use crate::store_local::{log_json, restore_test};
use crate::support::{self, ok};

/// Environment that sends both the store and the collectors through `endpoint`, with short
/// timeouts so a stalled request is abandoned and retried.
fn through(cmd: &mut Command, endpoint: &str) {
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("EVIDENCED_STORE__ENDPOINT_URL", endpoint)
        .env("EVIDENCED_STORE__FORCE_PATH_STYLE", "true")
        .env("EVIDENCED_AWS__ENDPOINT_URL", endpoint)
        .env("EVIDENCED_AWS__FORCE_PATH_STYLE", "true")
        .env("EVIDENCED_AWS__ATTEMPT_TIMEOUT_SECS", "1")
        .env("EVIDENCED_AWS__OPERATION_TIMEOUT_SECS", "20")
        .env("EVIDENCED_AWS__MAX_ATTEMPTS", "5");
}

/// Run until exit 0, at most `tries` times; every failure must be a clean exit 3.
fn until_ok(args: &[String], endpoint: &str, tries: usize) -> usize {
    for attempt in 1..=tries {
        let mut cmd = Command::new(support::bin());
        cmd.args(args);
        through(&mut cmd, endpoint);
        let out = cmd.output().unwrap();
        match out.status.code() {
            Some(0) => return attempt,
            Some(3) => continue,
            other => panic!("exit {other:?} under faults: {}", support::stderr(&out)),
        }
    }
    panic!("{args:?} did not succeed in {tries} attempts");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_faults_never_fork_the_chain_or_lose_a_submission() {
    let moto = support::moto();
    let bucket = support::lock_bucket("faults").await;
    let proxy = FaultProxy::start(&moto.endpoint, 7, 0.3, Duration::from_secs(3)).await;
    let url = format!("s3://{bucket}/chain");
    let dir = tempfile::tempdir().unwrap();
    let mut writers = Vec::new();
    for w in 0..2 {
        let paths: Vec<String> = (0..10)
            .map(|i| {
                let id = format!("f{w}-{i}");
                support::write(dir.path(), &format!("{id}.toml"), &restore_test(&id))
            })
            .collect();
        let (url, ep) = (url.clone(), proxy.endpoint.clone());
        writers.push(std::thread::spawn(move || {
            paths
                .iter()
                .map(|p| {
                    until_ok(
                        &["--store".into(), url.clone(), "submit".into(), p.clone()],
                        &ep,
                        20,
                    )
                })
                .sum::<usize>()
        }));
    }
    let mut attempts = 0;
    for w in writers {
        attempts += tokio::task::spawn_blocking(move || w.join().unwrap())
            .await
            .unwrap();
    }
    let u = url.clone();
    let (verify, log) = tokio::task::spawn_blocking(move || {
        (
            ok(support::run_s3(&["--store", &u, "verify"])),
            ok(support::run_s3(&["--store", &u, "log", "--format", "json"])),
        )
    })
    .await
    .unwrap();
    assert!(verify.starts_with("OK: 20 records"), "{verify}");
    let log = log_json(&log);
    let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=20).collect::<Vec<u64>>(),
        "one linear chain of 20, no duplicates"
    );
    let injected = proxy
        .counts
        .injected
        .load(std::sync::atomic::Ordering::SeqCst);
    let dropped = proxy
        .counts
        .dropped_after_apply
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(injected >= 10, "only {injected} faults injected");
    assert!(
        dropped >= 1,
        "no write was applied and then had its response dropped"
    );
    println!(
        "fault injection: {} requests, {injected} faults ({dropped} dropped after the write applied), 20 submissions in {attempts} process runs",
        proxy.counts.requests.load(std::sync::atomic::Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn collection_under_faults_is_recorded_or_fails_cleanly() {
    let moto = support::moto();
    let bucket = support::lock_bucket("faultcollect").await;
    let proxy = FaultProxy::start(&moto.endpoint, 11, 0.3, Duration::from_secs(3)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::write(
        dir.path(),
        "evidenced.toml",
        &format!("[store]\nurl = \"s3://{bucket}/chain\"\n\n[aws]\nregions = [\"us-east-1\"]\n\n[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"0 * * * * *\"\nbuckets = [\"{bucket}\"]\n"),
    );
    let ep = proxy.endpoint.clone();
    let outcomes = tokio::task::spawn_blocking(move || {
        (0..12)
            .map(|_| {
                let mut cmd = Command::new(support::bin());
                cmd.args(["--config", &cfg, "collect", "--once"]);
                through(&mut cmd, &ep);
                let out = cmd.output().unwrap();
                // 0: complete; 1: committed, but partial or failed; 3: not committed.
                assert!(
                    matches!(out.status.code(), Some(0) | Some(1) | Some(3)),
                    "{}",
                    support::stderr(&out)
                );
                matches!(out.status.code(), Some(0) | Some(1))
            })
            .collect::<Vec<bool>>()
    })
    .await
    .unwrap();
    let committed = outcomes.iter().filter(|o| **o).count();
    let u = format!("s3://{bucket}/chain");
    let (verify, log) = tokio::task::spawn_blocking(move || {
        (
            ok(support::run_s3(&["--store", &u, "verify"])),
            ok(support::run_s3(&["--store", &u, "log", "--format", "json"])),
        )
    })
    .await
    .unwrap();
    assert!(verify.starts_with("OK:"), "{verify}");
    let log = log_json(&log);
    // Every successful run committed its record (complete, partial or failed), and no
    // run committed twice.
    assert!(
        log.len() >= committed && log.len() <= outcomes.len(),
        "{} records for {committed} successful runs of {}",
        log.len(),
        outcomes.len()
    );
    assert!(committed >= 1);
    let statuses: Vec<&str> = log.iter().map(|e| e["status"].as_str().unwrap()).collect();
    println!(
        "collection under faults: {} runs, {committed} committed (exit 0 or 1), statuses {statuses:?}",
        outcomes.len()
    );
}
