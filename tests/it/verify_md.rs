//! The bundled VERIFY.md script, run as an auditor would (bash, tar, sha256sum, jq, base64,
//! openssl): it passes a clean bundle, stops with FAILED on each tampered one, and writes
//! nothing outside its own temporary directory.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::bundle::{fixture, members, pack};

/// The script block of the VERIFY.md inside `bundle`.
pub fn script(bundle: &Path) -> String {
    let doc = members(bundle)
        .into_iter()
        .find(|(n, _)| n == "VERIFY.md")
        .map(|(_, b)| String::from_utf8(b).unwrap())
        .unwrap();
    let start = doc.find("```sh\nset -eu\n").expect("the script block") + "```sh\n".len();
    doc[start..][..doc[start..].find("```").unwrap()].to_string()
}

/// Run the script on `bundle` from a directory holding only the bundle and the script;
/// returns (exit code, output) and checks that the directory is left as it was.
pub fn run_script(script: &str, bundle: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(bundle, dir.path().join("audit.tar.gz")).unwrap();
    std::fs::write(dir.path().join("verify.sh"), script).unwrap();
    let out = Command::new("bash")
        .args(["verify.sh", "audit.tar.gz"])
        .args(extra)
        .current_dir(dir.path())
        .output()
        .expect("bash");
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["audit.tar.gz", "verify.sh"],
        "the script wrote beside the bundle"
    );
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn manifest_of(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut lines: Vec<String> = members
        .iter()
        .filter(|(n, _)| n != "MANIFEST")
        .map(|(n, d)| format!("{}  {n}\n", evidenced::digest::Digest::of(d).hex()))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat().into_bytes()
}

/// Repack `members` with a MANIFEST made consistent with them (a careful attacker).
pub fn repack(dir: &Path, name: &str, mut m: Vec<(String, Vec<u8>)>) -> std::path::PathBuf {
    let manifest = manifest_of(&m);
    m.retain(|(n, _)| n != "MANIFEST");
    m.push(("MANIFEST".into(), manifest));
    let p = dir.join(name);
    pack(&m, &p);
    p
}

#[tokio::test]
async fn verify_md_passes_a_clean_bundle_and_fails_each_tampered_one() {
    let fx = fixture().await;
    let s = script(&fx.bundle);
    let (code, out) = run_script(&s, &fx.bundle, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("OK: records 1.."), "{out}");
    assert!(out.contains("checkpoint of record"), "{out}");
    // With the operator's key file.
    let key = std::fs::read_dir(Path::new(&fx.s.store).join("chain/keys"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (code, out) = run_script(&s, &fx.bundle, &[key.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    let other_pub = fx.s.dir.path().join("other.pub.pem");
    std::fs::write(
        &other_pub,
        crate::support::run(&["keygen", fx.s.dir.path().join("k2.pem").to_str().unwrap()]).stdout,
    )
    .unwrap();
    let (code, out) = run_script(&s, &fx.bundle, &[other_pub.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not by the operator's key"), "{out}");

    let m = members(&fx.bundle);
    let dir = fx.s.dir.path();
    let meta: Value =
        serde_json::from_slice(&m.iter().find(|(n, _)| n == "bundle.json").unwrap().1).unwrap();
    let last = meta["last_seq"].as_u64().unwrap();
    let referenced_blob = {
        let r: Value = serde_json::from_slice(
            &m.iter()
                .find(|(n, _)| *n == format!("store/chain/records/{last:020}.json"))
                .unwrap()
                .1,
        )
        .unwrap();
        let h = r["items"][0]["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string();
        format!("store/blobs/sha256/{}/{h}", &h[..2])
    };

    let cases: Vec<(&str, std::path::PathBuf, &str)> = vec![
        (
            "a referenced blob deleted with its MANIFEST line",
            repack(
                dir,
                "no-blob.tar.gz",
                m.iter()
                    .filter(|(n, _)| *n != referenced_blob)
                    .cloned()
                    .collect(),
            ),
            "is missing",
        ),
        (
            "the chain cut below last_seq",
            repack(
                dir,
                "cut.tar.gz",
                m.iter()
                    .filter(|(n, _)| *n != format!("store/chain/records/{last:020}.json"))
                    .cloned()
                    .collect(),
            ),
            "records were cut",
        ),
        (
            "a changed blob",
            {
                let mut t = m.clone();
                let b = t
                    .iter_mut()
                    .find(|(n, _)| n.starts_with("store/blobs/"))
                    .unwrap();
                b.1[0] ^= 1;
                repack(dir, "changed.tar.gz", t)
            },
            "does not hash to its name",
        ),
        (
            "an unlisted file",
            {
                let mut t = m.clone();
                t.push(("extra.txt".into(), b"hello".to_vec()));
                let p = dir.join("unlisted.tar.gz");
                pack(&t, &p);
                p
            },
            "MANIFEST and the files differ",
        ),
        (
            "a rewritten record",
            {
                let mut t = m.clone();
                let r = t
                    .iter_mut()
                    .find(|(n, _)| *n == "store/chain/records/00000000000000000002.json")
                    .unwrap();
                r.1 = String::from_utf8(r.1.clone())
                    .unwrap()
                    .replacen("\"status\":\"complete\"", "\"status\":\"partial\"", 1)
                    .into_bytes();
                repack(dir, "rewritten.tar.gz", t)
            },
            "prev is not the hash of record 2",
        ),
        (
            "a forged checkpoint signature",
            {
                let mut t = m.clone();
                let cp = t
                    .iter_mut()
                    .rev()
                    .find(|(n, _)| n.starts_with("store/chain/checkpoints/"))
                    .unwrap();
                let text = String::from_utf8(cp.1.clone()).unwrap();
                cp.1 = text.replacen("time 20", "time 19", 1).into_bytes();
                repack(dir, "forged.tar.gz", t)
            },
            "the signature does not verify",
        ),
        (
            "no checkpoint at all",
            repack(
                dir,
                "unsigned.tar.gz",
                m.iter()
                    .filter(|(n, _)| !n.starts_with("store/chain/checkpoints/"))
                    .cloned()
                    .collect(),
            ),
            "no checkpoint",
        ),
    ];
    for (what, bundle, says) in cases {
        let (code, out) = run_script(&s, &bundle, &[]);
        assert_eq!(code, Some(1), "{what}: {out}");
        assert!(
            out.contains("FAILED:") && out.contains(says),
            "{what}: {out}"
        );
        assert!(!out.contains("OK:"), "{what}: {out}");
    }

    // A symbolic link in the archive.
    let p = dir.join("link.tar.gz");
    {
        let f = std::fs::File::create(&p).unwrap();
        let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
            f,
            flate2::Compression::fast(),
        ));
        for (name, data) in &m {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, &data[..]).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, "store/evil", "/etc/passwd").unwrap();
        b.into_inner().unwrap().finish().unwrap();
    }
    let (code, out) = run_script(&s, &p, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("links or special files"), "{out}");
}
