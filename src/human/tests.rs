//! Unit tests of the per-kind rules: each bad input names the file and the field; each good
//! input yields the canonical fields the requirements engine reads.

use serde_json::{json, Value};
use time::macros::datetime;
use time::OffsetDateTime;

use super::{parse, InputError, ALL_KINDS, DRILL_KINDS};

pub(super) const NOW: OffsetDateTime = datetime!(2026-12-01 08:00 UTC);

pub(super) fn good(name: &str, text: &str) -> Value {
    match parse(name, text.as_bytes(), NOW) {
        Ok(r) => r.canonical,
        Err(e) => panic!("{name} should be accepted: {e}"),
    }
}

#[track_caller]
pub(super) fn bad(name: &str, text: &str, field: &str, needle: &str) -> InputError {
    let e = match parse(name, text.as_bytes(), NOW) {
        Ok(_) => panic!("{name} should be refused ({field})"),
        Err(e) => e,
    };
    assert_eq!(e.file, name, "{e}");
    assert_eq!(e.field.as_deref(), Some(field), "{e}");
    assert!(e.message.contains(needle), "{e} lacks {needle:?}");
    assert!(
        e.to_string().contains(&format!("{name}: field `{field}`")),
        "{e}"
    );
    e
}

/// Replace `from` (which must occur) with `to`.
pub(super) fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1)
}

const RESTORE: &str = r#"kind = "restore-test"
id = "rt-1"
started_at = "2026-08-14T13:00:00Z"
ended_at = "2026-08-14T13:42:00Z"
outcome = "pass"
participants = ["dba"]
resource_type = "RDS"
checks = ["row counts match"]
"#;

const CHANGE: &str = r#"kind = "change"
id = "ch-1"
at = "2026-07-01T12:00:00+02:00"
summary = "Orders database moved to Aurora"
major = true
workload = "orders"
"#;

const OBJECTIVE: &str = r#"kind = "objective"
id = "o-1"
workload = "orders"
rto_minutes = 240
rpo_minutes = 60
owner = "head"
approved_at = "2026-01-15T10:00:00Z"
"#;

const AZ: &str = r#"kind = "az-failover"
id = "az-1"
started_at = "2026-06-03T08:00:00Z"
ended_at = "2026-06-03T08:45:00Z"
scenario = "zone loss"
outcome = "pass"
participants = ["ops"]
[targets]
rto_minutes = 30
rpo_minutes = 5
[achieved]
rto_minutes = 6
rpo_minutes = 0
"#;

#[test]
fn new_kinds_are_accepted_but_are_not_drills() {
    for k in [
        "change",
        "public-bucket-allowlist",
        "data-classification",
        "backup-scope",
    ] {
        assert!(ALL_KINDS.contains(&k), "{k}");
        assert!(!DRILL_KINDS.contains(&k), "{k}");
    }
}

#[test]
fn change_has_its_canonical_fields_and_observed_time() {
    let r = parse("c.toml", CHANGE.as_bytes(), NOW).unwrap();
    assert_eq!(r.observed_at, datetime!(2026-07-01 10:00 UTC));
    let c = &r.canonical;
    assert_eq!(c["at"], "2026-07-01T10:00:00Z");
    assert_eq!(c["summary"], "Orders database moved to Aurora");
    assert_eq!(c["major"], true);
    assert_eq!(c["workload"], "orders");
    assert!(c.get("scope").is_none());
    let scoped = good(
        "c.toml",
        &edit(
            CHANGE,
            "workload = \"orders\"",
            "scope = \"all production accounts\"\nparticipants = [\"ops\"]\nreferences = [\"CHG-1\"]",
        ),
    );
    assert_eq!(scoped["scope"], "all production accounts");
    assert_eq!(scoped["participants"], json!(["ops"]));
    assert_eq!(scoped["references"], json!(["CHG-1"]));
}

#[test]
fn change_rules_name_their_field() {
    let e = bad(
        "c.toml",
        &edit(CHANGE, "workload = \"orders\"\n", ""),
        "workload",
        "`scope`",
    );
    assert!(e.message.contains("`workload`"), "{e}");
    bad(
        "c.toml",
        &edit(CHANGE, "major = true", "major = \"yes\""),
        "major",
        "true or false",
    );
    bad(
        "c.toml",
        &edit(CHANGE, "major = true\n", ""),
        "major",
        "required",
    );
    bad(
        "c.toml",
        &edit(
            CHANGE,
            "summary = \"Orders database moved to Aurora\"\n",
            "",
        ),
        "summary",
        "required",
    );
    bad(
        "c.toml",
        &edit(CHANGE, "2026-07-01T12:00:00+02:00", "2027-07-01T12:00:00Z"),
        "at",
        "future",
    );
    bad(
        "c.toml",
        &edit(CHANGE, "at = ", "when = "),
        "at",
        "required",
    );
}

