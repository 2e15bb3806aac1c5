//! The same guarantees on S3: moto server, bucket with Object Lock and versioning.

use std::process::Command;

use crate::store_local::{restore_test, round_trip, two_writers};
use crate::support::{self, ok, run_s3};

#[tokio::test(flavor = "multi_thread")]
async fn s3_round_trip_submit_verify_log() {
    let bucket = support::lock_bucket("roundtrip").await;
    let url = format!("s3://{bucket}/evidence");
    round_trip(run_s3, &url);
    // Objects landed under the prefix, and each record carries the SHA-256 checksum.
    let client = support::s3_client().await;
    let listed = client
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("evidence/chain/records/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), support::example_files().len());
    let head = client
        .get_object()
        .bucket(&bucket)
        .key(keys[0])
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    let sent = head.checksum_sha256().map(str::to_string);
    let body = head.body.collect().await.unwrap().into_bytes();
    assert_eq!(
        sent.as_deref(),
        Some(evidenced::digest::Digest::of(&body).base64().as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_two_processes_never_fork_the_chain() {
    let bucket = support::lock_bucket("twowriters").await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("s3://{bucket}/chain-test");
    tokio::task::spawn_blocking(move || two_writers(&url, dir.path(), true))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_writer_killed_between_blobs_and_record_leaves_a_verifiable_store() {
    let bucket = support::lock_bucket("crash").await;
    let url = format!("s3://{bucket}/p");
    let dir = tempfile::tempdir().unwrap();
    let first = support::write(dir.path(), "a.toml", &restore_test("a"));
    ok(run_s3(&["--store", &url, "submit", &first]));
    let second = support::write(dir.path(), "b.toml", &restore_test("b"));
    let mut cmd = Command::new(support::bin());
    cmd.args(["--store", &url, "submit", &second]);
    support::moto_env(&mut cmd);
    let paused = support::spawn_until_failpoint(cmd, "after-blobs");
    paused.kill();
    assert!(ok(run_s3(&["--store", &url, "verify"])).starts_with("OK: 1 records"));
    let out = ok(run_s3(&["--store", &url, "submit", &second]));
    assert!(out.contains("as record 2"), "{out}");
    assert!(ok(run_s3(&["--store", &url, "verify"])).starts_with("OK: 2 records"));
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_conditional_create_refuses_to_overwrite() {
    use evidenced::store::{ObjectStore, PutOutcome, S3Store};
    let bucket = support::lock_bucket("ifnonematch").await;
    let store = S3Store::new(support::s3_client().await, &bucket, "x");
    assert_eq!(
        store.put_if_absent("k/one", b"first").await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        store.put_if_absent("k/one", b"second").await.unwrap(),
        PutOutcome::AlreadyExists
    );
    assert_eq!(store.get("k/one").await.unwrap().unwrap(), b"first");
    assert_eq!(store.head("k/one").await.unwrap(), Some(5));
    assert_eq!(store.get("k/none").await.unwrap(), None);
    assert_eq!(store.list("k/").await.unwrap(), vec!["k/one".to_string()]);
}
