//! A year of evidence as a strict reviewer would meet it: two accounts, two regions, four
//! resource types, monthly collections of backup, Config, CloudWatch and S3 state, restore,
//! copy and backup jobs, objectives, drills, major changes and access reviews. Golden
//! reports at three evaluation times are checked byte for byte (tests/golden/scenario/;
//! `EVIDENCED_UPDATE_GOLDEN=1` rewrites them after a deliberate change), and each named
//! test below pins one verdict a reviewer would otherwise reject.

use evidenced::report::{render, ReportFormat};
use evidenced::requirements::periods::Span;
use evidenced::requirements::{evaluate, Basis, Catalog, Evaluation, Evidence, Options, Window};
use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::evidence_fixtures::{
    req, Builder, ALARMS_MEDIA_TYPE, BUCKETS_MEDIA_TYPE, COPY_JOBS_MEDIA_TYPE,
    PROTECTED_MEDIA_TYPE, RESOURCES_MEDIA_TYPE, RESTORE_JOBS_MEDIA_TYPE,
};

pub const A: &str = "111122223333";
pub const B: &str = "444455556666";
pub const EAST: &str = "us-east-1";
pub const WEST: &str = "us-west-2";
const HISTORY_MEDIA_TYPE: &str = "application/vnd.evidenced.aws.cloudwatch.alarm-history+json";

fn ts(t: OffsetDateTime) -> String {
    evidenced::human::fmt_time(t)
}

/// A restore job as the backup collector stores it.
pub fn restore(
    id: &str,
    region: &str,
    kind: &str,
    done: OffsetDateTime,
    minutes: i64,
    validation: &str,
    recovery_point: &str,
) -> Value {
    json!({
        "restore_job_id": id,
        "status": "COMPLETED",
        "creation_date": ts(done - Duration::minutes(minutes)),
        "completion_date": ts(done),
        "duration_minutes": minutes,
        "validation_status": validation,
        "resource_type": kind,
        "recovery_point_arn": recovery_point,
        "recovery_point_creation_date": ts(done - Duration::minutes(minutes) - Duration::hours(6)),
        "source_region": recovery_point.split(':').nth(3).unwrap_or(region),
        "destination_region": region,
    })
}

fn rp(region: &str, n: &str) -> String {
    format!("arn:aws:backup:{region}:{A}:recovery-point:{n}")
}