#[test]
fn restore_test_normalises_resource_type_into_resource_types() {
    let c = good("r.toml", RESTORE);
    assert_eq!(c["resource_types"], json!(["RDS"]));
    assert_eq!(c["resources"], json!([]));
    assert!(c.get("resource_type").is_none(), "{c}");
    assert_eq!(c["checks"], json!(["row counts match"]));
    let many = good(
        "r.toml",
        &edit(
            RESTORE,
            "resource_type = \"RDS\"",
            "resource_types = [\"aurora\", \"SAP HANA on Amazon EC2\"]\nresources = [\"arn:aws:rds:us-east-1:111122223333:db:orders\", \"vol-0abc\"]",
        ),
    );
    assert_eq!(
        many["resource_types"],
        json!(["Aurora", "SAP HANA on Amazon EC2"])
    );
    assert_eq!(
        many["resources"],
        json!(["arn:aws:rds:us-east-1:111122223333:db:orders", "vol-0abc"])
    );
    let by_reference = good(
        "r.toml",
        &edit(
            RESTORE,
            "resource_type = \"RDS\"",
            "references = [\"arn:aws:backup:us-east-1:111122223333:restore-job/8F1E2D\"]",
        ),
    );
    assert_eq!(by_reference["resource_types"], json!([]));
}

#[test]
fn restore_test_must_name_what_it_restored_and_what_it_checked() {
    let e = bad(
        "r.toml",
        &edit(RESTORE, "resource_type = \"RDS\"\n", ""),
        "references",
        "must name what it restored",
    );
    assert!(
        e.message.contains("`resources`") && e.message.contains("`resource_types`"),
        "{e}"
    );
    bad(
        "r.toml",
        &edit(RESTORE, "resource_type = \"RDS\"\n", "references = []\n"),
        "references",
        "must name what it restored",
    );
    bad(
        "r.toml",
        &edit(RESTORE, "checks = [\"row counts match\"]\n", ""),
        "checks",
        "verified",
    );
    bad(
        "r.toml",
        &edit(RESTORE, "checks = [\"row counts match\"]", "checks = []"),
        "checks",
        "at least 1",
    );
    bad(
        "r.toml",
        &edit(RESTORE, "\"RDS\"", "\"Oracle\""),
        "resource_type",
        "not an AWS Backup resource type",
    );
    bad(
        "r.toml",
        &edit(
            RESTORE,
            "resource_type = \"RDS\"",
            "resource_types = [\"RDS\", \"Mainframe\"]",
        ),
        "resource_types[1]",
        "EFS",
    );
    bad(
        "r.toml",
        &edit(
            RESTORE,
            "resource_type = \"RDS\"",
            "resource_type = \"RDS\"\nresource_types = [\"EBS\"]",
        ),
        "resource_type",
        "not both",
    );
    bad(
        "r.toml",
        &edit(
            RESTORE,
            "resource_type = \"RDS\"",
            "resources = [\"arn:aws:rds\"]",
        ),
        "resources[0]",
        "not an ARN",
    );
}

#[test]
fn regions_follow_the_aws_pattern() {
    let base = r#"kind = "region-failover"
id = "dr-1"
started_at = "2026-03-10T09:00:00Z"
ended_at = "2026-03-10T11:30:00Z"
scenario = "s"
outcome = "pass"
participants = ["ops"]
source_region = "SRC"
target_region = "us-west-2"
[targets]
rto_minutes = 240
rpo_minutes = 60
[achieved]
rto_minutes = 150
rpo_minutes = 15
"#;
    for ok in [
        "us-east-1",
        "eu-central-2",
        "ap-southeast-4",
        "us-gov-west-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "cn-north-1",
    ] {
        let c = good("dr.toml", &edit(base, "SRC", ok));
        assert_eq!(c["source_region"], ok);
        assert_eq!(c["target_region"], "us-west-2");
    }
    for no in [
        "foo-bar-baz-1",
        "usa-east-1",
        "us-east",
        "us-east-1a",
        "US-east-1",
        "us-foo-east-1",
        "us-isoxy-east-1",
        "us--1",
        "us-east-",
    ] {
        bad("dr.toml", &edit(base, "SRC", no), "source_region", "region");
    }
}

