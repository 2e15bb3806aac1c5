//! The automation contract of `collect --once` and the environment form of the
//! configuration: exit codes, one line per degraded run, one-line credential errors, and
//! list-valued and per-collector overrides.

use std::process::Command;

use crate::support::{self, bin};

fn inbox_config(dir: &std::path::Path) -> String {
    let good = dir.join("inbox");
    std::fs::create_dir_all(&good).unwrap();
    support::write(
        &good,
        "rt.toml",
        &crate::store_local::restore_test("contract-1"),
    );
    support::write(
        dir,
        "evidenced.toml",
        &format!(
            "[store]\nurl = {store:?}\n\n[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"0 */5 * * * *\"\nurl = {good:?}\nsettle_secs = 0\n\n[[collector]]\ntype = \"inbox\"\nname = \"lost-inbox\"\nschedule = \"0 */5 * * * *\"\nurl = {missing:?}\nsettle_secs = 0\n",
            store = dir.join("evidence"),
            missing = dir.join("no-such-inbox"),
        ),
    )
}

#[test]
fn collect_once_exits_1_and_names_each_failed_run_on_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = inbox_config(dir.path());
    let out = support::run(&["--config", &cfg, "collect", "--once"]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    let named: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("lost-inbox"))
        .collect();
    assert_eq!(named.len(), 1, "{err}");
    assert!(named[0].starts_with("lost-inbox: failed: "), "{err}");
    assert!(
        !err.lines().any(|l| l.starts_with("drills")),
        "a complete run named: {err}"
    );
    // Both runs are recorded all the same.
    let stdout = support::stdout(&out);
    assert!(stdout.contains("lost-inbox: record"), "{stdout}");
    // With the failing collector left out, the same command exits 0.
    let out = support::run(&[
        "--config",
        &cfg,
        "collect",
        "--once",
        "--collector",
        "drills",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", support::stderr(&out));
}

#[test]
fn missing_credentials_are_one_line_with_the_next_step_and_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let cfg = support::write(
        dir.path(),
        "evidenced.toml",
        &format!(
            "[store]\nurl = {store:?}\n\n[aws]\nregions = [\"eu-west-1\", \"us-east-1\"]\n# Nothing listens here: no request may leave the machine.\nendpoint_url = \"http://127.0.0.1:9\"\nmax_attempts = 1\n\n[[collector]]\ntype = \"backup\"\nname = \"backup\"\nschedule = \"0 0 * * * *\"\n",
            store = dir.path().join("evidence"),
        ),
    );
    let out = Command::new(bin())
        .args(["--config", &cfg, "collect", "--once"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let err = support::stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(
        err.lines().last(),
        Some("error: no AWS credentials found: set AWS_PROFILE or run `aws sso login`"),
        "{err}"
    );
    // One line per failed scope, no SDK Debug output.
    let scopes: Vec<&str> = err.lines().filter(|l| l.starts_with("backup ")).collect();
    assert_eq!(scopes.len(), 2, "{err}");
    for l in &scopes {
        assert!(
            l.ends_with("failed: sts:GetCallerIdentity: no AWS credentials found: set AWS_PROFILE or run `aws sso login`"),
            "{l}"
        );
    }
    for dump in ["DispatchFailure", "ConnectorError", "source:", "Some("] {
        assert!(!err.contains(dump), "{dump} in {err}");
    }
    // The record keeps the same one-line message.
    let log = support::stdout(&out);
    assert!(log.contains("record 1 backup failed"), "{log}");
}
