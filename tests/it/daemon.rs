//! `evidenced run` and `evidenced healthcheck` as ECS runs them: real processes, signals,
//! the local store with an inbox, and moto for AWS.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::Value;

use crate::store_local::{log_json, restore_test};
use crate::support::{self, ok, run};

/// A daemon process whose JSON log lines arrive on a channel.
struct Daemon {
    child: Child,
    lines: Receiver<String>,
    all: Vec<String>,
}

impl Daemon {
    fn start(config: &Path, envs: &[(&str, &str)]) -> Daemon {
        let mut cmd = Command::new(support::bin());
        cmd.args(["--config", config.to_str().unwrap(), "run"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the daemon");
        let (tx, rx) = channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Daemon {
            child,
            lines: rx,
            all: Vec::new(),
        }
    }

    /// Wait (on log lines, with a generous limit) for a line matching `pred`.
    #[track_caller]
    fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| {
                    panic!(
                        "no log line for {what}; log so far:\n{}",
                        self.all.join("\n")
                    )
                });
            self.all.push(line.clone());
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if pred(&v) {
                    return v;
                }
            }
        }
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Wait for exit, draining the log; panics after `limit`.
    fn exit_within(mut self, limit: Duration) -> (i32, Vec<String>) {
        let (tx, rx) = channel();
        let mut child = self.child;
        std::thread::spawn(move || {
            let _ = tx.send(child.wait().unwrap());
        });
        let status = rx
            .recv_timeout(limit)
            .expect("daemon did not exit within the deadline");
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.all.push(l);
        }
        (status.code().unwrap_or(-1), self.all)
    }
}

fn message(v: &Value) -> &str {
    v["message"]
        .as_str()
        .or_else(|| v["fields"]["message"].as_str())
        .unwrap_or("")
}

