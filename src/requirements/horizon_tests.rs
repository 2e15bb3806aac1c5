//! The evaluation's horizon: a load that reads back from the head only as far as the
//! horizon costs the records after it, gives the verdicts of a whole read, and never lets
//! evidence older than the horizon count.

use std::sync::atomic::Ordering;

use time::{Duration, OffsetDateTime};

use super::loaded::Loaded;
use super::{evaluate, Catalog, Evidence, Options, Status, Window};
use crate::chain::{blob_key, record_key, EvidenceStore};
use crate::digest::Digest;
use crate::record::{Item, Provenance, Record, Scope, Status as RunStatus, FORMAT_VERSION};
use crate::store::counting::Counting;
use crate::store::{LocalStore, ObjectStore};

const MEDIA: &str = "application/vnd.test.state+json";

/// A `within` rule over the test documents, and a `present` rule over a snapshot type,
/// with the shortest lookback the `within` rule allows.
fn catalog() -> Catalog {
    Catalog::parse(
        "test.toml",
        &format!(
            r#"
[settings]
lookback_days = 10

[[requirement]]
id = "W"
title = "A state within ten days"
rule = "within"
days = 10
[[requirement.evidence]]
media_type = "{MEDIA}"

[[requirement]]
id = "P"
title = "A snapshot present"
rule = "present"
[[requirement.evidence]]
media_type = "application/vnd.test.snapshot+json"
"#
        ),
    )
    .unwrap()
}

/// Write a chain of `n` records, record `i` recorded `i` hours after `start`, each with one
/// document (`media` of record 1, the test state of every other) of its own.
async fn chain(store: &LocalStore, start: OffsetDateTime, n: u64, first_media: &str) {
    let mut prev = Digest::ZERO;
    for seq in 1..=n {
        let at = start + Duration::hours(seq as i64);
        let blob = format!("{{\"n\":{seq}}}").into_bytes();
        let digest = Digest::of(&blob);
        store
            .put_if_absent(&blob_key(&digest), &blob)
            .await
            .unwrap();
        let record = Record {
            format: FORMAT_VERSION,
            seq,
            prev,
            recorded_at: at,
            collector: "state".into(),
            kind: "state".into(),
            scope: Scope::default(),
            status: RunStatus::Complete,
            errors: Vec::new(),
            items: vec![Item {
                name: "state.json".into(),
                digest,
                size: blob.len() as u64,
                media_type: if seq == 1 { first_media } else { MEDIA }.into(),
                observed_at: at,
            }],
            provenance: Provenance {
                program: "test".into(),
                writer_nonce: "0".repeat(32),
                caller_arn: None,
                api_calls: Vec::new(),
            },
        };
        let bytes = record.to_bytes().unwrap();
        prev = Digest::of_record(&bytes);
        store.put_if_absent(&record_key(seq), &bytes).await.unwrap();
    }
}

