//! Tampering with a store is caught by `verify`, and each problem is located.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::store_local::restore_test;
use crate::support::{self, ok, run};
use evidenced::canonical;
use evidenced::chain::record_key;

/// A store with five records, in a fresh temporary directory.
fn store_with_five() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let files: Vec<String> = (1..=5)
        .map(|i| {
            support::write(
                dir.path(),
                &format!("r{i}.toml"),
                &restore_test(&format!("r{i}")),
            )
        })
        .collect();
    let mut args = vec!["--store", store.to_str().unwrap(), "submit"];
    args.extend(files.iter().map(String::as_str));
    ok(run(&args));
    assert!(ok(run(&["--store", store.to_str().unwrap(), "verify"])).starts_with("OK: 5 records"));
    (dir, store)
}

fn record_path(store: &Path, seq: u64) -> PathBuf {
    store.join(record_key(seq))
}

fn read_record(store: &Path, seq: u64) -> Value {
    serde_json::from_slice(&std::fs::read(record_path(store, seq)).unwrap()).unwrap()
}

fn write_record(store: &Path, seq: u64, v: &Value) {
    std::fs::write(record_path(store, seq), canonical::value_to_vec(v).unwrap()).unwrap();
}

fn blob_path(store: &Path, seq: u64) -> (PathBuf, String) {
    let r = read_record(store, seq);
    let digest = r["items"][0]["digest"].as_str().unwrap().to_string();
    let hex = digest.strip_prefix("sha256:").unwrap().to_string();
    (
        store.join(format!("blobs/sha256/{}/{hex}", &hex[..2])),
        digest,
    )
}

/// Run verify in JSON; assert exit code 1 and return the problems.
#[track_caller]
fn problems(store: &Path) -> Vec<Value> {
    let out = run(&[
        "--store",
        store.to_str().unwrap(),
        "verify",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify did not fail: {}",
        support::stdout(&out)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    report["problems"].as_array().unwrap().clone()
}

#[track_caller]
fn find<'a>(ps: &'a [Value], check: &str, seq: u64) -> &'a Value {
    ps.iter()
        .find(|p| p["check"] == check && p["seq"] == seq)
        .unwrap_or_else(|| panic!("no {check} at seq {seq} in {ps:#?}"))
}

#[test]
fn flipped_byte_in_a_blob_is_located() {
    let (_d, store) = store_with_five();
    let (path, digest) = blob_path(&store, 2);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let ps = problems(&store);
    let p = find(&ps, "blob-digest-mismatch", 2);
    assert!(path.ends_with(p["key"].as_str().unwrap()));
    assert_eq!(p["expected"], digest.as_str());
    assert_eq!(
        p["actual"],
        evidenced::digest::Digest::of(&bytes).to_string()
    );
    assert_eq!(ps.len(), 1, "{ps:#?}");
}

#[test]
fn deleted_blob_is_located() {
    let (_d, store) = store_with_five();
    let (path, digest) = blob_path(&store, 4);
    std::fs::remove_file(&path).unwrap();
    let ps = problems(&store);
    let p = find(&ps, "missing-blob", 4);
    assert_eq!(p["expected"], digest.as_str());
    assert!(path.ends_with(p["key"].as_str().unwrap()));
}

#[test]
fn edited_record_field_breaks_the_next_link() {
    let (_d, store) = store_with_five();
    let mut r = read_record(&store, 3);
    r["status"] = Value::from("failed");
    write_record(&store, 3, &r);
    let ps = problems(&store);
    let p = find(&ps, "broken-link", 4);
    assert_eq!(p["key"], record_key(4));
    assert_eq!(p["actual"], read_record(&store, 4)["prev"]);
    let edited = std::fs::read(record_path(&store, 3)).unwrap();
    assert_eq!(
        p["expected"],
        evidenced::digest::Digest::of_record(&edited).to_string()
    );
    assert!(p["message"]
        .as_str()
        .unwrap()
        .contains("record 3 was altered"));
}