fn inbox_config(dir: &Path, store: &Path, inbox: &Path, schedule: &str) -> std::path::PathBuf {
    let cfg = dir.join("evidenced.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = {store:?}\n\n[daemon]\njitter_secs = 0\nshutdown_deadline_secs = 10\nheartbeat_secs = 1\nhealth_file = {health:?}\n\n[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"{schedule}\"\nurl = {inbox:?}\nsettle_secs = 0\n",
            health = dir.join("health.json"),
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn daemon_commits_inbox_files_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (store, inbox) = (dir.path().join("evidence"), dir.path().join("inbox"));
    std::fs::create_dir_all(&inbox).unwrap();
    let cfg = inbox_config(dir.path(), &store, &inbox, "* * * * * *");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text = text.replace("[daemon]\n", "[daemon]\nhealthz_port = 0\n");
    std::fs::write(&cfg, text).unwrap();
    let mut d = Daemon::start(&cfg, &[]);
    let port = d.wait_for("the health endpoint", |v| {
        message(v) == "Health endpoint listening."
    })["port"]
        .as_u64()
        .unwrap();
    d.wait_for("catch-up", |v| message(v) == "Catch-up checked.");
    // Files dropped while it runs are committed.
    let ids: Vec<String> = (0..5).map(|i| format!("drop-{i}")).collect();
    for id in &ids {
        support::write(&inbox, &format!("{id}.toml"), &restore_test(id));
    }
    let s = store.to_str().unwrap().to_string();
    loop {
        d.wait_for("a finished run", |v| message(v) == "Run finished.");
        let log = log_json(&ok(run(&["--store", &s, "log", "--format", "json"])));
        if log
            .iter()
            .filter(|e| e["collector"] == "drills" && e["kind"] != "inbox")
            .count()
            >= 1
            && std::fs::read_dir(&inbox)
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().is_file())
                .count()
                == 0
        {
            break;
        }
    }
    // The health check agrees while it runs.
    let health = dir.path().join("health.json");
    let hc = run(&["healthcheck", "--file", health.to_str().unwrap()]);
    assert_eq!(hc.status.code(), Some(0), "{}", support::stdout(&hc));
    assert_eq!(
        http_get(port as u16, "/healthz").lines().next(),
        Some("HTTP/1.1 200 OK")
    );
    assert!(http_get(port as u16, "/other").starts_with("HTTP/1.1 404"));

    // More files, then SIGTERM as a run starts.
    for i in 5..8 {
        let id = format!("drop-{i}");
        support::write(&inbox, &format!("{id}.toml"), &restore_test(&id));
    }
    d.wait_for("a run starting", |v| message(v) == "Run started.");
    d.sigterm();
    let (code, lines) = d.exit_within(Duration::from_secs(12));
    assert_eq!(code, 0, "{}", lines.join("\n"));
    assert!(lines.iter().any(|l| l.contains("Daemon stopped.")));

    // The store verifies; every file is either stored once or still in the inbox.
    assert!(ok(run(&["--store", &s, "verify"])).starts_with("OK:"));
    let store_text = ok(run(&["--store", &s, "log", "--format", "json"]));
    let left: Vec<String> = std::fs::read_dir(&inbox)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let stored = stored_ids(&store);
    for i in 0..8 {
        let id = format!("drop-{i}");
        let n = stored.iter().filter(|s| **s == id).count();
        let in_inbox = left.contains(&format!("{id}.toml"));
        assert!(
            n == 1 || (n == 0 && in_inbox),
            "{id}: stored {n} times, in inbox: {in_inbox}\n{store_text}"
        );
    }
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // One write: the endpoint answers from its first read.
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Ids of human records in the store, one entry per record.
fn stored_ids(store: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(store.join("chain/records")).unwrap() {
        let r: Value = serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap();
        for item in r["items"].as_array().unwrap() {
            if let Some(name) = item["name"]
                .as_str()
                .and_then(|n| n.strip_prefix("record/restore-test/"))
            {
                out.push(name.trim_end_matches(".json").to_string());
            }
        }
    }
    out
}

#[test]
fn catch_up_after_restart_runs_only_what_is_overdue() {
    let dir = tempfile::tempdir().unwrap();
    let (store, inbox) = (dir.path().join("evidence"), dir.path().join("inbox"));
    std::fs::create_dir_all(&inbox).unwrap();
    // Once a year: only catch-up can make it run during the test.
    let cfg = inbox_config(dir.path(), &store, &inbox, "0 0 0 1 1 *");
    let mut d = Daemon::start(&cfg, &[]);
    let v = d.wait_for("catch-up", |v| message(v) == "Catch-up checked.");
    assert_eq!(v["due"], 1, "never-run collector is due at start");
    d.wait_for("the catch-up run", |v| message(v) == "Run finished.");
    d.sigterm();
    assert_eq!(d.exit_within(Duration::from_secs(12)).0, 0);
    let before = log_json(&ok(run(&[
        "--store",
        store.to_str().unwrap(),
        "log",
        "--format",
        "json",
    ])))
    .len();
    assert!(before >= 1);

    let mut d = Daemon::start(&cfg, &[]);
    let v = d.wait_for("catch-up", |v| message(v) == "Catch-up checked.");
    assert_eq!(v["due"], 0, "a collector that just ran is not due again");
    d.sigterm();
    assert_eq!(d.exit_within(Duration::from_secs(12)).0, 0);
    let after = log_json(&ok(run(&[
        "--store",
        store.to_str().unwrap(),
        "log",
        "--format",
        "json",
    ])))
    .len();
    assert_eq!(before, after);
}

#[test]
fn healthcheck_is_liveness_degraded_runs_pass_stuck_or_dead_fail() {
    use evidenced::daemon::health::{CollectorHealth, HealthState};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("health.json");
    let now = time::OffsetDateTime::now_utc();
    let collector = |name: &str, interval_secs: u64, ago: time::Duration| CollectorHealth {
        name: name.into(),
        interval_secs,
        last_commit_at: Some(now - ago),
        degraded_runs: 0,
        last_error: None,
    };
    let base = HealthState {
        pid: 1,
        started_at: now - time::Duration::hours(3),
        heartbeat_at: now,
        heartbeat_secs: 10,
        last_commit_at: Some(now - time::Duration::minutes(5)),
        collectors: vec![
            collector("alarms", 900, time::Duration::minutes(5)),
            collector("backup", 3600, time::Duration::minutes(50)),
        ],
    };
    let check = |s: &HealthState| {
        s.write(&path).unwrap();
        let out = run(&["healthcheck", "--file", path.to_str().unwrap()]);
        (out.status.code(), support::stdout(&out))
    };
    let (code, text) = check(&base);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.starts_with("healthy:"), "{text}");

    // Every run of one collector partial (a missing permission in a member account): the
    // daemon is alive and committing, so the check passes and names the degradation.
    let mut degraded = base.clone();
    degraded.collectors[1].degraded_runs = 7;
    degraded.collectors[1].last_error = Some(
        "backup account 111122223333 region eu-west-1: partial: backup:ListBackupJobs: AccessDeniedException".into(),
    );
    let (code, text) = check(&degraded);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("degraded") && text.contains("backup (7 runs partial or failed"),
        "{text}"
    );

    let json = |st: &HealthState| {
        st.write(&path).unwrap();
        let out = run(&[
            "healthcheck",
            "--file",
            path.to_str().unwrap(),
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), v)
    };
    let (code, v) = json(&degraded);
    assert_eq!(code, Some(0));
    assert_eq!(
        (v["healthy"].clone(), v["degraded"].clone()),
        (true.into(), true.into()),
        "{v}"
    );
    assert_eq!(v["collectors"][1]["degraded_runs"], 7, "{v}");

    // Stuck: the 15-minute collector has committed nothing for 31 minutes.
    let mut stuck = base.clone();
    stuck.collectors[0].last_commit_at = Some(now - time::Duration::minutes(31));
    let (code, text) = check(&stuck);
    assert_eq!(code, Some(1), "{text}");
    let (code, v) = json(&stuck);
    assert_eq!(code, Some(1));
    assert_eq!(v["healthy"], false, "{v}");
    assert!(v["message"].as_str().unwrap().contains("stuck"), "{v}");
    assert!(
        text.contains("stuck") && text.contains("twice its schedule"),
        "{text}"
    );
    // ... while 31 minutes is fine for the hourly one.
    let mut hourly = base.clone();
    hourly.collectors[1].last_commit_at = Some(now - time::Duration::minutes(110));
    assert_eq!(check(&hourly).0, Some(0));

    // Never committed since a start 3 hours ago.
    let mut never = base.clone();
    never.collectors[0].last_commit_at = None;
    let (code, text) = check(&never);
    assert_eq!(code, Some(1));
    assert!(text.contains("since the daemon started"), "{text}");

    let dead = HealthState {
        heartbeat_at: now - time::Duration::minutes(2),
        ..base.clone()
    };
    let (code, text) = check(&dead);
    assert_eq!(code, Some(1));
    assert!(text.contains("not alive"), "{text}");
    let missing = run(&[
        "healthcheck",
        "--file",
        dir.path().join("nope.json").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn credentials_in_the_environment_never_appear_in_logs() {
    let moto = support::moto();
    let dir = tempfile::tempdir().unwrap();
    let (store, inbox) = (dir.path().join("evidence"), dir.path().join("inbox"));
    std::fs::create_dir_all(&inbox).unwrap();
    let cfg = dir.path().join("evidenced.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = {store:?}\n\n[aws]\nregions = [\"us-east-1\"]\nendpoint_url = {ep:?}\nforce_path_style = true\n\n[daemon]\njitter_secs = 0\nheartbeat_secs = 1\nhealth_file = {health:?}\nmetrics_namespace = \"evidenced\"\n\n[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"* * * * * *\"\nall_buckets = true\n\n[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"* * * * * *\"\nurl = {inbox:?}\nsettle_secs = 0\n",
            ep = moto.endpoint,
            health = dir.path().join("health.json"),
        ),
    )
    .unwrap();
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEYsecret";
    let key_id = "AKIAEVIDENCEDTESTKEY";
    let token = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue";
    for level in [None, Some("debug")] {
        let mut envs = vec![
            ("AWS_ACCESS_KEY_ID", key_id),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SESSION_TOKEN", token),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        if let Some(l) = level {
            envs.push(("RUST_LOG", l));
        }
        let mut d = Daemon::start(&cfg, &envs);
        // Two AWS-using runs finished: credentials were used to sign requests.
        d.wait_for("posture run", |v| {
            message(v) == "Run finished." && v["collector"] == "posture"
        });
        d.wait_for("second posture run", |v| {
            message(v) == "Run finished." && v["collector"] == "posture"
        });
        d.sigterm();
        let (code, lines) = d.exit_within(Duration::from_secs(12));
        assert_eq!(code, 0);
        assert!(lines.len() > 5, "too few log lines to prove anything");
        for l in &lines {
            for s in [secret, key_id, token] {
                assert!(
                    !l.contains(s),
                    "credential {s} logged at level {level:?}: {l}"
                );
            }
        }
    }
}

/// The ECS deployment overlap: two daemons on one S3 chain for a minute.
#[tokio::test(flavor = "multi_thread")]
async fn two_daemons_on_one_s3_chain_keep_it_linear_and_lose_nothing() {
    let moto = support::moto();
    let bucket = support::lock_bucket("overlap").await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("s3://{bucket}/evidence");
    let mut daemons = Vec::new();
    for w in 0..2 {
        let inbox = dir.path().join(format!("inbox-{w}"));
        std::fs::create_dir_all(&inbox).unwrap();
        for i in 0..5 {
            let id = format!("d{w}-{i}");
            support::write(&inbox, &format!("{id}.toml"), &restore_test(&id));
        }
        let cfg = dir.path().join(format!("d{w}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[store]\nurl = {url:?}\nendpoint_url = {ep:?}\nforce_path_style = true\n\n[aws]\nregions = [\"us-east-1\"]\nendpoint_url = {ep:?}\nforce_path_style = true\n\n[daemon]\njitter_secs = 0\nhealth_file = {health:?}\n\n[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"* * * * * *\"\n\n[[collector]]\ntype = \"inbox\"\nname = \"drills-{w}\"\nschedule = \"*/2 * * * * *\"\nurl = {inbox:?}\nsettle_secs = 0\n",
                ep = moto.endpoint,
                health = dir.path().join(format!("health-{w}.json")),
            ),
        )
        .unwrap();
        let envs = [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        daemons.push(Daemon::start(&cfg, &envs));
    }
    // Let them overlap for a minute: the duration of the scenario, not a synchronization.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let mut runs = 0;
    for d in daemons {
        d.sigterm();
        let (code, lines) =
            tokio::task::spawn_blocking(move || d.exit_within(Duration::from_secs(15)))
                .await
                .unwrap();
        assert_eq!(code, 0, "{}", lines.join("\n"));
        runs += lines.iter().filter(|l| l.contains("Run finished.")).count();
    }
    assert!(runs >= 60, "only {runs} runs in a minute");
    let u = url.clone();
    let verify =
        tokio::task::spawn_blocking(move || ok(support::run_s3(&["--store", &u, "verify"])))
            .await
            .unwrap();
    assert!(verify.starts_with("OK:"), "{verify}");
    let u = url.clone();
    let log = log_json(
        &tokio::task::spawn_blocking(move || {
            ok(support::run_s3(&["--store", &u, "log", "--format", "json"]))
        })
        .await
        .unwrap(),
    );
    let seqs: Vec<u64> = log.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=log.len() as u64).collect::<Vec<_>>());
    // Every inbox file was committed exactly once and removed from its inbox.
    let store = evidenced::chain::EvidenceStore::new(evidenced::store::S3Store::new(
        support::s3_client().await,
        &bucket,
        "evidence",
    ));
    let mut ids = Vec::new();
    for r in store.records().await.unwrap() {
        for item in &r.record.items {
            if let Some(n) = item.name.strip_prefix("record/restore-test/") {
                ids.push(n.trim_end_matches(".json").to_string());
            }
        }
    }
    ids.sort();
    let mut want: Vec<String> = (0..2)
        .flat_map(|w| (0..5).map(move |i| format!("d{w}-{i}")))
        .collect();
    want.sort();
    assert_eq!(ids, want);
    for w in 0..2 {
        let left = std::fs::read_dir(dir.path().join(format!("inbox-{w}")))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_file())
            .count();
        assert_eq!(left, 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_warns_about_requirements_and_publishes_metrics() {
    let moto = support::moto();
    let dir = tempfile::tempdir().unwrap();
    let (store, inbox) = (dir.path().join("evidence"), dir.path().join("inbox"));
    std::fs::create_dir_all(&inbox).unwrap();
    let cfg = dir.path().join("evidenced.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = {store:?}\n\n[aws]\nregions = [\"us-east-1\"]\nendpoint_url = {ep:?}\n\n[daemon]\njitter_secs = 0\nhealth_file = {health:?}\nmetrics_namespace = \"evidenced-test\"\n\n[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"* * * * * *\"\nurl = {inbox:?}\nsettle_secs = 0\n",
            ep = moto.endpoint,
            health = dir.path().join("health.json"),
        ),
    )
    .unwrap();
    let envs = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let d = tokio::task::spawn_blocking(move || {
        let mut d = Daemon::start(&cfg, &envs);
        // An empty store: BAR-002 has no restore test in any quarter.
        let v = d.wait_for("a failing requirement", |v| {
            message(v) == "Requirement failing."
        });
        assert!(v["requirement"].is_string());
        d.wait_for("two finished runs", |v| message(v) == "Run finished.");
        d.wait_for("two finished runs", |v| message(v) == "Run finished.");
        d
    })
    .await
    .unwrap();
    d.sigterm();
    let (code, _) = tokio::task::spawn_blocking(move || d.exit_within(Duration::from_secs(12)))
        .await
        .unwrap();
    assert_eq!(code, 0);
    let cw = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::new()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .endpoint_url(&moto.endpoint)
            .build(),
    );
    let listed = cw
        .list_metrics()
        .namespace("evidenced-test")
        .send()
        .await
        .unwrap();
    let names: std::collections::BTreeSet<String> = listed
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name().map(str::to_string))
        .collect();
    for want in [
        "Runs",
        "RunsFailed",
        "RecordsCommitted",
        "BytesWritten",
        "RunDurationSeconds",
        "RequirementFailing",
    ] {
        assert!(names.contains(want), "{want} not published: {names:?}");
    }
    let bar = listed.metrics().iter().any(|m| {
        m.metric_name() == Some("RequirementFailing")
            && m.dimensions()
                .iter()
                .any(|d| d.name() == Some("Requirement") && d.value() == Some("BAR-002"))
    });
    assert!(bar, "no RequirementFailing for BAR-002");
}

