//! Auditor bundles: round trip (`report --bundle` equals `report`; `verify` is clean),
//! tampering of any member is located, and hostile archives are refused without writing
//! outside a temporary directory.

use std::io::Read;
use std::path::{Path, PathBuf};

use evidenced::chain::EvidenceStore;
use evidenced::store::LocalStore;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::checkpoint::{signed_store, Signed};
use crate::evidence_fixtures::{drill, job, restore_jobs_draft};
use crate::support::{ok, run, stdout, write};

fn ts(t: OffsetDateTime) -> String {
    evidenced::human::fmt_time(t)
}

pub struct Fixture {
    pub s: Signed,
    pub bundle: PathBuf,
    pub at: String,
    pub from: String,
    pub to: String,
}

/// A signed store with human records and machine restore jobs, and its bundle.
pub async fn fixture() -> Fixture {
    let s = signed_store();
    let now = OffsetDateTime::now_utc();
    let store = EvidenceStore::new(LocalStore::new(&s.store));
    let q = now - Duration::days(100);
    let (draft, blob) = restore_jobs_draft(
        json!([
            job("j-ok", "COMPLETED", q, Some("SUCCESSFUL")),
            job("j-bad", "FAILED", q, None)
        ]),
        q,
    );
    store
        .append(draft, &[evidenced::digest::Blob::new(blob)])
        .await
        .unwrap();
    // One more submission through the CLI so a checkpoint covers the head.
    let f = write(
        s.dir.path(),
        "rt.toml",
        &drill("restore-test", "rt-now", now - Duration::days(2), "pass"),
    );
    ok(run(&[
        "--config", &s.config, "--store", &s.store, "submit", &f,
    ]));
    let at = ts(now + Duration::minutes(1));
    let from = ts(now - Duration::days(365));
    let to = at.clone();
    let bundle = s.dir.path().join("audit.tar.gz");
    let out = ok(run(&[
        "--store",
        &s.store,
        "bundle",
        "--from",
        &from,
        "--to",
        &to,
        "--at",
        &at,
        "-o",
        bundle.to_str().unwrap(),
    ]));
    assert!(out.contains("records (1.."), "{out}");
    Fixture {
        s,
        bundle,
        at,
        from,
        to,
    }
}

pub fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap();
    let mut a = tar::Archive::new(flate2::read::MultiGzDecoder::new(f));
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            (name, v)
        })
        .collect()
}

pub fn pack(members: &[(String, Vec<u8>)], path: &Path) {
    let f = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        f,
        flate2::Compression::fast(),
    ));
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
}

/// A report without its header's store facts (the store path and head of a report made
/// from a bundle name the bundle; everything the evaluation says must be equal).
pub fn without_basis(text: &str) -> String {
    if let Ok(mut v) = serde_json::from_str::<serde_json::Value>(text) {
        v.as_object_mut().unwrap().remove("basis");
        return serde_json::to_string_pretty(&v).unwrap();
    }
    let mut out = String::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.starts_with("<table id=\"basis\">") {
            in_table = true;
        }
        let md = [
            "- Store:",
            "- Chain id:",
            "- Head:",
            "- Verified:",
            "- Checked:",
            "- Problem:",
            "- Program:",
        ];
        if !in_table && !md.iter().any(|p| line.starts_with(p)) {
            out.push_str(line);
            out.push('\n');
        }
        if in_table && line == "</table>" {
            in_table = false;
        }
    }
    out
}

pub fn verify(bundle: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["verify", bundle.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&args);
    (out.status.code(), stdout(&out))
}