/// Restore jobs of the year, by (account, region).
fn restores() -> Vec<(&'static str, &'static str, Value)> {
    let mut v = Vec::new();
    let std = |q: &str, month: u8| -> Vec<(&'static str, &'static str, Value)> {
        let day = |d: u8| {
            time::Date::from_calendar_date(
                if month >= 10 { 2025 } else { 2026 },
                time::Month::try_from(month).unwrap(),
                d,
            )
            .unwrap()
            .with_hms(10, 0, 0)
            .unwrap()
            .assume_utc()
        };
        vec![
            (
                A,
                EAST,
                restore(
                    &format!("rj-{q}-rds"),
                    EAST,
                    "RDS",
                    day(10),
                    40,
                    "SUCCESSFUL",
                    &rp(EAST, "rds"),
                ),
            ),
            (
                A,
                EAST,
                restore(
                    &format!("rj-{q}-ddb"),
                    EAST,
                    "DynamoDB",
                    day(11),
                    25,
                    "SUCCESSFUL",
                    &rp(EAST, "ddb"),
                ),
            ),
            (
                A,
                EAST,
                restore(
                    &format!("rj-{q}-efs"),
                    EAST,
                    "EFS",
                    day(12),
                    90,
                    "SUCCESSFUL",
                    &rp(EAST, "efs"),
                ),
            ),
            (
                B,
                WEST,
                restore(
                    &format!("rj-{q}-ebs"),
                    WEST,
                    "EBS",
                    day(13),
                    30,
                    "SUCCESSFUL",
                    &rp(WEST, "ebs"),
                ),
            ),
        ]
    };
    v.extend(std("2025q4", 11));
    v.extend(std("2026q1", 2));
    // The cross-region restore: a recovery point copied from us-east-1, restored in us-west-2.
    v.push((
        A,
        WEST,
        restore(
            "rj-dr-west",
            WEST,
            "RDS",
            datetime!(2026-03-06 14:00 UTC),
            55,
            "SUCCESSFUL",
            &rp(WEST, "copied-rds"),
        ),
    ));
    // 2026-Q2, the bad quarter: one RDS restore breaches the RTO, another is fine, the only
    // DynamoDB restore fails validation, EFS is never restored.
    v.push((
        A,
        EAST,
        restore(
            "rj-2026q2-rds-slow",
            EAST,
            "RDS",
            datetime!(2026-05-10 22:00 UTC),
            720,
            "SUCCESSFUL",
            &rp(EAST, "rds"),
        ),
    ));
    v.push((
        A,
        EAST,
        restore(
            "rj-2026q2-rds",
            EAST,
            "RDS",
            datetime!(2026-05-20 10:00 UTC),
            50,
            "SUCCESSFUL",
            &rp(EAST, "rds"),
        ),
    ));
    v.push((
        A,
        EAST,
        restore(
            "rj-2026q2-ddb",
            EAST,
            "DynamoDB",
            datetime!(2026-05-12 10:00 UTC),
            25,
            "FAILED",
            &rp(EAST, "ddb"),
        ),
    ));
    v.push((
        B,
        WEST,
        restore(
            "rj-2026q2-ebs",
            WEST,
            "EBS",
            datetime!(2026-05-13 10:00 UTC),
            30,
            "SUCCESSFUL",
            &rp(WEST, "ebs"),
        ),
    ));
    v.extend(std("2026q3", 8).into_iter().map(|(a, r, mut j)| {
        // After the major change of 2026-08-10.
        for k in [
            "completion_date",
            "creation_date",
            "recovery_point_creation_date",
        ] {
            j[k] = json!(j[k].as_str().unwrap().replace("-08-1", "-08-2"));
        }
        (a, r, j)
    }));
    // 2026-Q4 so far: EFS not yet.
    for (a, r, j) in std("2026q4", 10) {
        if j["resource_type"] != "EFS" {
            let mut j = j;
            for k in [
                "completion_date",
                "creation_date",
                "recovery_point_creation_date",
            ] {
                j[k] = json!(j[k].as_str().unwrap().replace("2025-10", "2026-10"));
            }
            v.push((a, r, j));
        }
    }
    v
}

fn copy_job() -> Value {
    json!({
        "copy_job_id": "cj-dr-1", "state": "COMPLETED",
        "creation_date": "2026-03-05T02:00:00Z", "completion_date": "2026-03-05T03:10:00Z",
        "resource_arn": format!("arn:aws:rds:{EAST}:{A}:db:orders"), "resource_type": "RDS",
        "source_backup_vault_arn": format!("arn:aws:backup:{EAST}:{A}:backup-vault:primary"),
        "source_recovery_point_arn": rp(EAST, "rds"),
        "destination_backup_vault_arn": format!("arn:aws:backup:{WEST}:{A}:backup-vault:dr"),
        "destination_recovery_point_arn": rp(WEST, "copied-rds"),
        "source_region": EAST, "destination_region": WEST, "destination_account": A,
    })
}

fn protected(account: &str, region: &str, at: OffsetDateTime) -> Value {
    let last = ts(at - Duration::minutes(30));
    let one = |arn: String, kind: &str| json!({"resource_arn": arn, "resource_type": kind, "resource_name": null, "last_backup_time": last, "latest_restore_execution_time_minutes": null});
    let resources = match (account, region) {
        (A, EAST) => vec![
            one(format!("arn:aws:rds:{EAST}:{A}:db:orders"), "RDS"),
            one(
                format!("arn:aws:dynamodb:{EAST}:{A}:table/orders"),
                "DynamoDB",
            ),
            one(
                format!("arn:aws:elasticfilesystem:{EAST}:{A}:file-system/fs-1"),
                "EFS",
            ),
        ],
        (B, WEST) => vec![one(format!("arn:aws:ec2:{WEST}:{B}::volume/vol-b"), "EBS")],
        _ => vec![],
    };
    json!({"account": account, "region": region, "resources": resources})
}