/// A collector that is partial on every run (its bucket does not exist): the daemon stays
/// healthy, warns, and counts the degraded runs in `RunsFailed`.
#[tokio::test(flavor = "multi_thread")]
async fn an_always_partial_collector_keeps_healthcheck_at_0_and_raises_runs_failed() {
    let moto = support::moto();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let health = dir.path().join("health.json");
    let namespace = format!("evidenced-degraded-{:08x}", rand::random::<u32>());
    let cfg = dir.path().join("evidenced.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = {store:?}\n\n[aws]\nregions = [\"us-east-1\"]\nendpoint_url = {ep:?}\nforce_path_style = true\nmax_attempts = 1\n\n[daemon]\njitter_secs = 0\nheartbeat_secs = 1\nhealth_file = {health:?}\nmetrics_namespace = {namespace:?}\n\n[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"* * * * * *\"\nbuckets = [\"evidenced-no-such-bucket\"]\n",
            ep = moto.endpoint,
        ),
    )
    .unwrap();
    let envs = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let h = health.clone();
    let (d, hc) = tokio::task::spawn_blocking(move || {
        let mut d = Daemon::start(&cfg, &envs);
        for _ in 0..3 {
            let v = d.wait_for("a degraded run", |v| message(v).starts_with("Run degraded"));
            assert_eq!(v["level"], "WARN", "{v}");
            assert_eq!(v["failures"], 1, "{v}");
        }
        let hc = run(&["healthcheck", "--file", h.to_str().unwrap()]);
        (d, hc)
    })
    .await
    .unwrap();
    d.sigterm();
    let (code, lines) = tokio::task::spawn_blocking(move || d.exit_within(Duration::from_secs(12)))
        .await
        .unwrap();
    assert_eq!(code, 0, "{}", lines.join("\n"));
    let text = support::stdout(&hc);
    assert_eq!(hc.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with("healthy, degraded:") && text.contains("posture"),
        "{text}"
    );
    let cw = aws_sdk_cloudwatch::Client::from_conf(
        aws_sdk_cloudwatch::config::Builder::new()
            .behavior_version(aws_sdk_cloudwatch::config::BehaviorVersion::latest())
            .region(aws_sdk_cloudwatch::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .endpoint_url(&moto.endpoint)
            .build(),
    );
    let now = std::time::SystemTime::now();
    let stats = cw
        .get_metric_statistics()
        .namespace(&namespace)
        .metric_name("RunsFailed")
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name("Collector")
                .value("posture")
                .build(),
        )
        .start_time((now - Duration::from_secs(3600)).into())
        .end_time((now + Duration::from_secs(60)).into())
        .period(3600)
        .statistics(aws_sdk_cloudwatch::types::Statistic::Sum)
        .send()
        .await
        .unwrap();
    let sum: f64 = stats.datapoints().iter().filter_map(|p| p.sum()).sum();
    assert!(sum >= 3.0, "RunsFailed sum {sum}: {stats:?}");
}

