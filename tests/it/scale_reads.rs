//! Reads that do not repeat themselves: on S3 (moto), `report` and `bundle` read each
//! record and blob no more often than `verify` alone does, and a cache directory serves a
//! second process from disk, detecting and refetching a damaged entry. Request counts come
//! from `EVIDENCED_STORE_STATS=1`.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::store_local::restore_test;
use crate::support::{self, counted, ok};

/// Records submitted (each holds two blobs).
const RECORDS: usize = 6;

/// The `get=` figure of the request counts a command printed.
fn gets(o: &Output) -> u64 {
    support::requests(o, "get")
}

async fn filled_store(name: &str, dir: &Path) -> String {
    let bucket = support::lock_bucket(name).await;
    let url = format!("s3://{bucket}/ev");
    let files: Vec<String> = (0..RECORDS)
        .map(|i| {
            support::write(
                dir,
                &format!("rt-{i}.toml"),
                &restore_test(&format!("rt-{i}")),
            )
        })
        .collect();
    let mut args = vec!["--store", &url, "submit"];
    args.extend(files.iter().map(String::as_str));
    ok(support::run_s3(&args));
    url
}

/// Every file under `dir` whose path contains `part`.
fn entries(dir: &Path, part: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.to_string_lossy().contains(part) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn report_and_bundle_read_no_object_more_often_than_verify() {
    let dir = tempfile::tempdir().unwrap();
    let url = filled_store("onceread", dir.path()).await;
    let verify = counted(&["--store", &url, "verify"]);
    let verify_gets = gets(&verify);
    ok(verify);
    // verify reads every record and every blob once at least.
    assert!(verify_gets >= 3 * RECORDS as u64, "{verify_gets}");

    // report = verify + evaluation (every record again, and the canonical documents);
    // bundle = verify + evaluation + the archive (records, blobs, checkpoints again).
    // Read through the cache, the repeats cost a probe past the head and nothing else.
    let report = counted(&["--store", &url, "report", "--format", "json"]);
    let report_gets = gets(&report);
    ok(report);
    assert!(
        report_gets <= verify_gets + 2,
        "report made {report_gets} GETs, verify {verify_gets}"
    );
    let out = dir.path().join("b.tar.gz");
    let bundle = counted(&[
        "--store",
        &url,
        "bundle",
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "-o",
        out.to_str().unwrap(),
    ]);
    let bundle_gets = gets(&bundle);
    ok(bundle);
    assert!(
        bundle_gets <= verify_gets + 2,
        "bundle made {bundle_gets} GETs, verify {verify_gets}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cache_directory_serves_the_next_process_and_a_corrupt_entry_is_fetched_again() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let url = filled_store("cachedir", dir.path()).await;
    let c = cache.path().to_str().unwrap();
    let cold = counted(&["--store", &url, "--cache-dir", c, "verify"]);
    let cold_gets = gets(&cold);
    assert!(ok(cold).starts_with(&format!("OK: {RECORDS} records")));
    let blobs = entries(cache.path(), "blobs/sha256/");
    let records = entries(cache.path(), "chain/records/");
    assert_eq!((records.len(), blobs.len()), (RECORDS, 2 * RECORDS));

    // Warm: records and blobs come from the disk.
    let warm = counted(&["--store", &url, "--cache-dir", c, "verify"]);
    let warm_gets = gets(&warm);
    assert!(ok(warm).starts_with(&format!("OK: {RECORDS} records")));
    assert!(
        warm_gets + 3 * RECORDS as u64 <= cold_gets,
        "warm {warm_gets} GETs, cold {cold_gets}"
    );

    // One damaged blob entry and one damaged record entry: each is detected, fetched
    // again (two GETs more than warm) and repaired; the store still verifies.
    for entry in [&blobs[0], &records[0]] {
        let mut raw = std::fs::read(entry).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 0x20;
        std::fs::write(entry, &raw).unwrap();
    }
    let damaged = counted(&["--store", &url, "--cache-dir", c, "verify"]);
    let damaged_gets = gets(&damaged);
    let err = support::stderr(&damaged);
    assert!(ok(damaged).starts_with(&format!("OK: {RECORDS} records")));
    assert_eq!(damaged_gets, warm_gets + 2, "{err}");
    assert_eq!(err.matches("Cache entry corrupt").count(), 2, "{err}");
    let repaired = counted(&["--store", &url, "--cache-dir", c, "verify"]);
    assert_eq!(gets(&repaired), warm_gets);
}
