//! Submit / verify / log round trip, concurrent writers and crash safety on the local store.

use std::process::Command;

use crate::support::{self, ok, run, stdout};
use serde_json::Value;

/// A valid restore-test record with the given id.
pub fn restore_test(id: &str) -> String {
    format!(
        "kind = \"restore-test\"\nid = \"{id}\"\nstarted_at = \"2026-02-01T10:00:00Z\"\nended_at = \"2026-02-01T10:30:00Z\"\noutcome = \"pass\"\nparticipants = [\"dba\"]\nresource_types = [\"RDS\"]\nchecks = [\"row counts match the source\"]\n"
    )
}

/// Parse `evidenced log --format json`.
pub fn log_json(out: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(out)
        .expect("log --format json is JSON")
        .as_array()
        .expect("an array")
        .clone()
}

/// Submit the shipped examples into `store`, then verify and log; returns the log.
pub fn round_trip(runner: fn(&[&str]) -> std::process::Output, store: &str) -> Vec<Value> {
    let files: Vec<String> = support::example_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec!["--store", store, "submit"];
    args.extend(files.iter().map(String::as_str));
    let out = ok(runner(&args));
    assert_eq!(out.lines().count(), files.len(), "{out}");
    assert!(ok(runner(&["--store", store, "verify"])).starts_with("OK:"));
    let log = log_json(&ok(runner(&["--store", store, "log", "--format", "json"])));
    assert_eq!(log.len(), files.len());
    for (i, entry) in log.iter().enumerate() {
        assert_eq!(entry["seq"], (i + 1) as u64);
        assert_eq!(entry["collector"], "submit");
        assert_eq!(entry["status"], "complete");
        assert_eq!(entry["items"], 2);
    }
    let kinds: Vec<&str> = log.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in [
        "region-failover",
        "restore-test",
        "security-incident",
        "objective",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    // Text log: one line per record.
    let text = ok(runner(&["--store", store, "log"]));
    assert_eq!(text.lines().count(), files.len());
    // Resubmitting identical content is a no-op.
    let again = ok(runner(&args));
    assert!(again.contains("already stored"), "{again}");
    let log2 = log_json(&ok(runner(&["--store", store, "log", "--format", "json"])));
    assert_eq!(log2.len(), files.len());
    log
}

#[test]
fn local_round_trip_submit_verify_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    round_trip(run, store.to_str().unwrap());
    // The original bytes are stored verbatim, addressed by their SHA-256.
    for f in support::example_files() {
        let bytes = std::fs::read(&f).unwrap();
        let hex = evidenced::digest::Digest::of(&bytes).hex();
        let blob = store.join(format!("blobs/sha256/{}/{hex}", &hex[..2]));
        assert_eq!(std::fs::read(&blob).unwrap(), bytes, "{}", f.display());
    }
}

/// Two OS processes append `n` records each to the same store; the chain stays linear.
pub fn two_writers(store: &str, dir: &std::path::Path, s3: bool) {
    let n = 25;
    let mut children = Vec::new();
    for w in 0..2 {
        let mut args = vec![
            "--store".to_string(),
            store.to_string(),
            "submit".to_string(),
        ];
        for i in 0..n {
            let id = format!("w{w}-r{i:02}");
            args.push(support::write(
                dir,
                &format!("{id}.toml"),
                &restore_test(&id),
            ));
        }
        let mut cmd = Command::new(support::bin());
        cmd.args(&args).env_remove("EVIDENCED_CONFIG");
        if s3 {
            support::moto_env(&mut cmd);
        }
        cmd.stdout(std::process::Stdio::null());
        children.push(cmd.spawn().expect("spawn writer"));
    }
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a writer failed");
    }
    let runner = if s3 { support::run_s3 } else { run };
    let verify = ok(runner(&["--store", store, "verify"]));
    assert!(
        verify.starts_with(&format!("OK: {} records", 2 * n)),
        "{verify}"
    );
    let log = log_json(&ok(runner(&["--store", store, "log", "--format", "json"])));
    assert_eq!(log.len(), 2 * n);
    let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=(2 * n) as u64).collect::<Vec<_>>());
}

#[test]
fn local_two_processes_never_fork_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    two_writers(store.to_str().unwrap(), dir.path(), false);
}

