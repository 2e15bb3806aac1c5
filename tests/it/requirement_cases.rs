//! Every requirement of the default catalog, case by case: one scenario that passes, one
//! that fails for each distinct reason, and the exact findings each gives. The clock is
//! fixed: evaluation at 2026-07-15 12:00 UTC over the review period from 2026-04-01, so
//! 2026-Q2 is the one ended quarter and 2026-Q3 is open (and not yet due soon).

use evidenced::record::{Draft, Item, Scope, Status as RunStatus};
use evidenced::requirements::{evaluate, Catalog, Evidence, Options, Status, Window};
use serde_json::{json, Value};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::evidence_fixtures::{
    drill, req, Builder, ALARMS_MEDIA_TYPE, BUCKETS_MEDIA_TYPE, COPY_JOBS_MEDIA_TYPE,
    PROTECTED_MEDIA_TYPE, RESOURCES_MEDIA_TYPE, RESTORE_JOBS_MEDIA_TYPE,
};
use crate::scenario::restore;

const A: &str = "111122223333";
const EAST: &str = "us-east-1";
const WEST: &str = "us-west-2";

const AT: OffsetDateTime = datetime!(2026-07-15 12:00 UTC);
const FROM: OffsetDateTime = datetime!(2026-04-01 0:00 UTC);

fn ts(t: OffsetDateTime) -> String {
    evidenced::human::fmt_time(t)
}

fn window() -> Window {
    Window {
        at: AT,
        from: FROM,
        to: AT,
    }
}

/// One row of a requirement's table: the evidence, and the verdict it must give.
struct Case {
    name: &'static str,
    ev: Evidence,
    status: Status,
    findings: Vec<String>,
}

fn case(name: &'static str, b: Builder, status: Status, findings: &[&str]) -> Case {
    Case {
        name,
        ev: b.ev,
        status,
        findings: findings.iter().map(|s| s.to_string()).collect(),
    }
}