/// Two collectors of the daemon that run at once share one set of per-service limits:
/// `[aws] service_limits` bounds the daemon's Backup requests in flight, not each run's
/// (before, each scheduled run had limits of its own, so two runs could have twice the
/// limit in flight). Against the mock endpoint of `collect_scale`, which counts the
/// requests it holds at once.
#[test]
fn collectors_running_at_once_share_the_daemons_per_service_limit() {
    use crate::scale_mock::{ScaleMock, Shape};
    use std::sync::atomic::Ordering;
    const LIMIT: usize = 3;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mock = rt.block_on(ScaleMock::start(Shape {
        jobs: 60,
        page: 50,
        throttle_every: 0,
        latency: Duration::from_millis(20),
    }));
    let dir = tempfile::tempdir().unwrap();
    let accounts: Vec<String> = (0..10)
        .map(|i| format!("\"{}\"", 200_000_000_000u64 + i))
        .collect();
    let collectors: String = ["backup-a", "backup-b"]
        .iter()
        .map(|n| {
            format!("\n[[collector]]\ntype = \"backup\"\nname = \"{n}\"\nschedule = \"0 0 0 1 1 *\"\ninclude = [\"jobs\"]\n")
        })
        .collect();
    let cfg = dir.path().join("evidenced.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\nurl = {store:?}\n\n[daemon]\njitter_secs = 0\nshutdown_deadline_secs = 10\nheartbeat_secs = 1\nhealth_file = {health:?}\n\n[aws]\nregions = [\"us-east-1\", \"eu-west-1\", \"eu-central-1\", \"ap-southeast-2\"]\naccounts = [{accounts}]\nrole_name = \"evidenced-member\"\nexternal_id = \"limits-test\"\nendpoint_url = \"{endpoint}\"\nmax_attempts = 8\nretry_initial_backoff_ms = 5\nservice_concurrency = 16\nservice_limits = {{ backup = {LIMIT} }}\n{collectors}",
            store = dir.path().join("evidence"),
            health = dir.path().join("health.json"),
            accounts = accounts.join(", "),
            endpoint = mock.endpoint,
        ),
    )
    .unwrap();
    let mut d = Daemon::start(
        &cfg,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDMOCKBASE0000"),
            ("AWS_SECRET_ACCESS_KEY", "mock"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    // Both catch up at start, together.
    for _ in 0..2 {
        let v = d.wait_for("two finished catch-up runs", |v| {
            message(v) == "Run finished."
        });
        assert_eq!(
            (&v["records"], &v["failures"]),
            (&40.into(), &0.into()),
            "{v}"
        );
    }
    d.sigterm();
    let (code, log) = d.exit_within(Duration::from_secs(30));
    assert_eq!(code, 0, "{}", log.join("\n"));
    let backup = mock.counts.service("backup");
    let max = backup.max_in_flight.load(Ordering::SeqCst);
    assert!(
        max <= LIMIT,
        "{max} Backup requests in flight, limit {LIMIT}"
    );
    assert!(
        max >= 2,
        "the runs did not overlap (at most {max} in flight)"
    );
    // The daemon's own count, logged at shutdown, is the mock's.
    let logged = log
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| {
            message(v) == "AWS requests since the daemon started." && v["service"] == "backup"
        })
        .unwrap_or_else(|| panic!("no count at shutdown:\n{}", log.join("\n")));
    assert_eq!(
        logged["requests"].as_u64(),
        Some(backup.requests.load(Ordering::SeqCst)),
        "{logged}"
    );
}