#[test]
fn reformatted_record_is_flagged_as_non_canonical() {
    let (_d, store) = store_with_five();
    let path = record_path(&store, 2);
    let pretty = serde_json::to_vec_pretty(&read_record(&store, 2)).unwrap();
    std::fs::write(&path, pretty).unwrap();
    let ps = problems(&store);
    find(&ps, "non-canonical-record", 2);
    find(&ps, "broken-link", 3);
}

#[test]
fn deleted_middle_record_is_located() {
    let (_d, store) = store_with_five();
    std::fs::remove_file(record_path(&store, 3)).unwrap();
    let ps = problems(&store);
    let p = find(&ps, "missing-record", 3);
    assert_eq!(p["key"], record_key(3));
}

#[test]
fn swapped_records_are_located() {
    let (_d, store) = store_with_five();
    let two = std::fs::read(record_path(&store, 2)).unwrap();
    let three = std::fs::read(record_path(&store, 3)).unwrap();
    std::fs::write(record_path(&store, 2), &three).unwrap();
    std::fs::write(record_path(&store, 3), &two).unwrap();
    let ps = problems(&store);
    let p2 = find(&ps, "seq-mismatch", 2);
    assert_eq!(
        (p2["expected"].as_str(), p2["actual"].as_str()),
        (Some("2"), Some("3"))
    );
    find(&ps, "seq-mismatch", 3);
}

#[test]
fn appended_record_with_wrong_prev_is_located() {
    let (_d, store) = store_with_five();
    let mut r = read_record(&store, 5);
    r["seq"] = Value::from(6);
    r["prev"] = Value::from(format!("sha256:{}", "ab".repeat(32)));
    write_record(&store, 6, &r);
    let ps = problems(&store);
    let p = find(&ps, "broken-link", 6);
    assert_eq!(p["actual"], format!("sha256:{}", "ab".repeat(32)));
    let five = std::fs::read(record_path(&store, 5)).unwrap();
    assert_eq!(
        p["expected"],
        evidenced::digest::Digest::of_record(&five).to_string()
    );
}

#[test]
fn replaced_first_record_is_caught() {
    let (_d, store) = store_with_five();
    let mut r = read_record(&store, 1);
    r["prev"] = Value::from(format!("sha256:{}", "01".repeat(32)));
    write_record(&store, 1, &r);
    let ps = problems(&store);
    find(&ps, "broken-link", 1);
    find(&ps, "broken-link", 2);
}