#[test]
fn local_writer_killed_between_blobs_and_record_leaves_a_verifiable_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let store = store.to_str().unwrap();
    let first = support::write(dir.path(), "a.toml", &restore_test("a"));
    ok(run(&["--store", store, "submit", &first]));

    let second = support::write(dir.path(), "b.toml", &restore_test("b"));
    let mut cmd = Command::new(support::bin());
    cmd.args(["--store", store, "submit", &second]);
    let paused = support::spawn_until_failpoint(cmd, "after-blobs");
    // The blobs of b are on disk, the record is not.
    let b_hex = evidenced::digest::Digest::of(restore_test("b").as_bytes()).hex();
    assert!(dir
        .path()
        .join(format!("evidence/blobs/sha256/{}/{b_hex}", &b_hex[..2]))
        .exists());
    paused.kill();

    let v = ok(run(&["--store", store, "verify"]));
    assert!(v.starts_with("OK: 1 records"), "{v}");
    // The next submit continues the chain (and stores b, which was never committed).
    let out = ok(run(&["--store", store, "submit", &second]));
    assert!(out.contains("as record 2"), "{out}");
    assert!(ok(run(&["--store", store, "verify"])).starts_with("OK: 2 records"));
}

#[test]
fn an_empty_store_is_no_chain_unless_allowed_and_then_verifies_and_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("none");
    let s = store.to_str().unwrap();
    let out = run(&["--store", s, "verify"]);
    assert_eq!(out.status.code(), Some(2));
    let v = ok(run(&["--store", s, "--allow-empty", "verify"]));
    assert!(v.starts_with("OK: 0 records"), "{v}");
    let out = run(&["--store", s, "--allow-empty", "log", "--format", "json"]);
    assert_eq!(log_json(&stdout(&out)).len(), 0);
}

/// Create a `.tmp-` file at `rel` under `store`, last modified `age` ago.
fn plant_temp_file(store: &std::path::Path, rel: &str, age: std::time::Duration) {
    let path = store.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(&path).unwrap();
    f.set_modified(std::time::SystemTime::now() - age).unwrap();
}

#[test]
fn stale_temp_files_are_reported_by_verify_and_removed_by_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let s = store.to_str().unwrap();
    let first = support::write(dir.path(), "a.toml", &restore_test("a"));
    ok(run(&["--store", s, "submit", &first]));
    let hour = std::time::Duration::from_secs(3600);
    plant_temp_file(&store, ".tmp-writes/.tmp-00000000000000aa", 2 * hour);
    plant_temp_file(&store, ".tmp-writes/.tmp-00000000000000bb", 30 * hour);
    // Young enough to belong to a live writer: neither a problem nor removed.
    plant_temp_file(
        &store,
        ".tmp-writes/.tmp-00000000000000cc",
        std::time::Duration::from_secs(10),
    );

    let out = run(&["--store", s, "verify", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let stale: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["check"] == "stale-temp-file")
        .map(|p| p["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        stale,
        vec![
            ".tmp-writes/.tmp-00000000000000aa",
            ".tmp-writes/.tmp-00000000000000bb"
        ]
    );
    assert_eq!(
        report["problems"].as_array().unwrap().len(),
        2,
        "{report:#}"
    );

    // The next writer removes the stale ones, says so, and keeps the live one.
    let second = support::write(dir.path(), "b.toml", &restore_test("b"));
    let out = Command::new(support::bin())
        .args(["--store", s, "submit", &second])
        .env_remove("EVIDENCED_CONFIG")
        .env("RUST_LOG", "evidenced=info")
        .output()
        .unwrap();
    let log = support::stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(".tmp-writes/.tmp-00000000000000aa"), "{log}");
    assert!(log.contains(".tmp-writes/.tmp-00000000000000bb"), "{log}");
    assert!(!store.join(".tmp-writes/.tmp-00000000000000aa").exists());
    assert!(!store.join(".tmp-writes/.tmp-00000000000000bb").exists());
    assert!(store.join(".tmp-writes/.tmp-00000000000000cc").exists());
    let v = ok(run(&["--store", s, "verify"]));
    assert!(v.starts_with("OK: 2 records"), "{v}");
}
