//! Collectors against the moto server, through the real AWS SDK for Rust: S3 posture,
//! CloudWatch alarms, Config, Backup and the STS caller identity, checked field by field.
//!
//! moto keeps state per region and the server is shared by the whole test process, so each
//! test seeds and collects its own region.

use std::process::Command;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use evidenced::chain::StoredRecord;
use evidenced::record::Status;
use serde_json::{json, Value};

use crate::inbox::Workspace;
use crate::support::{self, bin};

/// moto's default account.
const ACCOUNT: &str = "123456789012";

pub fn sdk(region: &str) -> SdkConfig {
    let creds = aws_credential_types::Credentials::new("testing", "testing", None, None, "test");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .endpoint_url(&support::moto().endpoint)
        .build()
}

pub fn rt() -> tokio::runtime::Runtime {
    crate::inbox::rt()
}

/// A workspace whose configuration collects `region` with the given collector tables.
pub fn workspace(region: &str, collectors: &str) -> Workspace {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[store]\nurl = {:?}\n\n[aws]\nregions = [{region:?}]\n\n{collectors}",
        dir.path().join("evidence").display().to_string(),
    );
    std::fs::write(dir.path().join("evidenced.toml"), config).unwrap();
    Workspace { dir }
}

/// Run `collect --once` against moto (endpoint from EVIDENCED_AWS__ENDPOINT_URL).
pub fn collect(ws: &Workspace) -> String {
    let mut c = Command::new(bin());
    c.arg("--config")
        .arg(ws.config())
        .args(["collect", "--once"])
        .env_remove("EVIDENCED_CONFIG")
        .env_remove("AWS_ENDPOINT_URL")
        .env("EVIDENCED_AWS__ENDPOINT_URL", &support::moto().endpoint)
        .env("EVIDENCED_AWS__FORCE_PATH_STYLE", "true")
        .env("EVIDENCED_AWS__MOTO_COMPAT", "true");
    support::moto_env(&mut c);
    support::collected(c.output().expect("run evidenced"))
}

pub fn doc(ws: &Workspace, r: &StoredRecord, name: &str) -> Value {
    serde_json::from_slice(&ws.blob(r, name)).unwrap()
}

/// Common checks on a record of an AWS collector run: scope, identity, provenance.
pub fn check_run(r: &StoredRecord, kind: &str, region: &str) {
    assert_eq!(r.record.status, Status::Complete, "{:?}", r.record.errors);
    check_identity(r, kind, region);
}

/// Scope, caller identity and API calls with request ids.
pub fn check_identity(r: &StoredRecord, kind: &str, region: &str) {
    assert_eq!(r.record.kind, kind);
    assert_eq!(r.record.scope.account.as_deref(), Some(ACCOUNT));
    assert_eq!(r.record.scope.region.as_deref(), Some(region));
    let arn = r.record.provenance.caller_arn.as_deref().unwrap_or("");
    assert!(
        arn.starts_with(&format!("arn:aws:sts::{ACCOUNT}:")),
        "{arn}"
    );
    let calls = &r.record.provenance.api_calls;
    assert_eq!(calls[0].operation, "sts:GetCallerIdentity");
    assert!(calls[0].request_id.is_some(), "{calls:?}");
    assert!(calls
        .iter()
        .any(|c| c.operation.starts_with(&format!("{kind}:")) && c.request_id.is_some()));
}

