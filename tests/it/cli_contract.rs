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
    // The same in JSON, for automation: one entry per run, errors included.
    let out = support::run(&["--config", &cfg, "collect", "--once", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", support::stderr(&out));
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let failed: Vec<&serde_json::Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{runs}");
    assert_eq!(failed[0]["collector"], "lost-inbox");
    assert!(
        failed[0]["seq"].is_u64() && failed[0]["items"] == 0,
        "{runs}"
    );
    assert!(failed[0]["errors"][0]["message"].is_string(), "{runs}");
    assert!(
        failed[0].get("account").is_none(),
        "absent, not null: {runs}"
    );
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

/// A clean environment with an AWS config file of its own: no credentials but the
/// profile's.
fn aws_home(dir: &std::path::Path, config: &str) -> Command {
    let home = dir.join("home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/config"), config).unwrap();
    let mut c = Command::new(bin());
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("AWS_CONFIG_FILE", home.join(".aws/config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join(".aws/credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    c
}

fn posture_config(dir: &std::path::Path) -> String {
    support::write(
        dir,
        "evidenced.toml",
        &format!(
            "[store]\nurl = {store:?}\n\n[aws]\nregions = [\"ap-south-1\", \"eu-west-1\"]\nmax_attempts = 1\n\n[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"0 0 * * * *\"\nall_buckets = true\n",
            store = dir.join("evidence"),
        ),
    )
}

/// `--profile` with a credential_process profile, `--region` and `--endpoint-url`, as the
/// AWS CLI takes them: the process supplies the credentials.
#[test]
fn credential_process_profile_with_profile_region_and_endpoint_flags() {
    let moto = support::moto();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("process-ran");
    let script = support::write(
        dir.path(),
        "creds.sh",
        &format!(
            "#!/bin/sh\ntouch {marker:?}\necho '{{\"Version\": 1, \"AccessKeyId\": \"testing\", \"SecretAccessKey\": \"testing\"}}'\n"
        ),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let cfg = posture_config(dir.path());
    let out = aws_home(
        dir.path(),
        &format!("[profile audit]\ncredential_process = {script}\n"),
    )
    .args([
        "--config",
        &cfg,
        "--profile",
        "audit",
        "--region",
        "us-east-1",
        "--endpoint-url",
        &moto.endpoint,
        "collect",
        "--once",
    ])
    .output()
    .unwrap();
    let text = support::collected(out);
    assert!(marker.exists(), "credential_process did not run");
    // One record, in the --region given (not the configuration's two).
    assert!(
        text.contains("posture 123456789012/us-east-1: record 1 s3"),
        "{text}"
    );
    assert_eq!(text.matches(": record ").count(), 1, "{text}");
}

/// An SSO profile is understood (no "requires cargo feature" error); without a cached
/// session it is one line telling to run `aws sso login`, exit 3, and no request leaves.
#[test]
fn sso_profile_without_a_session_says_aws_sso_login() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = posture_config(dir.path());
    let out = aws_home(
        dir.path(),
        "[profile sso-audit]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 111122223333\nsso_role_name = ReadOnly\nregion = us-east-1\n",
    )
    .args([
        "--config",
        &cfg,
        "--profile",
        "sso-audit",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "collect",
        "--once",
    ])
    .output()
    .unwrap();
    let err = support::stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(!err.contains("cargo feature"), "{err}");
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: AWS credentials could not be loaded")
            && last.contains("aws sso login"),
        "{err}"
    );
}

#[test]
fn verbose_and_quiet_set_the_log_level() {
    let moto = support::moto();
    let dir = tempfile::tempdir().unwrap();
    // A bucket that does not exist: the run is partial and warns about each failed call.
    let cfg = support::write(
        dir.path(),
        "evidenced.toml",
        &format!(
            "[store]\nurl = {store:?}\n\n[aws]\nendpoint_url = {ep:?}\nforce_path_style = true\nmax_attempts = 1\n\n[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"0 0 * * * *\"\nbuckets = [\"evidenced-missing-bucket\"]\n",
            store = dir.path().join("evidence"),
            ep = moto.endpoint,
        ),
    );
    let logs = |flag: Option<&str>| {
        let mut args = vec!["--config", cfg.as_str()];
        args.extend(flag);
        args.extend(["collect", "--once"]);
        let out = support::run_s3(&args);
        let err = support::stderr(&out);
        let levels: Vec<String> = err
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["level"].as_str().map(String::from))
            .collect();
        (out.status.code(), levels)
    };
    let (code, default) = logs(None);
    assert_eq!(code, Some(1));
    assert!(!default.iter().any(|l| l == "INFO"), "{default:?}");
    assert!(default.iter().any(|l| l == "WARN"), "{default:?}");
    let (_, verbose) = logs(Some("-v"));
    assert!(verbose.iter().any(|l| l == "INFO"), "{verbose:?}");
    let (code, quiet) = logs(Some("-q"));
    assert_eq!(code, Some(1), "-q changes logs, not the exit code");
    assert!(quiet.iter().all(|l| l == "ERROR"), "{quiet:?}");
}
