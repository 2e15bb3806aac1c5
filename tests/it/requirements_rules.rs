//! Requirements: `present` and `fresh` rules, metrics, and the catalog itself.

use evidenced::digest::Digest;
use evidenced::record::{Draft, Item, Scope, Status as RunStatus};
use evidenced::requirements::{
    evaluate, metrics, Catalog, Evaluation, Evidence, Options, Status, Window,
};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::evidence_fixtures::{req, restore_jobs_draft, Builder};

fn eval(ev: &Evidence, w: Window) -> Evaluation {
    evaluate(
        &Catalog::default_catalog().unwrap(),
        ev,
        w,
        &Options::default(),
    )
}

#[test]
fn present_rules_are_unknown_without_evidence_and_judge_the_latest_snapshot() {
    let at = datetime!(2026-06-01 0:00 UTC);
    let w = Window {
        at,
        from: at - Duration::days(365),
        to: at,
    };
    let mut b = Builder::default();
    let e = eval(&b.ev, w);
    let arc = req(&e, "ARC-005");
    assert_eq!(arc.status, Status::Unknown);
    assert!(
        arc.findings[0].contains("application/vnd.evidenced.aws.cloudwatch.alarms+json"),
        "{:?}",
        arc.findings
    );

    let alarms = |v: serde_json::Value, t: OffsetDateTime| {
        let blob = evidenced::canonical::value_to_vec(&json!({"account": "1", "region": "us-east-1", "metric_alarms": v, "composite_alarms": []})).unwrap();
        let draft = Draft {
            collector: "cloudwatch".into(),
            kind: "cloudwatch".into(),
            scope: Scope {
                account: Some("1".into()),
                region: Some("us-east-1".into()),
            },
            status: RunStatus::Complete,
            errors: vec![],
            items: vec![Item {
                name: "cloudwatch/alarms.json".into(),
                digest: Digest::of(&blob),
                size: blob.len() as u64,
                media_type: "application/vnd.evidenced.aws.cloudwatch.alarms+json".into(),
                observed_at: t,
            }],
            caller_arn: None,
            api_calls: vec![],
        };
        (draft, blob)
    };
    let (d, blob) = alarms(
        json!([{"name": "a1", "alarm_actions": ["sns"], "actions_enabled": true}, {"name": "a2", "alarm_actions": [], "actions_enabled": true}]),
        at - Duration::days(2),
    );
    b.add(d, vec![blob], at - Duration::days(2));
    let e = eval(&b.ev, w);
    let arc = req(&e, "ARC-005");
    assert_eq!(arc.status, Status::Fail);
    assert_eq!(
        arc.findings,
        ["CloudWatch alarm a2 (1/us-east-1): alarm_actions is absent or empty"]
    );

    let (d, blob) = alarms(
        json!([{"name": "a1", "alarm_actions": ["sns"], "actions_enabled": true}, {"name": "a2", "alarm_actions": ["sns"], "actions_enabled": false}]),
        at - Duration::days(1),
    );
    b.add(d, vec![blob], at - Duration::days(1));
    let e = eval(&b.ev, w);
    assert_eq!(
        req(&e, "ARC-005").findings,
        ["CloudWatch alarm a2 (1/us-east-1): actions_enabled is false, not true"],
        "the latest snapshot is what counts, and disabled actions do not"
    );
}

#[test]
fn fresh_lists_every_gap_longer_than_allowed() {
    let at = datetime!(2026-06-10 0:00 UTC);
    let w = Window {
        at,
        from: datetime!(2026-06-01 0:00 UTC),
        to: at,
    };
    let mut b = Builder::default();
    let mut t = datetime!(2026-06-01 0:00 UTC);
    while t < at {
        let (mut d, blob) = restore_jobs_draft(json!([]), t);
        if t == datetime!(2026-06-05 0:00 UTC) {
            d.status = RunStatus::Failed;
        }
        // Skip a stretch of two days: 06-06 and 06-07 have no run at all.
        if t < datetime!(2026-06-06 0:00 UTC) || t >= datetime!(2026-06-08 0:00 UTC) {
            b.add(d, vec![blob], t);
        }
        t += Duration::days(1);
    }
    let e = eval(&b.ev, w);
    let o = req(&e, "FRESH");
    assert_eq!(o.status, Status::Fail, "{o:#?}");
    assert_eq!(o.findings.len(), 1, "{:?}", o.findings);
    assert!(o.findings[0].contains("collector backup in 111122223333/us-east-1: no committed record from 2026-06-04T00:00:00Z to 2026-06-08T00:00:00Z"), "{:?}", o.findings);

    let opts = Options {
        schedules: [("backup".to_string(), Duration::days(3))].into(),
        ..Options::default()
    };
    let e = evaluate(&Catalog::default_catalog().unwrap(), &b.ev, w, &opts);
    assert_eq!(
        req(&e, "FRESH").status,
        Status::Pass,
        "a 3-day schedule allows 6 days"
    );
}

