//! Collectors with aws-smithy-mocks, for what moto lacks: Backup job and restore-testing
//! listings, Config compliance, CloudWatch composite alarms and alarm history; throttling,
//! unprocessed keys and access denied (moto enforces no IAM, so denied S3 posture reads are
//! here too). Responses follow the AWS API reference shapes.

use std::time::Duration;

use aws_sdk_backup::types as bt;
use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::DateTime;
use evidenced::chain::{EvidenceStore, StoredRecord};
use evidenced::collect::{self, AwsCollector, Clients, History, RunReport, Target};
use evidenced::config::{BackupOptions, BackupPart, CloudwatchOptions, ConfigOptions};
use evidenced::record::Status;
use evidenced::store::LocalStore;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";

fn fast_retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1))
}

fn backup_client(rules: &[&Rule]) -> aws_sdk_backup::Client {
    aws_smithy_mocks::mock_client!(aws_sdk_backup, RuleMode::MatchAny, rules, |c| c
        .retry_config(fast_retries()))
}

fn config_client(rules: &[&Rule]) -> aws_sdk_config::Client {
    aws_smithy_mocks::mock_client!(aws_sdk_config, RuleMode::MatchAny, rules, |c| c
        .retry_config(fast_retries()))
}

fn cloudwatch_client(rules: &[&Rule]) -> aws_sdk_cloudwatch::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::Config::builder()
            .with_test_defaults()
            .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
            .retry_config(fast_retries())
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build(),
    )
}

fn unused_s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .build(),
    )
}

fn unused_s3control() -> aws_sdk_s3control::Client {
    aws_sdk_s3control::Client::from_conf(
        aws_sdk_s3control::Config::builder()
            .behavior_version(aws_sdk_s3control::config::BehaviorVersion::latest())
            .region(aws_sdk_s3control::config::Region::new("us-east-1"))
            .build(),
    )
}

fn s3_client(rules: &[&Rule]) -> aws_sdk_s3::Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
        interceptor = interceptor.with_rule(r);
    }
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .retry_config(fast_retries())
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build(),
    )
}

fn s3control_client(rules: &[&Rule]) -> aws_sdk_s3control::Client {
    aws_smithy_mocks::mock_client!(aws_sdk_s3control, RuleMode::MatchAny, rules, |c| c
        .retry_config(fast_retries()))
}

fn target(
    region: &str,
    backup: aws_sdk_backup::Client,
    config: aws_sdk_config::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
) -> Target {
    Target {
        account: ACCOUNT.into(),
        region: region.into(),
        caller_arn: Some(format!("arn:aws:sts::{ACCOUNT}:assumed-role/evidenced/run")),
        identity_calls: Vec::new(),
        clients: Clients {
            backup,
            config,
            cloudwatch,
            s3: unused_s3(),
            s3control: unused_s3control(),
        },
        concurrency: 4,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: EvidenceStore<LocalStore>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::new(LocalStore::new(dir.path().join("evidence")));
        Fixture { _dir: dir, store }
    }

    async fn run<C: AwsCollector>(&self, kind: &str, c: &C, t: &Target) -> RunReport {
        let history = History::read(&self.store).await.unwrap();
        collect::run_target(&self.store, &history, kind, kind, c, t)
            .await
            .unwrap()
    }

    async fn record(&self, seq: u64) -> StoredRecord {
        let all = self.store.records().await.unwrap();
        all.into_iter().find(|r| r.seq == seq).unwrap()
    }

    async fn doc(&self, seq: u64, name: &str) -> Value {
        let r = self.record(seq).await;
        let item = r
            .record
            .items
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("record {seq} has no {name}: {:?}", r.record.items));
        serde_json::from_slice(&self.store.blob(&item.digest).await.unwrap().unwrap()).unwrap()
    }
}

fn backup_opts(include: Vec<BackupPart>) -> BackupOptions {
    BackupOptions {
        name: "backup".into(),
        schedule: "0 0 * * * *".into(),
        lookback_days: 30,
        overlap_hours: 24,
        include,
    }
}

fn t(s: &str) -> DateTime {
    DateTime::from_str(s, aws_smithy_types::date_time::Format::DateTime).unwrap()
}

