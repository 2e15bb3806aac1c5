//! `evidenced submit` + `evidenced report` end to end on a local store.

use std::path::Path;

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::evidence_fixtures::drill;
use crate::support::{ok, run, stderr, stdout, write};

fn ts(t: OffsetDateTime) -> String {
    evidenced::human::fmt_time(t)
}

fn store_arg(dir: &Path) -> String {
    dir.join("evidence").display().to_string()
}

/// `report --format json` as a value, at one minute from now (after every record written).
fn report_json(dir: &Path, extra: &[&str]) -> Value {
    let at = ts(OffsetDateTime::now_utc() + Duration::minutes(1));
    let store = store_arg(dir);
    let mut args = vec!["--store", &store, "report", "--format", "json", "--at", &at];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(run(&args))).unwrap()
}

fn requirement<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()
}

fn submit(dir: &Path, name: &str, text: &str) -> std::process::Output {
    let f = write(dir, name, text);
    run(&["--store", &store_arg(dir), "submit", &f])
}

#[test]
fn region_failover_eleven_months_ago_passes_and_thirteen_fails_through_the_cli() {
    let now = OffsetDateTime::now_utc();
    let recent = tempfile::tempdir().unwrap();
    ok(submit(
        recent.path(),
        "dr.toml",
        &drill(
            "region-failover",
            "dr-11m",
            now - Duration::days(334),
            "pass",
        ),
    ));
    let v = report_json(recent.path(), &[]);
    let r = requirement(&v, "C-2.13");
    assert_eq!(r["status"], "pass", "{r:#}");
    let cited = &r["evidence"][0];
    assert_eq!(cited["seq"], 1);
    assert!(cited["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(cited["observed_at"].is_string() && cited["recorded_at"].is_string());

    let old = tempfile::tempdir().unwrap();
    let when = now - Duration::days(396);
    ok(submit(
        old.path(),
        "dr.toml",
        &drill("region-failover", "dr-13m", when, "pass"),
    ));
    let v = report_json(old.path(), &[]);
    let r = requirement(&v, "C-2.13");
    assert_eq!(r["status"], "fail", "{r:#}");
    let day = &ts(when)[..10];
    assert!(
        r["findings"].as_array().unwrap().iter().any(|f| f
            .as_str()
            .unwrap()
            .starts_with(&format!("no recovery into another region since {day}"))),
        "{r:#}"
    );
}

#[test]
fn region_failover_into_its_own_region_is_rejected_at_submit() {
    let dir = tempfile::tempdir().unwrap();
    let text = drill(
        "region-failover",
        "dr-same",
        OffsetDateTime::now_utc() - Duration::days(3),
        "pass",
    )
    .replace(
        "target_region = \"us-west-2\"",
        "target_region = \"us-east-1\"",
    );
    let out = submit(dir.path(), "same.toml", &text);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("same.toml") && err.contains("target_region"),
        "{err}"
    );
    assert!(
        !dir.path().join("evidence/chain/records").exists(),
        "something was stored"
    );
}

#[test]
fn report_json_has_the_contract_shape_and_markdown_and_html_render() {
    let dir = tempfile::tempdir().unwrap();
    for f in crate::support::example_files() {
        ok(run(&[
            "--store",
            &store_arg(dir.path()),
            "submit",
            f.to_str().unwrap(),
        ]));
    }
    let v = report_json(dir.path(), &["--from", "2026-01-01", "--to", "2026-12-31"]);
    for k in ["at", "from", "to", "requirements"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["from"], "2026-01-01T00:00:00Z");
    assert_eq!(v["to"], "2026-12-31T23:59:59Z");
    for r in v["requirements"].as_array().unwrap() {
        for k in ["id", "title", "status", "due", "evidence", "findings"] {
            assert!(r.get(k).is_some(), "{} lacks {k}", r["id"]);
        }
        assert!(["pass", "fail", "due-soon", "unknown"].contains(&r["status"].as_str().unwrap()));
    }
    // The example restore test is 2026-Q3: Q1 and Q2 are named, Q3 is not.
    let bar = requirement(&v, "BAR-002");
    let findings: Vec<&str> = bar["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        // The example backup scope is reviewed in 2026-Q3: earlier quarters had none.
        findings
            .iter()
            .any(|f| f.starts_with("2026-Q1: no inventory of in-scope resource types")),
        "{findings:?}"
    );
    assert!(
        !findings.iter().any(|f| f.starts_with("2026-Q3: no")),
        "{findings:?}"
    );

    let store = store_arg(dir.path());
    let at = ts(OffsetDateTime::now_utc() + Duration::minutes(1));
    let md = ok(run(&[
        "--store", &store, "report", "--format", "md", "--at", &at,
    ]));
    assert!(md.contains("| BAR-002 | Periodic recovery test |"), "{md}");
    let html_path = dir.path().join("r.html");
    ok(run(&[
        "--store",
        &store,
        "report",
        "--format",
        "html",
        "--at",
        &at,
        "--from",
        "2026-01-01",
        "-o",
        html_path.to_str().unwrap(),
    ]));
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("<table id=\"summary\">") && html.contains("<svg"),
        "no summary or chart"
    );
    // One rect per quarter of the period for BAR-002, one dot per drill in range.
    assert!(html.matches("<g class=\"period\">").count() >= 4);
    assert!(html.contains("<circle class=\"fact\""));
    // Self-contained: nothing to fetch.
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"));
    assert_eq!(
        html.matches("http").count(),
        html.matches("http://www.w3.org/2000/svg").count()
    );
}

