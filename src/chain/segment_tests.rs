//! Segments as writers make them and readers take them (docs/FORMAT.md, "Segments").

use std::path::Path;
use std::sync::atomic::Ordering;

use super::segments::encode;
use super::*;
use crate::record::Status;
use crate::store::counting::Counting;
use crate::store::LocalStore;

fn draft(n: u64) -> Draft {
    Draft::empty(format!("c{}", n % 3), "test", Status::Failed)
}

/// A store of `n` records, committed one by one as writers do.
async fn chain_of(root: &Path, n: u64) -> EvidenceStore<LocalStore> {
    let store = EvidenceStore::new(LocalStore::new(root));
    for i in 0..n {
        store.append(draft(i), &[]).await.unwrap();
    }
    store
}

fn object(root: &Path, key: &str) -> Vec<u8> {
    std::fs::read(root.join(key)).unwrap()
}

/// Replace the object at `key` (Object Lock would refuse this: it is the attack).
fn overwrite(root: &Path, key: &str, bytes: &[u8]) {
    let path = root.join(key);
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Records `first..=last` re-made with another nonce and re-linked from `prev`: a forged
/// run whose every internal link holds.
fn forged_run(root: &Path, first: u64, last: u64, mut prev: Digest) -> Vec<Vec<u8>> {
    (first..=last)
        .map(|seq| {
            let mut r = Record::from_bytes(&object(root, &record_key(seq))).unwrap();
            r.prev = prev;
            r.provenance.writer_nonce = format!("{:032x}", seq + 7);
            let bytes = r.to_bytes().unwrap();
            prev = Digest::of_record(&bytes);
            bytes
        })
        .collect()
}

fn counted(root: &Path) -> EvidenceStore<Counting> {
    EvidenceStore::new(Counting::new(root))
}

#[tokio::test]
async fn writers_write_each_segment_as_they_complete_it_byte_for_byte_the_records() {
    let dir = tempfile::tempdir().unwrap();
    chain_of(dir.path(), 2500).await;
    let segments: Vec<String> = LocalStore::new(dir.path())
        .list(SEGMENTS_PREFIX)
        .await
        .unwrap();
    assert_eq!(segments, [segment_key(1000), segment_key(2000)]);
    for last in [1000, 2000] {
        let expected = encode(
            (first_of(last)..=last)
                .map(|s| object(dir.path(), &record_key(s)))
                .collect::<Vec<_>>()
                .iter()
                .map(Vec::as_slice),
        );
        assert_eq!(object(dir.path(), &segment_key(last)), expected);
    }
}

#[tokio::test]
async fn a_cold_read_of_the_chain_takes_a_request_per_segment_plus_the_records_after() {
    let dir = tempfile::tempdir().unwrap();
    chain_of(dir.path(), 2500).await;
    let plain: Vec<StoredRecord> = {
        let s = counted(dir.path());
        s.read_objects(&s.record_keys().await.unwrap())
            .await
            .unwrap()
    };
    let store = counted(dir.path());
    let records = store.records().await.unwrap();
    let c = store.backend();
    assert_eq!(
        c.record_gets.load(Ordering::SeqCst),
        500,
        "only the records after the last segment are read one by one"
    );
    assert_eq!(
        c.other_gets.load(Ordering::SeqCst),
        2,
        "one read per segment"
    );
    let got: Vec<_> = records.iter().map(|r| (r.seq, r.hash, &r.bytes)).collect();
    let want: Vec<_> = plain.iter().map(|r| (r.seq, r.hash, &r.bytes)).collect();
    assert_eq!(got, want);

    // A process that knows no head lists only what comes after the last segment.
    let store = counted(dir.path());
    let head = store.head().await.unwrap();
    assert_eq!(head.seq, 2500);
    let c = store.backend();
    assert_eq!(c.listed_keys.load(Ordering::SeqCst), 2 + 500);
    assert_eq!(
        c.record_gets.load(Ordering::SeqCst),
        2,
        "the head, and one probe past it"
    );
}

/// What a writer's commit reads, in a process that holds nothing yet (a `submit`).
async fn gets_of_one_commit(root: &Path, n: u64) -> usize {
    let store = counted(root);
    store.append(draft(n), &[]).await.unwrap();
    store.backend().gets()
}

#[tokio::test]
async fn the_commit_that_completes_a_segment_reads_that_segment_s_records_and_no_more() {
    let dir = tempfile::tempdir().unwrap();
    chain_of(dir.path(), 2 * SEGMENT_RECORDS - 1).await;
    let completing = gets_of_one_commit(dir.path(), 2 * SEGMENT_RECORDS).await;
    assert!(
        dir.path().join(segment_key(2 * SEGMENT_RECORDS)).is_file(),
        "the commit of record 2,000 writes the segment it completes"
    );
    let ordinary = gets_of_one_commit(dir.path(), 2 * SEGMENT_RECORDS + 1).await;
    let next = gets_of_one_commit(dir.path(), 2 * SEGMENT_RECORDS + 2).await;
    assert_eq!(
        ordinary, next,
        "an ordinary commit reads a constant number of objects"
    );
    assert_eq!(
        completing - ordinary,
        SEGMENT_RECORDS as usize - 1,
        "the segment's other records are read once, its own not at all, and nothing before the segment"
    );
}

#[tokio::test]
async fn a_writer_completing_a_segment_reads_back_only_the_records_others_committed() {
    let dir = tempfile::tempdir().unwrap();
    let half = SEGMENT_RECORDS / 2;
    // One process (a daemon) commits the first half of the segment; another (submits)
    // the rest but one; the first commits the record that completes it.
    let daemon = counted(dir.path());
    for i in 0..half {
        daemon.append(draft(i), &[]).await.unwrap();
    }
    let other = counted(dir.path());
    for i in half..SEGMENT_RECORDS - 1 {
        other.append(draft(i), &[]).await.unwrap();
    }
    daemon.backend().reset();
    daemon.append(draft(SEGMENT_RECORDS), &[]).await.unwrap();
    let completing = daemon.backend().gets();
    daemon.backend().reset();
    daemon
        .append(draft(SEGMENT_RECORDS + 1), &[])
        .await
        .unwrap();
    let ordinary = daemon.backend().gets();
    assert_eq!(
        completing - ordinary,
        (SEGMENT_RECORDS - half - 1) as usize,
        "the records the other process committed, each read once (finding the head), and none of its own"
    );
    let expected = encode(
        (1..=SEGMENT_RECORDS)
            .map(|s| object(dir.path(), &record_key(s)))
            .collect::<Vec<_>>()
            .iter()
            .map(Vec::as_slice),
    );
    assert_eq!(object(dir.path(), &segment_key(SEGMENT_RECORDS)), expected);
    let report = crate::verify::verify(&LocalStore::new(dir.path()), 2, &crate::verify::Silent)
        .await
        .unwrap();
    assert!(report.ok, "{:?}", report.problems);
}

#[tokio::test]
async fn a_segment_that_differs_from_the_chain_is_never_used_and_verify_names_it() {
    let dir = tempfile::tempdir().unwrap();
    chain_of(dir.path(), 2000).await;
    let truth: Vec<Digest> = counted(dir.path())
        .read_objects(&(1..=2000).map(|s| (s, record_key(s))).collect::<Vec<_>>())
        .await
        .unwrap()
        .iter()
        .map(|r| r.hash)
        .collect();

    // Segment 1: a whole forged run whose links hold inside it; its end does not link to
    // record 1001. Segment 2: forged too, and the chain ends with it: nothing after it
    // pins it but its last record's own object.
    let one = forged_run(dir.path(), 1, 1000, Digest::ZERO);
    let two_prev = Record::from_bytes(&object(dir.path(), &record_key(1001)))
        .unwrap()
        .prev;
    let two = forged_run(dir.path(), 1001, 2000, two_prev);
    for (last, run) in [(1000, &one), (2000, &two)] {
        overwrite(
            dir.path(),
            &segment_key(last),
            &encode(run.iter().map(Vec::as_slice)),
        );
        let store = counted(dir.path());
        let read: Vec<Digest> = store
            .records()
            .await
            .unwrap()
            .iter()
            .map(|r| r.hash)
            .collect();
        assert_eq!(read, truth, "segment {last}: the objects are what is read");
        let report = crate::verify::verify(&LocalStore::new(dir.path()), 2, &crate::verify::Silent)
            .await
            .unwrap();
        let mismatch: Vec<_> = report
            .problems
            .iter()
            .filter(|p| p.check == "segment-mismatch")
            .map(|p| (p.key.clone(), p.seq))
            .collect();
        assert_eq!(
            mismatch,
            [(segment_key(last), Some(first_of(last)))],
            "{:?}",
            report.problems
        );
        // Put the true segment back for the next case.
        let s = EvidenceStore::new(LocalStore::new(dir.path()));
        let keys: Vec<_> = (first_of(last)..=last)
            .map(|s| (s, record_key(s)))
            .collect();
        let records = s.read_objects(&keys).await.unwrap();
        overwrite(
            dir.path(),
            &segment_key(last),
            &encode(records.iter().map(|r| r.bytes.as_slice())),
        );
    }
    let report = crate::verify::verify(&LocalStore::new(dir.path()), 2, &crate::verify::Silent)
        .await
        .unwrap();
    assert!(report.ok, "{:?}", report.problems);
    assert_eq!(
        report.segments,
        Some(crate::verify::Segments {
            checked: 2,
            missing: 0
        })
    );
}

#[tokio::test]
async fn verify_names_a_cut_segment_and_a_stray_key_and_counts_the_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    chain_of(dir.path(), 3000).await;
    let s2 = object(dir.path(), &segment_key(2000));
    overwrite(dir.path(), &segment_key(2000), &s2[..s2.len() / 2]);
    std::fs::remove_file(dir.path().join(segment_key(3000))).unwrap();
    std::fs::write(dir.path().join("chain/segments/notes.txt"), b"x").unwrap();
    let report = crate::verify::verify(&LocalStore::new(dir.path()), 2, &crate::verify::Silent)
        .await
        .unwrap();
    let checks: Vec<_> = report
        .problems
        .iter()
        .map(|p| (p.check, p.key.as_str()))
        .collect();
    assert_eq!(
        checks,
        [
            ("unexpected-key", "chain/segments/notes.txt"),
            ("unreadable-segment", segment_key(2000).as_str()),
        ]
    );
    assert_eq!(
        report.segments,
        Some(crate::verify::Segments {
            checked: 2,
            missing: 1
        })
    );
    // Readers do not stumble on the cut segment: they read its records one by one.
    std::fs::remove_file(dir.path().join("chain/segments/notes.txt")).unwrap();
    let records = counted(dir.path()).records().await.unwrap();
    assert_eq!(records.len(), 3000);
    assert!(records.windows(2).all(|w| w[1].record.prev == w[0].hash));
}