fn backup_job(id: &str, state: bt::BackupJobState, created: &str) -> bt::BackupJob {
    bt::BackupJob::builder()
        .backup_job_id(id)
        .state(state)
        .creation_date(t(created))
        .resource_arn(format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:{id}"))
        .resource_type("RDS")
        .backup_vault_name("primary")
        .created_by(
            bt::RecoveryPointCreator::builder()
                .backup_plan_id("plan-1")
                .build(),
        )
        .build()
}

fn restore_job(
    id: &str,
    status: bt::RestoreJobStatus,
    validation: Option<bt::RestoreValidationStatus>,
    created: &str,
) -> bt::RestoreJobsListMember {
    bt::RestoreJobsListMember::builder()
        .restore_job_id(id)
        .status(status)
        .creation_date(t(created))
        .completion_date(t("2026-08-14T13:42:00Z"))
        .set_validation_status(validation)
        .resource_type("RDS")
        .recovery_point_arn(format!(
            "arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:awsbackup:{id}"
        ))
        .created_resource_arn(format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:restored-{id}"))
        .created_by(
            bt::RestoreJobCreator::builder()
                .restore_testing_plan_arn(format!(
                    "arn:aws:backup:us-east-1:{ACCOUNT}:restore-testing-plan:quarterly"
                ))
                .build(),
        )
        .recovery_point_creation_date(t("2026-08-14T05:00:00Z"))
        .build()
}

/// A paginated listing: page `i` answers the request whose token is `None` (i = 0) or
/// `p<i>`.
macro_rules! pages {
    ($op:path, $n:expr, |$i:ident| $page:expr) => {{
        (0..$n)
            .map(|$i: usize| {
                let want = if $i == 0 {
                    None
                } else {
                    Some(format!("p{}", $i))
                };
                mock!($op)
                    .match_requests(move |r| r.next_token().map(String::from) == want)
                    .then_output(move || {
                        let b = $page;
                        if $i + 1 < $n {
                            b.next_token(format!("p{}", $i + 1)).build()
                        } else {
                            b.build()
                        }
                    })
            })
            .collect::<Vec<Rule>>()
    }};
}

#[tokio::test]
async fn backup_jobs_over_three_pages_and_restore_testing() {
    use aws_sdk_backup::operation::*;
    use aws_sdk_backup::Client;
    let mut rules = Vec::new();
    rules.extend(pages!(Client::list_backup_jobs, 3, |i| {
        list_backup_jobs::ListBackupJobsOutput::builder()
            .backup_jobs(backup_job(
                &format!("bj-{i}a"),
                bt::BackupJobState::Completed,
                "2026-08-14T05:00:00Z",
            ))
            .backup_jobs(backup_job(
                &format!("bj-{i}b"),
                bt::BackupJobState::Running,
                "2026-08-14T06:00:00Z",
            ))
    }));
    rules.extend(pages!(Client::list_copy_jobs, 3, |i| {
        list_copy_jobs::ListCopyJobsOutput::builder().copy_jobs(
            bt::CopyJob::builder()
                .copy_job_id(format!("cj-{i}"))
                .state(bt::CopyJobState::Completed)
                .creation_date(t("2026-08-14T07:00:00Z"))
                .source_backup_vault_arn(format!(
                    "arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:primary"
                ))
                .destination_backup_vault_arn(
                    "arn:aws:backup:us-west-2:444455556666:backup-vault:dr",
                )
                .build(),
        )
    }));
    rules.extend(pages!(Client::list_restore_jobs, 3, |i| {
        list_restore_jobs::ListRestoreJobsOutput::builder().restore_jobs(restore_job(
            &format!("rj-{i}"),
            bt::RestoreJobStatus::Completed,
            Some(bt::RestoreValidationStatus::Successful),
            "2026-08-14T13:00:00Z",
        ))
    }));
    rules.push(mock!(Client::list_restore_testing_plans).then_output(|| {
        list_restore_testing_plans::ListRestoreTestingPlansOutput::builder()
            .restore_testing_plans(
                bt::RestoreTestingPlanForList::builder()
                    .restore_testing_plan_name("quarterly")
                    .restore_testing_plan_arn(format!(
                        "arn:aws:backup:us-east-1:{ACCOUNT}:restore-testing-plan:quarterly"
                    ))
                    .schedule_expression("cron(0 5 1 */3 ? *)")
                    .schedule_expression_timezone("Etc/UTC")
                    .start_window_hours(24)
                    .creation_time(t("2026-01-01T00:00:00Z"))
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }));
    rules.push(
        mock!(Client::list_restore_testing_selections)
            .match_requests(|r| r.restore_testing_plan_name() == Some("quarterly"))
            .then_output(|| {
                list_restore_testing_selections::ListRestoreTestingSelectionsOutput::builder()
                    .restore_testing_selections(
                        bt::RestoreTestingSelectionForList::builder()
                            .restore_testing_selection_name("rds")
                            .restore_testing_plan_name("quarterly")
                            .protected_resource_type("RDS")
                            .iam_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/restore"))
                            .validation_window_hours(4)
                            .creation_time(t("2026-01-01T00:00:00Z"))
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap()
            }),
    );
    let refs: Vec<&Rule> = rules.iter().collect();
    let tgt = target(
        "us-east-1",
        backup_client(&refs),
        config_client(&[]),
        cloudwatch_client(&[]),
    );
    let f = Fixture::new();
    let opts = backup_opts(vec![BackupPart::Jobs, BackupPart::RestoreTesting]);
    let rep = f.run("backup", &opts, &tgt).await;
    assert_eq!(rep.status, Status::Complete, "{:?}", rep.errors);
    let r = f.record(rep.seq).await;
    assert_eq!(r.record.kind, "backup");
    assert_eq!(r.record.scope.account.as_deref(), Some(ACCOUNT));
    assert_eq!(r.record.scope.region.as_deref(), Some("us-east-1"));
    assert_eq!(r.record.provenance.caller_arn, tgt.caller_arn);
    let pages = |op: &str| {
        r.record
            .provenance
            .api_calls
            .iter()
            .filter(|c| c.operation == op)
            .count()
    };
    assert_eq!(pages("backup:ListBackupJobs"), 3);
    assert_eq!(pages("backup:ListCopyJobs"), 3);
    assert_eq!(pages("backup:ListRestoreJobs"), 3);

    let d = f.doc(rep.seq, "backup/backup-jobs.json").await;
    let ids: Vec<&str> = d["backup_jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["backup_job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bj-0a", "bj-0b", "bj-1a", "bj-1b", "bj-2a", "bj-2b"]);
    assert_eq!(d["backup_jobs"][0]["state"], "COMPLETED");
    assert_eq!(d["backup_jobs"][0]["backup_plan_id"], "plan-1");
    assert_eq!(d["backup_jobs"][0]["creation_date"], "2026-08-14T05:00:00Z");
    let d = f.doc(rep.seq, "backup/copy-jobs.json").await;
    assert_eq!(d["copy_jobs"].as_array().unwrap().len(), 3);
    assert_eq!(
        d["copy_jobs"][2]["destination_backup_vault_arn"],
        "arn:aws:backup:us-west-2:444455556666:backup-vault:dr"
    );
    // Where the copy went, from the vault ARNs.
    assert_eq!(d["copy_jobs"][2]["source_region"], "us-east-1");
    assert_eq!(d["copy_jobs"][2]["destination_region"], "us-west-2");
    assert_eq!(d["copy_jobs"][2]["destination_account"], "444455556666");

    // The restore-jobs document, exactly in its contract shape.
    let item = r
        .record
        .items
        .iter()
        .find(|i| i.name == "backup/restore-jobs.json")
        .unwrap();
    assert_eq!(
        item.media_type,
        "application/vnd.evidenced.aws.backup.restore-jobs+json"
    );
    let d = f.doc(rep.seq, "backup/restore-jobs.json").await;
    assert_eq!(d["account"], ACCOUNT);
    assert_eq!(d["region"], "us-east-1");
    assert_eq!(d["restore_jobs"].as_array().unwrap().len(), 3);
    assert_eq!(
        d["restore_jobs"][0],
        json!({
            "restore_job_id": "rj-0",
            "status": "COMPLETED",
            "creation_date": "2026-08-14T13:00:00Z",
            "completion_date": "2026-08-14T13:42:00Z",
            "validation_status": "SUCCESSFUL",
            "resource_type": "RDS",
            "recovery_point_arn": format!("arn:aws:rds:us-east-1:{ACCOUNT}:snapshot:awsbackup:rj-0"),
            "created_resource_arn": format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:restored-rj-0"),
            "restore_testing_plan_arn": format!("arn:aws:backup:us-east-1:{ACCOUNT}:restore-testing-plan:quarterly"),
            "recovery_point_creation_date": "2026-08-14T05:00:00Z",
            "duration_minutes": 42,
            "source_region": "us-east-1",
            "destination_region": "us-east-1",
        })
    );

    let d = f.doc(rep.seq, "backup/restore-testing.json").await;
    assert_eq!(
        d["plans"],
        json!([{
            "name": "quarterly",
            "arn": format!("arn:aws:backup:us-east-1:{ACCOUNT}:restore-testing-plan:quarterly"),
            "schedule_expression": "cron(0 5 1 */3 ? *)",
            "schedule_expression_timezone": "Etc/UTC",
            "start_window_hours": 24,
            "creation_time": "2026-01-01T00:00:00Z",
            "selections": [{"name": "rds", "protected_resource_type": "RDS",
                "iam_role_arn": format!("arn:aws:iam::{ACCOUNT}:role/restore"), "validation_window_hours": 4}],
        }])
    );
}

fn restore_listing(
    jobs: Vec<bt::RestoreJobsListMember>,
    max_created_after: Option<DateTime>,
) -> Rule {
    use aws_sdk_backup::Client;
    mock!(Client::list_restore_jobs)
        .match_requests(move |r| match (max_created_after, r.by_created_after()) {
            (Some(max), Some(got)) => got.secs() <= max.secs(),
            (Some(_), None) => false,
            (None, _) => true,
        })
        .then_output(move || {
            aws_sdk_backup::operation::list_restore_jobs::ListRestoreJobsOutput::builder()
                .set_restore_jobs(Some(jobs.clone()))
                .build()
        })
}

fn empty_backup_and_copy() -> Vec<Rule> {
    use aws_sdk_backup::Client;
    vec![
        mock!(Client::list_backup_jobs).then_output(|| {
            aws_sdk_backup::operation::list_backup_jobs::ListBackupJobsOutput::builder().build()
        }),
        mock!(Client::list_copy_jobs).then_output(|| {
            aws_sdk_backup::operation::list_copy_jobs::ListCopyJobsOutput::builder().build()
        }),
    ]
}

#[tokio::test]
async fn incremental_jobs_store_each_once_keep_status_changes_and_dropped_jobs() {
    use bt::RestoreJobStatus::*;
    use bt::RestoreValidationStatus::*;
    let f = Fixture::new();
    let opts = backup_opts(vec![BackupPart::Jobs]);
    let run = |rules: Vec<Rule>| {
        let refs: Vec<&Rule> = rules.iter().collect();
        target(
            "us-east-1",
            backup_client(&refs),
            config_client(&[]),
            cloudwatch_client(&[]),
        )
    };
    let ids = |d: &Value| -> Vec<(String, String)> {
        d["restore_jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| {
                (
                    j["restore_job_id"].as_str().unwrap().to_string(),
                    j["validation_status"].as_str().unwrap_or("-").to_string(),
                )
            })
            .collect()
    };
    // Run 1: A finished, B still validating, D finished long ago.
    let mut rules = empty_backup_and_copy();
    rules.push(restore_listing(
        vec![
            restore_job("A", Completed, Some(Successful), "2026-08-10T00:00:00Z"),
            restore_job("B", Completed, Some(Validating), "2026-08-12T00:00:00Z"),
            restore_job("D", Completed, Some(Successful), "2026-08-01T00:00:00Z"),
        ],
        None,
    ));
    let r1 = f.run("backup", &opts, &run(rules)).await;
    let d1 = f.doc(r1.seq, "backup/restore-jobs.json").await;
    assert_eq!(
        ids(&d1),
        [
            ("A".into(), "SUCCESSFUL".into()),
            ("B".into(), "VALIDATING".into()),
            ("D".into(), "SUCCESSFUL".into())
        ]
    );

    // Run 2: the listing overlaps (A again), B changed, C is new and D has aged out of
    // AWS's listing. The window must still reach back to B, which was open.
    let mut rules = empty_backup_and_copy();
    rules.push(restore_listing(
        vec![
            restore_job("A", Completed, Some(Successful), "2026-08-10T00:00:00Z"),
            restore_job("B", Completed, Some(Successful), "2026-08-12T00:00:00Z"),
            restore_job("C", Completed, Some(Successful), "2026-08-15T00:00:00Z"),
        ],
        Some(t("2026-08-12T00:00:00Z")),
    ));
    let r2 = f.run("backup", &opts, &run(rules)).await;
    assert_eq!(r2.status, Status::Complete, "{:?}", r2.errors);
    let d2 = f.doc(r2.seq, "backup/restore-jobs.json").await;
    assert_eq!(
        ids(&d2),
        [
            ("B".into(), "SUCCESSFUL".into()),
            ("C".into(), "SUCCESSFUL".into())
        ]
    );

    // Across the store each job is stored once per state; D, dropped by AWS, stays.
    let mut all = ids(&d1);
    all.extend(ids(&d2));
    all.sort();
    assert_eq!(all.iter().filter(|(id, _)| id == "A").count(), 1);
    assert_eq!(all.iter().filter(|(id, _)| id == "B").count(), 2);
    assert_eq!(
        ids(&f.doc(r1.seq, "backup/restore-jobs.json").await)[2].0,
        "D"
    );

    // Unchanged account state: once the delta is empty, a further run adds a record but
    // no new blob bytes.
    let listing = || {
        let mut rules = empty_backup_and_copy();
        rules.push(restore_listing(
            vec![
                restore_job("B", Completed, Some(Successful), "2026-08-12T00:00:00Z"),
                restore_job("C", Completed, Some(Successful), "2026-08-15T00:00:00Z"),
            ],
            None,
        ));
        rules
    };
    let r3 = f.run("backup", &opts, &run(listing())).await;
    assert!(ids(&f.doc(r3.seq, "backup/restore-jobs.json").await).is_empty());
    let r4 = f.run("backup", &opts, &run(listing())).await;
    assert_eq!(r4.seq, r3.seq + 1);
    assert_eq!(r4.new_blob_bytes, 0);
}

#[tokio::test]
async fn throttling_is_retried_and_access_denied_region_is_partial() {
    use aws_sdk_backup::operation::list_backup_plans::{
        ListBackupPlansError, ListBackupPlansOutput,
    };
    use aws_sdk_backup::operation::list_backup_vaults::{
        ListBackupVaultsError, ListBackupVaultsOutput,
    };
    use aws_sdk_backup::Client;
    let throttled = mock!(Client::list_backup_plans)
        .sequence()
        .error(|| {
            ListBackupPlansError::generic(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .times(2)
        .output(|| ListBackupPlansOutput::builder().build())
        .build();
    let vaults = mock!(Client::list_backup_vaults).then_output(|| {
        ListBackupVaultsOutput::builder()
            .backup_vault_list(
                bt::BackupVaultListMember::builder()
                    .backup_vault_name("primary")
                    .locked(true)
                    .min_retention_days(7)
                    .build(),
            )
            .build()
    });
    let f = Fixture::new();
    let opts = backup_opts(vec![BackupPart::Plans, BackupPart::Vaults]);
    let tgt = target(
        "us-east-1",
        backup_client(&[&throttled, &vaults]),
        config_client(&[]),
        cloudwatch_client(&[]),
    );
    let rep = f.run("backup", &opts, &tgt).await;
    assert_eq!(rep.status, Status::Complete, "{:?}", rep.errors);
    assert_eq!(
        throttled.num_calls(),
        3,
        "two throttled attempts, then success"
    );
    assert_eq!(
        f.doc(rep.seq, "backup/vaults.json").await["vaults"][0]["locked"],
        true
    );

    // Another region denies the vault listing: the run is partial, names the region and
    // the operation, and keeps what could be read.
    let plans =
        mock!(Client::list_backup_plans).then_output(|| ListBackupPlansOutput::builder().build());
    let denied = mock!(Client::list_backup_vaults).then_error(|| {
        ListBackupVaultsError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform: backup:ListBackupVaults")
                .build(),
        )
    });
    let tgt = target(
        "eu-central-1",
        backup_client(&[&plans, &denied]),
        config_client(&[]),
        cloudwatch_client(&[]),
    );
    let rep = f.run("backup", &opts, &tgt).await;
    assert_eq!(rep.status, Status::Partial);
    let r = f.record(rep.seq).await;
    assert_eq!(r.record.scope.region.as_deref(), Some("eu-central-1"));
    assert_eq!(r.record.errors.len(), 1);
    assert_eq!(r.record.errors[0].operation, "backup:ListBackupVaults");
    assert_eq!(r.record.errors[0].region.as_deref(), Some("eu-central-1"));
    assert!(
        r.record.errors[0].message.contains("AccessDeniedException"),
        "{:?}",
        r.record.errors
    );
    assert_eq!(denied.num_calls(), 1, "access denied is not retried");
    let names: Vec<&str> = r.record.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["backup/plans.json"]);
}

#[tokio::test]
async fn config_compliance_and_unprocessed_keys_retried() {
    use aws_sdk_config::operation::*;
    use aws_sdk_config::types as ct;
    use aws_sdk_config::Client;
    let keys: Vec<String> = (0..150).map(|i| format!("vol-{i:04}")).collect();
    let mut rules = pages!(Client::list_discovered_resources, 2, |i| {
        let b = list_discovered_resources::ListDiscoveredResourcesOutput::builder();
        (i * 100..((i + 1) * 100).min(150))
            .map(|n| format!("vol-{n:04}"))
            .fold(b, |b, id| {
                b.resource_identifiers(
                    ct::ResourceIdentifier::builder()
                        .resource_type(ct::ResourceType::Volume)
                        .resource_id(id)
                        .build(),
                )
            })
    });
    let item = |id: &str| {
        ct::BaseConfigurationItem::builder()
            .resource_type(ct::ResourceType::Volume)
            .resource_id(id)
            .arn(format!("arn:aws:ec2:us-east-1:{ACCOUNT}:volume/{id}"))
            .configuration(format!(r#"{{"volumeId":"{id}","encrypted":true}}"#))
            .configuration_item_capture_time(t("2026-08-01T00:00:00Z"))
            .build()
    };
    // Each batch: the first call leaves its last 10 keys unprocessed; the retry gets them.
    let batch = mock!(Client::batch_get_resource_config).then_compute_output(move |req| {
        let asked: Vec<String> = req
            .resource_keys()
            .iter()
            .map(|k| k.resource_id().to_string())
            .collect();
        let (done, left) = if asked.len() > 10 {
            asked.split_at(asked.len() - 10)
        } else {
            (&asked[..], &[][..])
        };
        let mut b = batch_get_resource_config::BatchGetResourceConfigOutput::builder();
        for id in done {
            b = b.base_configuration_items(item(id));
        }
        for id in left {
            b = b.unprocessed_resource_keys(
                ct::ResourceKey::builder()
                    .resource_type(ct::ResourceType::Volume)
                    .resource_id(id)
                    .build()
                    .unwrap(),
            );
        }
        b.build()
    });
    rules.push(batch);
    rules.push(
        mock!(Client::describe_configuration_recorders).then_output(|| {
            describe_configuration_recorders::DescribeConfigurationRecordersOutput::builder()
                .build()
        }),
    );
    rules.push(mock!(Client::describe_configuration_recorder_status).then_output(|| describe_configuration_recorder_status::DescribeConfigurationRecorderStatusOutput::builder().build()));
    rules.push(mock!(Client::describe_delivery_channels).then_output(|| {
        describe_delivery_channels::DescribeDeliveryChannelsOutput::builder().build()
    }));
    rules.push(
        mock!(Client::describe_delivery_channel_status).then_output(|| {
            describe_delivery_channel_status::DescribeDeliveryChannelStatusOutput::builder().build()
        }),
    );
    rules.push(mock!(Client::describe_config_rules).then_output(|| {
        describe_config_rules::DescribeConfigRulesOutput::builder()
            .config_rules(
                ct::ConfigRule::builder()
                    .config_rule_name("ebs-encrypted")
                    .source(
                        ct::Source::builder()
                            .owner(ct::Owner::Aws)
                            .source_identifier("ENCRYPTED_VOLUMES")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .config_rules(
                ct::ConfigRule::builder()
                    .config_rule_name("s3-versioning")
                    .source(
                        ct::Source::builder()
                            .owner(ct::Owner::Aws)
                            .source_identifier("S3_BUCKET_VERSIONING_ENABLED")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
    }));
    rules.extend(pages!(Client::describe_compliance_by_config_rule, 2, |i| {
        let (name, c) = [
            ("ebs-encrypted", ct::ComplianceType::Compliant),
            ("s3-versioning", ct::ComplianceType::NonCompliant),
        ][i]
            .clone();
        describe_compliance_by_config_rule::DescribeComplianceByConfigRuleOutput::builder()
            .compliance_by_config_rules(
                ct::ComplianceByConfigRule::builder()
                    .config_rule_name(name)
                    .compliance(ct::Compliance::builder().compliance_type(c).build())
                    .build(),
            )
    }));
    rules.push(mock!(Client::describe_conformance_packs).then_output(|| {
        describe_conformance_packs::DescribeConformancePacksOutput::builder()
            .conformance_pack_details(
                ct::ConformancePackDetail::builder()
                    .conformance_pack_name("ops-best-practices")
                    .conformance_pack_arn(
                        "arn:aws:config:us-east-1:111122223333:conformance-pack/ops",
                    )
                    .conformance_pack_id("id-1")
                    .build()
                    .unwrap(),
            )
            .build()
    }));
    rules.push(
        mock!(Client::describe_conformance_pack_compliance)
            .match_requests(|r| r.conformance_pack_name() == Some("ops-best-practices"))
            .then_output(|| {
                describe_conformance_pack_compliance::DescribeConformancePackComplianceOutput::builder()
                    .conformance_pack_name("ops-best-practices")
                    .conformance_pack_rule_compliance_list(ct::ConformancePackRuleCompliance::builder().config_rule_name("backup-plan-min-frequency").compliance_type(ct::ConformancePackComplianceType::NonCompliant).build())
                    .build()
                    .unwrap()
            }),
    );
    let refs: Vec<&Rule> = rules.iter().collect();
    let tgt = target(
        "us-east-1",
        backup_client(&[]),
        config_client(&refs),
        cloudwatch_client(&[]),
    );
    let opts = ConfigOptions {
        name: "config".into(),
        schedule: "0 0 * * * *".into(),
        resource_types: vec!["AWS::EC2::Volume".into()],
        aggregator: None,
        aggregator_region: None,
        compliance: true,
    };
    let f = Fixture::new();
    let rep = f.run("config", &opts, &tgt).await;
    assert_eq!(rep.status, Status::Complete, "{:?}", rep.errors);
    let r = f.record(rep.seq).await;
    let calls = |op: &str| {
        r.record
            .provenance
            .api_calls
            .iter()
            .filter(|c| c.operation == op)
            .count()
    };
    assert_eq!(calls("config:ListDiscoveredResources"), 2);
    assert_eq!(
        calls("config:BatchGetResourceConfig"),
        4,
        "2 batches, each retried once for its unprocessed keys"
    );

    let d = f.doc(rep.seq, "config/resources.json").await;
    let got: Vec<&str> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        keys.iter().map(String::as_str).collect::<Vec<_>>(),
        "every key once, sorted"
    );
    assert_eq!(
        d["items"][0]["configuration"],
        json!({"volumeId": "vol-0000", "encrypted": true})
    );

    let d = f.doc(rep.seq, "config/rules.json").await;
    assert_eq!(d["rules"][0]["name"], "ebs-encrypted");
    assert_eq!(d["rules"][0]["compliance"], "COMPLIANT");
    assert_eq!(d["rules"][1]["compliance"], "NON_COMPLIANT");
    let d = f.doc(rep.seq, "config/conformance-packs.json").await;
    assert_eq!(
        d["conformance_packs"],
        json!([{"name": "ops-best-practices", "arn": "arn:aws:config:us-east-1:111122223333:conformance-pack/ops",
            "rules": [{"rule_name": "backup-plan-min-frequency", "compliance": "NON_COMPLIANT"}]}])
    );
}

#[tokio::test]
async fn composite_alarms_and_alarm_history_incrementally() {
    use aws_sdk_cloudwatch::operation::*;
    use aws_sdk_cloudwatch::types as wt;
    use aws_sdk_cloudwatch::Client;
    let alarms = mock!(Client::describe_alarms).then_output(|| {
        describe_alarms::DescribeAlarmsOutput::builder()
            .composite_alarms(
                wt::CompositeAlarm::builder()
                    .alarm_name("service-down")
                    .alarm_rule("ALARM(orders-5xx) OR ALARM(backup-failed)")
                    .actions_enabled(true)
                    .alarm_actions("arn:aws:sns:us-east-1:111122223333:page")
                    .alarm_actions("arn:aws:sns:us-east-1:111122223333:chat")
                    .state_value(wt::StateValue::Ok)
                    .build(),
            )
            .build()
    });
    let entry = |name: &str, at: &str, summary: &str| {
        wt::AlarmHistoryItem::builder()
            .alarm_name(name)
            .alarm_type(wt::AlarmType::MetricAlarm)
            .timestamp(t(at))
            .history_item_type(wt::HistoryItemType::StateUpdate)
            .history_summary(summary)
            .build()
    };
    let first = pages!(Client::describe_alarm_history, 3, |i| {
        describe_alarm_history::DescribeAlarmHistoryOutput::builder().alarm_history_items(entry(
            "orders-5xx",
            &format!("2026-08-14T13:0{i}:00Z"),
            &format!("change {i}"),
        ))
    });
    let mut rules = vec![alarms];
    rules.extend(first);
    let refs: Vec<&Rule> = rules.iter().collect();
    let opts = CloudwatchOptions {
        name: "cloudwatch".into(),
        schedule: "0 */10 * * * *".into(),
        history: true,
        lookback_days: 30,
    };
    let f = Fixture::new();
    let tgt = target(
        "us-east-1",
        backup_client(&[]),
        config_client(&[]),
        cloudwatch_client(&refs),
    );
    let r1 = f.run("cloudwatch", &opts, &tgt).await;
    assert_eq!(r1.status, Status::Complete, "{:?}", r1.errors);
    let d = f.doc(r1.seq, "cloudwatch/alarms.json").await;
    assert_eq!(
        d["composite_alarms"],
        json!([{"name": "service-down", "arn": null, "description": null,
            "alarm_rule": "ALARM(orders-5xx) OR ALARM(backup-failed)", "actions_enabled": true,
            "alarm_actions": ["arn:aws:sns:us-east-1:111122223333:chat", "arn:aws:sns:us-east-1:111122223333:page"],
            "ok_actions": [], "insufficient_data_actions": [], "state": "OK"}])
    );
    let h = f.doc(r1.seq, "cloudwatch/alarm-history.json").await;
    assert_eq!(h["entries"].as_array().unwrap().len(), 3);

    // Second run: the listing overlaps the last entry and adds one; only the new one is
    // stored, and the read starts no later than an hour before the newest entry seen.
    let alarms = mock!(Client::describe_alarms)
        .then_output(|| describe_alarms::DescribeAlarmsOutput::builder().build());
    let newest = t("2026-08-14T13:02:00Z");
    let second = mock!(Client::describe_alarm_history)
        .match_requests(move |r| {
            r.start_date()
                .is_some_and(|s| s.secs() <= newest.secs() - 3600)
        })
        .then_output(move || {
            describe_alarm_history::DescribeAlarmHistoryOutput::builder()
                .alarm_history_items(entry("orders-5xx", "2026-08-14T13:02:00Z", "change 2"))
                .alarm_history_items(entry("orders-5xx", "2026-08-14T14:00:00Z", "change 3"))
                .build()
        });
    let tgt = target(
        "us-east-1",
        backup_client(&[]),
        config_client(&[]),
        cloudwatch_client(&[&alarms, &second]),
    );
    let r2 = f.run("cloudwatch", &opts, &tgt).await;
    assert_eq!(r2.status, Status::Complete, "{:?}", r2.errors);
    let h = f.doc(r2.seq, "cloudwatch/alarm-history.json").await;
    assert_eq!(
        h["entries"],
        json!([{"alarm_name": "orders-5xx", "alarm_type": "MetricAlarm",
        "timestamp": "2026-08-14T14:00:00Z", "item_type": "StateUpdate", "summary": "change 3", "data": null}])
    );
}

#[tokio::test]
async fn a_vault_whose_policy_cannot_be_read_is_listed_with_the_error() {
    use aws_sdk_backup::operation::get_backup_vault_access_policy::{
        GetBackupVaultAccessPolicyError, GetBackupVaultAccessPolicyOutput,
    };
    use aws_sdk_backup::operation::list_backup_vaults::ListBackupVaultsOutput;
    use aws_sdk_backup::Client;
    let vaults = mock!(Client::list_backup_vaults).then_output(|| {
        let v = |name: &str| {
            bt::BackupVaultListMember::builder()
                .backup_vault_name(name)
                .backup_vault_arn(format!(
                    "arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:{name}"
                ))
                .build()
        };
        ListBackupVaultsOutput::builder()
            .backup_vault_list(v("primary"))
            .backup_vault_list(v("bare"))
            .backup_vault_list(v("guarded"))
            .build()
    });
    let policy = mock!(Client::get_backup_vault_access_policy)
        .match_requests(|r| r.backup_vault_name() == Some("primary"))
        .then_output(|| {
            GetBackupVaultAccessPolicyOutput::builder()
                .backup_vault_name("primary")
                .policy(r#"{"Version":"2012-10-17","Statement":[]}"#)
                .build()
        });
    let none = mock!(Client::get_backup_vault_access_policy)
        .match_requests(|r| r.backup_vault_name() == Some("bare"))
        .then_error(|| {
            GetBackupVaultAccessPolicyError::generic(
                ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .message("Backup vault bare has no access policy")
                    .build(),
            )
        });
    let denied = mock!(Client::get_backup_vault_access_policy)
        .match_requests(|r| r.backup_vault_name() == Some("guarded"))
        .then_error(|| {
            GetBackupVaultAccessPolicyError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("not authorized to perform: backup:GetBackupVaultAccessPolicy")
                    .build(),
            )
        });
    let tgt = target(
        "us-east-1",
        backup_client(&[&vaults, &policy, &none, &denied]),
        config_client(&[]),
        cloudwatch_client(&[]),
    );
    let f = Fixture::new();
    let opts = backup_opts(vec![BackupPart::Vaults, BackupPart::VaultPolicies]);
    let rep = f.run("backup", &opts, &tgt).await;
    assert_eq!(rep.status, Status::Partial);
    let r = f.record(rep.seq).await;
    assert_eq!(r.record.errors.len(), 1, "{:?}", r.record.errors);
    let e = &r.record.errors[0];
    assert_eq!(e.operation, "backup:GetBackupVaultAccessPolicy");
    assert!(e.message.starts_with("AccessDeniedException"), "{e:?}");

    let d = f.doc(rep.seq, "backup/vaults.json").await;
    let vaults = d["vaults"].as_array().unwrap();
    let names: Vec<&str> = vaults.iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["bare", "guarded", "primary"], "no vault disappears");
    for v in vaults {
        let o = v.as_object().unwrap();
        assert!(o.contains_key("access_policy"), "{v}");
        assert!(o.contains_key("access_policy_error"), "{v}");
    }
    assert_eq!(vaults[0]["access_policy"], Value::Null);
    assert_eq!(vaults[0]["access_policy_error"], Value::Null);
    assert_eq!(vaults[1]["access_policy"], Value::Null);
    assert_eq!(vaults[1]["access_policy_error"], json!(e.message));
    assert_eq!(
        vaults[2]["access_policy"],
        json!({"Version": "2012-10-17", "Statement": []})
    );
    assert_eq!(vaults[2]["access_policy_error"], Value::Null);
}

#[tokio::test]
async fn protected_resources_carry_their_latest_restore() {
    use aws_sdk_backup::operation::describe_protected_resource::{
        DescribeProtectedResourceError, DescribeProtectedResourceOutput,
    };
    use aws_sdk_backup::operation::list_protected_resources::ListProtectedResourcesOutput;
    use aws_sdk_backup::Client;
    let arn = |id: &str| format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:{id}");
    let listed = mock!(Client::list_protected_resources).then_output(move || {
        let r = |id: &str| {
            bt::ProtectedResource::builder()
                .resource_arn(arn(id))
                .resource_type("RDS")
                .last_backup_time(t("2026-08-14T05:00:00Z"))
                .build()
        };
        ListProtectedResourcesOutput::builder()
            .results(r("restored"))
            .results(r("never"))
            .results(r("gone"))
            .build()
    });
    let restored = mock!(Client::describe_protected_resource)
        .match_requests(move |r| r.resource_arn() == Some(arn("restored").as_str()))
        .then_output(move || {
            DescribeProtectedResourceOutput::builder()
                .resource_arn(arn("restored"))
                .resource_type("RDS")
                .latest_restore_execution_time_minutes(37)
                .latest_restore_job_creation_date(t("2026-08-10T12:00:00Z"))
                .latest_restore_recovery_point_creation_date(t("2026-08-10T05:00:00Z"))
                .build()
        });
    let never = mock!(Client::describe_protected_resource)
        .match_requests(move |r| r.resource_arn() == Some(arn("never").as_str()))
        .then_output(move || {
            DescribeProtectedResourceOutput::builder()
                .resource_arn(arn("never"))
                .build()
        });
    let gone = mock!(Client::describe_protected_resource)
        .match_requests(move |r| r.resource_arn() == Some(arn("gone").as_str()))
        .then_error(|| {
            DescribeProtectedResourceError::generic(
                ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .message("not found")
                    .build(),
            )
        });
    let tgt = target(
        "us-east-1",
        backup_client(&[&listed, &restored, &never, &gone]),
        config_client(&[]),
        cloudwatch_client(&[]),
    );
    let f = Fixture::new();
    let opts = backup_opts(vec![BackupPart::ProtectedResources]);
    let rep = f.run("backup", &opts, &tgt).await;
    assert_eq!(rep.status, Status::Complete, "{:?}", rep.errors);
    let d = f.doc(rep.seq, "backup/protected-resources.json").await;
    let by_arn = |id: &str| {
        d["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource_arn"] == json!(arn(id)))
            .unwrap()
            .clone()
    };
    let r = by_arn("restored");
    assert_eq!(r["latest_restore_execution_time_minutes"], 37);
    assert_eq!(
        r["latest_restore_job_creation_date"],
        "2026-08-10T12:00:00Z"
    );
    assert_eq!(
        r["latest_restore_recovery_point_creation_date"],
        "2026-08-10T05:00:00Z"
    );
    assert_eq!(r["last_backup_time"], "2026-08-14T05:00:00Z");
    for id in ["never", "gone"] {
        let r = by_arn(id);
        let o = r.as_object().unwrap();
        for key in [
            "latest_restore_execution_time_minutes",
            "latest_restore_job_creation_date",
            "latest_restore_recovery_point_creation_date",
        ] {
            assert_eq!(o.get(key), Some(&Value::Null), "{id}: {key}");
        }
    }
}

#[tokio::test]
async fn restore_jobs_record_duration_regions_and_source() {
    use bt::RestoreJobStatus::*;
    let mut rules = empty_backup_and_copy();
    let other = "444455556666";
    rules.push(restore_listing(
        vec![
            // Restored from a copy in another region, into a global resource (S3): the
            // destination is the region the job ran in.
            bt::RestoreJobsListMember::builder()
                .restore_job_id("cross")
                .account_id(other)
                .status(Completed)
                .creation_date(t("2026-08-14T13:00:00Z"))
                .completion_date(t("2026-08-14T13:42:01Z"))
                .resource_type("S3")
                .recovery_point_arn("arn:aws:ec2:us-west-2::snapshot/snap-0abc")
                .source_resource_arn(format!("arn:aws:s3:::{other}-data"))
                .created_resource_arn(format!("arn:aws:s3:::{other}-restored"))
                .build(),
            // Still running, restoring into another region's resource; the recovery point
            // is not an ARN.
            bt::RestoreJobsListMember::builder()
                .restore_job_id("running")
                .status(Running)
                .creation_date(t("2026-08-14T13:00:00Z"))
                .resource_type("EBS")
                .recovery_point_arn("not-an-arn")
                .created_resource_arn(format!("arn:aws:ec2:eu-west-1:{ACCOUNT}:volume/vol-1"))
                .build(),
        ],
        None,
    ));
    let refs: Vec<&Rule> = rules.iter().collect();
    let tgt = target(
        "us-east-1",
        backup_client(&refs),
        config_client(&[]),
        cloudwatch_client(&[]),
    );
    let f = Fixture::new();
    let rep = f
        .run("backup", &backup_opts(vec![BackupPart::Jobs]), &tgt)
        .await;
    assert_eq!(rep.status, Status::Complete, "{:?}", rep.errors);
    let d = f.doc(rep.seq, "backup/restore-jobs.json").await;
    assert_eq!(
        d["restore_jobs"],
        json!([
            {"restore_job_id": "cross", "status": "COMPLETED", "account_id": other,
             "creation_date": "2026-08-14T13:00:00Z", "completion_date": "2026-08-14T13:42:01Z",
             "duration_minutes": 43, "resource_type": "S3",
             "recovery_point_arn": "arn:aws:ec2:us-west-2::snapshot/snap-0abc",
             "source_region": "us-west-2", "destination_region": "us-east-1",
             "source_resource_arn": format!("arn:aws:s3:::{other}-data"),
             "created_resource_arn": format!("arn:aws:s3:::{other}-restored")},
            {"restore_job_id": "running", "status": "RUNNING",
             "creation_date": "2026-08-14T13:00:00Z", "resource_type": "EBS",
             "recovery_point_arn": "not-an-arn", "destination_region": "eu-west-1",
             "created_resource_arn": format!("arn:aws:ec2:eu-west-1:{ACCOUNT}:volume/vol-1")},
        ])
    );
}

/// Empty answers to the Config reads other than resources.
fn config_basics() -> Vec<Rule> {
    use aws_sdk_config::operation::*;
    use aws_sdk_config::Client;
    vec![
        mock!(Client::describe_configuration_recorders).then_output(|| {
            describe_configuration_recorders::DescribeConfigurationRecordersOutput::builder()
                .build()
        }),
        mock!(Client::describe_configuration_recorder_status).then_output(|| {
            describe_configuration_recorder_status::DescribeConfigurationRecorderStatusOutput::builder().build()
        }),
        mock!(Client::describe_delivery_channels).then_output(|| {
            describe_delivery_channels::DescribeDeliveryChannelsOutput::builder().build()
        }),
        mock!(Client::describe_delivery_channel_status).then_output(|| {
            describe_delivery_channel_status::DescribeDeliveryChannelStatusOutput::builder().build()
        }),
        mock!(Client::describe_config_rules).then_output(|| {
            describe_config_rules::DescribeConfigRulesOutput::builder().build()
        }),
    ]
}

#[tokio::test]
async fn config_aggregator_is_read_only_in_its_region() {
    use aws_sdk_config::operation::*;
    use aws_sdk_config::types as ct;
    use aws_sdk_config::Client;
    let opts = ConfigOptions {
        name: "config".into(),
        schedule: "0 0 * * * *".into(),
        resource_types: vec!["AWS::EC2::Volume".into()],
        aggregator: Some("org".into()),
        aggregator_region: Some("us-east-1".into()),
        compliance: false,
    };
    let volumes = [
        ("vol-1", ACCOUNT, "us-east-1"),
        ("vol-2", "444455556666", "eu-west-1"),
    ];
    // The aggregator region: one listing across every region the aggregator covers.
    let list = mock!(Client::list_aggregate_discovered_resources)
        .match_requests(|r| {
            r.configuration_aggregator_name() == Some("org")
                && r.filters().and_then(|f| f.region()).is_none()
        })
        .then_output(move || {
            volumes.iter().fold(
                list_aggregate_discovered_resources::ListAggregateDiscoveredResourcesOutput::builder(),
                |b, (id, account, region)| {
                    b.resource_identifiers(
                        ct::AggregateResourceIdentifier::builder()
                            .source_account_id(*account)
                            .source_region(*region)
                            .resource_id(*id)
                            .resource_type(ct::ResourceType::Volume)
                            .build()
                            .unwrap(),
                    )
                },
            )
            .build()
        });
    let batch =
        mock!(Client::batch_get_aggregate_resource_config).then_compute_output(|req| {
            req.resource_identifiers().iter().fold(
            batch_get_aggregate_resource_config::BatchGetAggregateResourceConfigOutput::builder(),
            |b, id| {
                b.base_configuration_items(
                    ct::BaseConfigurationItem::builder()
                        .resource_type(ct::ResourceType::Volume)
                        .resource_id(id.resource_id())
                        .account_id(id.source_account_id())
                        .aws_region(id.source_region())
                        .configuration(r#"{"encrypted":true}"#)
                        .build(),
                )
            },
        )
        .build()
        });
    let mut rules = config_basics();
    rules.push(list);
    rules.push(batch);
    let refs: Vec<&Rule> = rules.iter().collect();
    let f = Fixture::new();
    let tgt = target(
        "us-east-1",
        backup_client(&[]),
        config_client(&refs),
        cloudwatch_client(&[]),
    );
    let rep = f.run("config", &opts, &tgt).await;
    assert_eq!(rep.status, Status::Complete, "{:?}", rep.errors);
    let d = f.doc(rep.seq, "config/resources.json").await;
    assert_eq!(d["aggregator"], "org");
    assert_eq!(d["region"], "us-east-1");
    let got: Vec<(&str, &str)> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["resource_id"].as_str().unwrap(),
                i["aws_region"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("vol-1", "us-east-1"), ("vol-2", "eu-west-1")]);

    // Another region: neither the aggregator (which does not exist there) nor the regional
    // resource listing is asked, and the record has no resources document; recorders and
    // rules are read as usual.
    let missing = || {
        ErrorMetadata::builder()
            .code("NoSuchConfigurationAggregatorException")
            .message("The configuration aggregator does not exist.")
            .build()
    };
    let list = mock!(Client::list_aggregate_discovered_resources).then_error(move || {
        list_aggregate_discovered_resources::ListAggregateDiscoveredResourcesError::generic(
            missing(),
        )
    });
    let discovered = mock!(Client::list_discovered_resources).then_output(|| {
        list_discovered_resources::ListDiscoveredResourcesOutput::builder().build()
    });
    let mut rules = config_basics();
    rules.push(list);
    rules.push(discovered);
    let refs: Vec<&Rule> = rules.iter().collect();
    let tgt = target(
        "eu-west-1",
        backup_client(&[]),
        config_client(&refs),
        cloudwatch_client(&[]),
    );
    let rep = f.run("config", &opts, &tgt).await;
    assert_eq!(rep.status, Status::Complete, "{:?}", rep.errors);
    assert_eq!(
        rules[5].num_calls(),
        0,
        "aggregator read outside its region"
    );
    assert_eq!(rules[6].num_calls(), 0, "resources listed per region");
    let r = f.record(rep.seq).await;
    assert!(
        r.record
            .provenance
            .api_calls
            .iter()
            .all(|c| !c.operation.contains("Discovered")),
        "{:?}",
        r.record.provenance.api_calls
    );
    let names: Vec<&str> = r.record.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["config/recorders.json", "config/rules.json"]);
}

#[tokio::test]
async fn protected_resources_stay_listed_when_their_restores_cannot_be_read() {
    use aws_sdk_backup::operation::describe_protected_resource::DescribeProtectedResourceError;
    use aws_sdk_backup::operation::list_protected_resources::ListProtectedResourcesOutput;
    use aws_sdk_backup::Client;
    let listed = mock!(Client::list_protected_resources).then_output(|| {
        (0..5)
            .fold(ListProtectedResourcesOutput::builder(), |b, i| {
                b.results(
                    bt::ProtectedResource::builder()
                        .resource_arn(format!("arn:aws:rds:us-east-1:{ACCOUNT}:db:db-{i}"))
                        .build(),
                )
            })
            .build()
    });
    let denied = mock!(Client::describe_protected_resource).then_error(|| {
        DescribeProtectedResourceError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform: backup:DescribeProtectedResource")
                .build(),
        )
    });
    let mut tgt = target(
        "us-east-1",
        backup_client(&[&listed, &denied]),
        config_client(&[]),
        cloudwatch_client(&[]),
    );
    tgt.concurrency = 1;
    let f = Fixture::new();
    let rep = f
        .run(
            "backup",
            &backup_opts(vec![BackupPart::ProtectedResources]),
            &tgt,
        )
        .await;
    assert_eq!(rep.status, Status::Partial);
    assert_eq!(rep.errors.len(), 1, "one error, not one per resource");
    assert_eq!(rep.errors[0].operation, "backup:DescribeProtectedResource");
    assert_eq!(denied.num_calls(), 1, "no further reads once denied");
    let d = f.doc(rep.seq, "backup/protected-resources.json").await;
    let resources = d["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 5);
    assert!(resources
        .iter()
        .all(|r| r["latest_restore_job_creation_date"].is_null()));
}

#[tokio::test]
async fn s3_denied_ownership_and_account_block_reads_are_errors_with_null_fields() {
    use aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionError;
    use aws_sdk_s3::operation::get_bucket_ownership_controls::{
        GetBucketOwnershipControlsError, GetBucketOwnershipControlsOutput,
    };
    use aws_sdk_s3::operation::get_bucket_policy_status::GetBucketPolicyStatusError;
    use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
    use aws_sdk_s3::operation::get_object_lock_configuration::GetObjectLockConfigurationError;
    use aws_sdk_s3::operation::get_public_access_block::GetPublicAccessBlockError;
    use aws_sdk_s3::types as st;
    use aws_sdk_s3::Client;
    use aws_sdk_s3control::operation::get_public_access_block::GetPublicAccessBlockError as AccountBlockError;
    let not_found = |code: &str| ErrorMetadata::builder().code(code).message(code).build();
    let lock = mock!(Client::get_object_lock_configuration).then_error(move || {
        GetObjectLockConfigurationError::generic(not_found("ObjectLockConfigurationNotFoundError"))
    });
    let versioning = mock!(Client::get_bucket_versioning)
        .then_output(|| GetBucketVersioningOutput::builder().build());
    let encryption = mock!(Client::get_bucket_encryption).then_error(move || {
        GetBucketEncryptionError::generic(not_found(
            "ServerSideEncryptionConfigurationNotFoundError",
        ))
    });
    let bucket_block = mock!(Client::get_public_access_block).then_error(move || {
        GetPublicAccessBlockError::generic(not_found("NoSuchPublicAccessBlockConfiguration"))
    });
    let policy = mock!(Client::get_bucket_policy_status)
        .then_error(move || GetBucketPolicyStatusError::generic(not_found("NoSuchBucketPolicy")));
    let writer = mock!(Client::get_bucket_ownership_controls)
        .match_requests(|r| r.bucket() == Some("writer"))
        .then_output(|| {
            GetBucketOwnershipControlsOutput::builder()
                .ownership_controls(
                    st::OwnershipControls::builder()
                        .rules(
                            st::OwnershipControlsRule::builder()
                                .object_ownership(st::ObjectOwnership::ObjectWriter)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let none = mock!(Client::get_bucket_ownership_controls)
        .match_requests(|r| r.bucket() == Some("bare"))
        .then_error(move || {
            GetBucketOwnershipControlsError::generic(not_found("OwnershipControlsNotFoundError"))
        });
    let denied = mock!(Client::get_bucket_ownership_controls)
        .match_requests(|r| r.bucket() == Some("guarded"))
        .then_error(|| {
            GetBucketOwnershipControlsError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized to perform: s3:GetBucketOwnershipControls")
                    .build(),
            )
        });
    let account_denied = mock!(aws_sdk_s3control::Client::get_public_access_block)
        .match_requests(|r| r.account_id() == Some(ACCOUNT))
        .then_error(|| {
            AccountBlockError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not authorized to perform: s3:GetAccountPublicAccessBlock")
                    .build(),
            )
        });
    let mut tgt = target(
        "us-east-1",
        backup_client(&[]),
        config_client(&[]),
        cloudwatch_client(&[]),
    );
    tgt.clients.s3 = s3_client(&[
        &lock,
        &versioning,
        &encryption,
        &bucket_block,
        &policy,
        &writer,
        &none,
        &denied,
    ]);
    tgt.clients.s3control = s3control_client(&[&account_denied]);
    let posture = evidenced::collect::s3posture::S3Posture {
        options: evidenced::config::S3Options {
            name: "posture".into(),
            schedule: "0 0 * * * *".into(),
            buckets: vec!["writer".into(), "guarded".into(), "bare".into()],
            all_buckets: false,
        },
        store_bucket: None,
    };
    let f = Fixture::new();
    let rep = f.run("s3", &posture, &tgt).await;
    assert_eq!(rep.status, Status::Partial);
    let r = f.record(rep.seq).await;
    let mut ops: Vec<&str> = r
        .record
        .errors
        .iter()
        .map(|e| e.operation.as_str())
        .collect();
    ops.sort();
    assert_eq!(
        ops,
        [
            "s3:GetBucketOwnershipControls",
            "s3control:GetPublicAccessBlock"
        ],
        "{:?}",
        r.record.errors
    );
    for e in &r.record.errors {
        assert!(e.message.starts_with("AccessDenied"), "{e:?}");
        assert_eq!(e.region.as_deref(), Some("us-east-1"));
    }
    assert_eq!(account_denied.num_calls(), 1);

    let d = f.doc(rep.seq, "s3/buckets.json").await;
    assert_eq!(d["account"], ACCOUNT);
    let top = d.as_object().unwrap();
    assert!(top.contains_key("account_public_access_block"), "{d}");
    assert_eq!(d["account_public_access_block"], Value::Null);
    let buckets = d["buckets"].as_array().unwrap();
    let names: Vec<&str> = buckets
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bare", "guarded", "writer"], "no bucket disappears");
    for b in buckets {
        assert!(
            b.as_object().unwrap().contains_key("ownership_controls"),
            "{b}"
        );
    }
    assert_eq!(
        buckets[0]["ownership_controls"],
        Value::Null,
        "none: not an error"
    );
    assert_eq!(
        buckets[1]["ownership_controls"],
        Value::Null,
        "denied: null + error"
    );
    assert_eq!(buckets[2]["ownership_controls"], "ObjectWriter");
    assert_eq!(
        buckets[2],
        json!({"name": "writer", "object_lock": null, "versioning": null, "mfa_delete": null,
               "encryption": [], "public_access_block": null, "policy_is_public": null,
               "ownership_controls": "ObjectWriter"})
    );
}
