//! Requirements evaluation with a fixed clock: the scenarios of the `every` and `within`
//! rules over human and machine evidence.

use evidenced::chain::EvidenceStore;
use evidenced::requirements::{
    evaluate, Catalog, Evaluation, Evidence, Options, Outcome, Status, Window,
};
use evidenced::store::LocalStore;
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::evidence_fixtures::{drill, job, req, restore_jobs_draft, year_2025, Builder};

fn ts(t: OffsetDateTime) -> String {
    evidenced::human::fmt_time(t)
}

fn eval(ev: &Evidence, w: Window) -> Evaluation {
    evaluate(
        &Catalog::default_catalog().unwrap(),
        ev,
        w,
        &Options::default(),
    )
}

fn quarter_findings(o: &Outcome) -> Vec<&String> {
    o.findings.iter().filter(|f| f.contains("-Q")).collect()
}

#[test]
fn bar_002_fails_naming_the_quarter_without_a_restore_test_and_passes_once_it_has_one() {
    let mut b = Builder::default();
    b.inventory(&["RDS"], datetime!(2025-01-02 0:00 UTC));
    b.drill(
        "restore-test",
        "rt-q1",
        datetime!(2025-02-12 10:00 UTC),
        "pass",
    );
    b.drill(
        "restore-test",
        "rt-q2",
        datetime!(2025-05-20 10:00 UTC),
        "pass",
    );
    b.drill(
        "restore-test",
        "rt-q4",
        datetime!(2025-11-03 10:00 UTC),
        "pass",
    );
    let e = eval(&b.ev, year_2025());
    let o = req(&e, "BAR-002");
    assert_eq!(o.status, Status::Fail, "{o:#?}");
    assert_eq!(
        quarter_findings(o),
        ["2025-Q3: no validated restore of an RDS database (resource type RDS)"]
    );
    let states: Vec<_> = o
        .periods
        .iter()
        .map(|p| (p.label.as_str(), p.state))
        .collect();
    assert_eq!(
        states,
        [
            ("2025-Q1", "ok"),
            ("2025-Q2", "ok"),
            ("2025-Q3", "missing"),
            ("2025-Q4", "ok")
        ]
    );
    // Three restore tests and the inventory entry naming the type.
    assert_eq!(o.evidence.len(), 4);

    b.drill(
        "restore-test",
        "rt-q3",
        datetime!(2025-08-14 13:42 UTC),
        "pass",
    );
    let e = eval(&b.ev, year_2025());
    let o = req(&e, "BAR-002");
    assert_eq!(o.status, Status::Pass, "{o:#?}");
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    let q3 = o
        .evidence
        .iter()
        .find(|c| c.label == "restore-test rt-q3")
        .unwrap();
    assert_eq!(q3.seq, 5);
    assert_eq!(q3.observed_at, "2025-08-14T13:42:00Z");
    assert!(!q3.late);
}

#[test]
fn a_failed_drill_never_satisfies_a_requirement() {
    let at = datetime!(2026-06-01 0:00 UTC);
    let w = Window {
        at,
        from: at - Duration::days(365),
        to: at,
    };
    let mut b = Builder::default();
    b.inventory(&["RDS"], at - Duration::days(200));
    b.drill(
        "region-failover",
        "dr-fail",
        at - Duration::days(30),
        "fail",
    );
    b.drill("az-failover", "az-fail", at - Duration::days(30), "fail");
    b.drill(
        "security-incident",
        "sec-fail",
        at - Duration::days(30),
        "fail",
    );
    b.drill(
        "restore-test",
        "rt-fail",
        datetime!(2026-04-10 0:00 UTC),
        "fail",
    );
    let e = eval(&b.ev, w);
    for id in ["C-2.13", "C-2.9", "C-2.12", "RES-004", "C-1.24"] {
        let o = req(&e, id);
        assert_eq!(o.status, Status::Fail, "{id}: {o:#?}");
        assert!(o.evidence.is_empty(), "{id} cites a failed drill");
    }
    let bar = req(&e, "BAR-002");
    let q2 = bar.periods.iter().find(|p| p.label == "2026-Q2").unwrap();
    assert_eq!(q2.count, 0, "{bar:#?}");
    assert!(bar
        .evidence
        .iter()
        .all(|c| !c.label.starts_with("restore-test")));
    assert!(
        bar.findings.contains(
            &"2026-Q2: restore-test rt-fail does not count: its outcome is fail".to_string()
        ),
        "{:#?}",
        bar.findings
    );
}

