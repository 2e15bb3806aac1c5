//! Benchmark: one `evidenced collect --once` (release build) of N accounts × 4 regions of
//! AWS Backup jobs against the scale mock of the test suite (tests/it/scale_mock.rs: STS
//! AssumeRole per account, paged ListBackupJobs in the API's JSON, throttling, a fixed
//! service latency), for each N given; prints wall time, peak RSS (GNU time's maximum
//! resident set size), requests and throttles per N, and the time per scope.
//!
//! Usage: bench_accounts EVIDENCED_BIN WORKDIR N [N ...]
//! (scripts/bench-accounts.sh builds both and runs 25, 50 and 100 accounts.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/scale_mock.rs"]
#[allow(dead_code)]
mod scale_mock;

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use scale_mock::{ScaleMock, Shape};

const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"];

const SHAPE: Shape = Shape {
    jobs: 1000,
    page: 250,
    throttle_every: 10,
    latency: Duration::from_millis(20),
};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (bin, work) = (&args[1], std::path::PathBuf::from(&args[2]));
    let sizes: Vec<usize> = args[3..].iter().map(|a| a.parse().unwrap()).collect();
    println!(
        "shape: {} jobs per scope in pages of {}, every {}th Backup request throttled, {} ms per request",
        SHAPE.jobs,
        SHAPE.page,
        SHAPE.throttle_every,
        SHAPE.latency.as_millis()
    );
    let mut rows = Vec::new();
    for n in sizes {
        let mock = ScaleMock::start(SHAPE).await;
        let dir = work.join(format!("accounts-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let accounts: Vec<String> = (0..n)
            .map(|i| format!("\"{}\"", 100_000_000_000u64 + i as u64))
            .collect();
        let regions: Vec<String> = REGIONS.iter().map(|r| format!("\"{r}\"")).collect();
        let config = format!(
            "[store]\nurl = \"{}\"\n\n[aws]\nregions = [{}]\naccounts = [{}]\nrole_name = \"evidenced-member\"\nexternal_id = \"bench\"\nendpoint_url = \"{}\"\nretry_initial_backoff_ms = 50\n\n[[collector]]\ntype = \"backup\"\nname = \"backup\"\nschedule = \"0 0 * * * *\"\ninclude = [\"jobs\"]\n",
            dir.join("evidence").display(),
            regions.join(", "),
            accounts.join(", "),
            mock.endpoint
        );
        let config_path = dir.join("evidenced.toml");
        std::fs::write(&config_path, config).unwrap();
        let bin = bin.clone();
        let cfg = config_path.display().to_string();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("/usr/bin/time")
                .args(["-f", "TIME %e %M", &bin, "--config", &cfg])
                .args(["collect", "--once", "--format", "json"])
                .env_remove("EVIDENCED_CONFIG")
                .env("AWS_ACCESS_KEY_ID", "AKIDMOCKBASE0000")
                .env("AWS_SECRET_ACCESS_KEY", "mock")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "collect failed:\n{stderr}");
        let runs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let complete = runs.iter().filter(|r| r["status"] == "complete").count();
        let timing = stderr
            .lines()
            .find_map(|l| l.strip_prefix("TIME "))
            .expect("GNU time output");
        let mut t = timing.split_whitespace();
        let wall: f64 = t.next().unwrap().parse().unwrap();
        let rss_mib = t.next().unwrap().parse::<f64>().unwrap() / 1024.0;
        let backup = mock.counts.service("backup");
        let sts = mock.counts.service("sts");
        let scopes = n * REGIONS.len();
        let row = (
            n,
            scopes,
            runs.len(),
            complete,
            wall,
            rss_mib,
            backup.requests.load(Ordering::SeqCst) + sts.requests.load(Ordering::SeqCst),
            backup.throttled.load(Ordering::SeqCst),
            backup.max_in_flight.load(Ordering::SeqCst),
        );
        println!(
            "{n} accounts: {} records ({} complete), wall {wall:.2} s, peak RSS {rss_mib:.1} MiB, {} requests, {} throttled, at most {} Backup requests in flight",
            row.2, row.3, row.6, row.7, row.8
        );
        for (op, count) in mock.counts.operations() {
            println!("  {op}: {count}");
        }
        rows.push(row);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    println!();
    println!("| accounts × regions | records (complete) | wall | per scope | peak RSS | requests | throttled | max Backup in flight |");
    println!("|---|---|---|---|---|---|---|---|");
    for (n, scopes, records, complete, wall, rss, req, thr, max) in &rows {
        println!(
            "| {n} × 4 = {scopes} | {records} ({complete}) | {wall:.2} s | {:.1} ms | {rss:.1} MiB | {req} | {thr} | {max} |",
            1000.0 * wall / *scopes as f64
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let k = (last.4 / first.4).ln() / (last.1 as f64 / first.1 as f64).ln();
        println!();
        println!(
            "wall time ratio {} / {} scopes: {:.2} for {:.1}x the scopes (time ~ scopes^k, k = {k:.2}; 1 is linear)",
            last.1,
            first.1,
            last.4 / first.4,
            last.1 as f64 / first.1 as f64
        );
    }
}