#[test]
fn report_rejects_bad_times_and_catalogs_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_arg(dir.path());
    let out = run(&["--store", &store, "report", "--at", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--at \"yesterday\""),
        "{}",
        stderr(&out)
    );
    let cat = write(
        dir.path(),
        "cat.toml",
        "[[requirement]]\nid = \"Z-9\"\ntitle = \"t\"\nrule = \"every\"\n",
    );
    let out = run(&["--store", &store, "report", "--catalog", &cat]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("Z-9") && err.contains("period"), "{err}");
}

#[test]
fn az_drill_350_days_before_at_is_due_soon_with_lead_days_30() {
    let dir = tempfile::tempdir().unwrap();
    let at = OffsetDateTime::now_utc() + Duration::minutes(1);
    ok(submit(
        dir.path(),
        "az.toml",
        &drill("az-failover", "az-350", at - Duration::days(350), "pass"),
    ));
    let store = store_arg(dir.path());
    let at_s = ts(at);
    let report = |lead: &str| -> Value {
        serde_json::from_str(&ok(run(&[
            "--store",
            &store,
            "report",
            "--format",
            "json",
            "--at",
            &at_s,
            "--lead-days",
            lead,
        ])))
        .unwrap()
    };
    let v = report("30");
    let r = requirement(&v, "C-2.9");
    assert_eq!(r["status"], "due-soon", "{r:#}");
    assert_eq!(r["due"], ts(at + Duration::days(15)));
    assert_eq!(requirement(&report("7"), "C-2.9")["status"], "pass");
}

