//! Collection benchmark: one collection of a large account (by default 50,000 backup jobs,
//! 10,000 configuration items, 2,000 alarms; the counts are in DIR/counts.json) from the
//! wire-format responses written by `scripts/bench_collect.py gen DIR [ITEMS]`, served
//! through aws-smithy-mocks as HTTP responses so the SDK parses the same bytes the boto3
//! peer parses. The backup, config and cloudwatch collectors run concurrently, as
//! `collect --once` runs them, into a fresh local store.
//! Every item is read back from the store and counted before the figures are printed.
//!
//! Usage: `cargo run --release --example bench_collect -- DIR`; prints wall time and peak
//! RSS. Driven by scripts/bench-collect.sh.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_smithy_mocks::{
    create_mock_http_client, mock, MockResponse, MockResponseInterceptor, Rule, RuleMode,
};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use evidenced::chain::EvidenceStore;
use evidenced::collect::{self, Clients, History, Target};
use evidenced::config::{BackupOptions, BackupPart, CloudwatchOptions, ConfigOptions};
use evidenced::store::LocalStore;

fn http(dir: &Path, name: &str, content_type: &str) -> Response {
    let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut r = Response::new(StatusCode::try_from(200).unwrap(), SdkBody::from(bytes));
    r.headers_mut()
        .insert("content-type", content_type.to_string());
    r.headers_mut()
        .insert("x-amzn-requestid", "bench".to_string());
    r
}

fn page(token: Option<&str>) -> usize {
    token
        .and_then(|t| t.strip_prefix('p'))
        .map_or(0, |n| n.parse().unwrap())
}

fn interceptor(rules: &[Rule]) -> MockResponseInterceptor {
    rules.iter().fold(
        MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny),
        |i, r| i.with_rule(r),
    )
}

fn backup(dir: PathBuf) -> aws_sdk_backup::Client {
    use aws_sdk_backup::operation::*;
    use aws_sdk_backup::Client;
    let rules = vec![
        mock!(Client::list_backup_jobs).then_compute_response(move |r| {
            MockResponse::Http(http(
                &dir,
                &format!("backup-jobs-{}.json", page(r.next_token())),
                "application/json",
            ))
        }),
        mock!(Client::list_copy_jobs)
            .then_output(|| list_copy_jobs::ListCopyJobsOutput::builder().build()),
        mock!(Client::list_restore_jobs)
            .then_output(|| list_restore_jobs::ListRestoreJobsOutput::builder().build()),
    ];
    aws_sdk_backup::Client::from_conf(
        aws_sdk_backup::Config::builder()
            .with_test_defaults_v2()
            .http_client(create_mock_http_client())
            .interceptor(interceptor(&rules))
            .build(),
    )
}

fn config(dir: PathBuf) -> aws_sdk_config::Client {
    use aws_sdk_config::operation::*;
    use aws_sdk_config::Client;
    let d2 = dir.clone();
    let rules = vec![
        mock!(Client::list_discovered_resources).then_compute_response(move |r| {
            MockResponse::Http(http(&dir, &format!("config-list-{}.json", page(r.next_token())), "application/x-amz-json-1.1"))
        }),
        mock!(Client::batch_get_resource_config).then_compute_response(move |r| {
            let first = r.resource_keys()[0].resource_id().trim_start_matches("vol-");
            let batch = usize::from_str_radix(first, 16).unwrap() / 100;
            MockResponse::Http(http(&d2, &format!("config-batch-{batch}.json"), "application/x-amz-json-1.1"))
        }),
        mock!(Client::describe_configuration_recorders).then_output(|| describe_configuration_recorders::DescribeConfigurationRecordersOutput::builder().build()),
        mock!(Client::describe_configuration_recorder_status).then_output(|| describe_configuration_recorder_status::DescribeConfigurationRecorderStatusOutput::builder().build()),
        mock!(Client::describe_delivery_channels).then_output(|| describe_delivery_channels::DescribeDeliveryChannelsOutput::builder().build()),
        mock!(Client::describe_delivery_channel_status).then_output(|| describe_delivery_channel_status::DescribeDeliveryChannelStatusOutput::builder().build()),
        mock!(Client::describe_config_rules).then_output(|| describe_config_rules::DescribeConfigRulesOutput::builder().build()),
    ];
    aws_sdk_config::Client::from_conf(
        aws_sdk_config::Config::builder()
            .with_test_defaults_v2()
            .http_client(create_mock_http_client())
            .interceptor(interceptor(&rules))
            .build(),
    )
}

