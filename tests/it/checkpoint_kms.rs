//! Checkpoints signed by an AWS KMS key (ECDSA P-256, through aws-sdk-kms against moto):
//! written by `submit`, verified by `evidenced verify` and by openssl alone.

use std::path::Path;
use std::process::Command;

use crate::support::{self, bin, moto_env, ok, stderr, stdout, write};

async fn kms_key() -> String {
    let creds = aws_sdk_kms::config::Credentials::new("testing", "testing", None, None, "test");
    let conf = aws_sdk_kms::config::Builder::new()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(&support::moto().endpoint)
        .build();
    let client = aws_sdk_kms::Client::from_conf(conf);
    let out = client
        .create_key()
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .description("evidenced checkpoints")
        .send()
        .await
        .unwrap();
    out.key_metadata().unwrap().key_id().to_string()
}

fn evidenced(config: &str, args: &[&str]) -> std::process::Output {
    let mut c = Command::new(bin());
    c.arg("--config")
        .arg(config)
        .args(args)
        .env_remove("EVIDENCED_CONFIG")
        .env_remove("AWS_ENDPOINT_URL")
        .env("EVIDENCED_AWS__ENDPOINT_URL", &support::moto().endpoint);
    moto_env(&mut c);
    c.output().unwrap()
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl")
}

#[test]
fn a_kms_ecdsa_key_signs_checkpoints_that_evidenced_and_openssl_verify() {
    let rt = crate::inbox::rt();
    let key = rt.block_on(kms_key());
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let config = write(
        dir.path(),
        "evidenced.toml",
        &format!(
            "[store]\nurl = {:?}\n\n[aws]\nregions = [\"us-east-1\"]\n\n[checkpoint]\nkms_key_id = {key:?}\n",
            store.display().to_string()
        ),
    );
    let f = write(
        dir.path(),
        "tt.json",
        "{\"kind\": \"tabletop\", \"id\": \"tt-kms\", \"started_at\": \"2026-04-02T09:00:00Z\", \"ended_at\": \"2026-04-02T10:00:00Z\", \"scenario\": \"Ransomware\", \"outcome\": \"pass\", \"participants\": [\"ops-oncall\"]}\n",
    );
    let out = evidenced(&config, &["submit", &f]);
    assert!(out.status.success(), "{}", stderr(&out));

    let cp = store.join("chain/checkpoints/00000000000000000001.txt");
    let text = std::fs::read_to_string(&cp).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    assert_eq!(lines[0], "evidenced checkpoint v2");
    assert_eq!(lines[6], "alg ecdsa-p256-sha256");
    let id = lines[5].strip_prefix("key ").unwrap();

    // evidenced verify, with the configuration (the checkpoint is then required).
    let v = evidenced(&config, &["verify"]);
    let said = stdout(&v);
    assert!(v.status.success(), "{said}{}", stderr(&v));
    assert!(said.contains(&format!("signed by key {id}")), "{said}");
    assert!(said.contains("the latest vouches for the head"), "{said}");

    // openssl alone, as docs/FORMAT-checkpoints-bundles.md says.
    let work = dir.path().join("check");
    std::fs::create_dir(&work).unwrap();
    std::fs::write(
        work.join("body"),
        lines[..7]
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let b64 = lines[7].split(' ').nth(2).unwrap();
    use base64::Engine as _;
    std::fs::write(
        work.join("sig"),
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap();
    let pem = store.join(format!("chain/keys/{id}.pem"));
    std::fs::copy(&pem, work.join("key.pem")).unwrap();
    let o = openssl(
        &work,
        &[
            "dgst",
            "-sha256",
            "-verify",
            "key.pem",
            "-signature",
            "sig",
            "body",
        ],
    );
    assert!(
        stdout(&o).contains("Verified OK"),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let der = openssl(
        &work,
        &["pkey", "-pubin", "-in", "key.pem", "-outform", "DER"],
    )
    .stdout;
    let point = &der[der.len() - 65..];
    assert_eq!(&evidenced::digest::Digest::of(point).hex()[..16], id);

    // A bundle made with the KMS key passes the VERIFY.md script (openssl dgst for ECDSA).
    let bundle = dir.path().join("b.tar.gz");
    let out = evidenced(
        &config,
        &[
            "bundle",
            "--from",
            "2026-01-01",
            "--to",
            "2027-12-31",
            "-o",
            bundle.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let script = crate::verify_md::script(&bundle);
    let (code, said) = crate::verify_md::run_script(&script, &bundle, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("(ecdsa-p256-sha256)"), "{said}");

    // A changed checkpoint no longer verifies.
    std::fs::write(&cp, text.replacen("time 20", "time 19", 1)).unwrap();
    let v = evidenced(&config, &["verify"]);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        stdout(&v).contains("PROBLEM bad-checkpoint-signature"),
        "{}",
        stdout(&v)
    );
}

#[test]
fn a_kms_key_that_does_not_exist_is_named_and_the_records_stay_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let config = write(
        dir.path(),
        "evidenced.toml",
        &format!(
            "[store]\nurl = {:?}\n\n[aws]\nregions = [\"us-east-1\"]\n\n[checkpoint]\nkms_key_id = \"alias/does-not-exist\"\n",
            store.display().to_string()
        ),
    );
    let f = write(
        dir.path(),
        "tt.json",
        "{\"kind\": \"tabletop\", \"id\": \"tt-nokey\", \"started_at\": \"2026-04-02T09:00:00Z\", \"ended_at\": \"2026-04-02T10:00:00Z\", \"scenario\": \"Ransomware\", \"outcome\": \"pass\", \"participants\": [\"ops-oncall\"]}\n",
    );
    let out = evidenced(&config, &["submit", &f]);
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("KMS key alias/does-not-exist") && err.contains("kms:GetPublicKey"),
        "{err}"
    );
    assert!(err.contains("the records above are committed"), "{err}");
    assert_eq!(
        err.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{err}"
    );
    let log = ok(support::run(&["--store", store.to_str().unwrap(), "log"]));
    assert_eq!(log.lines().count(), 1, "{log}");
}