#[test]
fn region_failover_counts_within_twelve_months_only() {
    let at = datetime!(2026-11-23 12:00 UTC);
    let w = Window {
        at,
        from: at - Duration::days(365),
        to: at,
    };
    let mut recent = Builder::default();
    recent.drill(
        "region-failover",
        "dr-11m",
        datetime!(2025-12-23 12:00 UTC),
        "pass",
    );
    let o = eval(&recent.ev, w);
    let o = req(&o, "C-2.13");
    assert_eq!(o.status, Status::Pass, "{o:#?}");
    assert_eq!(o.due.as_deref(), Some("2026-12-23T12:00:00Z"));

    let mut old = Builder::default();
    old.drill(
        "region-failover",
        "dr-13m",
        datetime!(2025-10-02 12:00 UTC),
        "pass",
    );
    let e = eval(&old.ev, w);
    let o = req(&e, "C-2.13");
    assert_eq!(o.status, Status::Fail, "{o:#?}");
    assert!(
        o.findings
            .iter()
            .any(|f| f.starts_with("no recovery into another region since 2025-10-02")),
        "{:?}",
        o.findings
    );
}

#[test]
fn az_drill_350_days_old_is_due_soon_with_a_30_day_lead() {
    let at = datetime!(2026-11-23 0:00 UTC);
    let w = Window {
        at,
        from: at - Duration::days(365),
        to: at,
    };
    let mut b = Builder::default();
    b.drill("az-failover", "az-350", at - Duration::days(350), "pass");
    let cat = Catalog::default_catalog().unwrap();
    let lead30 = Options {
        lead_days: Some(30),
        ..Options::default()
    };
    let e = evaluate(&cat, &b.ev, w, &lead30);
    let o = req(&e, "C-2.9");
    assert_eq!(o.status, Status::DueSoon, "{o:#?}");
    assert_eq!(o.due.as_deref(), Some(ts(at + Duration::days(15)).as_str()));
    assert!(o.findings[0].contains("due by"), "{:?}", o.findings);
    // The lead time is what makes it due-soon: with 10 days it still passes.
    let lead10 = Options {
        lead_days: Some(10),
        ..Options::default()
    };
    assert_eq!(
        req(&evaluate(&cat, &b.ev, w, &lead10), "C-2.9").status,
        Status::Pass
    );
    // And the catalog's own setting is honoured.
    let text = evidenced::requirements::catalog::DEFAULT_CATALOG
        .replace("due_soon_days = 21", "due_soon_days = 30");
    let cat30 = Catalog::parse("custom.toml", &text).unwrap();
    assert_eq!(
        req(&evaluate(&cat30, &b.ev, w, &Options::default()), "C-2.9").status,
        Status::DueSoon
    );
}

#[test]
fn evidence_recorded_long_after_the_fact_is_flagged() {
    let mut b = Builder::default();
    b.inventory(&["RDS"], datetime!(2025-01-02 0:00 UTC));
    b.human(
        &drill(
            "restore-test",
            "rt-late",
            datetime!(2025-08-01 0:00 UTC),
            "pass",
        ),
        Duration::days(40),
    );
    let e = eval(&b.ev, year_2025());
    let o = req(&e, "BAR-002");
    let c = o
        .evidence
        .iter()
        .find(|c| c.label == "restore-test rt-late")
        .unwrap();
    assert!(c.late);
    assert_eq!(c.observed_at, "2025-08-01T00:00:00Z");
    assert!(
        o.findings
            .iter()
            .any(|f| f == "restore-test rt-late was recorded on 2025-09-10, 40 days after the fact (record 2)"),
        "{:?}",
        o.findings
    );
}

