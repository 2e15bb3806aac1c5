//! Configuration files: the shipped example parses; errors name the key and the line.

use crate::store_local::restore_test;
use crate::support::{self, ok, root, stderr};
use evidenced::config::Config;

#[test]
fn every_shipped_config_parses() {
    let mut checked = 0;
    let dirs = [root().join("config"), root().join("deploy")];
    for entry in dirs.iter().flat_map(|d| std::fs::read_dir(d).unwrap()) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml")
            && path.file_name().is_some_and(|n| n != "requirements.toml")
        {
            // The image's configuration requires the signer the stack sets in the environment.
            let env: Vec<(String, String)> = if path.starts_with(root().join("deploy")) {
                vec![(
                    "EVIDENCED_CHECKPOINT__KMS_KEY_ID".into(),
                    "alias/test".into(),
                )]
            } else {
                Vec::new()
            };
            Config::load(Some(&path), env).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 1, "no configuration files found in config/");
}

#[test]
fn example_documents_every_store_and_daemon_key() {
    let text = std::fs::read_to_string(root().join("config/evidenced.example.toml")).unwrap();
    for key in [
        "url",
        "endpoint_url",
        "force_path_style",
        "region",
        "shutdown_deadline_secs",
        "jitter_secs",
        "health_file",
        "heartbeat_secs",
        "healthz_port",
        "metrics_namespace",
        "requirements_interval_secs",
        "catalog",
        "tsa_url",
        "tsa_roots",
        "tsa_timeout_seconds",
        "require_signer",
    ] {
        assert!(text.contains(&format!("{key} =")), "{key} undocumented");
    }
}

#[test]
fn unknown_config_key_is_rejected_with_its_line_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let cfg = support::write(
        dir.path(),
        "evidenced.toml",
        &format!(
            "[store]\nurl = {:?}\nendpoint = \"http://x\"\n",
            store.to_str().unwrap()
        ),
    );
    let file = support::write(dir.path(), "r.toml", &restore_test("r"));
    let out = std::process::Command::new(support::bin())
        .args(["--config", &cfg, "submit", &file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("evidenced.toml:3:1"), "{err}");
    assert!(err.contains("unknown field `endpoint`"), "{err}");
    assert!(!store.exists());
}

#[test]
fn environment_overrides_the_store_url() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("from-env");
    let file = support::write(dir.path(), "r.toml", &restore_test("r"));
    let out = std::process::Command::new(support::bin())
        .args(["submit", &file])
        .current_dir(dir.path())
        .env("EVIDENCED_STORE__URL", store.to_str().unwrap())
        .output()
        .unwrap();
    ok(out);
    assert!(store.join("chain/records").exists());
    assert!(!dir.path().join("evidence").exists());
}

#[test]
fn help_explains_each_command() {
    let out = ok(support::run(&["--help"]));
    for cmd in ["submit", "verify", "log"] {
        assert!(out.contains(cmd), "{cmd} missing from --help");
    }
    let sub = ok(support::run(&["submit", "--help"]));
    assert!(
        sub.contains("Every file is validated before anything is written"),
        "{sub}"
    );
}