#[test]
fn text_output_names_the_place() {
    let (_d, store) = store_with_five();
    std::fs::remove_file(record_path(&store, 2)).unwrap();
    let out = run(&["--store", store.to_str().unwrap(), "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let text = support::stdout(&out);
    assert!(
        text.contains("PROBLEM missing-record seq=2 key=chain/records/00000000000000000002.json"),
        "{text}"
    );
    assert!(text.contains("FAILED: 1 problem(s)"), "{text}");
}

/// Set record `seq`'s `recorded_at` to record `seq - 1`'s shifted by `shift`, then re-link
/// the records after it so that only the time is wrong.
fn shift_recorded_at(store: &Path, seq: u64, shift: time::Duration) -> String {
    use time::format_description::well_known::Rfc3339;
    let before = read_record(store, seq - 1);
    let before =
        time::OffsetDateTime::parse(before["recorded_at"].as_str().unwrap(), &Rfc3339).unwrap();
    let at = (before + shift).format(&Rfc3339).unwrap();
    let mut r = read_record(store, seq);
    r["recorded_at"] = Value::from(at.clone());
    write_record(store, seq, &r);
    let mut next = seq + 1;
    while record_path(store, next).exists() {
        let prev = std::fs::read(record_path(store, next - 1)).unwrap();
        let mut r = read_record(store, next);
        r["prev"] = Value::from(evidenced::digest::Digest::of_record(&prev).to_string());
        write_record(store, next, &r);
        next += 1;
    }
    rebind(store);
    at
}

/// Point every id binding at its record's current hash, as a writer with that clock would
/// have written it.
fn rebind(store: &Path) {
    for kind in std::fs::read_dir(store.join("ids")).unwrap() {
        let kind = kind.unwrap().path();
        if !kind.is_dir() {
            continue;
        }
        for id in std::fs::read_dir(kind).unwrap() {
            let path = id.unwrap().path().join("record.json");
            let mut b: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let bytes = std::fs::read(record_path(store, b["seq"].as_u64().unwrap())).unwrap();
            b["hash"] = Value::from(evidenced::digest::Digest::of_record(&bytes).to_string());
            std::fs::write(&path, evidenced::canonical::value_to_vec(&b).unwrap()).unwrap();
        }
    }
}

#[test]
fn record_a_year_earlier_than_its_predecessor_is_located() {
    let (_d, store) = store_with_five();
    let at = shift_recorded_at(&store, 3, -time::Duration::days(365));
    let ps = problems(&store);
    let p = find(&ps, "recorded-at-backwards", 3);
    assert_eq!(p["key"], record_key(3));
    assert_eq!(p["actual"], at.as_str());
    let expected = p["expected"].as_str().unwrap();
    assert!(expected.starts_with(">= "), "{expected}");
    // The chain itself is intact: the time is the only problem.
    assert_eq!(ps.len(), 1, "{ps:#?}");
    let text = support::stdout(&run(&["--store", store.to_str().unwrap(), "verify"]));
    assert!(
        text.contains("PROBLEM recorded-at-backwards seq=3"),
        "{text}"
    );
}

#[test]
fn record_a_minute_earlier_than_its_predecessor_passes() {
    let (_d, store) = store_with_five();
    shift_recorded_at(&store, 3, -time::Duration::minutes(1));
    let v = ok(run(&["--store", store.to_str().unwrap(), "verify"]));
    assert!(v.starts_with("OK: 5 records"), "{v}");
}

#[test]
fn submit_refuses_when_the_head_is_recorded_in_the_future() {
    let (dir, store) = store_with_five();
    // The head claims to be a year ahead of this machine's clock.
    let mut head = read_record(&store, 5);
    let future = time::OffsetDateTime::now_utc() + time::Duration::days(365);
    head["recorded_at"] = Value::from(
        future
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap(),
    );
    write_record(&store, 5, &head);
    let snapshot = |store: &Path| {
        let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(store.join("chain/records"))
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                let b = std::fs::read(&p).unwrap();
                (p, b)
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(&store);
    let file = support::write(dir.path(), "r6.toml", &restore_test("r6"));
    let out = run(&["--store", store.to_str().unwrap(), "submit", &file]);
    assert_ne!(out.status.code(), Some(0));
    let err = support::stderr(&out);
    assert!(err.contains("this machine's clock ("), "{err}");
    assert!(
        err.contains("is behind the last record's recorded_at ("),
        "{err}"
    );
    assert!(err.contains("fix the clock (NTP) before writing"), "{err}");
    assert_eq!(snapshot(&store), before, "the chain changed");
}

#[test]
fn clock_skew_within_the_tolerance_is_flagged_by_verify_and_the_report() {
    let (_d, store) = store_with_five();
    let s = store.to_str().unwrap();
    // Unshifted: nothing to flag.
    let v: Value =
        serde_json::from_str(&ok(run(&["--store", s, "verify", "--format", "json"]))).unwrap();
    assert!(v.get("clock_skew").is_none(), "{v}");
    shift_recorded_at(&store, 3, -time::Duration::minutes(2));
    let v: Value =
        serde_json::from_str(&ok(run(&["--store", s, "verify", "--format", "json"]))).unwrap();
    assert_eq!(v["clock_skew"]["seq"], 3, "{v}");
    assert_eq!(v["clock_skew"]["behind_ms"], 120_000, "{v}");
    let md = ok(run(&["--store", s, "report", "--format", "md"]));
    assert!(
        md.contains("- Clock skew: record 3 was recorded 2m 0s before record 2"),
        "{md}"
    );
}