#[tokio::test]
async fn report_from_the_bundle_equals_report_from_the_store_and_verify_is_clean() {
    let fx = fixture().await;
    let (code, out) = verify(&fx.bundle, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("OK:"), "{out}");

    for format in ["json", "md", "html"] {
        let from_store = ok(run(&[
            "--store",
            &fx.s.store,
            "report",
            "--format",
            format,
            "--at",
            &fx.at,
            "--from",
            &fx.from,
            "--to",
            &fx.to,
        ]));
        let from_bundle = ok(run(&[
            "report",
            "--bundle",
            fx.bundle.to_str().unwrap(),
            "--format",
            format,
        ]));
        assert_eq!(
            without_basis(&from_store),
            without_basis(&from_bundle),
            "{format} differs"
        );
        assert!(
            from_bundle.contains(&format!("bundle {}", fx.bundle.display())),
            "the report from a bundle names the bundle: {from_bundle}"
        );
        let bundled = members(&fx.bundle)
            .into_iter()
            .find(|(n, _)| *n == format!("report/report.{format}"))
            .unwrap()
            .1;
        assert_eq!(
            String::from_utf8(bundled).unwrap(),
            from_store,
            "bundled {format} report differs"
        );
    }
    // The machine evidence made it into the bundle and the report.
    let v: serde_json::Value = serde_json::from_str(&ok(run(&[
        "report",
        "--bundle",
        fx.bundle.to_str().unwrap(),
        "--format",
        "json",
    ])))
    .unwrap();
    let bar = v["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "BAR-002")
        .unwrap();
    assert!(
        bar["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["label"] == "restore job j-ok (111122223333/us-east-1)"),
        "{bar:#}"
    );
    assert!(!bar["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["label"] == "restore job j-bad (111122223333/us-east-1)"));
}

#[tokio::test]
async fn the_bundle_has_the_documented_layout() {
    let fx = fixture().await;
    let m = members(&fx.bundle);
    let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "bundle.json",
        "MANIFEST",
        "VERIFY.md",
        "docs/FORMAT.md",
        "docs/FORMAT-checkpoints-bundles.md",
        "docs/RULES.md",
        "catalog/requirements.toml",
        "report/report.json",
        "report/report.md",
        "report/report.html",
        "store/chain/records/00000000000000000001.json",
    ] {
        assert!(names.contains(&want), "{want} missing: {names:?}");
    }
    assert!(names
        .iter()
        .any(|n| n.starts_with("store/chain/checkpoints/")));
    assert!(names
        .iter()
        .any(|n| n.starts_with("store/chain/keys/") && n.ends_with(".pem")));
    // MANIFEST lists every other file with its SHA-256, as sha256sum -c reads it.
    let manifest =
        String::from_utf8(m.iter().find(|(n, _)| n == "MANIFEST").unwrap().1.clone()).unwrap();
    assert_eq!(manifest.lines().count(), m.len() - 1);
    for (name, data) in &m {
        if name != "MANIFEST" {
            let line = format!("{}  {name}", evidenced::digest::Digest::of(data).hex());
            assert!(
                manifest.lines().any(|l| l == line),
                "{name} not listed correctly"
            );
        }
    }
}

#[tokio::test]
async fn a_bundle_for_a_later_period_leaves_out_earlier_blobs_the_report_does_not_read() {
    let fx = fixture().await;
    // The period starts after the six example submissions (records 1 to 6).
    let r6 = std::fs::read(Path::new(&fx.s.store).join(evidenced::chain::record_key(6))).unwrap();
    let r6 = evidenced::record::Record::from_bytes(&r6).unwrap();
    let from = ts(r6.recorded_at + Duration::milliseconds(1));
    let p = fx.s.dir.path().join("later.tar.gz");
    ok(run(&[
        "--store",
        &fx.s.store,
        "bundle",
        "--from",
        &from,
        "--to",
        &fx.to,
        "--at",
        &fx.at,
        "-o",
        p.to_str().unwrap(),
    ]));
    let names: Vec<String> = members(&p).into_iter().map(|(n, _)| n).collect();
    // Every record is there (links verify from the start), the original drill files of
    // records 1 to 6 are not (the report reads only their normalised form).
    assert!(names.contains(&"store/chain/records/00000000000000000001.json".to_string()));
    let original = r6
        .items
        .iter()
        .find(|i| i.name.starts_with("original/"))
        .unwrap();
    let normalised = r6
        .items
        .iter()
        .find(|i| i.name.starts_with("record/"))
        .unwrap();
    assert!(!names.contains(&format!(
        "store/{}",
        evidenced::chain::blob_key(&original.digest)
    )));
    assert!(names.contains(&format!(
        "store/{}",
        evidenced::chain::blob_key(&normalised.digest)
    )));

    let (code, out) = verify(&p, &[]);
    assert_eq!(code, Some(0), "{out}");
    let from_store = ok(run(&[
        "--store",
        &fx.s.store,
        "report",
        "--format",
        "json",
        "--at",
        &fx.at,
        "--from",
        &from,
        "--to",
        &fx.to,
    ]));
    let from_bundle = ok(run(&[
        "report",
        "--bundle",
        p.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(without_basis(&from_store), without_basis(&from_bundle));

    // A blob referenced only by the period's records is still required.
    let store = EvidenceStore::new(LocalStore::new(&fx.s.store));
    let records = store.records().await.unwrap();
    let digests = |later: bool| -> std::collections::BTreeSet<String> {
        records
            .iter()
            .filter(|r| (r.seq > 6) == later)
            .flat_map(|r| r.record.items.iter().map(|i| i.digest.hex()))
            .collect()
    };
    let (early, late) = (digests(false), digests(true));
    let m = members(&p);
    let idx = m
        .iter()
        .position(|(n, _)| {
            let hex = n.rsplit('/').next().unwrap();
            n.starts_with("store/blobs/") && late.contains(hex) && !early.contains(hex)
        })
        .unwrap();
    let mut kept = m.clone();
    let gone = kept.remove(idx).0;
    let q = fx.s.dir.path().join("later-missing.tar.gz");
    pack(&kept, &q);
    let (code, out) = verify(&q, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("PROBLEM missing-blob") && out.contains(&format!("key={gone}")),
        "{out}"
    );
}

#[tokio::test]
async fn a_bundle_made_with_a_lead_time_reports_and_verifies_with_it() {
    let fx = fixture().await;
    let p = fx.s.dir.path().join("lead.tar.gz");
    ok(run(&[
        "--store",
        &fx.s.store,
        "bundle",
        "--from",
        &fx.from,
        "--to",
        &fx.to,
        "--at",
        &fx.at,
        "--lead-days",
        "200",
        "-o",
        p.to_str().unwrap(),
    ]));
    let (code, out) = verify(&p, &[]);
    assert_eq!(code, Some(0), "{out}");
    let from_store = ok(run(&[
        "--store",
        &fx.s.store,
        "report",
        "--format",
        "json",
        "--at",
        &fx.at,
        "--from",
        &fx.from,
        "--to",
        &fx.to,
        "--lead-days",
        "200",
    ]));
    let from_bundle = ok(run(&[
        "report",
        "--bundle",
        p.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(without_basis(&from_store), without_basis(&from_bundle));
    // 200 days of lead turns the example drills (months old) due-soon.
    assert!(
        from_bundle.contains("\"status\": \"due-soon\""),
        "{from_bundle}"
    );
}