/// Evaluate the default catalog over each case and compare `id`'s status and findings.
fn check_with(id: &str, opts: &Options, cases: Vec<Case>) {
    let catalog = Catalog::default_catalog().unwrap();
    let mut wrong = Vec::new();
    for c in cases {
        let e = evaluate(&catalog, &c.ev, window(), opts);
        let o = req(&e, id);
        if (o.status, &o.findings) != (c.status, &c.findings) {
            wrong.push(format!(
                "{id} / {}:\n  want {:?} {:#?}\n  got  {:?} {:#?}",
                c.name, c.status, c.findings, o.status, o.findings
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn check(id: &str, cases: Vec<Case>) {
    check_with(id, &Options::default(), cases);
}

// ---------------------------------------------------------------------------------------
// Evidence builders

fn list(v: &[&str]) -> String {
    v.iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An objective approved on 2026-01-10, covering `types` and `resources` (both empty:
/// everything).
fn objective(b: &mut Builder, workload: &str, rto: u32, rpo: u32, types: &[&str], res: &[&str]) {
    let text = format!(
        "kind = \"objective\"\nid = \"obj-{workload}\"\nworkload = \"{workload}\"\nrto_minutes = {rto}\nrpo_minutes = {rpo}\nowner = \"head-of-platform\"\napproved_at = \"2026-01-10T10:00:00Z\"\nresource_types = [{}]\nresources = [{}]\n",
        list(types),
        list(res)
    );
    b.human_at(&text, datetime!(2026-01-10 11:00 UTC));
}

/// A human record's canonical document stored as it is, without the parser: what a record
/// written by another version (or by hand) holds. The parser of this version refuses an
/// objective without its required fields, so this is the only way one reaches the store.
fn raw_human(b: &mut Builder, doc: Value, at: OffsetDateTime) {
    let kind = doc["kind"].as_str().unwrap().to_string();
    let id = doc["id"].as_str().unwrap().to_string();
    let blob = evidenced::canonical::value_to_vec(&doc).unwrap();
    let draft = Draft {
        collector: evidenced::submit::SUBMIT_COLLECTOR.into(),
        kind: kind.clone(),
        scope: Scope::default(),
        status: RunStatus::Complete,
        errors: vec![],
        items: vec![Item {
            name: format!("record/{kind}/{id}.json"),
            digest: evidenced::digest::Digest::of(&blob),
            size: blob.len() as u64,
            media_type: evidenced::human::CANONICAL_MEDIA_TYPE.into(),
            observed_at: at,
        }],
        caller_arn: None,
        api_calls: vec![],
    };
    b.add(draft, vec![blob], at);
}

/// The canonical form of objective `obj-orders` less the fields `without`.
fn raw_objective(b: &mut Builder, without: &[&str]) {
    let mut doc = json!({
        "kind": "objective", "id": "obj-orders", "workload": "orders",
        "rto_minutes": 120, "rpo_minutes": 60, "owner": "head-of-platform",
        "approved_at": "2026-01-10T10:00:00Z", "resource_types": [], "resources": [],
    });
    for k in without {
        doc.as_object_mut().unwrap().remove(*k);
    }
    raw_human(b, doc, datetime!(2026-01-10 11:00 UTC));
}

/// A major change of workload orders, recorded an hour after it.
fn major_change(b: &mut Builder, id: &str, at: OffsetDateTime) {
    let text = format!(
        "kind = \"change\"\nid = \"{id}\"\nat = \"{}\"\nsummary = \"orders schema migration\"\nmajor = true\nworkload = \"orders\"\n",
        ts(at)
    );
    b.human_at(&text, at + Duration::hours(1));
}

/// A drill (targets RTO 60 / RPO 15, achieved 30 / 5), recorded an hour after it ended.
fn drill_at(b: &mut Builder, kind: &str, id: &str, ended: OffsetDateTime, outcome: &str) {
    b.human_at(&drill(kind, id, ended, outcome), ended + Duration::hours(1));
}

/// A passing drill whose achieved RTO (90 min) is over its target (60 min).
fn drill_over_target(b: &mut Builder, kind: &str, id: &str, ended: OffsetDateTime) {
    let text = drill(kind, id, ended, "pass").replace(
        "[achieved]\nrto_minutes = 30",
        "[achieved]\nrto_minutes = 90",
    );
    b.human_at(&text, ended + Duration::hours(1));
}

/// A reviewed declaration (`backup-scope`, `public-bucket-allowlist`, `data-classification`)
/// reviewed on 2026-03-01, expiring at `expires`, with its kind's own fields in `body`.
fn declaration(b: &mut Builder, kind: &str, id: &str, expires: &str, body: &str) {
    let text = format!(
        "kind = \"{kind}\"\nid = \"{id}\"\nreviewer = \"security-lead\"\nreviewed_at = \"2025-03-01T10:00:00Z\"\nexpires_at = \"{expires}\"\n{body}"
    );
    b.human_at(&text, datetime!(2025-03-01 11:00 UTC));
}

const UNEXPIRED: &str = "2027-03-01T00:00:00Z";
const EXPIRED: &str = "2026-03-31T00:00:00Z";

/// A restore-jobs document of `account`/`region` (the backup collector), recorded at `at`.
fn restore_jobs(b: &mut Builder, region: &str, jobs: Vec<Value>, at: OffsetDateTime) {
    b.machine(
        "backup",
        A,
        region,
        &[(
            "backup/restore-jobs.json",
            RESTORE_JOBS_MEDIA_TYPE,
            json!({"account": A, "region": region, "restore_jobs": jobs}),
        )],
        at,
    );
}

fn recovery_point(region: &str, name: &str) -> String {
    format!("arn:aws:backup:{region}:{A}:recovery-point:{name}")
}

/// A completed RDS restore job in us-east-1: `minutes` long, validation `validation`,
/// restoring a recovery point taken 6 hours before it started.
fn rds_restore(id: &str, done: OffsetDateTime, minutes: i64, validation: &str) -> Value {
    restore(
        id,
        EAST,
        "RDS",
        done,
        minutes,
        validation,
        &recovery_point(EAST, "rds"),
    )
}

const RDS_ARN: &str = "arn:aws:rds:us-east-1:111122223333:db:orders";
const RDS2_ARN: &str = "arn:aws:rds:us-east-1:111122223333:db:reports";
const EBS_ARN: &str = "arn:aws:ec2:us-east-1:111122223333:volume/vol-1";
const EFS_ARN: &str = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1";
const DDB_ARN: &str = "arn:aws:dynamodb:us-east-1:111122223333:table/orders";
const S3_ARN: &str = "arn:aws:s3:::orders-exports";

/// A Config inventory item in 111122223333/us-east-1.
fn store(resource_type: &str, arn: &str, configuration: Value) -> Value {
    let id = arn.rsplit([':', '/']).next().unwrap();
    json!({"resource_type": resource_type, "resource_id": id, "resource_name": null, "arn": arn,
           "account_id": A, "aws_region": EAST, "configuration": configuration})
}

/// The config collector's inventory of 111122223333/us-east-1, recorded at `at`.
fn config(b: &mut Builder, items: Vec<Value>, at: OffsetDateTime) {
    b.machine(
        "config",
        A,
        EAST,
        &[(
            "config/resources.json",
            RESOURCES_MEDIA_TYPE,
            json!({"account": A, "region": EAST, "aggregator": null, "items": items}),
        )],
        at,
    );
}

/// AWS Backup's protected resources of 111122223333/us-east-1: (ARN, type, last backup).
fn protected(b: &mut Builder, resources: &[(&str, &str, OffsetDateTime)], at: OffsetDateTime) {
    let resources: Vec<Value> = resources
        .iter()
        .map(|(arn, kind, last)| json!({"resource_arn": arn, "resource_type": kind, "resource_name": null, "last_backup_time": ts(*last)}))
        .collect();
    b.machine(
        "backup",
        A,
        EAST,
        &[(
            "backup/protected-resources.json",
            PROTECTED_MEDIA_TYPE,
            json!({"account": A, "region": EAST, "resources": resources}),
        )],
        at,
    );
}

// ---------------------------------------------------------------------------------------
// BAR-001

#[test]
fn bar_001_passes_and_fails_for_each_reason() {
    let inventory_at = AT - Duration::days(1);
    let backup_at = AT - Duration::minutes(10);
    // RDS orders backed up by AWS Backup 30 minutes ago; RDS reports with native automated
    // backups; both covered by an RPO of 60 minutes.
    let with = |items: Vec<Value>, last_backup: OffsetDateTime, types: &[&str], res: &[&str]| {
        let mut b = Builder::default();
        objective(&mut b, "orders", 120, 60, types, res);
        config(&mut b, items, inventory_at);
        protected(&mut b, &[(RDS_ARN, "RDS", last_backup)], backup_at);
        b
    };
    let orders = || {
        store(
            "AWS::RDS::DBInstance",
            RDS_ARN,
            json!({"backupRetentionPeriod": 0}),
        )
    };
    let fresh = AT - Duration::minutes(30);
    let scope = format!("({A}/{EAST})");
    let not_covered = "not covered: AWS Backup holds no recovery point of it and it has no native automated backups";
    let mut no_inventory = Builder::default();
    objective(&mut no_inventory, "orders", 120, 60, &[], &[]);
    check(
        "BAR-001",
        vec![
            case(
                "backed up by AWS Backup or natively, within the RPO",
                with(
                    vec![
                        orders(),
                        store("AWS::RDS::DBInstance", RDS2_ARN, json!({"backupRetentionPeriod": 7})),
                    ],
                    fresh,
                    &["RDS"],
                    &[],
                ),
                Status::Pass,
                &[],
            ),
            case(
                "an objective naming the store by id covers it",
                with(vec![orders()], fresh, &[], &["orders"]),
                Status::Pass,
                &[],
            ),
            case(
                "an EBS volume with no recovery point",
                with(
                    vec![orders(), store("AWS::EC2::Volume", EBS_ARN, json!({"encrypted": true}))],
                    fresh,
                    &["RDS", "EBS"],
                    &[],
                ),
                Status::Fail,
                &[&format!("in-scope data store {EBS_ARN} {scope}: {not_covered}")],
            ),
            case(
                "an RDS instance with neither a recovery point nor automated backups",
                with(
                    vec![orders(), store("AWS::RDS::DBInstance", RDS2_ARN, json!({"backupRetentionPeriod": 0}))],
                    fresh,
                    &["RDS"],
                    &[],
                ),
                Status::Fail,
                &[&format!("in-scope data store {RDS2_ARN} {scope}: {not_covered}")],
            ),
            case(
                "no declared RPO covers it",
                with(vec![orders()], fresh, &["DynamoDB"], &[]),
                Status::Fail,
                &[&format!("in-scope data store {RDS_ARN} {scope}: no declared RPO covers it (submit an objective naming it or its resource type)")],
            ),
            case(
                "newest backup older than the RPO",
                with(vec![orders()], AT - Duration::hours(2), &["RDS"], &[]),
                Status::Fail,
                &[&format!("in-scope data store {RDS_ARN} {scope}: its newest backup (2026-07-15T10:00:00Z) is older than its RPO of 60 min")],
            ),
            case(
                "no Config inventory",
                no_inventory,
                Status::Unknown,
                &["no in-scope data store in the store yet (evidence of type application/vnd.evidenced.aws.config.resources+json)"],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// BAR-002

#[test]
fn bar_002_passes_and_fails_for_each_reason() {
    let done = datetime!(2026-05-10 10:00 UTC);
    // RDS protected (and EFS when asked), objective orders: RTO 120 min, RPO 1440 min.
    let base = |types: &[&str]| {
        let mut b = Builder::default();
        objective(&mut b, "orders", 120, 1440, &["RDS"], &[]);
        b.inventory(types, datetime!(2026-03-15 6:00 UTC));
        b
    };
    let with_jobs = |types: &[&str], jobs: Vec<Value>| {
        let mut b = base(types);
        restore_jobs(&mut b, EAST, jobs, done + Duration::hours(2));
        b
    };
    let good = || rds_restore("rj-q2", done, 40, "SUCCESSFUL");
    let job = format!("restore job rj-q2 ({A}/{EAST})");
    let no_rds = "2026-Q2: no validated restore of an RDS database (resource type RDS)";
    let no_efs = "2026-Q2: no validated restore of an EFS file system (resource type EFS)";

    let mut old_point = good();
    old_point["recovery_point_creation_date"] = json!("2026-05-07T10:00:00Z");

    let mut restore_test_pass = base(&["RDS"]);
    drill_at(
        &mut restore_test_pass,
        "restore-test",
        "rt-q2",
        done,
        "pass",
    );
    let mut restore_test_fail = base(&["RDS"]);
    drill_at(
        &mut restore_test_fail,
        "restore-test",
        "rt-q2",
        done,
        "fail",
    );

    // A major change on 2026-05-20, after the quarter's only restore (2026-05-10)...
    let mut change_unfollowed = with_jobs(&["RDS"], vec![good()]);
    major_change(
        &mut change_unfollowed,
        "chg-1",
        datetime!(2026-05-20 11:00 UTC),
    );
    // ...and the same change followed by a validated restore 12 days later.
    let mut change_followed = with_jobs(&["RDS"], vec![good()]);
    major_change(
        &mut change_followed,
        "chg-1",
        datetime!(2026-05-20 11:00 UTC),
    );
    let later = datetime!(2026-06-01 10:00 UTC);
    restore_jobs(
        &mut change_followed,
        EAST,
        vec![rds_restore("rj-after-change", later, 40, "SUCCESSFUL")],
        later + Duration::hours(2),
    );

    let mut scope_adds_efs = with_jobs(&["RDS"], vec![good()]);
    declaration(
        &mut scope_adds_efs,
        "backup-scope",
        "scope-files",
        UNEXPIRED,
        "resource_types = [\"EFS\"]\n",
    );
    let mut scope_expired = with_jobs(&["RDS"], vec![good()]);
    declaration(
        &mut scope_expired,
        "backup-scope",
        "scope-files",
        EXPIRED,
        "resource_types = [\"EFS\"]\n",
    );

    let mut nothing = Builder::default();
    objective(&mut nothing, "orders", 120, 1440, &["RDS"], &[]);
    let never_collected = "no inventory of in-scope resource types (application/vnd.evidenced.aws.backup.protected-resources+json or backup-scope) was recorded by 2026-07-15";
    let nothing_known = |period: &str, day: &str| {
        format!("{period}: no in-scope resource type is known on {day}: the evidence (application/vnd.evidenced.aws.backup.protected-resources+json or backup-scope) names none, so nothing shows the requirement met")
    };
    let empty_inventory = with_jobs(&[], vec![good()]);

    check(
        "BAR-002",
        vec![
            case("a validated restore within RTO and RPO", with_jobs(&["RDS"], vec![good()]), Status::Pass, &[]),
            case("a passing restore-test naming the type", restore_test_pass, Status::Pass, &[]),
            case(
                "a protected type never restored in the quarter",
                with_jobs(&["RDS", "EFS"], vec![good()]),
                Status::Fail,
                &[no_efs],
            ),
            case(
                "the restore failed validation",
                with_jobs(&["RDS"], vec![rds_restore("rj-q2", done, 40, "FAILED")]),
                Status::Fail,
                &[&format!("2026-Q2: {job} does not count: validation_status is \"FAILED\", not \"SUCCESSFUL\""), no_rds],
            ),
            case(
                "the restore took longer than the RTO",
                with_jobs(&["RDS"], vec![rds_restore("rj-q2", done, 180, "SUCCESSFUL")]),
                Status::Fail,
                &[&format!("2026-Q2: {job} does not count: it took 180 min; the RTO of workload orders is 120 min"), no_rds],
            ),
            case(
                "the recovery point was older than the RPO",
                with_jobs(&["RDS"], vec![old_point]),
                Status::Fail,
                &[&format!("2026-Q2: {job} does not count: its recovery point was 2026-05-07T10:00:00Z, older than the RPO of workload orders (1440 min) when the restore started"), no_rds],
            ),
            case(
                "a failed restore-test drill",
                restore_test_fail,
                Status::Fail,
                &["2026-Q2: restore-test rt-q2 does not count: its outcome is fail", no_rds],
            ),
            case(
                "a major change not followed by a validated restore within 30 days",
                change_unfollowed,
                Status::Fail,
                &["change chg-1 on 2026-05-20 (orders schema migration) was not followed by a validated restore within 30 days (due by 2026-06-19)"],
            ),
            case("a major change followed by a validated restore", change_followed, Status::Pass, &[]),
            case("an unexpired backup-scope adds a type", scope_adds_efs, Status::Fail, &[no_efs]),
            case("an expired backup-scope adds nothing", scope_expired, Status::Pass, &[]),
            case("no inventory and no restore collected", nothing, Status::Unknown, &[never_collected]),
            case(
                "an inventory that lists nothing",
                empty_inventory,
                Status::Fail,
                &[
                    &nothing_known("2026-Q2", "2026-07-01"),
                    "2026-Q2: no validated restore",
                    &nothing_known("2026-Q3", "2026-07-15"),
                ],
            ),
        ],
    );
}

/// docs/RULES.md: a requirement that expects groups but can name none "fails (nothing to
/// test is not a pass), or is `unknown` when the inventory was never collected".
#[test]
fn bar_002_is_unknown_when_the_inventory_was_never_collected_even_with_restores() {
    let mut b = Builder::default();
    objective(&mut b, "orders", 120, 1440, &["RDS"], &[]);
    let done = datetime!(2026-05-10 10:00 UTC);
    restore_jobs(
        &mut b,
        EAST,
        vec![rds_restore("rj-q2", done, 40, "SUCCESSFUL")],
        done + Duration::hours(2),
    );
    check(
        "BAR-002",
        vec![case(
            "restore jobs, no inventory",
            b,
            Status::Unknown,
            &["no inventory of in-scope resource types (application/vnd.evidenced.aws.backup.protected-resources+json or backup-scope) was recorded by 2026-07-15"],
        )],
    );
}

// ---------------------------------------------------------------------------------------
// RES-001, RES-002, C-2.11: recovery objectives

const NO_OBJECTIVE_YET: &str = "no recovery objective in the store yet (evidence of type application/vnd.evidenced.human-record+json)";
const NO_RPO_YET: &str = "no recovery objective in the store yet (evidence of type application/vnd.evidenced.human-record+json or application/vnd.evidenced.aws.backup.plans+json)";

#[test]
fn res_001_passes_and_fails_for_each_reason() {
    let full = || {
        let mut b = Builder::default();
        objective(&mut b, "orders", 120, 60, &[], &[]);
        b
    };
    let without = |fields: &[&str]| {
        let mut b = Builder::default();
        raw_objective(&mut b, fields);
        b
    };
    // The latest objective of a workload is the one judged: a complete one replaces an
    // incomplete one.
    let mut replaced = without(&["rpo_minutes"]);
    objective(&mut replaced, "orders", 120, 60, &[], &[]);
    check(
        "RES-001",
        vec![
            case(
                "an objective with RPO, owner and approval",
                full(),
                Status::Pass,
                &[],
            ),
            case(
                "a complete objective replaces an incomplete one",
                replaced,
                Status::Pass,
                &[],
            ),
            case(
                "no rpo_minutes",
                without(&["rpo_minutes"]),
                Status::Fail,
                &["objective obj-orders: rpo_minutes is absent or empty"],
            ),
            case(
                "no owner",
                without(&["owner"]),
                Status::Fail,
                &["objective obj-orders: owner is absent or empty"],
            ),
            case(
                "no approval",
                without(&["approved_at"]),
                Status::Fail,
                &["objective obj-orders: approved_at is absent or empty"],
            ),
            case(
                "no objective",
                Builder::default(),
                Status::Unknown,
                &[NO_RPO_YET],
            ),
            case("an hourly plan meets an RPO of 60 min", with_plan(60, "rate(1 hour)", false, &["*"]), Status::Pass, &[]),
            case("continuous backup meets any RPO", with_plan(15, "cron(0 5 ? * * *)", true, &["*"]), Status::Pass, &[]),
            case(
                "a daily plan misses an RPO of 60 min",
                with_plan(60, "cron(0 5 ? * * *)", false, &["*"]),
                Status::Fail,
                &["backup plan nightly (111122223333/us-east-1): its rules (daily: cron(0 5 ? * * *)) run less often than the RPO of workload orders (60 min)"],
            ),
            case(
                "an objective scoped to RDS applies to a plan selecting an RDS ARN",
                with_plan_scoped(60, "rate(12 hours)", &["arn:aws:rds:us-east-1:111122223333:db:orders"], &["RDS"]),
                Status::Fail,
                &["backup plan nightly (111122223333/us-east-1): its rules (daily: rate(12 hours)) run less often than the RPO of workload orders (60 min)"],
            ),
            case(
                "an objective scoped to RDS does not apply to a plan selecting EFS",
                with_plan_scoped(60, "rate(12 hours)", &["arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1"], &["RDS"]),
                Status::Pass,
                &[],
            ),
        ],
    );
}

/// An objective (RPO `rpo`, no scope) and one backup plan with one rule.
fn with_plan(rpo: u32, schedule: &str, continuous: bool, resources: &[&str]) -> Builder {
    let mut b = Builder::default();
    objective(&mut b, "orders", 120, rpo, &[], &[]);
    plan(&mut b, schedule, continuous, resources);
    b
}

/// An objective scoped to `types` and one backup plan selecting `resources`.
fn with_plan_scoped(rpo: u32, schedule: &str, resources: &[&str], types: &[&str]) -> Builder {
    let mut b = Builder::default();
    objective(&mut b, "orders", 120, rpo, types, &[]);
    plan(&mut b, schedule, false, resources);
    b
}

fn plan(b: &mut Builder, schedule: &str, continuous: bool, resources: &[&str]) {
    let doc = json!({"account": A, "region": "us-east-1", "plans": [{
        "id": "p-1", "name": "nightly",
        "rules": [{"name": "daily", "schedule_expression": schedule, "enable_continuous_backup": continuous}],
        "selections": [{"id": "s-1", "name": "all", "resources": resources, "not_resources": [], "tag_conditions": []}]}]});
    b.machine(
        "backup",
        A,
        "us-east-1",
        &[(
            "backup/plans.json",
            "application/vnd.evidenced.aws.backup.plans+json",
            doc,
        )],
        datetime!(2026-07-01 6:00 UTC),
    );
}

#[test]
fn res_002_passes_and_fails_for_each_reason() {
    let in_period = datetime!(2026-05-10 10:00 UTC);
    let before_period = datetime!(2026-03-10 10:00 UTC);
    let with = |done: OffsetDateTime, minutes: i64| {
        let mut b = Builder::default();
        objective(&mut b, "orders", 120, 60, &["RDS"], &[]);
        restore_jobs(
            &mut b,
            EAST,
            vec![rds_restore("rj-1", done, minutes, "SUCCESSFUL")],
            done + Duration::hours(2),
        );
        b
    };
    let mut no_objective = Builder::default();
    restore_jobs(
        &mut no_objective,
        EAST,
        vec![rds_restore("rj-1", in_period, 40, "SUCCESSFUL")],
        in_period + Duration::hours(2),
    );
    let mut no_rto = Builder::default();
    raw_objective(&mut no_rto, &["rto_minutes"]);
    check(
        "RES-002",
        vec![
            case("a declared RTO and restores within it", with(in_period, 40), Status::Pass, &[]),
            case(
                "a restore over the RTO before the review period is not judged",
                with(before_period, 180),
                Status::Pass,
                &[],
            ),
            case(
                "a restore over the RTO in the review period",
                with(in_period, 180),
                Status::Fail,
                &[&format!("restore job rj-1 ({A}/{EAST}): it took 180 min; the RTO of workload orders is 120 min")],
            ),
            case("restores but no objective", no_objective, Status::Fail, &["no declared RTO in the store"]),
            case(
                "an objective without rto_minutes",
                no_rto,
                Status::Fail,
                &["objective obj-orders: rto_minutes is absent or empty"],
            ),
            case(
                "no objective and no restore",
                Builder::default(),
                Status::Unknown,
                &["no recovery objective in the store yet (evidence of type application/vnd.evidenced.human-record+json or application/vnd.evidenced.aws.backup.restore-jobs+json)"],
            ),
        ],
    );
}

#[test]
fn c_2_11_passes_and_fails_for_each_reason() {
    let rto = |minutes: u32| {
        let mut b = Builder::default();
        objective(&mut b, "orders", minutes, 60, &[], &[]);
        b
    };
    let mut no_rto = Builder::default();
    raw_objective(&mut no_rto, &["rto_minutes"]);
    check(
        "C-2.11",
        vec![
            case("an RTO under 24 hours", rto(1439), Status::Pass, &[]),
            case(
                "an RTO of exactly 24 hours",
                rto(1440),
                Status::Fail,
                &["objective obj-orders: rto_minutes is 1440, not below 1440"],
            ),
            case(
                "an RTO over 24 hours",
                rto(2880),
                Status::Fail,
                &["objective obj-orders: rto_minutes is 2880, not below 1440"],
            ),
            case(
                "an objective without rto_minutes",
                no_rto,
                Status::Fail,
                &["objective obj-orders: rto_minutes is absent, not below 1440"],
            ),
            case(
                "no objective",
                Builder::default(),
                Status::Unknown,
                &[NO_OBJECTIVE_YET],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// RES-004, C-2.9, C-2.12, C-1.24: drills within 365 days

const RECENT: OffsetDateTime = datetime!(2026-06-15 10:00 UTC);
/// 379 days before AT.
const TOO_OLD: OffsetDateTime = datetime!(2025-07-01 10:00 UTC);
/// 350 days before AT: due on 2026-07-30, within the 21-day lead.
const NEARLY_DUE: OffsetDateTime = datetime!(2025-07-30 12:00 UTC);

fn drills(list: &[(&str, &str, OffsetDateTime, &str)]) -> Builder {
    let mut b = Builder::default();
    for (kind, id, ended, outcome) in list {
        drill_at(&mut b, kind, id, *ended, outcome);
    }
    b
}

fn over_target(kind: &str, id: &str) -> Builder {
    let mut b = Builder::default();
    drill_over_target(&mut b, kind, id, RECENT);
    b
}

#[test]
fn res_004_passes_and_fails_for_each_reason() {
    let what = "passing AZ or region resilience test within its RTO/RPO targets";
    let none = format!("no {what} on record");
    let mut change_unfollowed = drills(&[(
        "az-failover",
        "az-1",
        datetime!(2026-03-01 10:00 UTC),
        "pass",
    )]);
    major_change(
        &mut change_unfollowed,
        "chg-1",
        datetime!(2026-05-01 11:00 UTC),
    );
    let mut change_followed = drills(&[(
        "az-failover",
        "az-1",
        datetime!(2026-03-01 10:00 UTC),
        "pass",
    )]);
    major_change(
        &mut change_followed,
        "chg-1",
        datetime!(2026-05-01 11:00 UTC),
    );
    drill_at(
        &mut change_followed,
        "region-failover",
        "dr-1",
        datetime!(2026-05-20 10:00 UTC),
        "pass",
    );
    check(
        "RES-004",
        vec![
            case("a recent az-failover within targets", drills(&[("az-failover", "az-1", RECENT, "pass")]), Status::Pass, &[]),
            case("a recent region-failover within targets", drills(&[("region-failover", "dr-1", RECENT, "pass")]), Status::Pass, &[]),
            case("none on record", Builder::default(), Status::Fail, &[&none]),
            case(
                "the last one is older than 365 days",
                drills(&[("az-failover", "az-1", TOO_OLD, "pass")]),
                Status::Fail,
                &[&format!("no {what} since 2025-07-01 (more than 365 days before 2026-07-15)")],
            ),
            case(
                "achieved RTO over its target",
                over_target("az-failover", "az-1"),
                Status::Fail,
                &["az-failover az-1 does not count: achieved.rto_minutes is 90, not at most targets.rto_minutes (60)", &none],
            ),
            case(
                "a failed drill",
                drills(&[("az-failover", "az-1", RECENT, "fail")]),
                Status::Fail,
                &["az-failover az-1 does not count: its outcome is fail", &none],
            ),
            case(
                "a major change not followed within 30 days",
                change_unfollowed,
                Status::Fail,
                &[&format!("change chg-1 on 2026-05-01 (orders schema migration) was not followed by a {what} within 30 days (due by 2026-05-31)")],
            ),
            case("a major change followed within 30 days", change_followed, Status::Pass, &[]),
            case(
                "due soon near expiry",
                drills(&[("az-failover", "az-1", NEARLY_DUE, "pass")]),
                Status::DueSoon,
                &[&format!("the last {what} was on 2025-07-30; the next is due by 2026-07-30")],
            ),
        ],
    );
}

#[test]
fn c_2_9_passes_and_fails_for_each_reason() {
    let what = "passing az-failover drill";
    let none = format!("no {what} on record");
    check(
        "C-2.9",
        vec![
            case(
                "a recent az-failover",
                drills(&[("az-failover", "az-1", RECENT, "pass")]),
                Status::Pass,
                &[],
            ),
            // C-2.9 asks for a passing drill only; the targets are RES-004's and C-2.12's.
            case(
                "achieved RTO over its target still counts",
                over_target("az-failover", "az-1"),
                Status::Pass,
                &[],
            ),
            case("none on record", Builder::default(), Status::Fail, &[&none]),
            case(
                "a region-failover is not an az-failover",
                drills(&[("region-failover", "dr-1", RECENT, "pass")]),
                Status::Fail,
                &[&none],
            ),
            case(
                "the last one is older than 365 days",
                drills(&[("az-failover", "az-1", TOO_OLD, "pass")]),
                Status::Fail,
                &[&format!(
                    "no {what} since 2025-07-01 (more than 365 days before 2026-07-15)"
                )],
            ),
            case(
                "a failed drill",
                drills(&[("az-failover", "az-1", RECENT, "fail")]),
                Status::Fail,
                &[
                    "az-failover az-1 does not count: its outcome is fail",
                    &none,
                ],
            ),
            case(
                "due soon near expiry",
                drills(&[("az-failover", "az-1", NEARLY_DUE, "pass")]),
                Status::DueSoon,
                &[&format!(
                    "the last {what} was on 2025-07-30; the next is due by 2026-07-30"
                )],
            ),
        ],
    );
}

#[test]
fn c_2_12_passes_and_fails_for_each_reason() {
    let what = "passing DR drill with achieved RTO/RPO within targets";
    let none = format!("no {what} on record");
    check(
        "C-2.12",
        vec![
            case(
                "a recent region-failover within targets",
                drills(&[("region-failover", "dr-1", RECENT, "pass")]),
                Status::Pass,
                &[],
            ),
            case(
                "a recent az-failover within targets",
                drills(&[("az-failover", "az-1", RECENT, "pass")]),
                Status::Pass,
                &[],
            ),
            case(
                "a recent data-loss drill within targets",
                drills(&[("data-loss", "dl-1", RECENT, "pass")]),
                Status::Pass,
                &[],
            ),
            case("none on record", Builder::default(), Status::Fail, &[&none]),
            case(
                "achieved RTO over its target",
                over_target("region-failover", "dr-1"),
                Status::Fail,
                &["region-failover dr-1 does not count: achieved.rto_minutes is 90, not at most targets.rto_minutes (60)", &none],
            ),
            case(
                "the last one is older than 365 days",
                drills(&[("data-loss", "dl-1", TOO_OLD, "pass")]),
                Status::Fail,
                &[&format!(
                    "no {what} since 2025-07-01 (more than 365 days before 2026-07-15)"
                )],
            ),
            case(
                "a failed drill",
                drills(&[("region-failover", "dr-1", RECENT, "fail")]),
                Status::Fail,
                &[
                    "region-failover dr-1 does not count: its outcome is fail",
                    &none,
                ],
            ),
            case(
                "due soon near expiry",
                drills(&[("region-failover", "dr-1", NEARLY_DUE, "pass")]),
                Status::DueSoon,
                &[&format!(
                    "the last {what} was on 2025-07-30; the next is due by 2026-07-30"
                )],
            ),
        ],
    );
}

#[test]
fn c_1_24_passes_and_fails_for_each_reason() {
    let what = "security-incident drill";
    let none = format!("no {what} on record");
    check(
        "C-1.24",
        vec![
            case(
                "a recent drill",
                drills(&[("security-incident", "sec-1", RECENT, "pass")]),
                Status::Pass,
                &[],
            ),
            case("none on record", Builder::default(), Status::Fail, &[&none]),
            case(
                "a tabletop is not a security-incident drill",
                drills(&[("tabletop", "tt-1", RECENT, "pass")]),
                Status::Fail,
                &[&none],
            ),
            case(
                "the last one is older than 365 days",
                drills(&[("security-incident", "sec-1", TOO_OLD, "pass")]),
                Status::Fail,
                &[&format!(
                    "no {what} since 2025-07-01 (more than 365 days before 2026-07-15)"
                )],
            ),
            case(
                "a failed drill",
                drills(&[("security-incident", "sec-1", RECENT, "fail")]),
                Status::Fail,
                &[
                    "security-incident sec-1 does not count: its outcome is fail",
                    &none,
                ],
            ),
            case(
                "due soon near expiry",
                drills(&[("security-incident", "sec-1", NEARLY_DUE, "pass")]),
                Status::DueSoon,
                &[&format!(
                    "the last {what} was on 2025-07-30; the next is due by 2026-07-30"
                )],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// C-2.13: recovery into another region

/// A copy job stored by the backup collector of 111122223333/us-east-1.
fn copy_job(b: &mut Builder, state: &str, to_region: &str, at: OffsetDateTime) {
    let job = json!({
        "copy_job_id": "cj-1", "state": state, "status_message": null,
        "creation_date": ts(at - Duration::hours(1)), "completion_date": ts(at),
        "resource_arn": RDS_ARN, "resource_type": "RDS",
        "source_backup_vault_arn": format!("arn:aws:backup:{EAST}:{A}:backup-vault:primary"),
        "source_recovery_point_arn": recovery_point(EAST, "rds"),
        "destination_backup_vault_arn": format!("arn:aws:backup:{to_region}:{A}:backup-vault:dr"),
        "destination_recovery_point_arn": recovery_point(to_region, "copied-rds"),
        "source_region": EAST, "destination_region": to_region, "destination_account": A,
    });
    b.machine(
        "backup",
        A,
        EAST,
        &[(
            "backup/copy-jobs.json",
            COPY_JOBS_MEDIA_TYPE,
            json!({"account": A, "region": EAST, "copy_jobs": [job]}),
        )],
        at + Duration::hours(1),
    );
}

#[test]
fn c_2_13_passes_and_fails_for_each_reason() {
    let copied = datetime!(2026-06-01 3:00 UTC);
    let done = datetime!(2026-06-02 10:00 UTC);
    // A copy into `to_region`, then a restore of the copied recovery point listed in (and
    // restored into) `restored_in`, with validation `validation`.
    let copy_then_restore = |state: &str, to_region: &str, restored_in: &str, validation: &str| {
        let mut b = Builder::default();
        copy_job(&mut b, state, to_region, copied);
        let point = recovery_point(to_region, "copied-rds");
        let job = restore("rj-dr", restored_in, "RDS", done, 55, validation, &point);
        restore_jobs(&mut b, restored_in, vec![job], done + Duration::hours(2));
        b
    };
    let mut copy_only = Builder::default();
    copy_job(&mut copy_only, "COMPLETED", WEST, copied);
    let none = "no recovery into another region on record";
    check(
        "C-2.13",
        vec![
            case("a passing region-failover drill", drills(&[("region-failover", "dr-1", RECENT, "pass")]), Status::Pass, &[]),
            case(
                "a copy to another region and a validated restore there",
                copy_then_restore("COMPLETED", WEST, WEST, "SUCCESSFUL"),
                Status::Pass,
                &[],
            ),
            case("a copy never restored", copy_only, Status::Fail, &[none]),
            case(
                "the restore of the copy was not validated",
                copy_then_restore("COMPLETED", WEST, WEST, "FAILED"),
                Status::Fail,
                &[&format!("restore job rj-dr ({A}/{WEST}) does not count: validation_status is \"FAILED\", not \"SUCCESSFUL\""), none],
            ),
            case(
                "the copy was restored outside the copy's destination region",
                copy_then_restore("COMPLETED", WEST, EAST, "SUCCESSFUL"),
                Status::Fail,
                &[&format!("restore job rj-dr ({A}/{EAST}) does not count: it restored a copied recovery point outside the copy's destination region"), none],
            ),
            case(
                "a copy within one region",
                copy_then_restore("COMPLETED", EAST, EAST, "SUCCESSFUL"),
                Status::Fail,
                &[none],
            ),
            case(
                "a copy job that did not complete",
                copy_then_restore("FAILED", WEST, WEST, "SUCCESSFUL"),
                Status::Fail,
                &[none],
            ),
            case(
                "a failed region-failover drill",
                drills(&[("region-failover", "dr-1", RECENT, "fail")]),
                Status::Fail,
                &["region-failover dr-1 does not count: its outcome is fail", none],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// ARC-005: alarms

fn alarm(name: &str, actions: &[&str], enabled: bool) -> Value {
    json!({"name": name, "namespace": "AWS/RDS", "metric_name": "CPUUtilization",
           "actions_enabled": enabled, "alarm_actions": actions, "state": "OK"})
}

fn composite(name: &str, actions: &[&str], enabled: bool) -> Value {
    json!({"name": name, "alarm_rule": "ALARM(high-cpu)", "actions_enabled": enabled,
           "alarm_actions": actions, "state": "OK"})
}

/// The cloudwatch collector's alarms of 111122223333/`region`, recorded at `at`.
fn alarms(
    b: &mut Builder,
    region: &str,
    metric: Vec<Value>,
    composites: Vec<Value>,
    at: OffsetDateTime,
) {
    b.machine(
        "cloudwatch",
        A,
        region,
        &[(
            "cloudwatch/alarms.json",
            ALARMS_MEDIA_TYPE,
            json!({"account": A, "region": region, "metric_alarms": metric, "composite_alarms": composites}),
        )],
        at,
    );
}

#[test]
fn arc_005_passes_and_fails_for_each_reason() {
    let at = AT - Duration::hours(1);
    let page = |region: &str| format!("arn:aws:sns:{region}:{A}:oncall");
    let (east, west) = (page(EAST), page(WEST));
    // us-east-1 is always fine; us-west-2 has the same alarm names, as given.
    let with_west = |metric: Vec<Value>, composites: Vec<Value>| {
        let mut b = Builder::default();
        alarms(
            &mut b,
            EAST,
            vec![alarm("high-cpu", &[&east], true)],
            vec![composite("service-down", &[&east], true)],
            at,
        );
        alarms(&mut b, WEST, metric, composites, at);
        b
    };
    // An alarm without action last month, fixed since: the latest snapshot is judged.
    let mut fixed = Builder::default();
    alarms(
        &mut fixed,
        WEST,
        vec![alarm("high-cpu", &[], true)],
        vec![],
        AT - Duration::days(30),
    );
    alarms(
        &mut fixed,
        WEST,
        vec![alarm("high-cpu", &[&west], true)],
        vec![],
        at,
    );
    let mut no_alarms = Builder::default();
    alarms(&mut no_alarms, EAST, vec![], vec![], at);
    let in_west = format!("CloudWatch alarm high-cpu ({A}/{WEST})");
    check(
        "ARC-005",
        vec![
            case(
                "every alarm has an action, enabled, in every region",
                with_west(
                    vec![alarm("high-cpu", &[&west], true)],
                    vec![composite("service-down", &[&west], true)],
                ),
                Status::Pass,
                &[],
            ),
            case("the latest snapshot is judged", fixed, Status::Pass, &[]),
            case(
                "a metric alarm without action, in one region",
                with_west(vec![alarm("high-cpu", &[], true)], vec![]),
                Status::Fail,
                &[&format!("{in_west}: alarm_actions is absent or empty")],
            ),
            case(
                "a metric alarm with its actions disabled",
                with_west(vec![alarm("high-cpu", &[&west], false)], vec![]),
                Status::Fail,
                &[&format!("{in_west}: actions_enabled is false, not true")],
            ),
            case(
                "a composite alarm without action",
                with_west(vec![], vec![composite("service-down", &[], true)]),
                Status::Fail,
                &[&format!(
                    "CloudWatch alarm service-down ({A}/{WEST}): alarm_actions is absent or empty"
                )],
            ),
            case(
                "alarms collected, none defined",
                no_alarms,
                Status::Fail,
                &["the evidence up to 2026-07-15 holds no CloudWatch alarm"],
            ),
        ],
    );
    // Without any alarms document, the requirement is unknown.
    let e = evaluate(
        &Catalog::default_catalog().unwrap(),
        &Evidence::default(),
        window(),
        &Options::default(),
    );
    let o = req(&e, "ARC-005");
    assert_eq!(o.status, Status::Unknown);
    assert_eq!(o.findings.len(), 1, "{:?}", o.findings);
    assert!(
        o.findings[0].starts_with("no CloudWatch alarm in the store yet (evidence of type application/vnd.evidenced.aws.cloudwatch.alarms+json"),
        "{:?}",
        o.findings
    );
}

/// The finding names each media type once, like every other `unknown` finding.
#[test]
fn arc_005_is_unknown_without_evidence_naming_the_media_type_once() {
    check(
        "ARC-005",
        vec![case(
            "no alarms document",
            Builder::default(),
            Status::Unknown,
            &["no CloudWatch alarm in the store yet (evidence of type application/vnd.evidenced.aws.cloudwatch.alarms+json)"],
        )],
    );
}

// ---------------------------------------------------------------------------------------
// S3-001 and STORE-001: buckets

const BPA_ON: [bool; 4] = [true; 4];

fn bucket(
    name: &str,
    policy_is_public: bool,
    bpa: Option<[bool; 4]>,
    lock: Option<&str>,
    versioning: Option<&str>,
) -> Value {
    let bpa = bpa.map(|[a, b, c, d]| {
        json!({"block_public_acls": a, "ignore_public_acls": b, "block_public_policy": c, "restrict_public_buckets": d})
    });
    let lock =
        lock.map(|mode| json!({"enabled": "Enabled", "mode": mode, "days": 400, "years": null}));
    json!({"name": name, "object_lock": lock, "versioning": versioning, "mfa_delete": null,
           "encryption": [], "public_access_block": bpa, "policy_is_public": policy_is_public,
           "ownership_controls": "BucketOwnerEnforced"})
}

/// The s3 collector's posture of account 111122223333 (scope region: us-east-1).
fn buckets(list: Vec<Value>) -> Builder {
    buckets_with_account(
        list,
        json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true}),
    )
}

/// The s3 posture document with `account` as its account-level Block Public Access.
fn buckets_with_account(list: Vec<Value>, account: Value) -> Builder {
    let mut b = Builder::default();
    b.machine(
        "s3",
        A,
        EAST,
        &[(
            "s3/buckets.json",
            BUCKETS_MEDIA_TYPE,
            json!({"account": A, "account_public_access_block": account, "buckets": list}),
        )],
        AT - Duration::hours(1),
    );
    b
}

fn allowlist(b: &mut Builder, expires: &str) {
    declaration(
        b,
        "public-bucket-allowlist",
        "allow-site",
        expires,
        "buckets = [\"public-site\"]\nreason = \"static marketing site\"\n",
    );
}

#[test]
fn s3_001_passes_and_fails_for_each_reason() {
    let private = || bucket("evidence-bucket", false, Some(BPA_ON), None, None);
    let site = |public: bool, bpa: Option<[bool; 4]>| {
        buckets(vec![
            private(),
            bucket("public-site", public, bpa, None, None),
        ])
    };
    let mut allowed = site(true, None);
    allowlist(&mut allowed, UNEXPIRED);
    let mut expired = site(true, None);
    allowlist(&mut expired, EXPIRED);
    let named = format!("S3 bucket public-site ({A}/{EAST})");
    let public = format!(
        "{named}: its bucket policy is public and no unexpired public-bucket allowlist names it"
    );
    check(
        "S3-001",
        vec![
            case("every bucket private, Block Public Access on", site(false, Some(BPA_ON)), Status::Pass, &[]),
            case("a public bucket on an unexpired allowlist", allowed, Status::Pass, &[]),
            case("a public bucket policy", site(true, Some(BPA_ON)), Status::Fail, &[&public]),
            case(
                "no Block Public Access configuration",
                site(false, None),
                Status::Fail,
                &[&format!("{named}: Block Public Access is not fully on (no configuration) and no unexpired public-bucket allowlist names it")],
            ),
            case(
                "one Block Public Access setting off",
                site(false, Some([true, true, false, true])),
                Status::Fail,
                &[&format!("{named}: Block Public Access is not fully on (some settings off) and no unexpired public-bucket allowlist names it")],
            ),
            case("a public bucket on an expired allowlist", expired, Status::Fail, &[&public]),
            case(
                "object ownership lets ACLs grant access",
                buckets(vec![private(), {
                    let mut b = bucket("public-site", false, Some(BPA_ON), None, None);
                    b["ownership_controls"] = json!("ObjectWriter");
                    b
                }]),
                Status::Fail,
                &[&format!("{named}: object ownership is ObjectWriter, not BucketOwnerEnforced (ACLs still grant access), and no unexpired public-bucket allowlist names it")],
            ),
            case(
                "account-level Block Public Access not configured",
                buckets_with_account(vec![private()], Value::Null),
                Status::Fail,
                &[&format!("S3 account {A} ({A}/{EAST}): account-level Block Public Access is not fully on (not configured or not collected) and no unexpired public-bucket allowlist explains a public bucket")],
            ),
            case(
                "no s3 posture collected",
                Builder::default(),
                Status::Unknown,
                &["no S3 bucket in the store yet (evidence of type application/vnd.evidenced.aws.s3.buckets+json)"],
            ),
        ],
    );
}

#[test]
fn store_001_passes_and_fails_for_each_reason() {
    // The evidence bucket with Object Lock, and a bucket without (out of scope).
    let with = |mode: &str, versioning: Option<&str>| {
        buckets(vec![
            bucket(
                "evidence-bucket",
                false,
                Some(BPA_ON),
                Some(mode),
                versioning,
            ),
            bucket("scratch", false, Some(BPA_ON), None, None),
        ])
    };
    let named = format!("bucket with Object Lock evidence-bucket ({A}/{EAST})");
    check(
        "STORE-001",
        vec![
            case("compliance mode, versioning on", with("COMPLIANCE", Some("Enabled")), Status::Pass, &[]),
            case(
                "governance mode",
                with("GOVERNANCE", Some("Enabled")),
                Status::Fail,
                &[&format!("{named}: object_lock.mode is \"GOVERNANCE\", not \"COMPLIANCE\"")],
            ),
            case(
                "versioning suspended",
                with("COMPLIANCE", Some("Suspended")),
                Status::Fail,
                &[&format!("{named}: versioning is \"Suspended\", not \"Enabled\"")],
            ),
            case(
                "versioning never enabled",
                with("COMPLIANCE", None),
                Status::Fail,
                &[&format!("{named}: versioning is null, not \"Enabled\"")],
            ),
            case(
                "no bucket has Object Lock",
                buckets(vec![bucket("scratch", false, Some(BPA_ON), None, None)]),
                Status::Fail,
                &["the evidence up to 2026-07-15 holds no bucket with Object Lock"],
            ),
            case(
                "no s3 posture collected",
                Builder::default(),
                Status::Unknown,
                &["no bucket with Object Lock in the store yet (evidence of type application/vnd.evidenced.aws.s3.buckets+json)"],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// SDAT-002: encryption at rest

#[test]
fn sdat_002_passes_and_fails_for_each_reason() {
    // One store of each type; RDS, EBS and EFS encrypted as given.
    let stores = |rds: bool, ebs: bool, efs: bool| {
        vec![
            store(
                "AWS::RDS::DBInstance",
                RDS_ARN,
                json!({"storageEncrypted": rds, "backupRetentionPeriod": 7}),
            ),
            store("AWS::EC2::Volume", EBS_ARN, json!({"encrypted": ebs})),
            store("AWS::EFS::FileSystem", EFS_ARN, json!({"Encrypted": efs})),
            store("AWS::DynamoDB::Table", DDB_ARN, json!({})),
            store("AWS::S3::Bucket", S3_ARN, json!({})),
        ]
    };
    let inventory = |items: Vec<Value>| {
        let mut b = Builder::default();
        config(&mut b, items, AT - Duration::days(1));
        b
    };
    let classified = |items: Vec<Value>, expires: &str, body: &str| {
        let mut b = inventory(items);
        declaration(&mut b, "data-classification", "class-1", expires, body);
        b
    };
    let finding = |arn: &str, kind: &str| {
        format!("data store classified sensitive {arn} ({A}/{EAST}): its configuration does not show encryption at rest ({kind})")
    };
    let only_rds = format!("sensitive = [\"{RDS_ARN}\"]\n");
    check(
        "SDAT-002",
        vec![
            case("every store encrypted, no classification", inventory(stores(true, true, true)), Status::Pass, &[]),
            case(
                "unencrypted RDS, EBS and EFS, no classification: all in scope",
                inventory(stores(false, false, false)),
                Status::Fail,
                &[
                    &finding(EBS_ARN, "AWS::EC2::Volume"),
                    &finding(EFS_ARN, "AWS::EFS::FileSystem"),
                    &finding(RDS_ARN, "AWS::RDS::DBInstance"),
                ],
            ),
            case(
                "a classification naming RDS exempts the others",
                classified(stores(true, false, false), UNEXPIRED, &only_rds),
                Status::Pass,
                &[],
            ),
            case(
                "a classification naming RDS, RDS unencrypted",
                classified(stores(false, false, false), UNEXPIRED, &only_rds),
                Status::Fail,
                &[&finding(RDS_ARN, "AWS::RDS::DBInstance")],
            ),
            case(
                "a classification by resource type",
                classified(stores(false, false, false), UNEXPIRED, "sensitive = [\"AWS::EC2::Volume\"]\n"),
                Status::Fail,
                &[&finding(EBS_ARN, "AWS::EC2::Volume")],
            ),
            case(
                "everything sensitive but a store by id",
                classified(stores(true, false, true), UNEXPIRED, "sensitive = [\"*\"]\nnot_sensitive = [\"vol-1\"]\n"),
                Status::Pass,
                &[],
            ),
            case(
                "an expired classification: every store in scope",
                classified(stores(true, false, true), EXPIRED, &only_rds),
                Status::Fail,
                &[&finding(EBS_ARN, "AWS::EC2::Volume")],
            ),
            case(
                "no Config inventory",
                Builder::default(),
                Status::Unknown,
                &["no data store classified sensitive in the store yet (evidence of type application/vnd.evidenced.aws.config.resources+json)"],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// IAM-008: access reviews

fn access_review(b: &mut Builder, quarter: &str, recorded: OffsetDateTime) {
    let text = format!(
        "kind = \"access-review\"\nid = \"ar-{quarter}\"\nquarter = \"{quarter}\"\nreviewer = \"security-lead\"\nreviewed_at = \"{}\"\ndecisions = [\"removed unused users\"]\n",
        ts(recorded - Duration::hours(1))
    );
    b.human_at(&text, recorded);
}

#[test]
fn iam_008_passes_and_fails_for_each_reason() {
    // The store starts with the 2026-Q1 review, recorded in 2026-Q1.
    let with = |reviews: &[(&str, OffsetDateTime)]| {
        let mut b = Builder::default();
        access_review(&mut b, "2026-Q1", datetime!(2026-03-20 10:00 UTC));
        for (quarter, recorded) in reviews {
            access_review(&mut b, quarter, *recorded);
        }
        b
    };
    let late = with(&[("2026-Q2", datetime!(2026-07-10 10:00 UTC))]);
    let late_line = format!(
        "access-review ar-2026-Q2 was recorded on 2026-07-10, 9 days after 2026-Q2 ended (record {})",
        late.ev.records.len()
    );
    let missing = "2026-Q2: no access review";
    check(
        "IAM-008",
        vec![
            case(
                "a review in the quarter",
                with(&[("2026-Q2", datetime!(2026-06-20 10:00 UTC))]),
                Status::Pass,
                &[],
            ),
            case(
                "a review recorded just after the quarter it names counts for that quarter",
                with(&[("2026-Q2", datetime!(2026-07-03 10:00 UTC))]),
                Status::Pass,
                &[],
            ),
            case(
                "a review recorded long after its quarter counts, flagged late",
                late,
                Status::Pass,
                &[&late_line],
            ),
            case(
                "no review for the quarter",
                with(&[]),
                Status::Fail,
                &[missing],
            ),
            case(
                "a review recorded in the quarter but naming the previous one",
                with(&[("2026-Q1", datetime!(2026-04-05 10:00 UTC))]),
                Status::Fail,
                &[missing],
            ),
            case(
                "a review recorded in the quarter but naming the next one",
                with(&[("2026-Q3", datetime!(2026-06-20 10:00 UTC))]),
                Status::Fail,
                &[missing, "2026-Q3: access-review ar-2026-Q3 does not count: it was recorded on 2026-06-20, before the period began"],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// FRESH: continuity of collection

/// A run of the config collector in 111122223333/`region` with `status`, at `at`: a
/// partial run stores its (empty) inventory beside a throttling error.
fn config_run(b: &mut Builder, region: &str, status: RunStatus, at: OffsetDateTime) {
    if status == RunStatus::Failed {
        b.failed_run(
            "config",
            A,
            region,
            at,
            "AccessDenied: not authorized to perform sts:AssumeRole",
        );
        return;
    }
    let doc = json!({"account": A, "region": region, "aggregator": null, "items": []});
    let blob = evidenced::canonical::value_to_vec(&doc).unwrap();
    let errors = if status == RunStatus::Partial {
        vec![evidenced::record::RunError {
            operation: "config:BatchGetResourceConfig".into(),
            region: Some(region.into()),
            message: "ThrottlingException: Rate exceeded".into(),
        }]
    } else {
        vec![]
    };
    let draft = Draft {
        collector: "config".into(),
        kind: "config".into(),
        scope: Scope {
            account: Some(A.into()),
            region: Some(region.into()),
        },
        status,
        errors,
        items: vec![Item {
            name: "config/resources.json".into(),
            digest: evidenced::digest::Digest::of(&blob),
            size: blob.len() as u64,
            media_type: RESOURCES_MEDIA_TYPE.into(),
            observed_at: at,
        }],
        caller_arn: None,
        api_calls: vec![],
    };
    b.add(draft, vec![blob], at);
}

#[test]
fn fresh_passes_and_fails_for_each_reason() {
    // The config collector runs every 6 hours: at most 12 hours between committed records.
    let opts = Options::default().with_schedules([("config", "0 0 */6 * * *")]);
    let start = datetime!(2026-07-10 0:00 UTC);
    // Runs every 6 hours from `start` to AT in us-east-1; `at` overrides the status of
    // some (None: no run at all).
    let runs = |odd: &[(OffsetDateTime, Option<RunStatus>)]| {
        let mut b = Builder::default();
        let mut t = start;
        while t <= AT {
            match odd.iter().find(|(at, _)| *at == t) {
                Some((_, None)) => {}
                Some((_, Some(s))) => config_run(&mut b, EAST, *s, t),
                None => config_run(&mut b, EAST, RunStatus::Complete, t),
            }
            t += Duration::hours(6);
        }
        b
    };
    let gap = |status: Option<RunStatus>| {
        runs(&[
            (datetime!(2026-07-12 6:00 UTC), status),
            (datetime!(2026-07-12 12:00 UTC), status),
        ])
    };
    let mut stopped = runs(&[]);
    stopped
        .ev
        .records
        .retain(|r| r.record.recorded_at <= datetime!(2026-07-14 18:00 UTC));
    let mut all_fail_in_west = runs(&[]);
    for t in [
        datetime!(2026-07-13 6:00 UTC),
        datetime!(2026-07-14 6:00 UTC),
        datetime!(2026-07-15 6:00 UTC),
    ] {
        config_run(&mut all_fail_in_west, WEST, RunStatus::Failed, t);
    }
    let east = format!("collector config in {A}/{EAST}");
    let gap_line = format!("{east}: no committed record from 2026-07-12T00:00:00Z to 2026-07-12T18:00:00Z (18 h; at most 12 h allowed)");
    let cases = vec![
        case("a committed record every 6 hours", runs(&[]), Status::Pass, &[]),
        case("partial runs count as committed", gap(Some(RunStatus::Partial)), Status::Pass, &[]),
        case("two runs missing: an 18-hour gap", gap(None), Status::Fail, &[&gap_line]),
        case("failed runs do not close a gap", gap(Some(RunStatus::Failed)), Status::Fail, &[&gap_line]),
        case(
            "no committed record since",
            stopped,
            Status::Fail,
            &[&format!("{east}: no committed record since 2026-07-14T18:00:00Z (18 h; at most 12 h allowed)")],
        ),
        case(
            "a scope whose every run failed",
            all_fail_in_west,
            Status::Fail,
            &[&format!("collector config in {A}/{WEST}: no committed record; all 3 runs failed (last error: sts:AssumeRole: AccessDenied: not authorized to perform sts:AssumeRole)")],
        ),
    ];
    check_with("FRESH", &opts, cases);
    // A configured collector that never recorded anything is a gap.
    let opts = opts.with_schedules([("cloudwatch", "0 0 */6 * * *")]);
    check_with(
        "FRESH",
        &opts,
        vec![case(
            "a configured collector with no record",
            runs(&[]),
            Status::Fail,
            &["collector cloudwatch has no committed record"],
        )],
    );
    check(
        "FRESH",
        vec![case(
            "nothing recorded, nothing configured",
            Builder::default(),
            Status::Unknown,
            &["no collector has committed a record yet and none is configured"],
        )],
    );
}
