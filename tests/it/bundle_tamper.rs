//! Tampered bundles: a flipped byte in any member, a removed record, a tail truncated past
//! the checkpoint, a report rewritten with its MANIFEST: each is detected and located.

use serde_json::json;

use crate::bundle::{fixture, members, pack, verify};

#[tokio::test]
async fn flipping_a_byte_in_any_member_is_detected_and_located() {
    let fx = fixture().await;
    let m = members(&fx.bundle);
    let dir = fx.s.dir.path();
    for i in 0..m.len() {
        let mut changed = m.clone();
        let data = &mut changed[i].1;
        let pos = data.len() / 2;
        data[pos] ^= 0x01;
        let p = dir.join(format!("flip-{i}.tar.gz"));
        pack(&changed, &p);
        let (code, out) = verify(&p, &[]);
        let name = &m[i].0;
        assert_eq!(
            code,
            Some(1),
            "flipping a byte of {name} went unnoticed:\n{out}"
        );
        if name != "MANIFEST" {
            assert!(
                out.contains(&format!("key={name}")),
                "{name} not located:\n{out}"
            );
        } else {
            assert!(out.contains("MANIFEST"), "{out}");
        }
    }
}

#[tokio::test]
async fn removing_a_record_is_detected_and_located() {
    let fx = fixture().await;
    let m = members(&fx.bundle);
    let gone = "store/chain/records/00000000000000000003.json";
    let kept: Vec<_> = m.iter().filter(|(n, _)| n != gone).cloned().collect();
    let p = fx.s.dir.path().join("removed.tar.gz");
    pack(&kept, &p);
    let (code, out) = verify(&p, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("PROBLEM missing-record seq=3"), "{out}");
    assert!(
        out.contains("PROBLEM manifest-file-missing") && out.contains(&format!("key={gone}")),
        "{out}"
    );
}

#[tokio::test]
async fn truncating_the_chain_past_the_checkpoint_is_detected_even_with_a_consistent_manifest() {
    let fx = fixture().await;
    let m = members(&fx.bundle);
    let meta: serde_json::Value =
        serde_json::from_slice(&m.iter().find(|(n, _)| n == "bundle.json").unwrap().1).unwrap();
    let last = meta["last_seq"].as_u64().unwrap();
    assert_eq!(meta["checkpoint_seq"].as_u64(), Some(last));
    let cut: Vec<String> = (last - 1..=last)
        .map(|s| format!("store/chain/records/{s:020}.json"))
        .collect();
    // The attacker drops the tail and rewrites bundle.json and MANIFEST to match; only the
    // signed checkpoint still names the old head.
    let mut kept: Vec<(String, Vec<u8>)> = Vec::new();
    for (n, d) in &m {
        if cut.contains(n) || n == "MANIFEST" {
            continue;
        }
        if n == "bundle.json" {
            let mut v = meta.clone();
            v["last_seq"] = json!(last - 2);
            kept.push((n.clone(), serde_json::to_vec_pretty(&v).unwrap()));
        } else {
            kept.push((n.clone(), d.clone()));
        }
    }
    let manifest = manifest_of(&kept);
    kept.push(("MANIFEST".into(), manifest.into_bytes()));
    let p = fx.s.dir.path().join("truncated.tar.gz");
    pack(&kept, &p);
    let (code, out) = verify(&p, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("PROBLEM chain-truncated seq={last}")),
        "{out}"
    );
    assert!(
        !out.contains("manifest-"),
        "the manifest was made consistent: {out}"
    );
}

#[tokio::test]
async fn a_report_rewritten_together_with_the_manifest_is_detected() {
    let fx = fixture().await;
    let mut m = members(&fx.bundle);
    let report = m
        .iter_mut()
        .find(|(n, _)| n == "report/report.json")
        .unwrap();
    let text = String::from_utf8(report.1.clone()).unwrap();
    assert!(text.contains("\"status\": \"fail\""));
    report.1 = text
        .replace("\"status\": \"fail\"", "\"status\": \"pass\"")
        .into_bytes();
    m.retain(|(n, _)| n != "MANIFEST");
    let manifest = manifest_of(&m);
    m.push(("MANIFEST".into(), manifest.into_bytes()));
    let p = fx.s.dir.path().join("rewritten.tar.gz");
    pack(&m, &p);
    let (code, out) = verify(&p, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("PROBLEM report-mismatch key=report/report.json"),
        "{out}"
    );
    assert!(!out.contains("manifest-"), "{out}");
}

/// A MANIFEST for `members`, sorted by path as the format requires (what a careful
/// attacker would write).
fn manifest_of(members: &[(String, Vec<u8>)]) -> String {
    let mut lines: Vec<String> = members
        .iter()
        .map(|(n, d)| format!("{}  {n}\n", evidenced::digest::Digest::of(d).hex()))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat()
}