fn config_resources(account: &str, region: &str) -> Value {
    let item = |kind: &str, id: &str, arn: String, configuration: Value| json!({"resource_type": kind, "resource_id": id, "resource_name": null, "arn": arn, "account_id": account, "aws_region": region, "configuration": configuration});
    let items = match (account, region) {
        (A, EAST) => vec![
            item(
                "AWS::RDS::DBInstance",
                "orders",
                format!("arn:aws:rds:{EAST}:{A}:db:orders"),
                json!({"storageEncrypted": true, "backupRetentionPeriod": 7}),
            ),
            item(
                "AWS::DynamoDB::Table",
                "orders",
                format!("arn:aws:dynamodb:{EAST}:{A}:table/orders"),
                json!({}),
            ),
            item(
                "AWS::EFS::FileSystem",
                "fs-1",
                format!("arn:aws:elasticfilesystem:{EAST}:{A}:file-system/fs-1"),
                json!({"Encrypted": true}),
            ),
        ],
        (B, WEST) => vec![item(
            "AWS::EC2::Volume",
            "vol-b",
            format!("arn:aws:ec2:{WEST}:{B}::volume/vol-b"),
            json!({"encrypted": false}),
        )],
        _ => vec![],
    };
    json!({"account": account, "region": region, "aggregator": null, "items": items})
}

fn alarms(account: &str, region: &str) -> Value {
    let actions: Vec<String> = if region == EAST {
        vec![format!("arn:aws:sns:{region}:{account}:oncall")]
    } else {
        vec![]
    };
    json!({"account": account, "region": region, "metric_alarms": [
        {"name": "high-cpu", "namespace": "AWS/RDS", "metric_name": "CPUUtilization", "actions_enabled": true, "alarm_actions": actions, "state": "OK"}],
        "composite_alarms": []})
}

fn buckets() -> Value {
    let bpa = json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true});
    json!({"account": A, "account_public_access_block": bpa.clone(), "buckets": [
        {"name": "evidence", "object_lock": {"enabled": "Enabled", "mode": "COMPLIANCE", "days": 400, "years": null}, "versioning": "Enabled", "public_access_block": bpa, "policy_is_public": false, "ownership_controls": "BucketOwnerEnforced"},
        {"name": "public-site", "object_lock": null, "versioning": null, "public_access_block": null, "policy_is_public": true, "ownership_controls": "BucketOwnerPreferred"}]})
}

/// The first of each month at 06:00 from 2025-10 to 2026-12.
fn collection_times() -> Vec<OffsetDateTime> {
    let mut out = Vec::new();
    let mut s = Span::containing(
        evidenced::requirements::catalog::Period::Month,
        datetime!(2025-10-01 0:00 UTC),
    );
    while s.start <= datetime!(2026-12-01 0:00 UTC) {
        out.push(s.start + Duration::hours(6));
        s = s.next();
    }
    out
}

/// Every Wednesday at 06:00 from 2025-10-01 to 2026-12-01: the backup collector's runs.
fn backup_times() -> Vec<OffsetDateTime> {
    let mut out = Vec::new();
    let mut t = datetime!(2025-10-01 6:00 UTC);
    while t <= datetime!(2026-12-01 6:00 UTC) {
        out.push(t);
        t += Duration::days(7);
    }
    out
}

