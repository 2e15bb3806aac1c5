//! Bundles of a long chain: sealed by a signed checkpoint, a bundle carries record 1 and the
//! records from the first its report reads, and verifies (with `evidenced verify` and the
//! VERIFY.md script) only while a signed checkpoint ties them to record 1's chain.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::bundle::{members, without_basis};
use crate::support::{ok, root, run, write};
use crate::verify_md::{repack, run_script, script};

/// A catalog whose rule looks back two days, with a five-day lookback: a chain of 1,500
/// records at a daemon's pace (12.5 days) reaches well before its horizon.
const SHORT: &str = r#"
[catalog]
id = "short"
version = "1"

[settings]
lookback_days = 5

[[requirement]]
id = "RJ"
title = "A validated restore within two days"
rule = "within"
days = 2
[[requirement.evidence]]
media_type = "application/vnd.evidenced.aws.backup.restore-jobs+json"
items = "restore_jobs"
key = "restore_job_id"
"#;

/// The chain's length.
const LAST: u64 = 1_500;

struct Long {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    store: String,
    catalog: String,
    from: String,
    to: String,
}

/// A chain of 1,500 records written as a daemon would over 12.5 days (scripts/gen-chain.py),
/// and the short catalog; the period is the last day.
fn long_chain() -> Long {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_path_buf();
    let store = dir.join("evidence");
    let out = Command::new("python3")
        .arg(root().join("scripts/gen-chain.py"))
        .arg(&store)
        .arg(LAST.to_string())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: Value = serde_json::from_slice(
        &std::fs::read(store.join(evidenced::chain::record_key(LAST))).unwrap(),
    )
    .unwrap();
    let to = last["recorded_at"].as_str().unwrap().to_string();
    let t =
        time::OffsetDateTime::parse(&to, &time::format_description::well_known::Rfc3339).unwrap();
    let from = evidenced::human::fmt_time(t - time::Duration::days(1));
    let catalog = write(&dir, "short.toml", SHORT);
    Long {
        _dir: d,
        store: store.display().to_string(),
        dir,
        catalog,
        from,
        to,
    }
}

fn bundle(l: &Long, config: Option<&str>, name: &str) -> (PathBuf, Value) {
    bundle_of(l, config, name, &l.from, &l.to)
}

/// A bundle of the period `from`..`to` (its evaluation time: `to`).
fn bundle_of(l: &Long, config: Option<&str>, name: &str, from: &str, to: &str) -> (PathBuf, Value) {
    let out = l.dir.join(name);
    let mut args = Vec::new();
    if let Some(c) = config {
        args.extend(["--config", c]);
    }
    args.extend([
        "--store",
        &l.store,
        "bundle",
        "--catalog",
        &l.catalog,
        "--from",
        from,
        "--to",
        to,
        "--format",
        "json",
        "-o",
    ]);
    let o = out.to_str().unwrap();
    args.push(o);
    let v: Value = serde_json::from_str(&ok(run(&args))).unwrap();
    (out, v)
}

/// The store's JSON report of the period `from`..`to`, evaluated at `to`.
fn store_report(l: &Long, from: &str, to: &str) -> String {
    ok(run(&[
        "--store",
        &l.store,
        "report",
        "--catalog",
        &l.catalog,
        "--from",
        from,
        "--to",
        to,
        "--at",
        to,
        "--format",
        "json",
    ]))
}

/// The JSON report re-made from a bundle.
fn bundle_report(b: &Path) -> String {
    ok(run(&[
        "report",
        "--bundle",
        b.to_str().unwrap(),
        "--format",
        "json",
    ]))
}

/// The JSON report a bundle carries (`report/report.json`).
fn bundled_json(b: &Path) -> String {
    members(b)
        .into_iter()
        .find(|(n, _)| n == "report/report.json")
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .unwrap()
}

/// A configuration with a new checkpoint signing key (`evidenced keygen`).
fn signing_config(l: &Long) -> String {
    let key = l.dir.join("signing.pem");
    ok(run(&["keygen", key.to_str().unwrap()]));
    write(
        &l.dir,
        "evidenced.toml",
        &format!("[checkpoint]\nkey_file = {:?}\n", key.display().to_string()),
    )
}