#[test]
fn restore_jobs_count_only_when_completed_and_validated() {
    let q3 = datetime!(2025-08-20 10:00 UTC);
    let recorded = q3 + Duration::hours(2);
    let mut b = Builder::default();
    b.inventory(&["RDS"], datetime!(2025-01-02 0:00 UTC));
    b.restore_jobs(
        json!([
            job("failed", "FAILED", q3, None),
            job("timed-out", "COMPLETED", q3, Some("TIMED_OUT")),
            job("validation-failed", "COMPLETED", q3, Some("FAILED")),
            job("unvalidated", "COMPLETED", q3, None),
        ]),
        recorded,
    );
    let o = eval(&b.ev, year_2025());
    let o = req(&o, "BAR-002");
    assert!(o.periods.iter().all(|p| p.count == 0), "{o:#?}");
    let f = quarter_findings(o);
    for want in [
        "2025-Q3: restore job timed-out (111122223333/us-east-1) does not count: validation_status is \"TIMED_OUT\", not \"SUCCESSFUL\"",
        "2025-Q3: restore job validation-failed (111122223333/us-east-1) does not count: validation_status is \"FAILED\", not \"SUCCESSFUL\"",
        "2025-Q3: restore job unvalidated (111122223333/us-east-1) does not count: validation_status is absent (expected \"SUCCESSFUL\")",
        "2025-Q3: no validated restore of an RDS database (resource type RDS)",
    ] {
        assert!(f.contains(&&want.to_string()), "{want}: {f:#?}");
    }

    b.restore_jobs(
        json!([job("good", "COMPLETED", q3, Some("SUCCESSFUL"))]),
        recorded + Duration::hours(1),
    );
    let e = eval(&b.ev, year_2025());
    let o = req(&e, "BAR-002");
    let p3 = o.periods.iter().find(|p| p.label == "2025-Q3").unwrap();
    assert_eq!((p3.state, p3.count), ("ok", 1));
    let c = o
        .evidence
        .iter()
        .find(|c| c.label == "restore job good (111122223333/us-east-1)")
        .unwrap();
    assert_eq!(c.seq, 3);
    assert_eq!(c.observed_at, ts(q3));
}

#[test]
fn restore_jobs_take_the_latest_recorded_state_per_job() {
    let q3 = datetime!(2025-08-20 10:00 UTC);
    let mut b = Builder::default();
    b.inventory(&["RDS"], datetime!(2025-01-02 0:00 UTC));
    // Seen running, later completed and validated: counts.
    b.restore_jobs(json!([{"restore_job_id": "j1", "status": "RUNNING", "creation_date": ts(q3), "resource_type": "RDS", "recovery_point_arn": "rp"}]), q3);
    b.restore_jobs(
        json!([job("j1", "COMPLETED", q3, Some("SUCCESSFUL"))]),
        q3 + Duration::hours(3),
    );
    let e = eval(&b.ev, year_2025());
    assert_eq!(req(&e, "BAR-002").periods[2].count, 1);

    // Seen validating, later validation failed: does not count.
    let mut b = Builder::default();
    b.inventory(&["RDS"], datetime!(2025-01-02 0:00 UTC));
    b.restore_jobs(
        json!([job("j2", "COMPLETED", q3, Some("SUCCESSFUL"))]),
        q3 + Duration::hours(1),
    );
    b.restore_jobs(
        json!([job("j2", "COMPLETED", q3, Some("FAILED"))]),
        q3 + Duration::hours(4),
    );
    let e = eval(&b.ev, year_2025());
    assert_eq!(req(&e, "BAR-002").periods[2].count, 0);
}