fn human_records() -> Vec<(OffsetDateTime, String)> {
    let objective = |id: &str, workload: &str, rto: u32, rpo: u32, types: &str| {
        format!("kind = \"objective\"\nid = \"{id}\"\nworkload = \"{workload}\"\nrto_minutes = {rto}\nrpo_minutes = {rpo}\nowner = \"head-of-platform\"\napproved_at = \"2025-09-15T10:00:00Z\"\nresource_types = [{types}]\n")
    };
    let drill = |kind: &str, id: &str, ended: &str, extra: &str| {
        let started = ended.replace("T12:", "T09:");
        format!("kind = \"{kind}\"\nid = \"{id}\"\nstarted_at = \"{started}\"\nended_at = \"{ended}\"\noutcome = \"pass\"\nparticipants = [\"ops-oncall\"]\nscenario = \"{kind} game day\"\n{extra}")
    };
    let review = |q: &str, at: &str| {
        format!("kind = \"access-review\"\nid = \"access-review-{q}\"\nquarter = \"{q}\"\nreviewer = \"security-lead\"\nreviewed_at = \"{at}\"\ndecisions = [\"removed unused users\"]\n")
    };
    let change = |id: &str, at: &str, summary: &str| {
        format!("kind = \"change\"\nid = \"{id}\"\nat = \"{at}\"\nsummary = \"{summary}\"\nmajor = true\nworkload = \"orders\"\n")
    };
    let t =
        |s: &str| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap();
    let targets = "[targets]\nrto_minutes = 60\nrpo_minutes = 15\n[achieved]\nrto_minutes = 30\nrpo_minutes = 5\n";
    vec![
        (t("2025-09-20T09:00:00Z"), objective("objective-orders", "orders", 240, 1440, "\"RDS\", \"DynamoDB\"")),
        (t("2025-09-20T09:05:00Z"), objective("objective-files", "files", 480, 1440, "\"EFS\", \"EBS\"")),
        (t("2025-11-05T18:00:00Z"), drill("security-incident", "sec-2025-11", "2025-11-05T12:00:00Z", "")),
        (t("2025-12-15T10:00:00Z"), review("2025-Q4", "2025-12-15T09:00:00Z")),
        (t("2026-03-20T10:00:00Z"), review("2026-Q1", "2026-03-20T09:00:00Z")),
        (t("2026-06-10T16:00:00Z"), drill("az-failover", "az-2026-06", "2026-06-10T12:00:00Z", targets)),
        (t("2026-07-01T08:00:00Z"), "kind = \"public-bucket-allowlist\"\nid = \"allow-public-site\"\nbuckets = [\"public-site\"]\nreason = \"static marketing site\"\nreviewer = \"security-lead\"\nreviewed_at = \"2026-07-01T07:00:00Z\"\nexpires_at = \"2027-01-31T00:00:00Z\"\n".to_string()),
        (t("2026-08-10T12:00:00Z"), change("chg-db-upgrade", "2026-08-10T11:00:00Z", "orders database engine upgrade")),
        (t("2026-09-25T10:00:00Z"), review("2026-Q3", "2026-09-25T09:00:00Z")),
        // Submitted in 2026-Q4 for 2026-Q2: counts for 2026-Q2, flagged late.
        (t("2026-11-20T10:00:00Z"), review("2026-Q2", "2026-11-20T09:00:00Z")),
        (t("2026-11-20T12:00:00Z"), change("chg-efs-migration", "2026-11-20T11:00:00Z", "file storage moved to a new EFS file system")),
    ]
}

/// One step of building the year.
type Event = Box<dyn FnOnce(&mut Builder)>;