/// Change bundle.json among `members` (to make it agree with a tampered bundle).
fn edit_meta(members: &mut [(String, Vec<u8>)], edit: impl Fn(&mut Value)) {
    for (n, bytes) in members.iter_mut() {
        if n == "bundle.json" {
            let mut j: Value = serde_json::from_slice(bytes).unwrap();
            edit(&mut j);
            *bytes = serde_json::to_vec_pretty(&j).unwrap();
        }
    }
}

fn meta(bundle: &Path) -> Value {
    let m = members(bundle);
    let (_, b) = m.iter().find(|(n, _)| n == "bundle.json").unwrap();
    serde_json::from_slice(b).unwrap()
}

#[test]
fn a_sealed_bundle_of_a_long_chain_is_an_excerpt_that_verifies_only_with_its_checkpoint() {
    let l = long_chain();
    let config = signing_config(&l);

    // Unsealed: every record from 1.
    let (whole, v) = bundle(&l, None, "whole.tar.gz");
    assert_eq!(v["records"], LAST, "{v:#}");
    assert!(meta(&whole).get("first_seq").is_none());

    // Sealed: record 1 and the records from the first at or after the horizon
    // (1 + 5 days before the last record, at 120 a day: from about 780).
    let (b, v) = bundle(&l, Some(&config), "excerpt.tar.gz");
    let m = meta(&b);
    assert_eq!(m["format"], 2);
    let first = m["first_seq"].as_u64().expect("first_seq");
    assert!((740..820).contains(&first), "first_seq {first}");
    assert_eq!(v["records"], 1 + LAST - first + 1, "{v:#}");
    assert_eq!(m["checkpoint_seq"], LAST);
    let names: Vec<String> = members(&b).into_iter().map(|(n, _)| n).collect();
    let record = |s: u64| format!("store/{}", evidenced::chain::record_key(s));
    assert!(names.contains(&record(1)));
    assert!(!names.contains(&record(first - 1)));
    assert!(names.contains(&record(first)));

    // It verifies, its report is re-made from it, and it is the store's report.
    let (code, out) = crate::bundle::verify(&b, &[]);
    assert_eq!(code, Some(0), "{out}");
    let from_bundle = bundle_report(&b);
    let from_store = store_report(&l, &l.from, &l.to);
    assert_eq!(without_basis(&from_bundle), without_basis(&from_store));
    let s = script(&b);
    let (code, out) = run_script(&s, &b, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("OK: records 1 and {first}..{LAST} link")),
        "{out}"
    );

    // Without its checkpoint (bundle.json and the MANIFEST made consistent), nothing ties
    // the excerpt to record 1: both verifiers refuse it.
    let mut m: Vec<(String, Vec<u8>)> = members(&b)
        .into_iter()
        .filter(|(n, _)| !n.starts_with("store/chain/checkpoints/"))
        .collect();
    edit_meta(&mut m, |j| j["checkpoint_seq"] = Value::Null);
    let bare = repack(&l.dir, "bare.tar.gz", m);
    let (code, out) = crate::bundle::verify(&bare, &["--format", "json"]);
    assert_eq!(code, Some(1), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let checks: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["check"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["excerpt-unanchored"], "{v:#}");
    let (code, out) = run_script(&s, &bare, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAILED: no checkpoint"), "{out}");
}

#[test]
fn an_excerpt_whose_first_record_does_not_match_its_metadata_is_refused() {
    let l = long_chain();
    let config = signing_config(&l);
    let (b, _) = bundle(&l, Some(&config), "excerpt.tar.gz");
    let first = meta(&b)["first_seq"].as_u64().unwrap();
    // The first record of the excerpt removed, and the counts made to agree: the chain
    // now seems to begin one later.
    let gone = format!("store/{}", evidenced::chain::record_key(first));
    let mut m: Vec<(String, Vec<u8>)> = members(&b)
        .into_iter()
        .filter(|(n, _)| *n != gone)
        .collect();
    edit_meta(&mut m, |j| {
        j["records"] = Value::from(j["records"].as_u64().unwrap() - 1)
    });
    let cut = repack(&l.dir, "cut.tar.gz", m);
    let (code, out) = crate::bundle::verify(&cut, &["--format", "json"]);
    assert_eq!(code, Some(1), "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let problems = v["problems"].to_string();
    assert!(problems.contains("\"bundle-meta-mismatch\""), "{problems}");
    assert!(problems.contains("first_seq"), "{problems}");
    let (code, out) = run_script(&script(&cut), &cut, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("FAILED: record {first} is missing")),
        "{out}"
    );
}

#[test]
fn a_bundle_of_a_past_period_reports_what_it_carries_and_verifies() {
    let l = long_chain();
    let config = signing_config(&l);
    // The period ends three days before the last record, and so does the evaluation time:
    // about 360 later records are in the store and not in the bundle.
    let t = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
    };
    let to = evidenced::human::fmt_time(t(&l.to) - time::Duration::days(3));
    let from = evidenced::human::fmt_time(t(&l.to) - time::Duration::days(4));
    let from_store = store_report(&l, &from, &to);
    // The store's report names the later records (the case a fast clock would make).
    assert!(from_store.contains("recorded after --at"), "{from_store}");
    for (name, cfg) in [
        ("past.tar.gz", None),
        ("past-sealed.tar.gz", Some(config.as_str())),
    ] {
        let (b, v) = bundle_of(&l, cfg, name, &from, &to);
        let last = v["last_seq"].as_u64().unwrap();
        assert!(last < LAST - 300, "{v:#}");
        let (code, out) = crate::bundle::verify(&b, &[]);
        assert_eq!(code, Some(0), "{name}: {out}");
        let bundled = bundled_json(&b);
        assert!(
            !bundled.contains("recorded after --at"),
            "{name}: {bundled}"
        );
        let basis: Value = serde_json::from_str(&bundled).unwrap();
        let checked = basis["basis"]["checked"].as_str().unwrap();
        assert!(
            checked.contains(&format!(
                "the store's head was record {LAST}, and this bundle carries the records to {last}"
            )),
            "{name}: {checked}"
        );
        let remade = bundle_report(&b);
        assert_eq!(without_basis(&remade), without_basis(&bundled), "{name}");
    }
}

