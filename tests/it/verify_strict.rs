//! Fail closed: no OK about a location with nothing in it, what the checkpoints vouch for
//! said out loud (and required when a key is in play), repacked bundles accepted, and the
//! fields whose form the format fixes checked.

use std::path::Path;

use serde_json::Value;

use crate::checkpoint::signed_store;
use crate::support::{self, ok, run, run_s3, stderr, stdout, write};

fn no_chain(out: &std::process::Output, what: &str) {
    assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(out));
    assert!(
        stderr(out).contains("no evidence chain at"),
        "{what}: {}",
        stderr(out)
    );
    assert!(!stdout(out).contains("OK"), "{what}: {}", stdout(out));
}

fn reading_commands(store: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        s(&["--store", store, "verify"]),
        s(&["--store", store, "log"]),
        s(&["--store", store, "report"]),
        s(&[
            "--store",
            store,
            "bundle",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "-o",
            "/dev/null",
        ]),
    ]
}

#[test]
fn a_missing_or_empty_directory_is_no_chain_for_every_reading_command() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("does-not-exist");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for store in [&missing, &empty] {
        for args in reading_commands(store.to_str().unwrap()) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            no_chain(&run(&args), &args.join(" "));
        }
    }
    assert!(!missing.exists(), "a reading command created the store");
    // Wanted explicitly, an empty store is accepted.
    let out = ok(run(&[
        "--store",
        empty.to_str().unwrap(),
        "--allow-empty",
        "verify",
    ]));
    assert!(out.starts_with("OK: 0 records"), "{out}");
}

#[test]
fn a_missing_bucket_and_an_empty_prefix_are_no_chain() {
    let rt = crate::inbox::rt();
    let bucket = rt.block_on(support::lock_bucket("strict"));
    // Something in the bucket, under another prefix.
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "tt.json", &drill("tt-1"));
    ok(run_s3(&[
        "--store",
        &format!("s3://{bucket}/real"),
        "submit",
        &f,
    ]));
    for url in [
        format!("s3://{bucket}/typo"),
        format!("s3://no-such-bucket-{:08x}/ev", rand::random::<u32>()),
    ] {
        for args in reading_commands(&url).into_iter().take(3) {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = run_s3(&args);
            no_chain(&out, &args.join(" "));
        }
    }
    let out = run_s3(&["--store", &format!("s3://{bucket}/real"), "verify"]);
    assert!(ok(out).starts_with("OK: 1 records"));
}

fn drill(id: &str) -> String {
    format!(
        "{{\"kind\": \"tabletop\", \"id\": \"{id}\", \"started_at\": \"2026-04-02T09:00:00Z\", \"ended_at\": \"2026-04-02T10:00:00Z\", \"scenario\": \"Ransomware\", \"outcome\": \"pass\", \"participants\": [\"ops-oncall\"]}}\n"
    )
}

fn verify_json(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.extend(["verify", "--format", "json"]);
    let out = run(&all);
    (
        out.status.code(),
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out))),
    )
}

