//! Signed checkpoints: written after `submit` commits, copied to a witness, and checked by
//! `verify`, which names a truncated or rewritten tail.

use std::path::{Path, PathBuf};

use evidenced::chain::record_key;
use evidenced::checkpoint::checkpoint_key;

use crate::support::{ok, run, stdout, write};

pub struct Signed {
    pub dir: tempfile::TempDir,
    pub store: String,
    pub config: String,
    pub witness: PathBuf,
}

/// A store with a signing key and a witness directory configured, holding the example
/// records (one checkpoint per submit run).
pub fn signed_store() -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.pem");
    let out = ok(run(&["keygen", key.to_str().unwrap()]));
    assert!(out.starts_with("-----BEGIN PUBLIC KEY-----"), "{out}");
    let witness = dir.path().join("witness");
    let config = write(
        dir.path(),
        "evidenced.toml",
        &format!(
            "[checkpoint]\nkey_file = {:?}\nwitness = {:?}\n",
            key.display().to_string(),
            witness.display().to_string()
        ),
    );
    let store = dir.path().join("evidence").display().to_string();
    for f in crate::support::example_files() {
        ok(run(&[
            "--config",
            &config,
            "--store",
            &store,
            "submit",
            f.to_str().unwrap(),
        ]));
    }
    Signed {
        dir,
        store,
        config,
        witness,
    }
}

fn verify(s: &Signed) -> (Option<i32>, String) {
    let out = run(&["--config", &s.config, "--store", &s.store, "verify"]);
    (out.status.code(), stdout(&out))
}

fn path(root: &str, key: &str) -> PathBuf {
    Path::new(root).join(key)
}

#[test]
fn keygen_refuses_to_overwrite_and_writes_a_private_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    ok(run(&["keygen", key.to_str().unwrap()]));
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    let again = run(&["keygen", key.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(
        std::fs::read_to_string(&key).unwrap(),
        text,
        "key was overwritten"
    );
}

#[test]
fn each_submit_writes_a_signed_checkpoint_to_the_store_and_the_witness() {
    let s = signed_store();
    let n = crate::support::example_files().len() as u64;
    for seq in 1..=n {
        let k = checkpoint_key(seq);
        let in_store = std::fs::read(path(&s.store, &k)).unwrap();
        let in_witness = std::fs::read(s.witness.join(&k)).unwrap();
        assert_eq!(in_store, in_witness);
        let text = String::from_utf8(in_store).unwrap();
        assert!(
            text.starts_with("evidenced checkpoint v1\nchain sha256:"),
            "{text}"
        );
        assert!(text.contains(&format!("\nseq {seq}\n")), "{text}");
    }
    let (code, out) = verify(&s);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn verify_detects_a_truncated_tail() {
    let s = signed_store();
    let n = crate::support::example_files().len() as u64;
    // Remove the last two records and the store's own checkpoints for them: the witness
    // still vouches for them.
    for seq in [n - 1, n] {
        std::fs::remove_file(path(&s.store, &record_key(seq))).unwrap();
        std::fs::remove_file(path(&s.store, &checkpoint_key(seq))).unwrap();
    }
    let (code, out) = verify(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("PROBLEM chain-truncated")
            && out.contains(&format!(
                "vouches for records up to {n} but the chain ends at {}",
                n - 2
            )),
        "{out}"
    );
    assert!(
        out.contains("PROBLEM checkpoint-missing-from-store"),
        "{out}"
    );
}

#[test]
fn verify_detects_a_rewritten_tail() {
    let s = signed_store();
    let n = crate::support::example_files().len() as u64;
    // Rewrite the last record consistently (still canonical JSON, still linked to its
    // predecessor): only the signed checkpoint can tell.
    let key = record_key(n);
    let bytes = std::fs::read(path(&s.store, &key)).unwrap();
    let mut rec = evidenced::record::Record::from_bytes(&bytes).unwrap();
    rec.provenance.writer_nonce = "0".repeat(32);
    let p = path(&s.store, &key);
    std::fs::remove_file(&p).unwrap();
    std::fs::write(&p, rec.to_bytes().unwrap()).unwrap();
    let (code, out) = verify(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("PROBLEM checkpoint-head-mismatch seq={n}")),
        "{out}"
    );
}

#[test]
fn verify_detects_a_store_replaced_by_another_valid_chain() {
    let s = signed_store();
    // A second store built the same way (same submissions, its own signing key, its own
    // signed checkpoints): a valid chain in every respect, but not the one the witness saw.
    let other = signed_store();
    let (code, out) = verify(&other);
    assert_eq!(code, Some(0), "{out}");
    // Replace every object of the first store with the other store's.
    std::fs::remove_dir_all(&s.store).unwrap();
    let cp = std::process::Command::new("cp")
        .args(["-a", &other.store, &s.store])
        .status()
        .unwrap();
    assert!(cp.success());
    // On its own the replacement verifies: nothing inside a store can tell.
    let alone = run(&["--store", &s.store, "verify"]);
    assert_eq!(alone.status.code(), Some(0), "{}", stdout(&alone));
    // The witness can: its checkpoints name the original chain.
    let (code, out) = verify(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("PROBLEM checkpoint-chain-mismatch"), "{out}");
    assert!(
        out.contains("PROBLEM checkpoint-differs-from-witness"),
        "{out}"
    );
}

#[test]
fn verify_detects_an_altered_checkpoint() {
    let s = signed_store();
    let k = checkpoint_key(2);
    let p = path(&s.store, &k);
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\nseq 2\n", "\nseq 3\n");
    std::fs::remove_file(&p).unwrap();
    std::fs::write(&p, text).unwrap();
    let (code, out) = verify(&s);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("PROBLEM bad-checkpoint-signature seq=3")
            || out.contains("PROBLEM checkpoint-misplaced"),
        "{out}"
    );
    assert!(
        out.contains("PROBLEM checkpoint-differs-from-witness"),
        "{out}"
    );
}