fn cloudwatch(dir: PathBuf) -> aws_sdk_cloudwatch::Client {
    use aws_sdk_cloudwatch::Client;
    let rules = vec![
        mock!(Client::describe_alarms).then_compute_response(move |r| {
            MockResponse::Http(http(
                &dir,
                &format!("alarms-{}.xml", page(r.next_token())),
                "text/xml",
            ))
        }),
    ];
    aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::Config::builder()
            .with_test_defaults()
            .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor(&rules))
            .build(),
    )
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: bench_collect FIXTURE_DIR"),
    );
    let store_dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::new(LocalStore::new(store_dir.path().join("evidence")));
    let target = Target {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        caller_arn: Some("arn:aws:sts::111122223333:assumed-role/evidenced/bench".into()),
        identity_calls: Vec::new(),
        clients: Clients {
            backup: backup(dir.clone()),
            config: config(dir.clone()),
            cloudwatch: cloudwatch(dir.clone()),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::Config::builder()
                    .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                    .region(aws_sdk_s3::config::Region::new("us-east-1"))
                    .build(),
            ),
            s3control: aws_sdk_s3control::Client::from_conf(
                aws_sdk_s3control::Config::builder()
                    .behavior_version(aws_sdk_s3control::config::BehaviorVersion::latest())
                    .region(aws_sdk_s3control::config::Region::new("us-east-1"))
                    .build(),
            ),
        },
        concurrency: 8,
    };
    let b = BackupOptions {
        name: "backup".into(),
        schedule: "0 0 * * * *".into(),
        lookback_days: 30,
        overlap_hours: 24,
        include: vec![BackupPart::Jobs],
    };
    let c = ConfigOptions {
        name: "config".into(),
        schedule: "0 0 * * * *".into(),
        resource_types: vec!["AWS::EC2::Volume".into()],
        aggregator: None,
        aggregator_region: None,
        compliance: false,
    };
    let w = CloudwatchOptions {
        name: "alarms".into(),
        schedule: "0 0 * * * *".into(),
        history: false,
        lookback_days: 30,
    };
    let start = Instant::now();
    let history = History::read(&store).await.unwrap();
    let (rb, rc, rw) = tokio::join!(
        collect::run_target(&store, &history, "backup", "backup", &b, &target),
        collect::run_target(&store, &history, "config", "config", &c, &target),
        collect::run_target(&store, &history, "alarms", "cloudwatch", &w, &target),
    );
    let wall = start.elapsed();
    // Peak memory of the collection itself, before the check below reads everything back.
    let rss = peak_rss_mib();
    let (rb, rc, rw) = (rb.unwrap(), rc.unwrap(), rw.unwrap());
    for r in [&rb, &rc, &rw] {
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    // Check that everything was read.
    let records = store.records().await.unwrap();
    let mut counts = (0, 0, 0);
    for r in &records {
        for i in &r.record.items {
            let doc: serde_json::Value =
                serde_json::from_slice(&store.blob(&i.digest).await.unwrap().unwrap()).unwrap();
            match i.name.as_str() {
                "backup/backup-jobs.json" => {
                    counts.0 = doc["backup_jobs"].as_array().unwrap().len()
                }
                "config/resources.json" => counts.1 = doc["items"].as_array().unwrap().len(),
                "cloudwatch/alarms.json" => {
                    counts.2 = doc["metric_alarms"].as_array().unwrap().len()
                }
                _ => {}
            }
        }
    }
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("counts.json")).unwrap()).unwrap();
    let n = |k: &str| expected[k].as_u64().unwrap() as usize;
    assert_eq!(counts, (n("jobs"), n("items"), n("alarms")));
    println!(
        "evidenced: {} jobs, {} configuration items, {} alarms, 3 records, {} new blob bytes: wall {:.3} s, peak RSS {:.1} MiB",
        counts.0,
        counts.1,
        counts.2,
        rb.new_blob_bytes + rc.new_blob_bytes + rw.new_blob_bytes,
        wall.as_secs_f64(),
        rss
    );
}