/// The year, built record by record in time order.
pub fn year() -> Evidence {
    let mut b = Builder::default();
    let mut events: Vec<(OffsetDateTime, Event)> = Vec::new();
    let restores = restores();
    let weeks = backup_times();
    for (i, &t) in weeks.iter().enumerate() {
        let prev = if i == 0 {
            t - Duration::days(7)
        } else {
            weeks[i - 1]
        };
        for (account, region) in [(A, EAST), (A, WEST), (B, EAST), (B, WEST)] {
            if (account, region) == (B, EAST) {
                events.push((t, Box::new(move |b: &mut Builder| {
                    b.failed_run("backup", B, EAST, t, "AccessDenied: not authorized to perform sts:AssumeRole on arn:aws:iam::444455556666:role/evidenced-reader")
                })));
                continue;
            }
            let jobs: Vec<Value> = restores
                .iter()
                .filter(|(a, r, j)| {
                    let done = OffsetDateTime::parse(
                        j["completion_date"].as_str().unwrap(),
                        &time::format_description::well_known::Rfc3339,
                    )
                    .unwrap();
                    *a == account && *r == region && done >= prev && done < t
                })
                .map(|(_, _, j)| j.clone())
                .collect();
            let copied = datetime!(2026-03-05 03:10 UTC);
            let copies: Vec<Value> =
                if (account, region) == (A, EAST) && prev <= copied && copied < t {
                    vec![copy_job()]
                } else {
                    vec![]
                };
            events.push((
                t,
                Box::new(move |b: &mut Builder| {
                    b.machine(
                        "backup",
                        account,
                        region,
                        &[
                            (
                                "backup/protected-resources.json",
                                PROTECTED_MEDIA_TYPE,
                                protected(account, region, t),
                            ),
                            (
                                "backup/restore-jobs.json",
                                RESTORE_JOBS_MEDIA_TYPE,
                                json!({"account": account, "region": region, "restore_jobs": jobs}),
                            ),
                            (
                                "backup/copy-jobs.json",
                                COPY_JOBS_MEDIA_TYPE,
                                json!({"account": account, "region": region, "copy_jobs": copies}),
                            ),
                        ],
                        t,
                    );
                }),
            ));
        }
    }
    for t in collection_times() {
        for (account, region) in [(A, EAST), (A, WEST), (B, WEST)] {
            events.push((
                t,
                Box::new(move |b: &mut Builder| {
                    b.machine(
                        "config",
                        account,
                        region,
                        &[(
                            "config/resources.json",
                            RESOURCES_MEDIA_TYPE,
                            config_resources(account, region),
                        )],
                        t + Duration::minutes(1),
                    );
                    let mut docs = vec![(
                        "cloudwatch/alarms.json",
                        ALARMS_MEDIA_TYPE,
                        alarms(account, region),
                    )];
                    if (account, region) == (A, EAST) && t == datetime!(2026-07-01 6:00 UTC) {
                        // The AZ drill of 2026-06-10 09:00-12:00 tripped the CPU alarm.
                        docs.push(("cloudwatch/alarm-history.json", HISTORY_MEDIA_TYPE, json!({"account": A, "region": EAST, "entries": [
                            {"alarm_name": "high-cpu", "alarm_type": "MetricAlarm", "timestamp": "2026-06-10T09:20:00.000Z", "item_type": "StateUpdate", "summary": "Alarm updated from OK to ALARM", "data": "{}"},
                            {"alarm_name": "high-cpu", "alarm_type": "MetricAlarm", "timestamp": "2026-06-10T11:40:00.000Z", "item_type": "StateUpdate", "summary": "Alarm updated from ALARM to OK", "data": "{}"}]})));
                    }
                    b.machine(
                        "cloudwatch",
                        account,
                        region,
                        &docs,
                        t + Duration::minutes(2),
                    );
                }),
            ));
        }
        events.push((
            t + Duration::minutes(3),
            Box::new(move |b: &mut Builder| {
                b.machine(
                    "s3",
                    A,
                    EAST,
                    &[("s3/buckets.json", BUCKETS_MEDIA_TYPE, buckets())],
                    t + Duration::minutes(3),
                );
            }),
        ));
    }
    for (t, text) in human_records() {
        events.push((t, Box::new(move |b: &mut Builder| b.human_at(&text, t))));
    }
    events.sort_by_key(|(t, _)| *t);
    for (_, f) in events {
        f(&mut b);
    }
    b.ev
}