#[tokio::test]
async fn a_load_from_the_horizon_reads_back_only_to_it_and_gives_the_verdicts_of_a_whole_read() {
    let dir = tempfile::tempdir().unwrap();
    let start = time::macros::datetime!(2026-01-01 0:00 UTC);
    let n = 2_500;
    chain(&LocalStore::new(dir.path()), start, n, MEDIA).await;
    EvidenceStore::new(LocalStore::new(dir.path()))
        .backfill_segments()
        .await
        .unwrap();
    let catalog = catalog();
    let last = start + Duration::hours(n as i64);
    let w = Window {
        at: last,
        from: last,
        to: last,
    };
    let horizon = w.horizon(&catalog);
    assert_eq!(horizon, last - Duration::days(10));
    // Records 2,260 to 2,500 lie at or after the horizon.
    let kept = 241;

    let store = EvidenceStore::new(Counting::new(dir.path()));
    let (since, checked) = Evidence::load_since(&store, &catalog, horizon)
        .await
        .unwrap();
    assert_eq!(since.records.len(), kept);
    assert_eq!(since.records.first().unwrap().seq, n - kept as u64 + 1);
    assert_eq!(since.first_recorded(), Some(start + Duration::hours(1)));
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert_eq!(checked.last.map(|l| l.0), Some(n));
    let b = store.backend();
    // The 500 records after the last segment (the first of them, 2,001, is before the
    // horizon: where reading back stops), record 1, the head's discovery and the probe
    // past it: no segment, and never the 2,000 records before.
    assert!(
        b.record_gets.load(Ordering::SeqCst) <= 500 + 4,
        "{} record reads",
        b.record_gets.load(Ordering::SeqCst)
    );
    // Only the blobs of the records evaluation keeps.
    assert_eq!(b.blob_gets.load(Ordering::SeqCst), kept);

    let whole = Evidence::load(&EvidenceStore::new(LocalStore::new(dir.path())), &catalog)
        .await
        .unwrap();
    assert_eq!(whole.records.len(), n as usize);
    let opts = Options::default();
    let a = evaluate(&catalog, &since, w, &opts);
    let b = evaluate(&catalog, &whole, w, &opts);
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        serde_json::to_value(&b).unwrap()
    );
    assert_eq!(a.horizon.as_deref(), Some("2026-04-05T04:00:00Z"));

    // A review period 15 days back puts the horizon 25 days back, at record 1,900, inside
    // the segment of records 1,001 to 2,000: that segment is read (beside the 500 records
    // after it) and reading stops there, as it begins before the horizon.
    let w = Window {
        from: last - Duration::days(15),
        ..w
    };
    let store = EvidenceStore::new(Counting::new(dir.path()));
    let (since, checked) = Evidence::load_since(&store, &catalog, w.horizon(&catalog))
        .await
        .unwrap();
    assert!(checked.problems.is_empty(), "{:?}", checked.problems);
    assert_eq!(since.records.first().unwrap().seq, 1_900);
    assert_eq!(checked.first_seq, Some(1_001));
    let b = store.backend();
    assert!(
        b.record_gets.load(Ordering::SeqCst) <= 500 + 2 + 4,
        "{} record reads",
        b.record_gets.load(Ordering::SeqCst)
    );
    assert_eq!(
        serde_json::to_value(evaluate(&catalog, &since, w, &opts)).unwrap(),
        serde_json::to_value(evaluate(&catalog, &whole, w, &opts)).unwrap()
    );
}

#[tokio::test]
async fn evidence_recorded_before_the_horizon_never_counts() {
    let dir = tempfile::tempdir().unwrap();
    let start = time::macros::datetime!(2026-01-01 0:00 UTC);
    // Record 1 is the only snapshot; the 300 records after it span 12.5 days.
    chain(
        &LocalStore::new(dir.path()),
        start,
        301,
        "application/vnd.test.snapshot+json",
    )
    .await;
    let catalog = catalog();
    let last = start + Duration::hours(301);
    let w = Window {
        at: last,
        from: last,
        to: last,
    };
    let status = |e: &super::Evaluation, id: &str| {
        e.requirements.iter().find(|r| r.id == id).unwrap().status
    };
    let whole = Evidence::load(&EvidenceStore::new(LocalStore::new(dir.path())), &catalog)
        .await
        .unwrap();
    // Read over the whole chain (how a format-1 bundle was made), the old snapshot passes.
    let unbounded = Options {
        whole_chain: true,
        ..Options::default()
    };
    assert_eq!(
        status(&evaluate(&catalog, &whole, w, &unbounded), "P"),
        Status::Pass
    );
    // With the horizon, it is not evidence: whether given to evaluation or not; and the
    // finding does not say the store holds none, only that none was recorded since then.
    let opts = Options::default();
    let cut = evaluate(&catalog, &whole, w, &opts);
    assert_eq!(status(&cut, "P"), Status::Unknown);
    let findings = |e: &super::Evaluation, id: &str| {
        e.requirements
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .findings
            .clone()
    };
    assert_eq!(
        findings(&cut, "P"),
        ["no matching evidence recorded since the horizon, 2026-01-03 (evidence of type application/vnd.test.snapshot+json; what was recorded before it was not read)"]
    );
    assert_eq!(
        findings(&evaluate(&catalog, &whole, w, &unbounded), "P"),
        Vec::<String>::new()
    );
    let store = EvidenceStore::new(LocalStore::new(dir.path()));
    let (since, _) = Evidence::load_since(&store, &catalog, w.horizon(&catalog))
        .await
        .unwrap();
    assert!(since.records.iter().all(|r| r.seq > 1));
    let read = evaluate(&catalog, &since, w, &opts);
    assert_eq!(status(&read, "P"), Status::Unknown);
    assert_eq!(findings(&read, "P"), findings(&cut, "P"));
    // Evaluated a month on, nothing is left since the horizon: the within rule says so.
    let later = last + Duration::days(30);
    let w_later = Window {
        at: later,
        from: later,
        to: later,
    };
    let late = evaluate(&catalog, &whole, w_later, &opts);
    assert_eq!(status(&late, "W"), Status::Fail);
    assert_eq!(
        findings(&late, "W"),
        ["no matching evidence on record since the horizon, 2026-02-02"]
    );
    // The within rule still holds on the states after the horizon (due soon: its ten days
    // are within the catalog's 21-day lead).
    assert_eq!(
        status(&evaluate(&catalog, &since, w, &opts), "W"),
        Status::DueSoon
    );
}