#[test]
fn report_on_a_truncated_store_says_so_at_the_top_and_exits_1() {
    let s = crate::checkpoint::signed_store();
    let at = ts(OffsetDateTime::now_utc() + Duration::minutes(1));
    let report = |format: &str| {
        run(&[
            "--config", &s.config, "--store", &s.store, "report", "--format", format, "--at", &at,
        ])
    };
    // Intact: the header names the chain and head, and says it verified.
    let out = report("json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let n = crate::support::example_files().len() as u64;
    assert_eq!(v["basis"]["verified"], true, "{:#}", v["basis"]);
    assert_eq!(v["basis"]["head_seq"], n);
    assert_eq!(v["basis"]["store"], s.store.as_str());
    assert_eq!(v["catalog"]["id"], "evidenced-default");
    // The tail cut: the last record removed (its checkpoint and the witness still vouch for it).
    std::fs::remove_file(Path::new(&s.store).join(evidenced::chain::record_key(n))).unwrap();
    let out = report("md");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    let top: Vec<&str> = text.lines().take(4).collect();
    assert!(
        top.iter()
            .any(|l| l.contains("WARNING: The evidence under this report does NOT verify")),
        "{top:#?}"
    );
    assert!(text.contains("- Verified: NO"), "{text}");
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
}

#[test]
fn fail_on_gates_exit_1_on_the_named_statuses_and_names_each_requirement() {
    let now = OffsetDateTime::now_utc();
    let dir = tempfile::tempdir().unwrap();
    ok(submit(
        dir.path(),
        "dr.toml",
        &drill(
            "region-failover",
            "dr-gate",
            now - Duration::days(30),
            "pass",
        ),
    ));
    let v = report_json(dir.path(), &[]);
    let statuses: Vec<(String, String)> = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let failing: Vec<&String> = statuses
        .iter()
        .filter(|(_, s)| s == "fail")
        .map(|(id, _)| id)
        .collect();
    assert!(!failing.is_empty(), "{statuses:?}");
    assert!(statuses.iter().any(|(_, s)| s == "pass"), "{statuses:?}");
    let store = store_arg(dir.path());
    let at = ts(now + Duration::minutes(1));
    let gate = |on: &str| {
        run(&[
            "--store",
            &store,
            "report",
            "--format",
            "json",
            "--at",
            &at,
            "--fail-on",
            on,
        ])
    };
    let out = gate("fail,due-soon");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for id in &failing {
        assert!(err.contains(&format!("fail: {id} (")), "{id}: {err}");
    }
    // The report is written either way.
    let written: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(written["requirements"], v["requirements"]);
    // Without the gate, or gating on a status nothing has, exit 0.
    let none_due = !statuses.iter().any(|(_, s)| s == "due-soon");
    if none_due {
        assert_eq!(gate("due-soon").status.code(), Some(0));
    }
    let out = gate("bogus");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// The blob files of record `seq` in the local store under `dir`.
fn blob_paths(dir: &Path, seq: u64) -> Vec<std::path::PathBuf> {
    let store = dir.join("evidence");
    let record: Value = serde_json::from_slice(
        &std::fs::read(store.join(evidenced::chain::record_key(seq))).unwrap(),
    )
    .unwrap();
    record["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let d: evidenced::digest::Digest = i["digest"].as_str().unwrap().parse().unwrap();
            store.join(evidenced::chain::blob_key(&d))
        })
        .collect()
}

#[test]
fn report_vouches_for_what_its_evaluation_read_and_nothing_read_does_not_verify() {
    let d = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    ok(submit(
        d.path(),
        "dr.toml",
        &drill("region-failover", "dr-1", now - Duration::days(30), "pass"),
    ));
    let v = report_json(d.path(), &[]);
    assert_eq!(v["basis"]["verified"], true, "{:#}", v["basis"]);
    let checked = v["basis"]["checked"].as_str().unwrap();
    assert!(
        checked.starts_with("records 1 to 1 (from the evaluation's horizon, "),
        "{checked}"
    );
    assert!(v["horizon"].is_string(), "{v:#}");

    // A stray key beside the records is nothing the evaluation reads: only --verify-all,
    // which checks every object, names it.
    let stray = d.path().join("evidence/chain/records/stray.txt");
    std::fs::write(&stray, b"x").unwrap();
    let at = ts(now + Duration::minutes(1));
    let store = store_arg(d.path());
    let out = run(&["--store", &store, "report", "--format", "json", "--at", &at]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&[
        "--store",
        &store,
        "report",
        "--format",
        "json",
        "--at",
        &at,
        "--verify-all",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["basis"].get("checked").is_none(), "{:#}", v["basis"]);
    assert!(
        v["basis"]["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("unexpected-key"),
        "{v:#}"
    );
    std::fs::remove_file(&stray).unwrap();

    // A blob the evaluation reads, changed: the report does not verify, and says which.
    let blobs = blob_paths(d.path(), 1);
    let original: Vec<Vec<u8>> = blobs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    for p in &blobs {
        std::fs::write(p, b"{\"changed\": true}").unwrap();
    }
    let out = run(&["--store", &store, "report", "--format", "json", "--at", &at]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["basis"]["verified"], false);
    let problems = v["basis"]["problems"].to_string();
    assert!(problems.contains("blob-digest-mismatch"), "{problems}");
    for (p, b) in blobs.iter().zip(&original) {
        std::fs::write(p, b).unwrap();
    }

    // Evaluated 900 days on, nothing lies after the horizon: nothing was checked, so the
    // report does not verify, and says why.
    let later = ts(now + Duration::days(900));
    let out = run(&[
        "--store", &store, "report", "--format", "json", "--at", &later, "--from", &later,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["basis"]["verified"], false);
    let problems = v["basis"]["problems"].to_string();
    assert!(problems.contains("nothing-read"), "{problems}");
    assert!(
        problems.contains("no record was recorded since the evaluation's horizon"),
        "{problems}"
    );
}