#[test]
fn s3_posture_field_by_field_and_unchanged_state_costs_no_blob() {
    let bucket = rt().block_on(async {
        let bucket = support::lock_bucket("posture").await;
        let s3 = support::s3_client().await;
        use aws_sdk_s3::types::*;
        s3.put_object_lock_configuration()
            .bucket(&bucket)
            .object_lock_configuration(
                ObjectLockConfiguration::builder()
                    .object_lock_enabled(ObjectLockEnabled::Enabled)
                    .rule(
                        ObjectLockRule::builder()
                            .default_retention(
                                DefaultRetention::builder()
                                    .mode(ObjectLockRetentionMode::Compliance)
                                    .days(400)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3.put_bucket_encryption()
            .bucket(&bucket)
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(
                                ServerSideEncryptionByDefault::builder()
                                    .sse_algorithm(ServerSideEncryption::AwsKms)
                                    .kms_master_key_id("alias/evidence")
                                    .build()
                                    .unwrap(),
                            )
                            .bucket_key_enabled(true)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        s3.put_public_access_block()
            .bucket(&bucket)
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "DenyDelete", "Effect": "Deny",
            "Principal": "*", "Action": "s3:DeleteObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}]});
        s3.put_bucket_policy()
            .bucket(&bucket)
            .policy(policy.to_string())
            .send()
            .await
            .unwrap();
        s3.put_bucket_ownership_controls()
            .bucket(&bucket)
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        bucket
    });
    // A second bucket with nothing configured.
    let plain = format!("plain-{:08x}", rand::random::<u32>());
    rt().block_on(async {
        support::s3_client()
            .await
            .create_bucket()
            .bucket(&plain)
            .send()
            .await
            .unwrap()
    });
    let ws = workspace(
        "us-east-1",
        &format!("[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"0 0 * * * *\"\nbuckets = [{bucket:?}, {plain:?}]\n"),
    );
    let out = collect(&ws);
    assert!(
        out.contains("posture 123456789012/us-east-1: record 1 s3 complete"),
        "{out}"
    );
    let records = ws.records();
    let r = &records[0];
    check_run(r, "s3", "us-east-1");
    assert_eq!(r.record.collector, "posture");
    let d = doc(&ws, r, "s3/buckets.json");
    assert_eq!(d["account"], ACCOUNT);
    // moto's default account has no account-level Block Public Access (no test sets one).
    let top = d.as_object().unwrap();
    assert!(top.contains_key("account_public_access_block"), "{d}");
    assert_eq!(d["account_public_access_block"], Value::Null);
    assert!(r
        .record
        .provenance
        .api_calls
        .iter()
        .any(|c| c.operation == "s3control:GetPublicAccessBlock" && c.request_id.is_some()));
    let mut expected = vec![
        json!({
            "name": bucket,
            // moto reports `Years: 0` beside `Days`; AWS omits it.
            "object_lock": {"enabled": "Enabled", "mode": "COMPLIANCE", "days": 400, "years": 0},
            "versioning": "Enabled",
            "mfa_delete": null,
            "encryption": [{"algorithm": "aws:kms", "kms_key_id": "alias/evidence", "bucket_key_enabled": true}],
            "public_access_block": {"block_public_acls": true, "ignore_public_acls": true,
                "block_public_policy": true, "restrict_public_buckets": true},
            "policy_is_public": false,
            "ownership_controls": "BucketOwnerEnforced",
        }),
        json!({
            "name": plain,
            "object_lock": null,
            "versioning": null,
            "mfa_delete": null,
            "encryption": d["buckets"].as_array().unwrap().iter().find(|b| b["name"] == plain.as_str()).unwrap()["encryption"],
            "public_access_block": null,
            "policy_is_public": null,
            "ownership_controls": null,
        }),
    ];
    expected.sort_by_key(|b| b["name"].as_str().unwrap().to_string());
    assert_eq!(d["buckets"], Value::Array(expected));
    let item = &r.record.items[0];
    assert_eq!(
        item.media_type,
        "application/vnd.evidenced.aws.s3.buckets+json"
    );

    // Unchanged state: a second run adds a record but no new blob bytes.
    let out = collect(&ws);
    assert!(
        out.contains("record 2 s3 complete (1 items, 0 new blob bytes)"),
        "{out}"
    );
    let records = ws.records();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0].record.items[0].digest,
        records[1].record.items[0].digest
    );
}

/// Credentials of a role assumed (at moto) in `account`: moto keeps S3 and S3 Control state
/// per account, so a test that changes account-level settings works in an account of its
/// own.
async fn assumed_sdk(account: &str, region: &str) -> SdkConfig {
    let sts = aws_sdk_sts::Client::new(&sdk(region));
    let c = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/evidenced-setup"))
        .role_session_name("setup")
        .send()
        .await
        .unwrap();
    let c = c.credentials().unwrap();
    let creds = aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed",
    );
    sdk(region)
        .to_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .build()
}