#[tokio::test]
async fn backfill_writes_the_segments_of_a_store_written_before_format_3() {
    let dir = tempfile::tempdir().unwrap();
    chain_of(dir.path(), 2100).await;
    let before: Vec<Vec<u8>> = [1000, 2000]
        .iter()
        .map(|l| object(dir.path(), &segment_key(*l)))
        .collect();
    std::fs::remove_dir_all(dir.path().join(SEGMENTS_PREFIX)).unwrap();
    let store = EvidenceStore::new(LocalStore::new(dir.path()));
    assert_eq!(store.backfill_segments().await.unwrap(), 2);
    let after: Vec<Vec<u8>> = [1000, 2000]
        .iter()
        .map(|l| object(dir.path(), &segment_key(*l)))
        .collect();
    assert_eq!(after, before, "the same bytes as the writers made");
    assert_eq!(store.backfill_segments().await.unwrap(), 0, "nothing twice");
    // A broken link is never copied into a segment.
    std::fs::remove_dir_all(dir.path().join(SEGMENTS_PREFIX)).unwrap();
    let r5 = object(dir.path(), &record_key(5));
    let mut altered = Record::from_bytes(&r5).unwrap();
    altered.provenance.writer_nonce = "f".repeat(32);
    overwrite(dir.path(), &record_key(5), &altered.to_bytes().unwrap());
    let store = EvidenceStore::new(LocalStore::new(dir.path()));
    let err = store.backfill_segments().await.unwrap_err().to_string();
    assert!(err.contains(&record_key(6)), "{err}");
    assert!(!dir.path().join(segment_key(1000)).exists());
}

#[tokio::test]
async fn a_stray_record_zero_is_read_as_an_object_beside_the_segment() {
    let dir = tempfile::tempdir().unwrap();
    chain_of(dir.path(), 1000).await;
    // Not a valid place (verify names it); readers return it as the objects do.
    std::fs::write(
        dir.path().join(record_key(0)),
        object(dir.path(), &record_key(1)),
    )
    .unwrap();
    let store = counted(dir.path());
    let records = store.records().await.unwrap();
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (0..=1000).collect::<Vec<_>>());
    assert_eq!(
        store.backend().other_gets.load(Ordering::SeqCst),
        1,
        "records 1 to 1000 from the segment"
    );
}