#[test]
fn metrics_give_days_until_due_and_failing() {
    let at = datetime!(2026-11-23 0:00 UTC);
    let w = Window {
        at,
        from: at - Duration::days(365),
        to: at,
    };
    let mut b = Builder::default();
    b.drill("az-failover", "az", at - Duration::days(300), "pass");
    b.drill("region-failover", "dr", at - Duration::days(400), "pass");
    let e = eval(&b.ev, w);
    let m = metrics(&e);
    let get = |id: &str| m.iter().find(|m| m.requirement == id).unwrap();
    assert_eq!(get("C-2.9").failing, 0.0);
    assert!((get("C-2.9").days_until_due.unwrap() - 65.0).abs() < 1e-9);
    assert_eq!(get("C-2.13").failing, 1.0);
    assert!((get("C-2.13").days_until_due.unwrap() + 35.0).abs() < 1e-9);
    assert_eq!(get("ARC-005").days_until_due, None);
}

#[test]
fn default_catalog_carries_every_requirements_row() {
    let cat = Catalog::default_catalog().unwrap();
    let ids: Vec<&str> = cat.requirements.iter().map(|r| r.id.as_str()).collect();
    for id in [
        "BAR-001", "BAR-002", "RES-001", "RES-002", "RES-004", "C-2.9", "C-2.12", "C-2.13",
        "C-2.11", "C-1.24", "ARC-005", "S3-001", "SDAT-002", "IAM-008", "FRESH",
    ] {
        assert!(
            ids.contains(&id),
            "{id} missing from config/requirements.toml"
        );
    }
    // The shipped file on disk parses (the built-in copy is the same file).
    Catalog::load(&crate::support::root().join("config/requirements.toml")).unwrap();
}

#[test]
fn a_malformed_catalog_is_rejected_naming_the_requirement_and_key() {
    let cases = [
        ("[[requirement]]\nid = \"X-1\"\ntitle = \"t\"\nrule = \"every\"\n[[requirement.evidence]]\nhuman = \"restore-test\"\n", "X-1", "period"),
        ("[[requirement]]\nid = \"X-2\"\ntitle = \"t\"\nrule = \"within\"\ndays = 30\nperod = \"quarter\"\n", "X-2", "perod"),
        ("[[requirement]]\nid = \"X-3\"\ntitle = \"t\"\nrule = \"within\"\ndays = 30\n[[requirement.evidence]]\nhuman = \"restore-tset\"\n", "X-3", "evidence[0].human"),
        ("[[requirement]]\nid = \"X-4\"\ntitle = \"t\"\nrule = \"sometimes\"\n", "X-4", "sometimes"),
        ("[[requirement]]\nid = \"X-5\"\ntitle = \"t\"\nrule = \"within\"\ndays = 30\n[[requirement.evidence]]\nhuman = \"az-failover\"\nin_period = true\n", "X-5", "evidence[0].in_period"),
        ("[[requirement]]\nid = \"X-6\"\ntitle = \"t\"\nrule = \"within\"\ndays = 30\n[[requirement.expect]]\nvalues = [\"a\"]\n[[requirement.evidence]]\nhuman = \"az-failover\"\n", "X-6", "expect"),
    ];
    for (text, id, key) in cases {
        let err = Catalog::parse("my-catalog.toml", text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("my-catalog.toml"), "{err}");
        assert!(err.contains(id) && err.contains(key), "{id}/{key}: {err}");
    }
}

