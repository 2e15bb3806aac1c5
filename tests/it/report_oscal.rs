//! OSCAL and CSV exports: the shipped OSCAL catalog and plan are what the generator makes;
//! compliance-trestle (pinned, installed by scripts/setup.sh) validates the assessment
//! results, the catalog and the plan in a temporary trestle workspace and rejects broken
//! documents; and the OSCAL and CSV outputs carry the same statuses and citations as the
//! JSON report for the scenario year.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use evidenced::report::oscal::{self, catalog as oscal_catalog};
use evidenced::report::{csv, render, ReportFormat};
use evidenced::requirements::{Catalog, Evaluation};
use serde_json::Value;
use time::OffsetDateTime;

use crate::scenario::{eval_at, year, TIMES};
use crate::support::root;

#[test]
fn shipped_oscal_catalog_and_plan_are_what_the_generator_makes_from_the_default_catalog() {
    let c = Catalog::default_catalog().unwrap();
    let catalog = oscal_catalog::render(&c);
    let plan = oscal_catalog::plan(&c, &catalog);
    let dir = root().join("config/oscal");
    let update = std::env::var_os("EVIDENCED_UPDATE_GOLDEN").is_some();
    let mut differ = Vec::new();
    for (name, got) in [(oscal::CATALOG_FILE, &catalog), (oscal::PLAN_FILE, &plan)] {
        let path = dir.join(name);
        if update {
            std::fs::write(&path, got).unwrap();
        } else if std::fs::read_to_string(&path).unwrap_or_default() != *got {
            differ.push(path.display().to_string());
        }
    }
    assert!(
        differ.is_empty(),
        "{differ:?} differ from what the generator makes from config/requirements.toml: run `EVIDENCED_UPDATE_GOLDEN=1 cargo test --test it report_oscal::shipped` and commit the result"
    );
    // Every requirement is a control, in a checklist section.
    let v: Value = serde_json::from_str(&catalog).unwrap();
    let mut ids = Vec::new();
    for g in v["catalog"]["groups"].as_array().unwrap() {
        for s in g["groups"].as_array().unwrap() {
            for ctl in s["controls"].as_array().unwrap() {
                ids.push(ctl["id"].as_str().unwrap().to_string());
            }
        }
    }
    ids.sort();
    let mut want: Vec<String> = c.requirements.iter().map(|r| r.id.clone()).collect();
    want.sort();
    assert_eq!(ids, want);
}

/// `python -m trestle ARGS` in `dir`, with the test venv's Python.
fn trestle(dir: &Path, args: &[&str]) -> std::process::Output {
    let py = crate::support::python();
    assert!(
        py.exists(),
        "compliance-trestle is not installed: {} is missing. Run `bash scripts/setup.sh` (installs compliance-trestle into .venv) or set EVIDENCED_TEST_PYTHON.",
        py.display()
    );
    Command::new(&py)
        .arg("-m")
        .arg("trestle")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run trestle")
}

fn said(o: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh trestle workspace.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = trestle(dir.path(), &["init"]);
    assert!(o.status.success(), "trestle init: {}", said(&o));
    dir
}