/// The configured schedules: backup weekly, the others on the 1st of the month.
pub fn options() -> Options {
    Options::default().with_schedules(
        [("backup", "0 0 6 * * WED")].into_iter().chain(
            ["config", "cloudwatch", "s3"]
                .into_iter()
                .map(|c| (c, "0 0 6 1 * *")),
        ),
    )
}

/// The default review period at `at`: four whole quarters and the current one.
pub fn window(at: OffsetDateTime) -> Window {
    Window {
        at,
        from: Span::default_review_start(at),
        to: at,
    }
}

pub fn eval_at(ev: &Evidence, at: OffsetDateTime) -> Evaluation {
    let mut e = evaluate(
        &Catalog::default_catalog().unwrap(),
        ev,
        window(at),
        &options(),
    );
    let head = ev
        .records
        .iter()
        .rev()
        .find(|r| r.record.recorded_at <= at)
        .unwrap();
    e.basis = Some(Basis {
        store: "scenario".into(),
        chain_id: Some(ev.records[0].hash.to_string()),
        head_seq: Some(head.seq),
        head_hash: Some(head.hash.to_string()),
        verified: true,
        checkpoints: 0,
        vouched_seq: None,
        problems: vec![],
        program: "evidenced (scenario)".into(),
        clock_skew: None,
        checked: None,
        timestamped: None,
    });
    e
}

/// The evaluation times of the golden reports (and of the OSCAL round trip).
pub const TIMES: [OffsetDateTime; 3] = [
    datetime!(2026-07-15 12:00 UTC),
    datetime!(2026-10-05 12:00 UTC),
    datetime!(2026-12-01 12:00 UTC),
];

#[test]
fn golden_reports_at_three_evaluation_times_match_byte_for_byte() {
    let ev = year();
    let dir = crate::support::root().join("tests/golden/scenario");
    let update = std::env::var_os("EVIDENCED_UPDATE_GOLDEN").is_some();
    let mut differ = Vec::new();
    for at in TIMES {
        let e = eval_at(&ev, at);
        for (ext, format) in [("json", ReportFormat::Json), ("md", ReportFormat::Md)] {
            let path = dir.join(format!("{}.{ext}", &ts(at)[..10]));
            let got = render(&e, format);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &got).unwrap();
            } else {
                let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                    panic!(
                        "{}: {e} (EVIDENCED_UPDATE_GOLDEN=1 writes it)",
                        path.display()
                    )
                });
                if want != got {
                    differ.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        differ.is_empty(),
        "reports differ from the golden files: {differ:?}"
    );
}

/// Findings less the note on records made after `--at` (the year goes on after it).
fn known_at(findings: &[String]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| !f.starts_with("recorded after --at"))
        .cloned()
        .collect()
}

fn findings(e: &Evaluation, id: &str) -> Vec<String> {
    req(e, id).findings.clone()
}

#[test]
fn bar_002_fails_the_quarter_with_one_type_restored_an_rto_breach_and_a_failed_validation() {
    let e = eval_at(&year(), TIMES[1]);
    let o = req(&e, "BAR-002");
    assert_eq!(o.status, evidenced::requirements::Status::Fail);
    let f = findings(&e, "BAR-002");
    for want in [
        format!("2026-Q2: restore job rj-2026q2-rds-slow ({A}/{EAST}) does not count: it took 720 min; the RTO of workload orders is 240 min"),
        format!("2026-Q2: restore job rj-2026q2-ddb ({A}/{EAST}) does not count: validation_status is \"FAILED\", not \"SUCCESSFUL\""),
        "2026-Q2: no validated restore of a DynamoDB table (resource type DynamoDB)".to_string(),
        "2026-Q2: no validated restore of an EFS file system (resource type EFS)".to_string(),
    ] {
        assert!(f.contains(&want), "missing {want:?} in {f:#?}");
    }
    let q2 = o.periods.iter().find(|p| p.label == "2026-Q2").unwrap();
    assert_eq!(
        (q2.state, q2.missing.clone()),
        ("missing", vec!["DynamoDB".to_string(), "EFS".to_string()])
    );
    // Every counting restore of a period is cited, not only the last.
    let q1: Vec<&str> = o
        .evidence
        .iter()
        .filter(|c| c.period.as_deref() == Some("2026-Q1"))
        .map(|c| c.label.as_str())
        .collect();
    assert_eq!(q1.len(), 5, "{q1:?}");
    // The other quarters are whole.
    let states: Vec<(&str, &str)> = o
        .periods
        .iter()
        .map(|p| (p.label.as_str(), p.state))
        .collect();
    assert_eq!(
        states,
        [
            ("2025-Q4", "ok"),
            ("2026-Q1", "ok"),
            ("2026-Q2", "missing"),
            ("2026-Q3", "ok"),
            ("2026-Q4", "open")
        ]
    );
}

