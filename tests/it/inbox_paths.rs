//! An inbox that trusts no path: links (also swapped in after listing), FIFOs, devices,
//! `rejected` that is not a directory, names that are not UTF-8, files still being
//! written, and, on S3, unsafe keys and objects over the size cap. Every entry not taken
//! is listed with its reason in the run document; nothing outside the inbox is read or
//! written, and no run hangs.

use std::io::{BufRead as _, BufReader};
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use evidenced::chain::StoredRecord;
use evidenced::record::Status;
use serde_json::Value;

use crate::inbox::{example, files, Workspace};
use crate::support;

/// Secret bytes outside the inbox; they must never reach the store.
const SECRET: &[u8] = b"-----BEGIN PRIVATE KEY----- inbox-paths-secret-7f3a";

/// The human-record size cap.
const MAX: usize = 1024 * 1024;

/// Run `cmd` to completion, or fail the test (killing it) after `secs`: a guard against a
/// hang, not a synchronisation.
fn output_within(mut cmd: Command, secs: u64) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn evidenced");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out.expect("wait for evidenced"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("evidenced did not finish within {secs}s (process {pid} killed)");
        }
    }
}

fn collect(ws: &Workspace) -> String {
    support::collected(output_within(ws.command(&["collect", "--once"]), 60))
}

/// The last record (the run's) and its document.
fn last_run(ws: &Workspace) -> (StoredRecord, Value) {
    let r = ws.records().pop().expect("a record");
    assert_eq!(r.record.kind, "inbox");
    let doc = serde_json::from_slice(&ws.blob(&r, "inbox/run.json")).unwrap();
    (r, doc)
}

/// The `skipped` list as (file, reason) pairs.
fn skipped(doc: &Value) -> Vec<(String, String)> {
    doc["skipped"]
        .as_array()
        .expect("skipped is a list")
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn reason_of<'a>(list: &'a [(String, String)], file: &str) -> &'a str {
    list.iter()
        .find(|(f, _)| f == file)
        .map(|(_, r)| r.as_str())
        .unwrap_or_else(|| panic!("{file} not in {list:?}"))
}

/// True when `needle` occurs in any file under `dir` (the store's blobs, records, …).
fn anywhere_under(dir: &Path, needle: &[u8]) -> bool {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return false;
    };
    rd.map(|e| e.unwrap().path()).any(|p| {
        let m = std::fs::symlink_metadata(&p).unwrap();
        match m.is_dir() {
            true => anywhere_under(&p, needle),
            false => std::fs::read(&p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false),
        }
    })
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// `collect --once` paused right after it listed the inbox.
struct Paused {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: std::thread::JoinHandle<String>,
}

fn pause_after_listing(ws: &Workspace) -> Paused {
    let mut child = ws
        .command(&["collect", "--once"])
        .env("EVIDENCED_FAILPOINT", "inbox-after-list")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.trim() == "failpoint inbox-after-list reached" {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("collect reaches the failpoint after listing");
    let stdin = child.stdin.take();
    Paused {
        child,
        stdin,
        stderr,
    }
}

impl Paused {
    fn finish(mut self) -> String {
        drop(self.stdin.take());
        let pid = self.child.id();
        let (tx, rx) = mpsc::channel();
        let child = self.child;
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(out) => out.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                panic!("collect did not finish after the failpoint");
            }
        };
        let stderr = self.stderr.join().unwrap();
        assert!(
            out.status.success(),
            "exit {:?}\n{}\n{stderr}",
            out.status.code(),
            support::stdout(&out)
        );
        support::stdout(&out)
    }
}

