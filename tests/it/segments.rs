//! Segments on S3 (moto), through the command line: a store written before format 3 gets
//! its segments from `evidenced segments`, the writer that completes a segment writes it,
//! and from then on a cold read of the chain costs a request per segment plus the records
//! after the last one; `verify` checks every segment against the chain.

use evidenced::chain::{segment_key, EvidenceStore, SEGMENTS_PREFIX};
use evidenced::record::{Draft, Status};
use evidenced::store::LocalStore;
use futures::stream::{self, StreamExt};

use crate::support::{self, counted, ok, requests};

/// Records before the submit that completes segment 2.
const BEFORE: u64 = 1999;

/// A chain of `n` collector records written locally, then copied object by object into
/// `bucket` under `ev/` without its segments: a store as a format-2 writer left it.
async fn uploaded_chain(bucket: &str, n: u64) {
    let dir = tempfile::tempdir().unwrap();
    let local = EvidenceStore::new(LocalStore::new(dir.path()));
    for i in 0..n {
        let draft = Draft::empty(format!("c{}", i % 4), "backup", Status::Failed);
        local.append(draft, &[]).await.unwrap();
    }
    let mut files = Vec::new();
    let mut todo = vec![dir.path().to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p
                .strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .to_string();
            if p.is_dir() {
                if !rel.starts_with(".tmp") {
                    todo.push(p);
                }
            } else if !rel.starts_with(SEGMENTS_PREFIX) {
                files.push((rel, p));
            }
        }
    }
    let client = support::s3_client().await;
    stream::iter(files)
        .for_each_concurrent(16, |(rel, p)| {
            let client = client.clone();
            async move {
                client
                    .put_object()
                    .bucket(bucket)
                    .key(format!("ev/{rel}"))
                    .body(std::fs::read(p).unwrap().into())
                    .send()
                    .await
                    .unwrap();
            }
        })
        .await;
}

async fn segment_keys(bucket: &str) -> Vec<String> {
    let out = support::s3_client()
        .await
        .list_objects_v2()
        .bucket(bucket)
        .prefix(format!("ev/{SEGMENTS_PREFIX}"))
        .send()
        .await
        .unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(|k| k.trim_start_matches("ev/").to_string()))
        .collect()
}

fn log_json(url: &str) -> serde_json::Value {
    serde_json::from_str(&ok(support::run_s3(&[
        "--store", url, "log", "--format", "json",
    ])))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn segments_make_a_cold_read_cost_a_request_per_thousand_records_and_verify_checks_them() {
    let bucket = support::lock_bucket("segments").await;
    let url = format!("s3://{bucket}/ev");
    uploaded_chain(&bucket, BEFORE).await;
    let before = log_json(&url);

    // The submit that commits record 2000 writes segment 2.
    let dir = tempfile::tempdir().unwrap();
    let file = support::write(
        dir.path(),
        "rt.toml",
        &crate::store_local::restore_test("rt-seg"),
    );
    ok(support::run_s3(&["--store", &url, "submit", &file]));
    assert_eq!(segment_keys(&bucket).await, [segment_key(2000)]);

    // Segment 1 is the migration's.
    let out = ok(support::run_s3(&[
        "--store", &url, "segments", "--format", "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&v["written"], &v["present"], &v["head"], &v["after"]),
        (&1.into(), &2.into(), &2000.into(), &0.into()),
        "{out}"
    );
    assert_eq!(
        segment_keys(&bucket).await,
        [segment_key(1000), segment_key(2000)]
    );
    let again = ok(support::run_s3(&["--store", &url, "segments"]));
    assert!(again.starts_with("0 segment(s) written"), "{again}");

    // The same chain, read through two segments.
    let log = counted(&["--store", &url, "log", "--format", "json"]);
    let gets = requests(&log, "get");
    let lists = requests(&log, "list");
    let after: serde_json::Value = serde_json::from_str(&ok(log)).unwrap();
    let after = after.as_array().unwrap();
    assert_eq!(
        &after[..BEFORE as usize],
        before.as_array().unwrap().as_slice()
    );
    assert_eq!(after.len(), 2000);
    // GETs: the head and the probe past it, and the two segments (the pin of the last
    // record is the head already read). Listings: the segments, the records after the
    // last one (one page), and the record keys (a page per 1,000).
    assert_eq!(
        (gets, lists),
        (4, 4),
        "log of 2,000 records: {gets} GETs, {lists} listings"
    );

    // verify still reads every record object, and compares the segments with them.
    let verify = ok(support::run_s3(&[
        "--store", &url, "verify", "--format", "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&verify).unwrap();
    assert_eq!(v["ok"], true, "{verify}");
    assert_eq!(v["segments"]["checked"], 2);
    assert_eq!(v["segments"]["missing"], 0);
}
