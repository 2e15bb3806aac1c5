//! Shared test fixtures: the moto server, temporary stores, running the binary.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

/// Path of the built `evidenced` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_evidenced")
}

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A moto server on 127.0.0.1, started once per test process and stopped when it exits
/// (the launcher serves until its stdin closes).
pub struct Moto {
    pub endpoint: String,
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

/// The Python of the test venv (moto, PyYAML).
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("EVIDENCED_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    root().join(".venv/bin/python")
}

/// The shared moto server. Panics, loudly, when moto is not installed: these tests need it.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let py = python();
        assert!(
            py.exists(),
            "moto is not installed: {} is missing. Run `bash .ci/setup` (creates .venv with moto[server]==5.2.5) or set EVIDENCED_TEST_PYTHON.",
            py.display()
        );
        let mut child = Command::new(&py)
            .arg(root().join("tests/support/moto_launcher.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the moto launcher");
        let stdout = child.stdout.take().expect("launcher stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the moto port");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("moto launcher printed {line:?} instead of a port"));
        let stdin = child.stdin.take().expect("launcher stdin");
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        }
    })
}

/// Environment for a child process talking to moto: dummy credentials, endpoint, region.
pub fn moto_env(cmd: &mut Command) -> &mut Command {
    let m = moto();
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("EVIDENCED_STORE__ENDPOINT_URL", &m.endpoint)
        .env("EVIDENCED_STORE__FORCE_PATH_STYLE", "true")
}

/// An S3 client for moto, for test setup and inspection.
pub async fn s3_client() -> aws_sdk_s3::Client {
    let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test");
    let conf = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(creds)
        .endpoint_url(&moto().endpoint)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A fresh bucket with Object Lock and versioning, named after the test.
pub async fn lock_bucket(name: &str) -> String {
    let client = s3_client().await;
    let bucket = format!("{name}-{:08x}", rand::random::<u32>());
    client
        .create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .expect("create bucket");
    client
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("enable versioning");
    bucket
}

/// Run `evidenced` with `args`, without moto settings.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("EVIDENCED_CONFIG")
        .output()
        .expect("run evidenced")
}

/// Run `evidenced` against moto.
pub fn run_s3(args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args).env_remove("EVIDENCED_CONFIG");
    moto_env(&mut cmd).output().expect("run evidenced")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert success and return stdout.
#[track_caller]
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// Check the output of `collect --once` and return its stdout: exit 0 when every run was
/// complete, exit 1 when any was partial or failed, each such run named on stderr on one
/// line (`<collector> [account A] [region R]: partial|failed: <first error>`).
#[track_caller]
pub fn collected(o: Output) -> String {
    let (out, err) = (stdout(&o), stderr(&o));
    let degraded_records = out
        .lines()
        .filter(|l| l.contains(" partial (") || l.contains(" failed ("))
        .count();
    let named = err
        .lines()
        .filter(|l| l.contains(": partial: ") || l.contains(": failed: "))
        .count();
    let want = if degraded_records == 0 { 0 } else { 1 };
    assert_eq!(
        o.status.code(),
        Some(want),
        "collect --once exit code\nstdout:\n{out}\nstderr:\n{err}"
    );
    assert_eq!(
        named, degraded_records,
        "each degraded run named on stderr\nstdout:\n{out}\nstderr:\n{err}"
    );
    out
}

/// The shipped example human records.
pub fn example_files() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("config/examples"))
        .expect("config/examples")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

/// Write a file into `dir` and return its path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p.display().to_string()
}

/// A running child paused at a failpoint; dropping stdin lets it continue.
pub struct Paused {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
}

/// Spawn `cmd` with `EVIDENCED_FAILPOINT=point` and wait (by reading its stderr, no
/// sleeping) until it reports the failpoint.
pub fn spawn_until_failpoint(mut cmd: Command, point: &str) -> Paused {
    cmd.env("EVIDENCED_FAILPOINT", point)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn evidenced");
    let stderr = child.stderr.take().expect("stderr");
    let mut reader = BufReader::new(stderr);
    let want = format!("failpoint {point} reached");
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).expect("read stderr");
        assert!(n > 0, "process exited before reaching failpoint {point}");
        if line.trim() == want {
            break;
        }
    }
    let stdin = child.stdin.take();
    Paused { child, stdin }
}

impl Paused {
    /// SIGKILL the paused process and reap it.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        let _ = self.child.wait();
        if let Some(mut s) = self.stdin.take() {
            let _ = s.flush();
        }
    }
}

/// Run `evidenced` against moto with the store's request counts asked for
/// (`EVIDENCED_STORE_STATS=1`; read them with [`requests`]).
pub fn counted(args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("EVIDENCED_CONFIG")
        .env("EVIDENCED_STORE_STATS", "1");
    moto_env(&mut cmd).output().expect("run evidenced")
}

/// A figure (`get`, `list`, `put`, `head`, `total`) of the request counts a command
/// printed.
pub fn requests(o: &Output, what: &str) -> u64 {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.starts_with("store requests: "))
        .unwrap_or_else(|| panic!("no request counts in: {err}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{what}=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {what}= in {line}"))
}