#[test]
fn inbox_symlink_swapped_in_after_listing_reads_nothing_outside() {
    let ws = Workspace::new("");
    let secret = ws.dir.path().join("checkpoint.pem");
    std::fs::write(&secret, SECRET).unwrap();
    let drill = ws.inbox().join("drill.md");
    std::fs::write(&drill, example("az-failover-2026-06.md")).unwrap();
    let paused = pause_after_listing(&ws);
    // Listed as a regular file; now a link to the secret.
    std::fs::remove_file(&drill).unwrap();
    std::os::unix::fs::symlink(&secret, &drill).unwrap();
    paused.finish();

    let (run, doc) = last_run(&ws);
    assert_eq!(ws.records().len(), 1, "nothing but the run was stored");
    let reason = reason_of(&skipped(&doc), "drill.md").to_string();
    assert!(
        reason.starts_with("symlink when opened") && reason.contains("never followed"),
        "{reason}"
    );
    assert!(doc["rejected"].as_array().unwrap().is_empty());
    assert_eq!(run.record.status, Status::Complete);
    // Not read, not moved, not removed: the link is left as it is.
    assert!(!anywhere_under(&ws.dir.path().join("evidence"), SECRET));
    assert!(std::fs::symlink_metadata(&drill).unwrap().is_symlink());
    assert_eq!(std::fs::read(&secret).unwrap(), SECRET);
    assert_eq!(files(&ws.inbox()), ["drill.md"]);
}

#[test]
fn inbox_dev_zero_and_endless_fifos_are_skipped_without_hanging() {
    let ws = Workspace::new("");
    let inbox = ws.inbox();
    std::os::unix::fs::symlink("/dev/zero", inbox.join("zero.md")).unwrap();
    mkfifo(&inbox.join("pipe.md"));
    // A FIFO that another process would fill without end, swapped in for a listed file.
    std::fs::write(inbox.join("late.md"), example("az-failover-2026-06.md")).unwrap();
    let paused = pause_after_listing(&ws);
    std::fs::remove_file(inbox.join("late.md")).unwrap();
    mkfifo(&inbox.join("late.md"));
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg(format!("exec yes > '{}'", inbox.join("late.md").display()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    paused.finish();
    let _ = writer.kill();
    let _ = writer.wait();

    let (_, doc) = last_run(&ws);
    let s = skipped(&doc);
    assert_eq!(
        reason_of(&s, "zero.md"),
        "symlink: links are never followed"
    );
    assert_eq!(
        reason_of(&s, "pipe.md"),
        "FIFO: not a regular file, never read"
    );
    assert!(
        reason_of(&s, "late.md").starts_with("FIFO when opened"),
        "{s:?}"
    );
    assert_eq!(ws.records().len(), 1);
}

#[test]
fn inbox_file_over_the_cap_is_rejected_as_larger_than_the_cap() {
    let ws = Workspace::new("");
    std::fs::write(ws.inbox().join("huge.md"), vec![b'x'; MAX + 1]).unwrap();
    collect(&ws);
    let (run, doc) = last_run(&ws);
    let reason = doc["rejected"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("huge.md: larger than {MAX} bytes")),
        "{reason}"
    );
    assert_eq!(run.record.status, Status::Partial);
    // Too large to be evidence itself: moved aside, its bytes not stored.
    assert!(run
        .record
        .items
        .iter()
        .all(|i| i.name != "inbox/rejected/huge.md"));
    assert_eq!(
        files(&ws.inbox().join("rejected")),
        ["huge.md", "huge.md.reason"]
    );
}

#[test]
fn inbox_rejected_as_a_file_or_a_link_blocks_no_run_and_writes_nothing_outside() {
    for make in ["file", "symlink"] {
        let ws = Workspace::new("");
        let inbox = ws.inbox();
        let outside = ws.dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        match make {
            "file" => std::fs::write(inbox.join("rejected"), "not a directory").unwrap(),
            _ => std::os::unix::fs::symlink(&outside, inbox.join("rejected")).unwrap(),
        }
        let invalid = b"kind = \"tabletop\"\nid = \"t-1\"\n";
        std::fs::write(inbox.join("bad.toml"), invalid).unwrap();
        std::fs::write(inbox.join("az.md"), example("az-failover-2026-06.md")).unwrap();
        let out = collect(&ws);
        assert!(out.contains("inbox partial"), "{make}: {out}");

        let (run, doc) = last_run(&ws);
        let kind = match make {
            "file" => "regular file",
            _ => "symlink",
        };
        let problem = format!(
            "inbox/rejected is a {kind}; rejected files stay in the inbox until it is a directory"
        );
        assert_eq!(reason_of(&skipped(&doc), "rejected"), problem);
        assert!(
            run.record
                .errors
                .iter()
                .any(|e| e.operation == "inbox:rejected" && e.message == problem),
            "{make}: {:?}",
            run.record.errors
        );
        // The valid file was taken; the invalid one is recorded with its bytes and stays.
        assert_eq!(doc["accepted"][0]["file"], "az.md");
        assert_eq!(doc["rejected"][0]["file"], "bad.toml");
        assert_eq!(ws.blob(&run, "inbox/rejected/bad.toml"), invalid);
        assert_eq!(std::fs::read(inbox.join("bad.toml")).unwrap(), invalid);
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "{make}");
        if make == "file" {
            assert_eq!(
                std::fs::read(inbox.join("rejected")).unwrap(),
                b"not a directory"
            );
        }

        // Once it is a directory again, the next run moves the file aside.
        std::fs::remove_file(inbox.join("rejected")).unwrap();
        collect(&ws);
        assert_eq!(files(&inbox), ["rejected"]);
        assert_eq!(
            files(&inbox.join("rejected")),
            ["bad.toml", "bad.toml.reason"]
        );
    }
}