#[test]
fn c_2_13_passes_on_a_copy_into_another_region_and_a_validated_restore_there() {
    let e = eval_at(&year(), TIMES[1]);
    let o = req(&e, "C-2.13");
    assert_eq!(o.status, evidenced::requirements::Status::Pass, "{o:#?}");
    assert_eq!(
        o.evidence
            .iter()
            .map(|c| c.label.as_str())
            .collect::<Vec<_>>(),
        [format!("restore job rj-dr-west ({A}/{WEST})")]
    );
    // The same restores without the copy job: nothing shows recovery to another region.
    let mut ev = year();
    for r in ev.records.iter_mut() {
        r.record
            .items
            .retain(|i| i.media_type != COPY_JOBS_MEDIA_TYPE);
    }
    let o = req(&eval_at(&ev, TIMES[1]), "C-2.13").clone();
    assert_eq!(o.status, evidenced::requirements::Status::Fail);
    assert_eq!(
        known_at(&o.findings),
        ["no recovery into another region on record"]
    );
}

#[test]
fn arc_005_is_judged_per_account_and_region_and_stable_over_unchanged_collections() {
    let ev = year();
    let statuses: Vec<_> = [
        datetime!(2026-09-02 0:00 UTC),
        datetime!(2026-10-02 0:00 UTC),
        datetime!(2026-11-02 0:00 UTC),
    ]
    .into_iter()
    .map(|at| {
        let e = eval_at(&ev, at);
        let o = req(&e, "ARC-005");
        (o.status, known_at(&o.findings))
    })
    .collect();
    let want = (
        evidenced::requirements::Status::Fail,
        vec![
            format!("CloudWatch alarm high-cpu ({A}/{WEST}): alarm_actions is absent or empty"),
            format!("CloudWatch alarm high-cpu ({B}/{WEST}): alarm_actions is absent or empty"),
        ],
    );
    assert!(statuses.iter().all(|s| *s == want), "{statuses:#?}");
}

#[test]
fn fresh_fails_when_every_run_against_one_account_fails() {
    let e = eval_at(&year(), TIMES[2]);
    let o = req(&e, "FRESH");
    assert_eq!(o.status, evidenced::requirements::Status::Fail);
    assert_eq!(
        o.findings,
        [format!("collector backup in {B}/{EAST}: no committed record; all 61 runs failed (last error: sts:AssumeRole: AccessDenied: not authorized to perform sts:AssumeRole on arn:aws:iam::444455556666:role/evidenced-reader)")]
    );
}