/// A workspace that collects `account` through an assumed role.
fn workspace_in(account: &str, region: &str, collectors: &str) -> Workspace {
    let ws = workspace(region, collectors);
    let path = ws.dir.path().join("evidenced.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[aws]\n",
        &format!("[aws]\naccounts = [{{ id = \"{account}\", role_arn = \"arn:aws:iam::{account}:role/evidenced-reader\" }}]\n"),
    );
    std::fs::write(&path, text).unwrap();
    ws
}

#[test]
fn s3_account_block_public_access_absent_then_set_and_ownership_at_creation() {
    // A fresh account, so that no other test sees (or changes) its account-level settings.
    let account = format!(
        "{}",
        200_000_000_000u64 + rand::random::<u64>() % 700_000_000_000
    );
    let region = "us-east-1";
    let bucket = format!("preferred-{:08x}", rand::random::<u32>());
    let conf = rt().block_on(async {
        let conf = assumed_sdk(&account, region).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket(&bucket)
            .object_ownership(aws_sdk_s3::types::ObjectOwnership::BucketOwnerPreferred)
            .send()
            .await
            .unwrap();
        conf
    });
    let ws = workspace_in(
        &account,
        region,
        &format!("[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"0 0 * * * *\"\nbuckets = [{bucket:?}]\n"),
    );

    // Not configured: null, and not an error.
    let out = collect(&ws);
    assert!(
        out.contains(&format!("posture {account}/{region}: record 1 s3 complete")),
        "{out}"
    );
    let r = ws.records().pop().unwrap();
    assert_eq!(r.record.status, Status::Complete, "{:?}", r.record.errors);
    assert_eq!(r.record.scope.account.as_deref(), Some(account.as_str()));
    let d = doc(&ws, &r, "s3/buckets.json");
    assert_eq!(d["account"], account.as_str());
    assert!(d
        .as_object()
        .unwrap()
        .contains_key("account_public_access_block"));
    assert_eq!(d["account_public_access_block"], Value::Null);
    assert_eq!(d["buckets"][0]["name"], bucket.as_str());
    assert_eq!(
        d["buckets"][0]["ownership_controls"],
        "BucketOwnerPreferred"
    );
    let call = r
        .record
        .provenance
        .api_calls
        .iter()
        .find(|c| c.operation == "s3control:GetPublicAccessBlock")
        .expect("the account read is in the provenance");
    assert!(call.request_id.is_some(), "{call:?}");

    // Configured (one flag off, to see each field is its own).
    rt().block_on(async {
        // The daemon's own S3 Control client: at an endpoint given by IP address the
        // account goes in the header only.
        let s3control = evidenced::collect::Clients::from_sdk(&conf, true).s3control;
        s3control
            .put_public_access_block()
            .account_id(&account)
            .public_access_block_configuration(
                aws_sdk_s3control::types::PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(false)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let out = collect(&ws);
    assert!(out.contains("record 2 s3 complete"), "{out}");
    let r = ws.records().pop().unwrap();
    assert_eq!(r.record.status, Status::Complete, "{:?}", r.record.errors);
    let d = doc(&ws, &r, "s3/buckets.json");
    assert_eq!(
        d["account_public_access_block"],
        json!({"block_public_acls": true, "ignore_public_acls": true,
               "block_public_policy": false, "restrict_public_buckets": true})
    );
    assert_eq!(
        d["buckets"][0]["ownership_controls"],
        "BucketOwnerPreferred"
    );
}

#[test]
fn cloudwatch_metric_alarms_with_actions() {
    let region = "eu-west-1";
    let topic = format!("arn:aws:sns:{region}:{ACCOUNT}:oncall");
    rt().block_on(async {
        let cw = aws_sdk_cloudwatch::Client::new(&sdk(region));
        use aws_sdk_cloudwatch::types::*;
        cw.put_metric_alarm()
            .alarm_name("orders-5xx")
            .alarm_description("Orders API errors")
            .namespace("AWS/ApplicationELB")
            .metric_name("HTTPCode_Target_5XX_Count")
            .dimensions(
                Dimension::builder()
                    .name("LoadBalancer")
                    .value("app/orders/1")
                    .build(),
            )
            .statistic(Statistic::Sum)
            .period(60)
            .evaluation_periods(5)
            .datapoints_to_alarm(3)
            .threshold(10.5)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data("notBreaching")
            .actions_enabled(true)
            .alarm_actions(&topic)
            .ok_actions(&topic)
            .send()
            .await
            .unwrap();
        cw.put_metric_alarm()
            .alarm_name("backup-failed")
            .namespace("AWS/Backup")
            .metric_name("NumberOfBackupJobsFailed")
            .statistic(Statistic::Maximum)
            .period(3600)
            .evaluation_periods(1)
            .threshold(0.0)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .alarm_actions(&topic)
            .send()
            .await
            .unwrap();
    });
    let ws = workspace(
        region,
        "[[collector]]\ntype = \"cloudwatch\"\nname = \"alarms\"\nschedule = \"0 */10 * * * *\"\nhistory = false\n",
    );
    collect(&ws);
    let records = ws.records();
    let r = &records[0];
    check_run(r, "cloudwatch", region);
    let d = doc(&ws, r, "cloudwatch/alarms.json");
    assert_eq!(d["region"], region);
    let metric = d["metric_alarms"].as_array().unwrap();
    assert_eq!(
        metric
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["backup-failed", "orders-5xx"]
    );
    let a = &metric[1];
    assert_eq!(
        a["arn"],
        format!("arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:orders-5xx")
    );
    assert_eq!(a["description"], "Orders API errors");
    assert_eq!(a["namespace"], "AWS/ApplicationELB");
    assert_eq!(a["metric_name"], "HTTPCode_Target_5XX_Count");
    assert_eq!(
        a["dimensions"],
        json!([{"name": "LoadBalancer", "value": "app/orders/1"}])
    );
    assert_eq!(a["statistic"], "Sum");
    assert_eq!(a["period"], 60);
    assert_eq!(a["evaluation_periods"], 5);
    assert_eq!(a["datapoints_to_alarm"], 3);
    assert_eq!(a["threshold"], 10.5);
    assert_eq!(a["comparison_operator"], "GreaterThanThreshold");
    assert_eq!(a["treat_missing_data"], "notBreaching");
    assert_eq!(a["actions_enabled"], true);
    assert_eq!(a["alarm_actions"], json!([topic]));
    assert_eq!(a["ok_actions"], json!([topic]));
    assert_eq!(a["insufficient_data_actions"], json!([]));
    // moto 5.2.5 cannot create composite alarms (no PutCompositeAlarm); they are covered
    // with aws-smithy-mocks in collect_mocks.rs.
    assert_eq!(d["composite_alarms"], json!([]));
}

#[test]
fn config_recorder_delivery_rules_and_discovered_resources() {
    let region = "eu-west-2";
    let bucket = format!("cfg-{:08x}", rand::random::<u32>());
    let role = format!("arn:aws:iam::{ACCOUNT}:role/config");
    rt().block_on(async {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk(region))
                .force_path_style(true)
                .build(),
        );
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest2)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let c = aws_sdk_config::Client::new(&sdk(region));
        use aws_sdk_config::types::*;
        c.put_configuration_recorder()
            .configuration_recorder(
                ConfigurationRecorder::builder()
                    .name("default")
                    .role_arn(&role)
                    .recording_group(
                        RecordingGroup::builder()
                            .all_supported(false)
                            .include_global_resource_types(false)
                            .resource_types(ResourceType::Bucket)
                            .resource_types(ResourceType::Volume)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        c.put_delivery_channel()
            .delivery_channel(
                DeliveryChannel::builder()
                    .name("default")
                    .s3_bucket_name(&bucket)
                    .s3_key_prefix("config")
                    .config_snapshot_delivery_properties(
                        ConfigSnapshotDeliveryProperties::builder()
                            .delivery_frequency(MaximumExecutionFrequency::TwentyFourHours)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        c.start_configuration_recorder()
            .configuration_recorder_name("default")
            .send()
            .await
            .unwrap();
        c.put_config_rule()
            .config_rule(
                ConfigRule::builder()
                    .config_rule_name("s3-versioning")
                    .description("Buckets keep versions")
                    .scope(
                        Scope::builder()
                            .compliance_resource_types("AWS::S3::Bucket")
                            .build(),
                    )
                    .source(
                        Source::builder()
                            .owner(Owner::Aws)
                            .source_identifier("S3_BUCKET_VERSIONING_ENABLED")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let ws = workspace(
        region,
        "[[collector]]\ntype = \"config\"\nname = \"inventory\"\nschedule = \"0 0 */6 * * *\"\ncompliance = false\nresource_types = [\"AWS::S3::Bucket\"]\n",
    );
    collect(&ws);
    let records = ws.records();
    let r = &records[0];
    // moto does not implement DescribeDeliveryChannelStatus: the run is partial and names
    // it; everything else is read.
    assert_eq!(r.record.status, Status::Partial);
    assert_eq!(r.record.errors.len(), 1, "{:?}", r.record.errors);
    assert_eq!(
        r.record.errors[0].operation,
        "config:DescribeDeliveryChannelStatus"
    );
    assert_eq!(r.record.errors[0].region.as_deref(), Some(region));
    check_identity(r, "config", region);
    let names: Vec<&str> = r.record.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "config/recorders.json",
            "config/rules.json",
            "config/resources.json"
        ]
    );

    let d = doc(&ws, r, "config/recorders.json");
    let rec = &d["recorders"][0];
    assert_eq!(rec["name"], "default");
    assert_eq!(rec["role_arn"], role);
    assert_eq!(rec["all_supported"], false);
    assert_eq!(rec["include_global_resource_types"], false);
    assert_eq!(
        rec["resource_types"],
        json!(["AWS::EC2::Volume", "AWS::S3::Bucket"])
    );
    assert_eq!(rec["recording"], true);
    assert_eq!(rec["last_status"], "PENDING");
    assert!(rec["last_start_time"].as_str().unwrap().ends_with('Z'));
    let ch = &d["delivery_channels"][0];
    assert_eq!(ch["name"], "default");
    assert_eq!(ch["s3_bucket_name"], bucket.as_str());
    assert_eq!(ch["s3_key_prefix"], "config");
    assert_eq!(ch["delivery_frequency"], "TwentyFour_Hours");

    let d = doc(&ws, r, "config/rules.json");
    let rule = &d["rules"][0];
    assert_eq!(rule["name"], "s3-versioning");
    assert_eq!(rule["description"], "Buckets keep versions");
    assert_eq!(rule["source_owner"], "AWS");
    assert_eq!(rule["source_identifier"], "S3_BUCKET_VERSIONING_ENABLED");
    assert_eq!(rule["state"], "ACTIVE");
    assert_eq!(rule["scope_resource_types"], json!(["AWS::S3::Bucket"]));
    assert!(rule["arn"]
        .as_str()
        .unwrap()
        .starts_with(&format!("arn:aws:config:{region}:{ACCOUNT}:config-rule/")));
    assert_eq!(rule["compliance"], Value::Null);

    let d = doc(&ws, r, "config/resources.json");
    assert_eq!(d["resource_types"], json!(["AWS::S3::Bucket"]));
    let item = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["resource_id"] == bucket.as_str())
        .unwrap_or_else(|| panic!("{bucket} not in {d}"));
    assert_eq!(item["resource_type"], "AWS::S3::Bucket");
    assert_eq!(item["resource_name"], bucket.as_str());
    assert_eq!(item["arn"], format!("arn:aws:s3:::{bucket}"));
    assert_eq!(item["aws_region"], region);
    assert_eq!(item["configuration"]["name"], bucket.as_str());
}

#[test]
fn backup_plans_vaults_lock_and_report_plans() {
    let region = "ap-southeast-2";
    let plan_id = rt().block_on(async {
        let b = aws_sdk_backup::Client::new(&sdk(region));
        use aws_sdk_backup::types::*;
        b.create_backup_vault()
            .backup_vault_name("primary")
            .send()
            .await
            .unwrap();
        b.create_backup_vault()
            .backup_vault_name("dr-copy")
            .send()
            .await
            .unwrap();
        b.put_backup_vault_lock_configuration()
            .backup_vault_name("primary")
            .min_retention_days(7)
            .max_retention_days(400)
            .send()
            .await
            .unwrap();
        let plan = b
            .create_backup_plan()
            .backup_plan(
                BackupPlanInput::builder()
                    .backup_plan_name("nightly")
                    .rules(
                        BackupRuleInput::builder()
                            .rule_name("daily")
                            .target_backup_vault_name("primary")
                            .schedule_expression("cron(0 5 ? * * *)")
                            .start_window_minutes(60)
                            .completion_window_minutes(180)
                            .lifecycle(Lifecycle::builder().delete_after_days(35).build())
                            .copy_actions(
                                CopyAction::builder()
                                    .destination_backup_vault_arn(format!(
                                        "arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr-copy"
                                    ))
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        b.create_report_plan()
            .report_plan_name("jobs_report")
            .report_plan_description("Daily job report")
            .report_delivery_channel(
                ReportDeliveryChannel::builder()
                    .s3_bucket_name("reports")
                    .s3_key_prefix("backup")
                    .formats("CSV")
                    .build()
                    .unwrap(),
            )
            .report_setting(
                ReportSetting::builder()
                    .report_template("BACKUP_JOB_REPORT")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        plan.backup_plan_id().unwrap().to_string()
    });
    let ws = workspace(
        region,
        "[[collector]]\ntype = \"backup\"\nname = \"backup\"\nschedule = \"0 0 * * * *\"\ninclude = [\"plans\", \"vaults\", \"report_plans\"]\n",
    );
    collect(&ws);
    let records = ws.records();
    let r = &records[0];
    check_run(r, "backup", region);

    let d = doc(&ws, r, "backup/plans.json");
    let plan = &d["plans"][0];
    assert_eq!(plan["id"], plan_id.as_str());
    assert_eq!(plan["name"], "nightly");
    assert!(plan["arn"].as_str().unwrap().ends_with(&plan_id));
    assert_eq!(plan["selections"], Value::Null);
    let rule = &plan["rules"][0];
    assert_eq!(rule["name"], "daily");
    assert_eq!(rule["target_vault"], "primary");
    assert_eq!(rule["schedule_expression"], "cron(0 5 ? * * *)");
    assert_eq!(rule["start_window_minutes"], 60);
    assert_eq!(rule["completion_window_minutes"], 180);
    assert_eq!(rule["lifecycle"]["delete_after_days"], 35);
    assert_eq!(
        rule["copy_actions"][0]["destination_vault_arn"],
        format!("arn:aws:backup:us-west-2:{ACCOUNT}:backup-vault:dr-copy")
    );

    let d = doc(&ws, r, "backup/vaults.json");
    let vaults = d["vaults"].as_array().unwrap();
    assert_eq!(
        vaults
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["dr-copy", "primary"]
    );
    let p = &vaults[1];
    assert_eq!(
        p["arn"],
        format!("arn:aws:backup:{region}:{ACCOUNT}:backup-vault:primary")
    );
    assert_eq!(p["locked"], true);
    assert_eq!(p["min_retention_days"], 7);
    assert_eq!(p["max_retention_days"], 400);
    assert_eq!(vaults[0]["locked"], false);

    let d = doc(&ws, r, "backup/report-plans.json");
    let rp = &d["report_plans"][0];
    assert_eq!(rp["name"], "jobs_report");
    assert_eq!(rp["description"], "Daily job report");
    assert_eq!(rp["report_template"], "BACKUP_JOB_REPORT");
    assert_eq!(rp["s3_bucket_name"], "reports");
    assert_eq!(rp["s3_key_prefix"], "backup");
    assert_eq!(rp["formats"], json!(["CSV"]));
}

#[test]
fn unimplemented_operation_makes_a_partial_run_naming_it() {
    // moto has no ListBackupSelections: the run is recorded as partial, naming the
    // operation and region, with what could be read.
    let region = "ca-central-1";
    rt().block_on(async {
        let b = aws_sdk_backup::Client::new(&sdk(region));
        use aws_sdk_backup::types::*;
        b.create_backup_plan()
            .backup_plan(
                BackupPlanInput::builder()
                    .backup_plan_name("p")
                    .rules(
                        BackupRuleInput::builder()
                            .rule_name("r")
                            .target_backup_vault_name("v")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let ws = workspace(
        region,
        "[[collector]]\ntype = \"backup\"\nname = \"backup\"\nschedule = \"0 0 * * * *\"\ninclude = [\"plans\", \"selections\", \"vaults\"]\n",
    );
    let out = collect(&ws);
    assert!(out.contains("backup partial"), "{out}");
    let r = ws.records().pop().unwrap();
    assert_eq!(r.record.status, Status::Partial);
    let e = &r.record.errors[0];
    assert_eq!(e.operation, "backup:ListBackupSelections");
    assert_eq!(e.region.as_deref(), Some(region));
    let names: Vec<&str> = r.record.items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["backup/plans.json", "backup/vaults.json"]);
    let d = doc(&ws, &r, "backup/plans.json");
    assert_eq!(d["plans"][0]["name"], "p");
    assert_eq!(d["plans"][0]["selections"], Value::Null);
}

#[test]
fn assumed_role_identity_goes_into_provenance() {
    let bucket = rt().block_on(support::lock_bucket("assumed"));
    let ws = workspace(
        "us-east-1",
        &format!(
            "[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"0 0 * * * *\"\nbuckets = [{bucket:?}]\n"
        ),
    );
    // Add the account to assume into the [aws] table.
    let path = ws.dir.path().join("evidenced.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[aws]\n",
        &format!("[aws]\naccounts = [{{ id = \"{ACCOUNT}\", role_arn = \"arn:aws:iam::{ACCOUNT}:role/evidenced-reader\", external_id = \"ext-1\" }}]\n"),
    );
    std::fs::write(&path, text).unwrap();
    collect(&ws);
    let r = ws.records().pop().unwrap();
    check_run(&r, "s3", "us-east-1");
    let arn = r.record.provenance.caller_arn.clone().unwrap();
    assert!(
        arn.starts_with(&format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/evidenced-reader/"
        )),
        "{arn}"
    );
}

#[test]
fn s3_inbox_accepts_rejects_and_deletes_only_inbox_files() {
    let bucket = rt().block_on(support::lock_bucket("inbox"));
    let valid =
        std::fs::read(support::root().join("config/examples/az-failover-2026-06.md")).unwrap();
    let invalid = b"kind = \"tabletop\"\nid = \"t-1\"\n".to_vec();
    rt().block_on(async {
        let s3 = support::s3_client().await;
        for (key, body) in [
            ("drops/az.md", valid.clone()),
            ("drops/bad.toml", invalid.clone()),
            ("elsewhere/keep.md", valid.clone()),
        ] {
            let digest = evidenced::digest::Digest::of(&body);
            s3.put_object()
                .bucket(&bucket)
                .key(key)
                .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
                .checksum_sha256(digest.base64())
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
    });
    let ws = workspace(
        "us-east-1",
        &format!("[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"0 */5 * * * *\"\nurl = \"s3://{bucket}/drops/\"\n"),
    );
    let out = collect(&ws);
    assert!(out.contains("drills: record 2 inbox partial"), "{out}");
    let records = ws.records();
    assert_eq!(records[0].record.kind, "az-failover");
    assert_eq!(ws.blob(&records[0], "original/az.md"), valid);
    let keys = rt().block_on(async {
        let s3 = support::s3_client().await;
        let listed = s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(String::from))
            .collect();
        keys.sort();
        keys
    });
    assert_eq!(
        keys,
        [
            "drops/rejected/bad.toml",
            "drops/rejected/bad.toml.reason",
            "elsewhere/keep.md"
        ]
    );
    let reason = rt().block_on(async {
        let s3 = support::s3_client().await;
        let o = s3
            .get_object()
            .bucket(&bucket)
            .key("drops/rejected/bad.toml.reason")
            .send()
            .await
            .unwrap();
        String::from_utf8(o.body.collect().await.unwrap().into_bytes().to_vec()).unwrap()
    });
    assert!(reason.contains("bad.toml"), "{reason}");
    assert_eq!(ws.blob(&records[1], "inbox/rejected/bad.toml"), invalid);
}