#[test]
fn inbox_non_utf8_name_is_rejected_under_its_escaped_name() {
    let ws = Workspace::new("");
    let raw = std::ffi::OsStr::from_bytes(b"drill-\xff\xfe.md");
    let body = example("az-failover-2026-06.md");
    std::fs::write(ws.inbox().join(raw), &body).unwrap();
    collect(&ws);
    let (run, doc) = last_run(&ws);
    let escaped = "drill-\\xff\\xfe.md";
    assert_eq!(doc["rejected"][0]["file"], escaped);
    let reason = doc["rejected"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("not valid UTF-8") && reason.contains(escaped),
        "{reason}"
    );
    assert!(run
        .record
        .errors
        .iter()
        .all(|e| e.operation == "inbox:validate"));
    assert_eq!(ws.blob(&run, &format!("inbox/rejected/{escaped}")), body);
    assert_eq!(files(&ws.inbox()), ["rejected"]);
    let rejected = ws.inbox().join("rejected");
    assert_eq!(std::fs::read(rejected.join(escaped)).unwrap(), body);
    assert!(
        std::fs::read_to_string(rejected.join(format!("{escaped}.reason")))
            .unwrap()
            .contains("not valid UTF-8")
    );
    // And the next run has nothing left to complain about.
    collect(&ws);
    let (run, _) = last_run(&ws);
    assert_eq!(run.record.status, Status::Complete);
}

#[test]
fn inbox_file_written_slowly_is_not_taken_until_complete() {
    let ws = Workspace::new("settle_secs = 30\n");
    let p = ws.inbox().join("slow.md");
    let whole = example("az-failover-2026-06.md");
    let (first, rest) = whole.split_at(whole.len() / 2);
    std::fs::write(&p, first).unwrap();
    // "Modified within the interval", decided by the timestamp, whatever the run's timing:
    // a modification time ahead of the clock is never settled (and never waited for).
    set_mtime(&p, SystemTime::now() + Duration::from_secs(3600));
    collect(&ws);
    let (run, doc) = last_run(&ws);
    assert_eq!(ws.records().len(), 1, "nothing taken");
    assert!(doc["accepted"].as_array().unwrap().is_empty());
    let reason = reason_of(&skipped(&doc), "slow.md").to_string();
    assert!(reason.starts_with("still changing"), "{reason}");
    assert_eq!(run.record.status, Status::Complete);
    assert_eq!(std::fs::read(&p).unwrap(), first, "left as it was");

    // Finished, and unmodified for longer than the interval: taken whole.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&p)
        .and_then(|mut f| std::io::Write::write_all(&mut f, rest))
        .unwrap();
    set_mtime(&p, SystemTime::now() - Duration::from_secs(60));
    collect(&ws);
    let records = ws.records();
    let drill = records
        .iter()
        .find(|r| r.record.kind == "az-failover")
        .expect("taken");
    assert_eq!(ws.blob(drill, "original/slow.md"), whole);
    assert!(!p.exists());
}