fn checks(v: &Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn verify_says_who_signed_and_what_is_vouched_for() {
    let s = signed_store();
    let out = ok(run(&["--config", &s.config, "--store", &s.store, "verify"]));
    let key_id = std::fs::read_dir(Path::new(&s.store).join("chain/keys"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name()
        .to_string_lossy()
        .trim_end_matches(".pem")
        .to_string();
    assert!(out.contains(&format!("signed by key {key_id}")), "{out}");
    assert!(out.contains("the latest vouches for the head"), "{out}");
    let (code, v) = verify_json(&["--config", &s.config, "--store", &s.store]);
    assert_eq!(code, Some(0));
    assert_eq!(v["checkpoints"]["unvouched"], 0, "{v}");
    assert_eq!(v["checkpoints"]["required"], true, "{v}");
    assert_eq!(v["checkpoints"]["vouched_seq"], v["head_seq"], "{v}");
}

#[test]
fn every_checkpoint_deleted_fails_when_a_key_is_configured() {
    let s = signed_store();
    for d in [Path::new(&s.store), s.witness.as_path()] {
        std::fs::remove_dir_all(d.join("chain/checkpoints")).unwrap();
    }
    let (code, v) = verify_json(&["--config", &s.config, "--store", &s.store]);
    assert_eq!(code, Some(1), "{v}");
    assert!(checks(&v).contains(&"unvouched-head".to_string()), "{v}");
    // Asked not to require it, verify passes and still says so.
    let out = ok(run(&[
        "--config",
        &s.config,
        "--store",
        &s.store,
        "verify",
        "--no-require-checkpoint",
    ]));
    assert!(
        out.contains("nothing signed vouches for any record"),
        "{out}"
    );
    // Without a configuration, the same store passes but says nothing vouches for it;
    // --require-checkpoint makes that a failure.
    let out = ok(run(&["--store", &s.store, "verify"]));
    assert!(
        out.contains("nothing signed vouches for any record"),
        "{out}"
    );
    let out = run(&["--store", &s.store, "verify", "--require-checkpoint"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[test]
fn an_unvouched_tail_and_a_rolled_back_checkpoint_are_reported() {
    let s = signed_store();
    // One more record, written without the key: nothing vouches for it.
    let f = write(s.dir.path(), "extra.json", &drill("tt-unvouched"));
    ok(run(&["--store", &s.store, "submit", &f]));
    let (code, v) = verify_json(&["--config", &s.config, "--store", &s.store]);
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["checkpoints"]["unvouched"], 1, "{v}");
    assert!(checks(&v).contains(&"unvouched-head".to_string()), "{v}");
    let out = run(&["--store", &s.store, "verify"]);
    assert!(
        stdout(&out).contains("1 record(s) after it are not vouched for yet"),
        "{}",
        stdout(&out)
    );
    // Rolling back: remove the latest checkpoint from the store and the witness.
    let s = signed_store();
    let latest = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d.join("chain/checkpoints"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v.pop().unwrap()
    };
    std::fs::remove_file(latest(Path::new(&s.store))).unwrap();
    std::fs::remove_file(latest(&s.witness)).unwrap();
    let (code, v) = verify_json(&["--config", &s.config, "--store", &s.store]);
    assert_eq!(code, Some(1), "{v}");
    assert!(v["checkpoints"]["unvouched"].as_u64().unwrap() >= 1, "{v}");
}

#[test]
fn a_bundle_repacked_with_a_dot_root_verifies() {
    let rt = crate::inbox::rt();
    let fx = rt.block_on(crate::bundle::fixture());
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let st = std::process::Command::new("tar")
        .args([
            "-xzf",
            fx.bundle.to_str().unwrap(),
            "-C",
            x.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let repacked = dir.path().join("repacked.tar.gz");
    let st = std::process::Command::new("tar")
        .args([
            "-C",
            x.to_str().unwrap(),
            "-czf",
            repacked.to_str().unwrap(),
            ".",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let (code, out) = crate::bundle::verify(&repacked, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("OK:"), "{out}");
}

#[test]
fn a_bundle_made_with_a_key_carries_a_checkpoint_of_its_last_record() {
    let s = signed_store();
    // A record after the last checkpoint: the bundle signs one for it.
    let f = write(s.dir.path(), "extra.json", &drill("tt-late"));
    ok(run(&["--store", &s.store, "submit", &f]));
    let bundle = s.dir.path().join("b.tar.gz");
    let out = run(&[
        "--config",
        &s.config,
        "--store",
        &s.store,
        "bundle",
        "--from",
        "2026-01-01",
        "--to",
        "2027-12-31",
        "-o",
        bundle.to_str().unwrap(),
    ]);
    let said = ok(out);
    assert!(!said.contains("checkpoint none"), "{said}");
    let (code, text) = crate::bundle::verify(&bundle, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("the latest vouches for the head"), "{text}");
    // Without its checkpoint (and MANIFEST line), the bundle fails.
    let members = crate::bundle::members(&bundle);
    let meta: Value =
        serde_json::from_slice(&members.iter().find(|(n, _)| n == "bundle.json").unwrap().1)
            .unwrap();
    let cp = format!(
        "store/chain/checkpoints/{:020}.txt",
        meta["checkpoint_seq"].as_u64().unwrap()
    );
    assert_eq!(meta["checkpoint_seq"], meta["last_seq"]);
    let stripped: Vec<_> = members
        .into_iter()
        .filter(|(n, _)| *n != cp)
        .map(|(n, b)| {
            if n == "MANIFEST" {
                let text = String::from_utf8(b).unwrap();
                let kept: String = text
                    .lines()
                    .filter(|l| !l.ends_with(&cp))
                    .map(|l| format!("{l}\n"))
                    .collect();
                (n, kept.into_bytes())
            } else {
                (n, b)
            }
        })
        .collect();
    let cut = s.dir.path().join("cut.tar.gz");
    crate::bundle::pack(&stripped, &cut);
    let (code, text) = crate::bundle::verify(&cut, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("PROBLEM unvouched-head"), "{text}");
    assert!(text.contains("PROBLEM bundle-meta-mismatch"), "{text}");
}

#[test]
fn a_bundle_made_without_a_key_is_written_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence").display().to_string();
    let f = write(dir.path(), "tt.json", &drill("tt-1"));
    ok(run(&["--store", &store, "submit", &f]));
    let bundle = dir.path().join("b.tar.gz");
    let out = run(&[
        "--store",
        &store,
        "bundle",
        "--from",
        "2026-01-01",
        "--to",
        "2027-12-31",
        "-o",
        bundle.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: no checkpoint signing key is configured"),
        "{}",
        stderr(&out)
    );
    let out = run(&["verify", bundle.to_str().unwrap()]);
    assert!(
        stderr(&out).contains("warning: the bundle holds no valid checkpoint"),
        "{}",
        stderr(&out)
    );
    let out = run(&["verify", bundle.to_str().unwrap(), "--require-checkpoint"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn fields_whose_form_the_format_fixes_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let store = root.display().to_string();
    for id in ["tt-1", "tt-2"] {
        let f = write(dir.path(), &format!("{id}.json"), &drill(id));
        ok(run(&["--store", &store, "submit", &f]));
    }
    // Rewrite the head record (nothing links to it) with a bad nonce and a non-UTC time.
    let head = root.join(evidenced::chain::record_key(2));
    let mut r: Value = serde_json::from_slice(&std::fs::read(&head).unwrap()).unwrap();
    r["provenance"]["writer_nonce"] = "XYZ".into();
    let at = r["recorded_at"]
        .as_str()
        .unwrap()
        .trim_end_matches('Z')
        .to_string();
    r["recorded_at"] = format!("{at}+00:00").into();
    std::fs::write(&head, evidenced::canonical::value_to_vec(&r).unwrap()).unwrap();
    let (code, v) = verify_json(&["--store", &store]);
    assert_eq!(code, Some(1));
    let c = checks(&v);
    assert!(c.contains(&"bad-writer-nonce".to_string()), "{v}");
    assert!(c.contains(&"recorded-at-not-utc".to_string()), "{v}");

    // A public key stored under another id's name.
    let s = signed_store();
    let keys = Path::new(&s.store).join("chain/keys");
    let pem = std::fs::read_dir(&keys)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::rename(&pem, keys.join("0000000000000000.pem")).unwrap();
    let (code, v) = verify_json(&["--store", &s.store]);
    assert_eq!(code, Some(1));
    assert!(checks(&v).contains(&"key-id-mismatch".to_string()), "{v}");
}

#[test]
fn bundle_json_and_manifest_order_are_checked_against_the_contents() {
    let rt = crate::inbox::rt();
    let fx = rt.block_on(crate::bundle::fixture());
    let members = crate::bundle::members(&fx.bundle);
    let edit = |f: &dyn Fn(&str, Vec<u8>) -> Vec<u8>| {
        let out =
            fx.s.dir
                .path()
                .join(format!("e{:08x}.tar.gz", rand::random::<u32>()));
        let m: Vec<_> = members
            .iter()
            .cloned()
            .map(|(n, b)| {
                let b = f(&n, b);
                (n, b)
            })
            .collect();
        crate::bundle::pack(&m, &out);
        out
    };
    // bundle.json names another chain; fix its MANIFEST line so only the meta is wrong.
    let meta = members
        .iter()
        .find(|(n, _)| n == "bundle.json")
        .unwrap()
        .1
        .clone();
    let mut v: Value = serde_json::from_slice(&meta).unwrap();
    v["chain"] = format!("sha256:{}", "ab".repeat(32)).into();
    let new_meta = serde_json::to_vec_pretty(&v).unwrap();
    let new_hex = evidenced::digest::Digest::of(&new_meta).hex();
    let old_hex = evidenced::digest::Digest::of(&meta).hex();
    let b = edit(&|n, b| match n {
        "bundle.json" => new_meta.clone(),
        "MANIFEST" => String::from_utf8(b)
            .unwrap()
            .replace(&old_hex, &new_hex)
            .into_bytes(),
        _ => b,
    });
    let (code, text) = crate::bundle::verify(&b, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("PROBLEM bundle-meta-mismatch key=bundle.json#chain"),
        "{text}"
    );
    // MANIFEST lines out of order.
    let b = edit(&|n, b| match n {
        "MANIFEST" => {
            let text = String::from_utf8(b).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            lines.reverse();
            lines
                .iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                .into_bytes()
        }
        _ => b,
    });
    let (code, text) = crate::bundle::verify(&b, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("PROBLEM manifest-unsorted"), "{text}");
}

#[test]
fn bundle_refuses_to_overwrite_a_file_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence").display().to_string();
    let f = write(dir.path(), "tt.json", &drill("tt-1"));
    ok(run(&["--store", &store, "submit", &f]));
    let bundle = dir.path().join("b.tar.gz");
    std::fs::write(&bundle, b"an earlier bundle").unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "--store",
            &store,
            "bundle",
            "--from",
            "2026-01-01",
            "--to",
            "2027-12-31",
            "-o",
            bundle.to_str().unwrap(),
        ];
        if force {
            a.push("--force");
        }
        run(&a)
    };
    let out = args(false);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("pass --force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&bundle).unwrap(), b"an earlier bundle");
    let out = args(true);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(std::fs::read(&bundle).unwrap(), b"an earlier bundle");
}