#[tokio::test]
async fn restore_jobs_appended_to_a_store_satisfy_bar_002_for_their_quarter() {
    let dir = tempfile::tempdir().unwrap();
    let store = EvidenceStore::new(LocalStore::new(dir.path()));
    let (q1, q2, q3, q4) = (
        datetime!(2025-02-10 0:00 UTC),
        datetime!(2025-05-10 0:00 UTC),
        datetime!(2025-08-10 0:00 UTC),
        datetime!(2025-11-10 0:00 UTC),
    );
    let mut inventory = Builder::default();
    inventory.inventory(&["RDS"], datetime!(2025-01-02 0:00 UTC));
    let r = inventory.ev.records[0].record.clone();
    let blobs: Vec<evidenced::digest::Blob> = inventory
        .ev
        .blobs
        .values()
        .map(|b| evidenced::digest::Blob::new(b.clone()))
        .collect();
    let draft = evidenced::record::Draft {
        collector: r.collector,
        kind: r.kind,
        scope: r.scope,
        status: r.status,
        errors: r.errors,
        items: r.items,
        caller_arn: None,
        api_calls: vec![],
    };
    store.append(draft, &blobs).await.unwrap();
    for (jobs, at) in [
        (
            json!([
                job("a", "COMPLETED", q1, Some("SUCCESSFUL")),
                job("b", "COMPLETED", q2, Some("SUCCESSFUL"))
            ]),
            q2,
        ),
        (
            json!([
                job("c", "FAILED", q3, None),
                job("d", "COMPLETED", q3, Some("TIMED_OUT"))
            ]),
            q3,
        ),
        (json!([job("e", "COMPLETED", q4, Some("SUCCESSFUL"))]), q4),
    ] {
        let (draft, blob) = restore_jobs_draft(jobs, at);
        store
            .append(draft, &[evidenced::digest::Blob::new(blob)])
            .await
            .unwrap();
    }
    // The store's inventory is recorded today, after the quarters judged: declare the
    // in-scope type in the catalog instead, so each 2025 quarter owes an RDS restore.
    let text = evidenced::requirements::catalog::DEFAULT_CATALOG.replacen(
        "[[requirement.expect]]\nmedia_type = \"application/vnd.evidenced.aws.backup.protected-resources+json\"\nselect = \"latest\"\nitems = \"resources\"\nkey = \"resource_arn\"\ngroup = \"fact.resource_type\"",
        "[[requirement.expect]]\nvalues = [\"RDS\"]",
        1,
    );
    let cat = Catalog::parse("rds-scope.toml", &text).unwrap();
    let ev = Evidence::load(&store, &cat).await.unwrap();
    let w = Window {
        at: OffsetDateTime::now_utc() + Duration::minutes(1),
        ..year_2025()
    };
    let e = evaluate(&cat, &ev, w, &Options::default());
    let o = req(&e, "BAR-002");
    assert_eq!(o.status, Status::Fail);
    let got: Vec<String> = quarter_findings(o).into_iter().cloned().collect();
    assert_eq!(
        got,
        [
            "2025-Q3: restore job d (111122223333/us-east-1) does not count: validation_status is \"TIMED_OUT\", not \"SUCCESSFUL\"".to_string(),
            format!(
                "2025-Q3: no validated restore of an RDS database (resource type RDS) (the store's first record is from {}, after this period ended)",
                &ts(ev.records[0].record.recorded_at)[..10]
            ),
        ]
    );
    let restores: Vec<_> = o
        .evidence
        .iter()
        .filter(|c| c.label.starts_with("restore job"))
        .collect();
    let cited: Vec<u64> = restores.iter().map(|c| c.seq).collect();
    assert_eq!(cited, [2, 2, 4]);
    // Recorded today, a year after the jobs: flagged, not hidden.
    assert!(restores.iter().all(|c| c.late));
}

#[test]
fn evidence_recorded_after_at_is_named_not_dropped() {
    // A writer whose clock runs a year fast: the drill's record lies after --at.
    let at = datetime!(2026-06-01 0:00 UTC);
    let w = Window {
        at,
        from: at - Duration::days(365),
        to: at,
    };
    let mut b = Builder::default();
    b.human(
        &drill(
            "az-failover",
            "az-fast-clock",
            at - Duration::days(10),
            "pass",
        ),
        Duration::days(375),
    );
    let e = eval(&b.ev, w);
    let o = req(&e, "C-2.9");
    assert_eq!(o.status, Status::Fail);
    assert_eq!(
        o.findings,
        [
            "no passing az-failover drill on record",
            "recorded after --at (2026-06-01T00:00:00Z): record 1 of this evidence not counted; evaluate later, or check the writer's clock if the store's time is ahead",
        ]
    );
}