#[tokio::test]
async fn the_daemon_s_held_evidence_drops_what_the_horizon_passes() {
    let dir = tempfile::tempdir().unwrap();
    let start = time::macros::datetime!(2026-01-01 0:00 UTC);
    chain(&LocalStore::new(dir.path()), start, 600, MEDIA).await;
    let catalog = catalog();
    let store = EvidenceStore::new(LocalStore::new(dir.path()));
    let first = start + Duration::hours(400);
    let mut loaded = Loaded::since(&catalog, first);
    loaded.refresh(&store).await.unwrap();
    assert_eq!(loaded.evidence().records.len(), 201);
    assert_eq!(loaded.evidence().blobs.len(), 201);
    loaded.advance_horizon(first + Duration::hours(100));
    assert_eq!(loaded.evidence().records.len(), 101);
    assert_eq!(loaded.evidence().blobs.len(), 101, "their blobs go too");
    assert_eq!(
        loaded.evidence().first_recorded(),
        Some(start + Duration::hours(1))
    );
    // An earlier horizon brings nothing back.
    loaded.advance_horizon(first);
    assert_eq!(loaded.evidence().records.len(), 101);
}

#[test]
fn a_lookback_shorter_than_the_rules_need_is_refused_naming_the_key() {
    let err = Catalog::parse(
        "short.toml",
        &format!(
            r#"
[settings]
lookback_days = 9

[[requirement]]
id = "W"
title = "A state within ten days"
rule = "within"
days = 10
[[requirement.evidence]]
media_type = "{MEDIA}"
"#
        ),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("short.toml: [settings] lookback_days: is 9, shorter than the 10 days"),
        "{err}"
    );
    let default = Catalog::default_catalog().unwrap();
    assert_eq!(default.min_lookback_days(), 395);
    assert_eq!(default.lookback_days(), 430);
}

#[tokio::test]
async fn a_chain_older_than_the_horizon_is_read_back_once_and_then_only_probed() {
    let dir = tempfile::tempdir().unwrap();
    let start = time::macros::datetime!(2026-01-01 0:00 UTC);
    chain(&LocalStore::new(dir.path()), start, 300, MEDIA).await;
    let store = EvidenceStore::new(Counting::new(dir.path()));
    let mut loaded = Loaded::since(&catalog(), start + Duration::days(30));
    let r = loaded.refresh(&store).await.unwrap();
    assert_eq!(r.records, 0);
    assert!(loaded.evidence().records.is_empty());
    // Nothing was read that a report could stand on.
    assert_eq!(loaded.checked().records, 0);
    assert!(loaded.checked().last.is_none());
    store.backend().reset();
    assert_eq!(loaded.refresh(&store).await.unwrap().records, 0);
    assert_eq!(store.backend().gets(), 1, "one probe past the head");
}
