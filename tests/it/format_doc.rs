//! docs/FORMAT.md is a contract: its worked example and its shell verifier are checked here.

use std::collections::HashMap;

use crate::support::{self, ok, root, run};
use evidenced::canonical;
use evidenced::digest::Digest;
use evidenced::record::Record;

/// Fenced blocks that follow `<!-- check:NAME -->` markers, by name.
fn checked_blocks() -> HashMap<String, String> {
    let doc = std::fs::read_to_string(root().join("docs/FORMAT.md")).unwrap();
    let mut out = HashMap::new();
    let mut lines = doc.lines();
    while let Some(line) = lines.next() {
        if let Some(name) = line
            .strip_prefix("<!-- check:")
            .and_then(|l| l.strip_suffix(" -->"))
        {
            let fence = lines.next().unwrap();
            assert!(
                fence.starts_with("```"),
                "{name}: no fenced block after the marker"
            );
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            out.insert(name.to_string(), body.join("\n"));
        }
    }
    out
}

#[test]
fn worked_example_hashes_are_real() {
    let b = checked_blocks();
    let original = format!("{}\n", b["original"]);
    assert_eq!(original.len(), 215);
    assert_eq!(
        Digest::of(original.as_bytes()).to_string(),
        b["original-digest"]
    );

    let canonical_doc = &b["canonical"];
    assert_eq!(canonical_doc.len(), 352);
    assert!(canonical::is_canonical(canonical_doc.as_bytes()));
    assert_eq!(
        Digest::of(canonical_doc.as_bytes()).to_string(),
        b["canonical-digest"]
    );

    // The normalised form is what the parser produces from the original.
    let parsed = evidenced::human::parse(
        "tt-2026-04.json",
        original.as_bytes(),
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    assert_eq!(
        canonical::value_to_vec(&parsed.canonical).unwrap(),
        canonical_doc.as_bytes()
    );

    let record_bytes = b["record"].as_bytes();
    assert!(canonical::is_canonical(record_bytes));
    let record = Record::from_bytes(record_bytes).unwrap();
    assert_eq!(
        record.to_bytes().unwrap(),
        record_bytes,
        "record does not round-trip"
    );
    assert_eq!(record.seq, 1);
    assert_eq!(record.prev, Digest::ZERO);
    assert_eq!(record.items[0].digest.to_string(), b["canonical-digest"]);
    assert_eq!(record.items[0].size, 352);
    assert_eq!(record.items[1].digest.to_string(), b["original-digest"]);
    assert_eq!(record.items[1].size, 215);
    assert_eq!(
        Digest::of_record(record_bytes).to_string(),
        b["record-hash"]
    );
    assert_eq!(record.format, evidenced::record::FORMAT_VERSION);

    // The id's claim and binding name that content and that record.
    for name in ["claim", "binding"] {
        assert!(canonical::is_canonical(b[name].as_bytes()), "{name}");
    }
    let claim: evidenced::ids::Claim = serde_json::from_str(&b["claim"]).unwrap();
    assert_eq!(canonical::to_vec(&claim).unwrap(), b["claim"].as_bytes());
    assert_eq!(
        (claim.kind.as_str(), claim.id.as_str()),
        ("tabletop", "tt-2026-04")
    );
    assert_eq!(claim.digest.to_string(), b["canonical-digest"]);
    assert_eq!(claim.original.to_string(), b["original-digest"]);
    assert_eq!(claim.after_seq, record.seq - 1);
    assert!(claim.claimed_at <= record.recorded_at);
    let binding: evidenced::ids::Binding = serde_json::from_str(&b["binding"]).unwrap();
    assert_eq!(
        canonical::to_vec(&binding).unwrap(),
        b["binding"].as_bytes()
    );
    assert_eq!(binding.hash.to_string(), b["record-hash"]);
    assert_eq!(binding.seq, 1);
    assert_eq!(binding.digest, claim.digest);
}

/// The shell-only verifier in docs/FORMAT.md agrees with `evidenced verify`.
#[test]
fn shell_verifier_in_the_doc_checks_a_real_store() {
    let doc = std::fs::read_to_string(root().join("docs/FORMAT.md")).unwrap();
    let start = doc
        .find("# Chain: sequence continuity")
        .expect("shell block");
    let end = doc[start..].find("```").expect("end of shell block") + start;
    let script = &doc[start..end];

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let mut args = vec![
        "--store".to_string(),
        store.display().to_string(),
        "submit".to_string(),
    ];
    args.extend(
        support::example_files()
            .iter()
            .map(|p| p.display().to_string()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(run(&args));
    let verify = ok(run(&["--store", store.to_str().unwrap(), "verify"]));
    let head = verify
        .lines()
        .next()
        .and_then(|l| l.split("head ").nth(1))
        .unwrap()
        .trim()
        .to_string();

    let sh = |s: &std::path::Path| {
        std::process::Command::new("bash")
            .args(["-c", script])
            .current_dir(s)
            .output()
            .expect("bash, jq and sha256sum are needed for this test")
    };
    let out = sh(&store);
    let text = format!("{}{}", support::stdout(&out), support::stderr(&out));
    assert!(!text.contains("PROBLEM"), "{text}");
    assert!(text.contains(&format!("head: record {head}")), "{text}");
    assert!(text.contains("blobs OK"), "{text}");

    // And it notices damage.
    let rec = store.join("chain/records/00000000000000000002.json");
    let mut bytes = std::fs::read(&rec).unwrap();
    let pos = bytes.iter().position(|&b| b == b'c').unwrap();
    bytes[pos] = b'd';
    std::fs::write(&rec, bytes).unwrap();
    let out = sh(&store);
    let text = support::stdout(&out);
    assert!(
        text.contains("PROBLEM: chain/records/00000000000000000003.json: prev"),
        "{text}"
    );
}

/// The segment check of the shell verifier agrees with `evidenced verify`: a store of 1,000
/// records has one segment, which the script accepts, and a segment with one byte changed
/// is named by both.
#[tokio::test]
async fn shell_verifier_in_the_doc_checks_segments() {
    let doc = std::fs::read_to_string(root().join("docs/FORMAT.md")).unwrap();
    let start = doc.find("# Segments: each one is").expect("segment block");
    let end = doc[start..].find("# Blobs:").expect("end of segment block") + start;
    let script = &doc[start..end];

    let dir = tempfile::tempdir().unwrap();
    let store = evidenced::chain::EvidenceStore::new(evidenced::store::LocalStore::new(dir.path()));
    for _ in 0..evidenced::chain::SEGMENT_RECORDS {
        let draft =
            evidenced::record::Draft::empty("c", "backup", evidenced::record::Status::Failed);
        store.append(draft, &[]).await.unwrap();
    }
    let segment = dir.path().join(evidenced::chain::segment_key(1000));
    assert!(
        segment.exists(),
        "the writer of record 1000 wrote segment 1"
    );
    let sh = || {
        let out = std::process::Command::new("bash")
            .args(["-c", script])
            .current_dir(dir.path())
            .output()
            .expect("bash");
        format!("{}{}", support::stdout(&out), support::stderr(&out))
    };
    let verify = || {
        support::run(&[
            "--store",
            dir.path().to_str().unwrap(),
            "verify",
            "--format",
            "json",
        ])
    };
    assert!(!sh().contains("PROBLEM"), "{}", sh());
    assert_eq!(verify().status.code(), Some(0));

    let mut bytes = std::fs::read(&segment).unwrap();
    // A digit in the middle (of a hash or a nonce): the segment keeps its lines.
    let mid = bytes.len() / 2;
    let at = mid + bytes[mid..].iter().position(u8::is_ascii_digit).unwrap();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    let mut perms = std::fs::metadata(&segment).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&segment, perms).unwrap();
    std::fs::write(&segment, bytes).unwrap();
    let text = sh();
    assert!(
        text.contains(
            "PROBLEM: chain/segments/00000000000000001000.jsonl differs from records 1 to 1000"
        ),
        "{text}"
    );
    let out = verify();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        support::stdout(&out).contains("segment-mismatch"),
        "{}",
        support::stdout(&out)
    );
}