#[test]
fn failovers_need_targets_and_achieved_with_both_objectives() {
    let c = good("az.toml", AZ);
    assert_eq!(c["targets"], json!({"rto_minutes": 30, "rpo_minutes": 5}));
    assert_eq!(c["achieved"], json!({"rto_minutes": 6, "rpo_minutes": 0}));
    let no_achieved = AZ.split("[achieved]").next().unwrap_or(AZ);
    bad("az.toml", no_achieved, "achieved", "[achieved]");
    bad(
        "az.toml",
        &edit(AZ, "[targets]\nrto_minutes = 30\nrpo_minutes = 5\n", ""),
        "targets",
        "rto_minutes and rpo_minutes",
    );
    bad(
        "az.toml",
        &edit(AZ, "rpo_minutes = 0\n", ""),
        "achieved.rpo_minutes",
        "required",
    );
    bad(
        "az.toml",
        &edit(AZ, "rto_minutes = 30\n", ""),
        "targets.rto_minutes",
        "required",
    );
    // data-loss keeps them optional.
    let data_loss = edit(no_achieved, "az-failover", "data-loss");
    let data_loss = edit(
        &data_loss,
        "[targets]\nrto_minutes = 30\nrpo_minutes = 5\n",
        "",
    );
    let c = good("dl.toml", &data_loss);
    assert!(c.get("targets").is_none() && c.get("achieved").is_none());
}

#[test]
fn objective_scope_lists_are_always_present() {
    let c = good("o.toml", OBJECTIVE);
    assert_eq!(c["resource_types"], json!([]));
    assert_eq!(c["resources"], json!([]));
    let scoped = good(
        "o.toml",
        &format!("{OBJECTIVE}resource_types = [\"rds\", \"DynamoDB\"]\nresources = [\"arn:aws:dynamodb:us-east-1:111122223333:table/orders\"]\n"),
    );
    assert_eq!(scoped["resource_types"], json!(["RDS", "DynamoDB"]));
    assert_eq!(
        scoped["resources"],
        json!(["arn:aws:dynamodb:us-east-1:111122223333:table/orders"])
    );
    bad(
        "o.toml",
        &format!("{OBJECTIVE}resource_types = [\"AWS::RDS::DBInstance\"]\n"),
        "resource_types[0]",
        "AWS Backup resource type",
    );
    bad(
        "o.toml",
        &format!("{OBJECTIVE}resources = \"vol-1\"\n"),
        "resources",
        "list",
    );
}

#[test]
fn access_review_names_the_period_of_its_quarter() {
    let base = "kind = \"access-review\"\nid = \"a\"\nquarter = \"2026-Q3\"\nreviewer = \"r\"\ndecisions = [\"x\"]\nreviewed_at = \"2026-09-28T15:00:00Z\"\n";
    let r = parse("a.toml", base.as_bytes(), NOW).unwrap();
    assert_eq!(r.observed_at, datetime!(2026-09-28 15:00 UTC));
    assert_eq!(r.canonical["period_start"], "2026-07-01T00:00:00Z");
    assert_eq!(r.canonical["period_end"], "2026-10-01T00:00:00Z");
    let q4 = good("a.toml", &edit(base, "2026-Q3", "2025-Q4"));
    assert_eq!(q4["period_start"], "2025-10-01T00:00:00Z");
    assert_eq!(q4["period_end"], "2026-01-01T00:00:00Z");
    let q1 = good("a.toml", &edit(base, "2026-Q3", "2026-Q1"));
    assert_eq!(q1["period_start"], "2026-01-01T00:00:00Z");
    assert_eq!(q1["period_end"], "2026-04-01T00:00:00Z");
    for q in [
        "2026-Q0",
        "2026Q3",
        "26-Q3",
        "2026-q3",
        "9999-Q4",
        "２０26-Q3",
    ] {
        bad("a.toml", &edit(base, "2026-Q3", q), "quarter", "quarter");
    }
}

#[test]
fn every_shipped_example_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples");
    let mut kinds = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let r = parse(&name, &bytes, NOW).unwrap_or_else(|e| panic!("{e}"));
        kinds.push(r.kind);
    }
    for k in [
        "change",
        "public-bucket-allowlist",
        "data-classification",
        "backup-scope",
    ] {
        assert!(kinds.iter().any(|x| x == k), "no example of {k}");
    }
}
