//! A hundred accounts in four regions in one `collect --once`, against a mock endpoint
//! ([`crate::scale_mock`]) that serves AWS Backup job listings in pages and throttles every
//! seventh Backup request: one record per account and region, every job stored, throttled
//! requests retried and counted, and never more Backup requests in flight than the limit.

use std::collections::BTreeSet;
use std::time::Duration;

use evidenced::chain::EvidenceStore;
use evidenced::store::LocalStore;
use serde_json::Value;

use crate::scale_mock::{ScaleMock, Shape};
use crate::support;

const ACCOUNTS: usize = 100;
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"];
/// `[aws] service_limits` for AWS Backup in this test.
const BACKUP_LIMIT: usize = 6;
const JOBS: usize = 120;

fn account(i: usize) -> String {
    format!("{}", 100_000_000_000u64 + i as u64)
}

/// The fields of the JSON log line `message` for `service`.
fn logged(stderr: &str, message: &str, service: &str) -> Option<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v.get("fields").cloned().unwrap_or(v))
        .find(|f| f["message"] == message && f["service"] == service)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_accounts_in_four_regions_one_record_each_within_the_limits() {
    let mock = ScaleMock::start(Shape {
        jobs: JOBS,
        page: 50,
        throttle_every: 7,
        latency: Duration::from_millis(2),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("evidence");
    let accounts: Vec<String> = (0..ACCOUNTS)
        .map(|i| format!("\"{}\"", account(i)))
        .collect();
    let regions: Vec<String> = REGIONS.iter().map(|r| format!("\"{r}\"")).collect();
    let config = format!(
        r#"
[store]
url = "{store}"

[aws]
regions = [{regions}]
accounts = [{accounts}]
role_name = "evidenced-member"
external_id = "scale-test"
endpoint_url = "{endpoint}"
max_attempts = 8
retry_initial_backoff_ms = 5
service_concurrency = 16
service_limits = {{ backup = {BACKUP_LIMIT} }}

[[collector]]
type = "backup"
name = "backup"
schedule = "0 0 * * * *"
include = ["jobs"]
"#,
        store = store_dir.display(),
        regions = regions.join(", "),
        accounts = accounts.join(", "),
        endpoint = mock.endpoint,
    );
    let config_path = support::write(dir.path(), "evidenced.toml", &config);
    let out = tokio::process::Command::new(support::bin())
        .args([
            "--config",
            &config_path,
            "collect",
            "--once",
            "--format",
            "json",
        ])
        .env_remove("EVIDENCED_CONFIG")
        .env("AWS_ACCESS_KEY_ID", "AKIDMOCKBASE0000")
        .env("AWS_SECRET_ACCESS_KEY", "mock")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "evidenced=info")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "collect --once failed:\n{stderr}");

    // One complete record per account and region.
    let runs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let scopes: BTreeSet<(String, String)> = runs
        .iter()
        .map(|r| {
            assert_eq!(r["status"], "complete", "{r}");
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (s("account"), s("region"))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = (0..ACCOUNTS)
        .flat_map(|i| REGIONS.iter().map(move |r| (account(i), r.to_string())))
        .collect();
    assert_eq!(runs.len(), ACCOUNTS * REGIONS.len());
    assert_eq!(scopes, expected);

    // Every page of every scope was read, throttled or not: each record's jobs document
    // holds all the jobs of its scope.
    let store = EvidenceStore::new(LocalStore::new(&store_dir));
    let records = store.records().await.unwrap();
    assert_eq!(records.len(), ACCOUNTS * REGIONS.len());
    for r in &records {
        let item = r
            .record
            .items
            .iter()
            .find(|i| i.name == "backup/backup-jobs.json")
            .expect("a jobs document in every record");
        let doc: Value =
            serde_json::from_slice(&store.blob(&item.digest).await.unwrap().unwrap()).unwrap();
        assert_eq!(doc["backup_jobs"].as_array().map(Vec::len), Some(JOBS));
        assert_eq!(doc["account"].as_str(), r.record.scope.account.as_deref());
    }

    // Throttled requests were retried (every listing completed above) and counted: the
    // mock's count of the throttling responses it sent is the count evidenced logged.
    let backup = mock.counts.service("backup");
    let throttled = backup.throttled.load(std::sync::atomic::Ordering::SeqCst);
    let requests = backup.requests.load(std::sync::atomic::Ordering::SeqCst);
    let pages = ACCOUNTS * REGIONS.len() * (JOBS.div_ceil(50) + 2);
    assert!(throttled > 0, "the mock throttled nothing");
    assert_eq!(requests, pages as u64 + throttled, "one retry per throttle");
    let log = logged(&stderr, "AWS requests of this collection.", "backup")
        .unwrap_or_else(|| panic!("no request counts logged for backup:\n{stderr}"));
    assert_eq!(log["throttled"].as_u64(), Some(throttled), "{log}");
    assert_eq!(log["requests"].as_u64(), Some(requests), "{log}");

    // Each account's role was assumed once and its identity looked up once, whatever the
    // number of accounts and regions: the credentials of every account stay cached.
    let sts: Vec<(String, u64)> = mock
        .counts
        .operations()
        .into_iter()
        .filter(|(op, _)| op.starts_with("sts:"))
        .collect();
    assert_eq!(
        sts,
        [
            ("sts:AssumeRole".to_string(), ACCOUNTS as u64),
            ("sts:GetCallerIdentity".to_string(), ACCOUNTS as u64)
        ]
    );

    // Never more Backup requests in flight than the limit, as the mock saw them; and the
    // limit was reached (the scopes ran together).
    let max = backup
        .max_in_flight
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(max <= BACKUP_LIMIT, "{max} Backup requests in flight");
    assert!(
        max >= 2,
        "the scopes did not run concurrently (at most {max} in flight)"
    );
}