#[test]
fn users_add_requirements_in_toml_without_code() {
    let text = r#"
[[requirement]]
id = "OPS-7"
title = "Tabletop exercise every month"
rule = "every"
period = "month"
what = "tabletop exercise"
[[requirement.evidence]]
human = "tabletop"
"#;
    let cat = Catalog::parse("ops.toml", text).unwrap();
    let mut b = Builder::default();
    b.drill("tabletop", "tt-1", datetime!(2026-01-15 0:00 UTC), "pass");
    let w = Window {
        at: datetime!(2026-03-05 0:00 UTC),
        from: datetime!(2026-01-01 0:00 UTC),
        to: datetime!(2026-03-05 0:00 UTC),
    };
    let e = evaluate(&cat, &b.ev, w, &Options::default());
    let o = req(&e, "OPS-7");
    assert_eq!(o.status, Status::Fail);
    assert_eq!(o.findings, ["2026-02: no tabletop exercise"]);
    assert_eq!(o.due.as_deref(), Some("2026-04-01T00:00:00Z"));
}

#[test]
fn schedules_come_from_cron_expressions() {
    let o = Options::default().with_schedules([
        ("backup", "0 0 3 * * *"),
        ("alarms", "0 */15 * * * *"),
        ("broken", "0 * * * *"),
    ]);
    assert_eq!(o.schedules.get("backup"), Some(&Duration::days(1)));
    assert_eq!(o.schedules.get("alarms"), Some(&Duration::minutes(15)));
    assert!(!o.schedules.contains_key("broken"));
}

#[test]
fn a_user_rule_joining_backup_jobs_to_restore_jobs_is_evaluated() {
    // A rule a user writes without code: every restore job must restore a recovery point
    // that a completed backup job of the same account and region produced (a join of two
    // evidence kinds on the recovery point ARN and the scope).
    let catalog = Catalog::parse(
        "mine.toml",
        r#"
[[requirement]]
id = "MY-RESTORE-PROVENANCE"
title = "Restores come from our own backups"
rule = "present"
what = "restore job"
[[requirement.evidence]]
media_type = "application/vnd.evidenced.aws.backup.restore-jobs+json"
items = "restore_jobs"
key = "restore_job_id"
[[requirement.evidence.join]]
name = "sources"
media_type = "application/vnd.evidenced.aws.backup.backup-jobs+json"
items = "backup_jobs"
key = "backup_job_id"
equal = { recovery_point_arn = "recovery_point_arn", "scope.account" = "scope.account", "scope.region" = "scope.region" }
on = "other.state == 'COMPLETED'"
[[requirement.evidence.check]]
test = "size(sources) > 0"
says = "no completed backup job produced {fact.recovery_point_arn}"
"#,
    )
    .unwrap();
    let at = datetime!(2026-06-01 0:00 UTC);
    let w = Window {
        at,
        from: at - Duration::days(90),
        to: at,
    };
    let mut b = Builder::default();
    let backup_jobs = json!({"account": "111122223333", "region": "us-east-1", "backup_jobs": [
        {"backup_job_id": "bj-1", "state": "COMPLETED", "recovery_point_arn": "rp-1"},
        {"backup_job_id": "bj-2", "state": "FAILED", "recovery_point_arn": "rp-2"}]});
    b.machine(
        "backup",
        "111122223333",
        "us-east-1",
        &[(
            "backup/backup-jobs.json",
            "application/vnd.evidenced.aws.backup.backup-jobs+json",
            backup_jobs,
        )],
        at - Duration::days(3),
    );
    let (d, blob) = restore_jobs_draft(
        json!([{"restore_job_id": "rj-1", "status": "COMPLETED", "recovery_point_arn": "rp-1"}]),
        at - Duration::days(2),
    );
    b.add(d, vec![blob], at - Duration::days(2));
    let e = evaluate(&catalog, &b.ev, w, &Options::default());
    assert_eq!(req(&e, "MY-RESTORE-PROVENANCE").status, Status::Pass);

    let (d, blob) = restore_jobs_draft(
        json!([{"restore_job_id": "rj-2", "status": "COMPLETED", "recovery_point_arn": "rp-2"}]),
        at - Duration::days(1),
    );
    b.add(d, vec![blob], at - Duration::days(1));
    let e = evaluate(&catalog, &b.ev, w, &Options::default());
    let o = req(&e, "MY-RESTORE-PROVENANCE");
    assert_eq!(o.status, Status::Fail);
    assert_eq!(
        o.findings,
        ["restore job rj-2 (111122223333/us-east-1): no completed backup job produced rp-2"]
    );
}