#[test]
fn a_record_committed_while_a_sealed_bundle_is_made_is_not_carried_unevaluated() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let l = long_chain();
    let config = signing_config(&l);
    // A period that ends tomorrow, evaluated now: a record committed while the bundle is
    // being made lies inside it, after the evaluation time.
    let tomorrow =
        evidenced::human::fmt_time(time::OffsetDateTime::now_utc() + time::Duration::days(1));
    let out = l.dir.join("race.tar.gz");
    let mut cmd = Command::new(crate::support::bin());
    cmd.args([
        "--config",
        &config,
        "--store",
        &l.store,
        "bundle",
        "--catalog",
        &l.catalog,
        "--from",
        &l.from,
        "--to",
        &tomorrow,
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ])
    .env_remove("EVIDENCED_CONFIG")
    .env("EVIDENCED_FAILPOINT", "bundle-after-read")
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn evidenced");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while line.trim() != "failpoint bundle-after-read reached" {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "exited before the failpoint"
        );
    }
    // The bundle has read the store; another writer commits a record.
    let drill = write(
        &l.dir,
        "late.toml",
        &crate::store_local::restore_test("late-1"),
    );
    ok(run(&["--store", &l.store, "submit", &drill]));
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(o.status.success(), "{rest}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    // It carries the records its report read, to the head as it read it, and no record
    // its report did not read: it verifies, and its report is re-made from it.
    assert_eq!(meta(&out)["last_seq"], LAST, "{v:#}");
    let (code, text) = crate::bundle::verify(&out, &[]);
    assert_eq!(code, Some(0), "{text}");
    let bundled = bundled_json(&out);
    assert_eq!(without_basis(&bundle_report(&out)), without_basis(&bundled));
}