#[test]
fn iam_008_counts_an_access_review_for_the_quarter_it_names_and_flags_it_late() {
    let e = eval_at(&year(), TIMES[2]);
    let o = req(&e, "IAM-008");
    assert_eq!(o.status, evidenced::requirements::Status::Pass, "{o:#?}");
    let q2 = o
        .evidence
        .iter()
        .find(|c| c.label == "access-review access-review-2026-Q2")
        .unwrap();
    assert_eq!((q2.period.as_deref(), q2.late), (Some("2026-Q2"), true));
    let q4 = o.periods.iter().find(|p| p.label == "2026-Q4").unwrap();
    assert_eq!((q4.state, q4.count), ("open", 0));
    assert!(o.findings.contains(&"access-review access-review-2026-Q2 was recorded on 2026-11-20, 142 days after 2026-Q2 ended (record 0)".replace("record 0", &format!("record {}", q2.seq))), "{:#?}", o.findings);
}

#[test]
fn the_default_review_period_is_whole_quarters_and_a_cut_period_is_not_failed() {
    let at = datetime!(2026-12-01 12:00 UTC);
    assert_eq!(
        Span::default_review_start(at),
        datetime!(2025-10-01 0:00 UTC)
    );
    // IAM-008 is green on every quarter of the default period...
    let ev = year();
    let o = req(&eval_at(&ev, at), "IAM-008").clone();
    assert_eq!(o.status, evidenced::requirements::Status::Pass, "{o:#?}");
    assert_eq!(o.periods.first().map(|p| p.label.as_str()), Some("2025-Q4"));
    // ...and a review period starting on the last day of 2025-Q3 judges that day alone:
    // not failed for the part outside.
    let w = Window {
        at,
        from: datetime!(2025-09-30 0:00 UTC),
        to: at,
    };
    let e = evaluate(&Catalog::default_catalog().unwrap(), &ev, w, &options());
    let o = req(&e, "IAM-008");
    assert_eq!(o.status, evidenced::requirements::Status::Pass, "{o:#?}");
    assert_eq!(o.periods[0].state, "not-judged");
    assert!(o.findings.contains(&"2025-Q3: not judged: only 1 of its 92 days lie in the review period, and they hold no access review".to_string()), "{:#?}", o.findings);
}

#[test]
fn periods_before_the_first_record_are_named_as_such() {
    let ev = year();
    let at = datetime!(2026-12-01 12:00 UTC);
    let w = Window {
        at,
        from: datetime!(2025-01-01 0:00 UTC),
        to: at,
    };
    let e = evaluate(&Catalog::default_catalog().unwrap(), &ev, w, &options());
    let f = findings(&e, "IAM-008");
    assert!(f.contains(&"2025-Q1: no access review (the store's first record is from 2025-09-20, after this period ended)".to_string()), "{f:#?}");
}

#[test]
fn a_major_change_needs_a_passing_restore_within_the_grace_period() {
    let e = eval_at(&year(), TIMES[2]);
    let f = findings(&e, "BAR-002");
    assert!(f.contains(&"change chg-efs-migration on 2026-11-20 (file storage moved to a new EFS file system) awaits a validated restore; due by 2026-12-20".to_string()), "{f:#?}");
    assert!(
        !f.iter().any(|l| l.contains("chg-db-upgrade")),
        "the August change was followed by restores: {f:#?}"
    );
}

#[test]
fn drills_show_whether_alarms_fired_during_them() {
    let e = eval_at(&year(), TIMES[2]);
    let o = req(&e, "ARC-005-DRILLS");
    assert_eq!(o.status, evidenced::requirements::Status::Pass, "{o:#?}");
    assert_eq!(o.evidence[0].label, "az-failover az-2026-06");
    // Without the alarm history the same drill shows no alarm.
    let mut ev = year();
    for r in ev.records.iter_mut() {
        r.record
            .items
            .retain(|i| i.media_type != HISTORY_MEDIA_TYPE);
    }
    let o = req(&eval_at(&ev, TIMES[2]), "ARC-005-DRILLS").clone();
    assert_eq!(o.status, evidenced::requirements::Status::Fail);
    assert_eq!(
        o.findings,
        ["az-failover az-2026-06: no CloudWatch alarm went to ALARM between 2026-06-10T09:00:00Z and 2026-06-10T12:00:00Z"]
    );
}