#[test]
fn a_malformed_cel_rule_is_rejected_naming_the_requirement_and_key() {
    let base = |extra: &str| {
        format!(
            "[[requirement]]\nid = \"X-1\"\ntitle = \"t\"\nrule = \"present\"\n[[requirement.evidence]]\nmedia_type = \"m\"\n{extra}"
        )
    };
    for (extra, key) in [
        ("when = \"fact.(\"\n", "evidence[0].when"),
        (
            "[[requirement.evidence.check]]\ntest = \"size(\"\nsays = \"x\"\n",
            "evidence[0].check[0].test",
        ),
        (
            "[[requirement.evidence.check]]\ntest = \"true\"\nsays = \"open {fact.x\"\n",
            "evidence[0].check[0].says",
        ),
        (
            "[[requirement.evidence.join]]\nname = \"at\"\nhuman = \"objective\"\n",
            "evidence[0].join[0].name",
        ),
        (
            "[[requirement.evidence.join]]\nname = \"o\"\nhuman = \"objective\"\non = \"other.\"\n",
            "evidence[0].join[0].on",
        ),
        ("group = \"fact.kind\"\n", "evidence[0].group"),
    ] {
        let err = Catalog::parse("c.toml", &base(extra))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("c.toml: requirement X-1: key `{key}`")),
            "{extra:?}: {err}"
        );
    }
}

#[test]
fn declared_critical_metrics_each_need_an_alarm_with_an_action() {
    // The catalog's commented ARC-005 extension, switched on as a user would.
    let text = evidenced::requirements::catalog::DEFAULT_CATALOG
        .replace(
            "items = \"metric_alarms\"\nkey = \"name\"\n",
            "items = \"metric_alarms\"\nkey = \"name\"\ngroup = \"fact.namespace + ' ' + fact.metric_name\"\n",
        )
        .replace(
            "items = \"composite_alarms\"\nkey = \"name\"\n",
            "items = \"composite_alarms\"\nkey = \"name\"\ngroup = \"[]\"\n",
        )
        .replace(
            "# [[requirement.expect]]\n# values = [\"AWS/RDS CPUUtilization\", \"AWS/ApplicationELB HTTPCode_Target_5XX_Count\"]",
            "[[requirement.expect]]\nvalues = [\"AWS/RDS CPUUtilization\", \"AWS/ApplicationELB HTTPCode_Target_5XX_Count\"]",
        );
    let cat = Catalog::parse("arc.toml", &text).unwrap();
    let at = datetime!(2026-06-01 0:00 UTC);
    let w = Window {
        at,
        from: at - Duration::days(90),
        to: at,
    };
    let alarm = |metric: &str, actions: serde_json::Value| json!({"name": format!("{metric}-alarm"), "namespace": if metric == "CPUUtilization" { "AWS/RDS" } else { "AWS/ApplicationELB" }, "metric_name": metric, "actions_enabled": true, "alarm_actions": actions});
    let mut b = Builder::default();
    b.machine(
        "cloudwatch",
        "111122223333",
        "us-east-1",
        &[(
            "cloudwatch/alarms.json",
            "application/vnd.evidenced.aws.cloudwatch.alarms+json",
            json!({"account": "111122223333", "region": "us-east-1", "metric_alarms": [alarm("CPUUtilization", json!(["sns"]))], "composite_alarms": []}),
        )],
        at - Duration::days(1),
    );
    let e = evaluate(&cat, &b.ev, w, &Options::default());
    let o = req(&e, "ARC-005");
    assert_eq!(o.status, Status::Fail);
    assert_eq!(
        o.findings,
        ["no passing CloudWatch alarm for metric AWS/ApplicationELB HTTPCode_Target_5XX_Count"]
    );
    // An alarm on the second metric, but without an action, still leaves it uncovered.
    b.machine(
        "cloudwatch",
        "111122223333",
        "us-east-1",
        &[(
            "cloudwatch/alarms.json",
            "application/vnd.evidenced.aws.cloudwatch.alarms+json",
            json!({"account": "111122223333", "region": "us-east-1", "metric_alarms": [alarm("CPUUtilization", json!(["sns"])), alarm("HTTPCode_Target_5XX_Count", json!([]))], "composite_alarms": []}),
        )],
        at - Duration::hours(1),
    );
    let e = evaluate(&cat, &b.ev, w, &Options::default());
    assert_eq!(
        req(&e, "ARC-005").findings,
        [
            "no passing CloudWatch alarm for metric AWS/ApplicationELB HTTPCode_Target_5XX_Count",
            "CloudWatch alarm HTTPCode_Target_5XX_Count-alarm (111122223333/us-east-1): alarm_actions is absent or empty",
        ]
    );
}