/// Import `doc` (written as `file`) into the workspace as `name` and validate it there.
fn import_and_validate(ws: &Path, file: &str, name: &str, doc: &str) -> std::process::Output {
    let src = ws.join("..").join(format!(
        "{}-{file}",
        ws.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&src, doc).unwrap();
    let o = trestle(ws, &["import", "-f", src.to_str().unwrap(), "-o", name]);
    let _ = std::fs::remove_file(&src);
    if !o.status.success() {
        return o;
    }
    trestle(ws, &["validate", "-a"])
}

fn scenario_results() -> String {
    render(&eval_at(&year(), TIMES[1]), ReportFormat::Oscal)
}

#[test]
fn assessment_results_import_the_shipped_plan_and_link_the_shipped_catalog_by_sha256() {
    let v: Value = serde_json::from_str(&scenario_results()).unwrap();
    let ar = &v["assessment-results"];
    let href = ar["import-ap"]["href"].as_str().unwrap();
    let resources = ar["back-matter"]["resources"].as_array().unwrap();
    let plan = resources
        .iter()
        .find(|r| format!("#{}", r["uuid"].as_str().unwrap()) == href)
        .expect("import-ap names a back-matter resource");
    let dir = root().join("config/oscal");
    let sha =
        |name: &str| evidenced::digest::Digest::of(&std::fs::read(dir.join(name)).unwrap()).hex();
    assert_eq!(plan["rlinks"][0]["href"], oscal::PLAN_FILE);
    assert_eq!(
        plan["rlinks"][0]["hashes"][0]["value"],
        sha(oscal::PLAN_FILE).as_str()
    );
    let catalog = resources
        .iter()
        .find(|r| r["rlinks"][0]["href"] == oscal::CATALOG_FILE)
        .expect("the catalog is linked");
    assert_eq!(
        catalog["rlinks"][0]["hashes"][0]["value"],
        sha(oscal::CATALOG_FILE).as_str()
    );
    // Every finding targets an assessment objective the shipped catalog defines.
    let shipped = std::fs::read_to_string(dir.join(oscal::CATALOG_FILE)).unwrap();
    for f in ar["results"][0]["findings"].as_array().unwrap() {
        let target = f["target"]["target-id"].as_str().unwrap();
        assert!(
            shipped.contains(&format!("\"id\": \"{target}\"")),
            "{target} is not in the catalog"
        );
    }
}

#[test]
fn trestle_validates_the_assessment_results_catalog_and_plan() {
    let ws = workspace();
    let c = Catalog::default_catalog().unwrap();
    let catalog = oscal_catalog::render(&c);
    for (file, name, doc) in [
        ("catalog.json", "evidenced", catalog.clone()),
        (
            "assessment-plan.json",
            "evidenced-plan",
            oscal_catalog::plan(&c, &catalog),
        ),
        ("assessment-results.json", "scenario", scenario_results()),
    ] {
        let o = import_and_validate(ws.path(), file, name, &doc);
        assert!(o.status.success(), "{file}: {}", said(&o));
    }
    // The imported results are in the workspace, unchanged in content.
    let stored = std::fs::read_to_string(
        ws.path()
            .join("assessment-results/scenario/assessment-results.json"),
    )
    .unwrap();
    let a: Value = serde_json::from_str(&stored).unwrap();
    let b: Value = serde_json::from_str(&scenario_results()).unwrap();
    assert_eq!(
        a["assessment-results"]["results"][0]["findings"],
        b["assessment-results"]["results"][0]["findings"]
    );
}

/// A way to break a document.
type Break = fn(&mut Value);

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

#[test]
fn trestle_rejects_broken_assessment_results_so_the_check_is_real() {
    let good: Value = serde_json::from_str(&scenario_results()).unwrap();
    let breaks: [(&str, Break); 3] = [
        ("a finding state OSCAL does not define", |v| {
            v["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] =
                "partly-satisfied".into();
        }),
        ("an observation without its required methods", |v| {
            v["assessment-results"]["results"][0]["observations"][0]
                .as_object_mut()
                .unwrap()
                .remove("methods");
        }),
        ("two findings with the same UUID", |v| {
            let f = &mut v["assessment-results"]["results"][0]["findings"];
            let first = f[0]["uuid"].clone();
            f[1]["uuid"] = first;
        }),
    ];
    for (what, break_it) in breaks {
        // The intact document passes in the same workspace, so the failure is the break's.
        let ws = workspace();
        let o = import_and_validate(ws.path(), "assessment-results.json", "good", &pretty(&good));
        assert!(o.status.success(), "the intact document: {}", said(&o));
        let mut bad = good.clone();
        break_it(&mut bad);
        let o = import_and_validate(
            ws.path(),
            "assessment-results.json",
            "broken",
            &pretty(&bad),
        );
        assert!(!o.status.success(), "trestle accepted {what}: {}", said(&o));
    }
}

#[test]
fn the_same_evaluation_gives_the_same_oscal_bytes_and_unknown_is_never_satisfied() {
    let ev = year();
    let a = render(&eval_at(&ev, TIMES[0]), ReportFormat::Oscal);
    assert_eq!(a, render(&eval_at(&ev, TIMES[0]), ReportFormat::Oscal));
    let b = render(&eval_at(&ev, TIMES[1]), ReportFormat::Oscal);
    let uuid = |s: &str| {
        serde_json::from_str::<Value>(s).unwrap()["assessment-results"]["uuid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_ne!(
        uuid(&a),
        uuid(&b),
        "another evaluation time, another document"
    );

    // No evidence at all: every requirement is unknown or failed, none satisfied.
    let e = evidenced::requirements::evaluate(
        &Catalog::default_catalog().unwrap(),
        &crate::evidence_fixtures::Builder::default().ev,
        crate::scenario::window(TIMES[0]),
        &crate::scenario::options(),
    );
    let unknown: Vec<&str> = e
        .requirements
        .iter()
        .filter(|r| r.status == evidenced::requirements::Status::Unknown)
        .map(|r| r.id.as_str())
        .collect();
    assert!(!unknown.is_empty());
    let v: Value = serde_json::from_str(&render(&e, ReportFormat::Oscal)).unwrap();
    for f in v["assessment-results"]["results"][0]["findings"]
        .as_array()
        .unwrap()
    {
        assert_eq!(f["target"]["status"]["state"], "not-satisfied", "{f:#}");
    }
    let meta = &v["assessment-results"]["metadata"];
    assert_eq!(prop(meta, "verified").as_deref(), Some("false"));
    // CSV says unknown too.
    for row in parse_csv(&csv::render(&e)).iter().skip(1) {
        if unknown.contains(&row[0].as_str()) {
            assert_eq!(row[4], "unknown", "{row:?}");
        }
    }
}

fn prop(v: &Value, name: &str) -> Option<String> {
    v["props"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .map(|p| p["value"].as_str().unwrap_or_default().to_string())
}

fn props(v: &Value, name: &str) -> Vec<String> {
    v["props"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == name)
        .map(|p| p["value"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// RFC 4180: rows end with CRLF; quoted fields may hold commas, quotes (doubled) and line
/// breaks.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\n') => panic!("bare LF ends a row"),
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && row.is_empty(), "last row without CRLF");
    rows
}

/// A citation as the round trip compares it.
type Citation = (u64, String, String, String, String, bool, String);

fn json_view(e: &Evaluation) -> BTreeMap<String, (String, Vec<Citation>)> {
    let v: Value = serde_json::from_str(&render(e, ReportFormat::Json)).unwrap();
    v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let cites = r["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c["seq"].as_u64().unwrap(),
                        c["record_hash"].as_str().unwrap().to_string(),
                        c["digest"].as_str().unwrap().to_string(),
                        c["observed_at"].as_str().unwrap().to_string(),
                        c["recorded_at"].as_str().unwrap().to_string(),
                        c["late"].as_bool().unwrap(),
                        c["period"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            (
                r["id"].as_str().unwrap().to_string(),
                (r["status"].as_str().unwrap().to_string(), cites),
            )
        })
        .collect()
}

fn oscal_view(e: &Evaluation) -> BTreeMap<String, (String, Vec<Citation>)> {
    let v: Value = serde_json::from_str(&render(e, ReportFormat::Oscal)).unwrap();
    let result = &v["assessment-results"]["results"][0];
    let observations: BTreeMap<String, &Value> = result["observations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["uuid"].as_str().unwrap().to_string(), o))
        .collect();
    result["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let id = prop(f, "requirement-id").unwrap();
            let status = prop(f, "status").unwrap();
            let state = f["target"]["status"]["state"].as_str().unwrap();
            let want = if matches!(status.as_str(), "pass" | "due-soon") {
                "satisfied"
            } else {
                "not-satisfied"
            };
            assert_eq!(state, want, "{id}: {status} as {state}");
            let o = observations[f["related-observations"][0]["observation-uuid"]
                .as_str()
                .unwrap()];
            assert_eq!(prop(o, "requirement-id").as_deref(), Some(id.as_str()));
            let cites = o["relevant-evidence"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let p = |n: &str| prop(r, n).unwrap_or_default();
                    assert!(props(r, "seq").len() == 1);
                    (
                        p("seq").parse().unwrap(),
                        p("record-hash"),
                        p("blob-digest"),
                        p("fact-time"),
                        p("recorded-time"),
                        p("late") == "true",
                        p("period"),
                    )
                })
                .collect();
            (id, (status, cites))
        })
        .collect()
}

fn csv_view(e: &Evaluation) -> BTreeMap<String, (String, Vec<Citation>)> {
    let mut out: BTreeMap<String, (String, Vec<Citation>)> = BTreeMap::new();
    let rows = parse_csv(&csv::render(e));
    assert_eq!(rows[0], csv::COLUMNS);
    for r in &rows[1..] {
        assert_eq!(r.len(), csv::COLUMNS.len(), "{r:?}");
        let entry = out
            .entry(r[0].clone())
            .or_insert_with(|| (r[4].clone(), Vec::new()));
        assert_eq!(entry.0, r[4], "one status per requirement: {r:?}");
    }
    let rows = parse_csv(&csv::evidence(e));
    assert_eq!(rows[0], csv::EVIDENCE_COLUMNS);
    for r in &rows[1..] {
        assert_eq!(r.len(), csv::EVIDENCE_COLUMNS.len(), "{r:?}");
        let entry = out.get_mut(&r[0]).expect("a cited requirement has a row");
        assert_eq!(entry.0, r[1]);
        entry.1.push((
            r[3].parse().unwrap(),
            r[4].clone(),
            r[5].clone(),
            r[8].clone(),
            r[9].clone(),
            r[10] == "true",
            r[2].clone(),
        ));
    }
    out
}

#[test]
fn oscal_and_csv_carry_the_same_statuses_and_citations_as_the_json_for_the_scenario() {
    let ev = year();
    for at in TIMES {
        let e = eval_at(&ev, at);
        let json = json_view(&e);
        assert_eq!(json.len(), e.requirements.len());
        let cited: usize = json.values().map(|(_, c)| c.len()).sum();
        assert!(cited > 50, "the scenario cites plenty: {cited}");
        assert_eq!(oscal_view(&e), json, "OSCAL at {at}");
        assert_eq!(csv_view(&e), json, "CSV at {at}");
    }
    // Per-period rows agree with the JSON's periods.
    let e = eval_at(&ev, TIMES[1]);
    let rows = parse_csv(&csv::render(&e));
    let bar: Vec<(String, String)> = rows
        .iter()
        .filter(|r| r[0] == "BAR-002")
        .map(|r| (r[6].clone(), r[9].clone()))
        .collect();
    let want: Vec<(String, String)> = crate::evidence_fixtures::req(&e, "BAR-002")
        .periods
        .iter()
        .map(|p| (p.label.clone(), p.state.to_string()))
        .collect();
    assert_eq!(bar, want);
}

#[test]
fn report_cli_writes_oscal_and_evidence_csv_and_refuses_evidence_without_csv() {
    use crate::support::{ok, run, write};
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence").display().to_string();
    let now = OffsetDateTime::now_utc();
    let drill = crate::evidence_fixtures::drill(
        "az-failover",
        "az-cli",
        now - time::Duration::days(3),
        "pass",
    );
    ok(run(&[
        "--store",
        &store,
        "submit",
        &write(dir.path(), "az.toml", &drill),
    ]));
    let at = evidenced::human::fmt_time(now + time::Duration::minutes(1));
    let v: Value = serde_json::from_str(&ok(run(&[
        "--store", &store, "report", "--format", "oscal", "--at", &at,
    ])))
    .unwrap();
    let meta = &v["assessment-results"]["metadata"];
    assert_eq!(prop(meta, "verified").as_deref(), Some("true"));
    assert_eq!(prop(meta, "head-seq").as_deref(), Some("1"));
    let rows = parse_csv(&ok(run(&[
        "--store",
        &store,
        "report",
        "--format",
        "csv",
        "--evidence",
        "--at",
        &at,
    ])));
    assert!(
        rows.iter()
            .any(|r| r[0] == "C-2.9" && r[3] == "1" && r[1] == "pass"),
        "{rows:?}"
    );
    let o = run(&[
        "--store",
        &store,
        "report",
        "--format",
        "md",
        "--evidence",
        "--at",
        &at,
    ]);
    assert!(!o.status.success());
    assert!(crate::support::stderr(&o).contains("--evidence goes with --format csv"));
}