#[test]
fn inbox_ready_marker_takes_a_file_at_once_and_goes_with_it() {
    // An interval no run would wait for: only the marker makes the file ready.
    let ws = Workspace::new("settle_secs = 86400\n");
    let inbox = ws.inbox();
    std::fs::write(inbox.join("drill.md"), example("az-failover-2026-06.md")).unwrap();
    std::fs::write(
        inbox.join("waiting.md"),
        example("region-failover-2026-03.md"),
    )
    .unwrap();
    set_mtime(
        &inbox.join("waiting.md"),
        SystemTime::now() + Duration::from_secs(60),
    );
    std::fs::write(inbox.join("drill.md.ready"), "").unwrap();
    collect(&ws);
    let (_, doc) = last_run(&ws);
    assert_eq!(doc["accepted"][0]["file"], "drill.md");
    let s = skipped(&doc);
    assert_eq!(s.len(), 1, "the marker is not an entry of its own: {s:?}");
    assert!(reason_of(&s, "waiting.md").starts_with("still changing"));
    assert_eq!(files(&inbox), ["waiting.md"]);
}

#[test]
fn inbox_every_entry_not_taken_is_listed_with_its_reason() {
    let ws = Workspace::new("");
    let inbox = ws.inbox();
    std::fs::write(inbox.join("drill.md"), example("az-failover-2026-06.md")).unwrap();
    std::fs::write(inbox.join(".upload.md.part"), "partial").unwrap();
    std::fs::write(inbox.join("stray.md.reason"), "x").unwrap();
    std::fs::write(inbox.join("gone.md.ready"), "").unwrap();
    std::fs::create_dir(inbox.join("2026")).unwrap();
    std::os::unix::fs::symlink("drill.md", inbox.join("alias.md")).unwrap();
    mkfifo(&inbox.join("pipe.md"));
    let sock = std::os::unix::net::UnixListener::bind(inbox.join("sock.md")).unwrap();
    collect(&ws);
    drop(sock);
    let (run, doc) = last_run(&ws);
    assert_eq!(doc["accepted"][0]["file"], "drill.md");
    let got: Vec<(String, String)> = skipped(&doc)
        .into_iter()
        .map(|(f, r)| (f, r.split(':').next().unwrap().to_string()))
        .collect();
    let want: Vec<(String, String)> = [
        (".upload.md.part", "dot-file"),
        ("2026", "directory"),
        ("alias.md", "symlink"),
        ("gone.md.ready", "ready marker without its file"),
        ("pipe.md", "FIFO"),
        ("sock.md", "socket"),
        ("stray.md.reason", ".reason file"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    // Skipping is not an error: the run is complete.
    assert_eq!(run.record.status, Status::Complete);
}

#[test]
fn inbox_submit_refuses_dev_zero_and_bounds_an_endless_pipe() {
    let ws = Workspace::new("");
    let out = output_within(ws.command(&["submit", "/dev/zero"]), 60);
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("/dev/zero") && err.contains("not a regular file"),
        "{err}"
    );
    // A pipe is read, but never past the cap.
    let fifo = ws.dir.path().join("endless.md");
    mkfifo(&fifo);
    let mut writer = Command::new("sh")
        .arg("-c")
        .arg(format!("exec yes > '{}'", fifo.display()))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = output_within(ws.command(&["submit", fifo.to_str().unwrap()]), 60);
    let _ = writer.kill();
    let _ = writer.wait();
    assert_eq!(out.status.code(), Some(2), "{}", support::stderr(&out));
    let err = support::stderr(&out);
    assert!(
        err.contains("endless.md") && err.contains(&format!("larger than {MAX} bytes")),
        "{err}"
    );
    assert!(ws.records().is_empty());
}

/// Put `body` at `key` (with the checksum a lock-enabled bucket requires).
async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    let digest = evidenced::digest::Digest::of(&body);
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .checksum_sha256(digest.base64())
        .body(body.into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(String::from))
        .collect();
    keys.sort();
    keys
}