#[test]
fn verify_with_an_untrusted_public_key_rejects_the_checkpoints() {
    let s = signed_store();
    let other = s.dir.path().join("other.pem");
    let public = ok(run(&["keygen", other.to_str().unwrap()]));
    let pubfile = write(s.dir.path(), "other.pub.pem", &public);
    let out = run(&[
        "--config",
        &s.config,
        "--store",
        &s.store,
        "verify",
        "--public-key",
        &pubfile,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("PROBLEM unknown-checkpoint-key"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn an_s3_witness_receives_each_checkpoint_and_catches_a_truncated_store() {
    let bucket = crate::support::lock_bucket("witness").await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("signing.pem");
    ok(run(&["keygen", key.to_str().unwrap()]));
    let config = write(
        dir.path(),
        "evidenced.toml",
        &format!(
            "[checkpoint]\nkey_file = {:?}\nwitness = \"s3://{bucket}/witness\"\n",
            key.display().to_string()
        ),
    );
    let store = dir.path().join("evidence").display().to_string();
    let files = crate::support::example_files();
    for f in &files[..2] {
        ok(crate::support::run_s3(&[
            "--config",
            &config,
            "--store",
            &store,
            "submit",
            f.to_str().unwrap(),
        ]));
    }
    let client = crate::support::s3_client().await;
    let listed = client
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("witness/chain/checkpoints/")
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    assert_eq!(
        keys,
        [
            format!("witness/{}", checkpoint_key(1)),
            format!("witness/{}", checkpoint_key(2))
        ]
    );
    let out = crate::support::run_s3(&["--config", &config, "--store", &store, "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // Remove record 2 and the store's checkpoint for it: the witness still has it.
    std::fs::remove_file(path(&store, &record_key(2))).unwrap();
    std::fs::remove_file(path(&store, &checkpoint_key(2))).unwrap();
    let out = crate::support::run_s3(&["--config", &config, "--store", &store, "verify"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("PROBLEM checkpoint-missing-from-store seq=2"),
        "{text}"
    );
    assert!(text.contains("PROBLEM chain-truncated seq=2"), "{text}");
}