#[test]
fn inbox_s3_unsafe_keys_are_skipped_and_objects_over_the_cap_moved_aside_unread() {
    let rt = crate::inbox::rt();
    let bucket = rt.block_on(support::lock_bucket("inbox-paths"));
    let unsafe_keys = [
        "drops/..",
        "drops/../up.md",
        "drops//empty.md",
        "drops/.hidden.md",
        "drops/sub/x.md",
        "drops/x.md.ready",
    ];
    let big = vec![b'x'; MAX + 1];
    rt.block_on(async {
        let s3 = support::s3_client().await;
        for key in unsafe_keys {
            put(&s3, &bucket, key, example("az-failover-2026-06.md")).await;
        }
        put(&s3, &bucket, "drops/big.md", big.clone()).await;
        put(
            &s3,
            &bucket,
            "drops/ok.md",
            example("region-failover-2026-03.md"),
        )
        .await;
        // Each key is stored as written (nothing normalised the `..` away).
        let mut want: Vec<String> = unsafe_keys.iter().map(|k| k.to_string()).collect();
        want.extend(["drops/big.md".to_string(), "drops/ok.md".to_string()]);
        want.sort();
        assert_eq!(keys(&s3, &bucket).await, want);
    });
    let ws = crate::collect_moto::workspace(
        "us-east-1",
        &format!("[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"0 */5 * * * *\"\nurl = \"s3://{bucket}/drops/\"\n"),
    );
    let out = crate::collect_moto::collect(&ws);
    assert!(out.contains("inbox partial"), "{out}");
    let (run, doc) = last_run(&ws);
    assert_eq!(doc["accepted"][0]["file"], "ok.md");
    let reason = doc["rejected"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("big.md: larger than {MAX} bytes")),
        "{reason}"
    );
    // Not read, so not stored: only moved aside within the prefix.
    assert!(run
        .record
        .items
        .iter()
        .all(|i| i.name != "inbox/rejected/big.md"));
    let got: Vec<(String, String)> = skipped(&doc)
        .into_iter()
        .map(|(f, r)| (f, r.split(':').next().unwrap().to_string()))
        .collect();
    let want: Vec<(String, String)> = [
        ("..", "unsafe name (a '.' or '..' segment)"),
        ("../", "unsafe name (a '.' or '..' segment)"),
        (".hidden.md", "dot-file"),
        ("/", "unsafe name (an empty path segment)"),
        ("sub/", "directory"),
        ("x.md.ready", ".ready object"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{:?}", skipped(&doc));
    rt.block_on(async {
        let s3 = support::s3_client().await;
        let mut want: Vec<String> = unsafe_keys.iter().map(|k| k.to_string()).collect();
        want.extend([
            "drops/rejected/big.md".to_string(),
            "drops/rejected/big.md.reason".to_string(),
        ]);
        want.sort();
        assert_eq!(keys(&s3, &bucket).await, want);
        let moved = s3
            .get_object()
            .bucket(&bucket)
            .key("drops/rejected/big.md")
            .send()
            .await
            .unwrap();
        assert_eq!(
            moved.body.collect().await.unwrap().into_bytes().len(),
            MAX + 1
        );
    });
}
