//! The inbox collector: valid, invalid and duplicate files, nothing lost on any path, and a
//! crash between commit and cleanup that does not store a file twice.

use std::path::{Path, PathBuf};
use std::process::Command;

use evidenced::chain::{EvidenceStore, StoredRecord};
use evidenced::record::Status;
use evidenced::store::LocalStore;

use crate::support::{self, bin, stdout};

/// A temporary workspace: a store, an inbox directory and a configuration naming them.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    /// `extra` is appended to the inbox collector's table. Files are taken as soon as
    /// they are seen (`settle_secs = 0`) unless `extra` sets a settle interval.
    pub fn new(extra: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("inbox")).unwrap();
        let settle = match extra.contains("settle_secs") {
            true => "",
            false => "settle_secs = 0\n",
        };
        let config = format!(
            "[store]\nurl = {:?}\n\n[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"0 */5 * * * *\"\nurl = {:?}\n{settle}{extra}",
            dir.path().join("evidence").display().to_string(),
            dir.path().join("inbox").display().to_string(),
        );
        std::fs::write(dir.path().join("evidenced.toml"), config).unwrap();
        Workspace { dir }
    }

    pub fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }

    pub fn config(&self) -> String {
        self.dir.path().join("evidenced.toml").display().to_string()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--config").arg(self.config()).args(args);
        c.env_remove("EVIDENCED_CONFIG");
        c
    }

    pub fn collect(&self) -> String {
        crate::support::collected(
            self.command(&["collect", "--once"])
                .output()
                .expect("run evidenced"),
        )
    }

    pub fn store(&self) -> EvidenceStore<LocalStore> {
        EvidenceStore::new(LocalStore::new(self.dir.path().join("evidence")))
    }

    pub fn records(&self) -> Vec<StoredRecord> {
        rt().block_on(self.store().records()).unwrap()
    }

    pub fn blob(&self, r: &StoredRecord, name: &str) -> Vec<u8> {
        let item = r
            .record
            .items
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("record {} has no item {name}", r.seq));
        rt().block_on(self.store().blob(&item.digest))
            .unwrap()
            .expect("blob present")
    }
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn example(name: &str) -> Vec<u8> {
    std::fs::read(support::root().join("config/examples").join(name)).unwrap()
}

/// Every original byte string stored in the store under `original/<name>`.
fn stored_originals(ws: &Workspace) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for r in ws.records() {
        for i in &r.record.items {
            if let Some(n) = i.name.strip_prefix("original/") {
                out.push((n.to_string(), ws.blob(&r, &i.name)));
            }
        }
    }
    out
}

const INVALID: &str = "+++\nkind = \"az-failover\"\nid = \"az-bad\"\nstarted_at = \"2026-06-01T10:00:00Z\"\nended_at = \"2026-06-01T11:00:00Z\"\noutcom = \"pass\"\nparticipants = [\"ops\"]\n+++\nbody\n";

#[test]
fn valid_invalid_and_duplicate_files_nothing_lost() {
    let ws = Workspace::new("");
    let inbox = ws.inbox();
    let valid = example("az-failover-2026-06.md");
    std::fs::write(inbox.join("az-failover-2026-06.md"), &valid).unwrap();
    std::fs::write(inbox.join("copy-of-az.md"), &valid).unwrap();
    std::fs::write(
        inbox.join("restore.toml"),
        example("restore-test-2026-q3.toml"),
    )
    .unwrap();
    std::fs::write(inbox.join("broken.md"), INVALID).unwrap();
    let out = ws.collect();
    assert!(out.contains("drills: record"), "{out}");

    // Accepted and duplicate files left the inbox; the invalid one sits in rejected/ with
    // its reason, which names the field.
    assert_eq!(files(&inbox), ["rejected"]);
    assert_eq!(
        files(&inbox.join("rejected")),
        ["broken.md", "broken.md.reason"]
    );
    assert_eq!(
        std::fs::read_to_string(inbox.join("rejected/broken.md")).unwrap(),
        INVALID
    );
    let reason = std::fs::read_to_string(inbox.join("rejected/broken.md.reason")).unwrap();
    assert!(reason.contains("outcom"), "{reason}");

    let records = ws.records();
    // Two human records (the duplicate is stored once) and the run record.
    let human: Vec<&StoredRecord> = records
        .iter()
        .filter(|r| r.record.kind != "inbox")
        .collect();
    assert_eq!(
        human.len(),
        2,
        "{:?}",
        records.iter().map(|r| &r.record.kind).collect::<Vec<_>>()
    );
    assert!(human.iter().all(|r| r.record.collector == "drills"));
    let kinds: Vec<&str> = human.iter().map(|r| r.record.kind.as_str()).collect();
    assert!(
        kinds.contains(&"az-failover") && kinds.contains(&"restore-test"),
        "{kinds:?}"
    );

    let run = records.last().unwrap();
    assert_eq!(run.record.kind, "inbox");
    assert_eq!(run.record.status, Status::Partial);
    assert_eq!(run.record.errors.len(), 1);
    assert_eq!(run.record.errors[0].operation, "inbox:validate");
    assert!(run.record.errors[0].message.contains("outcom"));
    let doc: serde_json::Value = serde_json::from_slice(&ws.blob(run, "inbox/run.json")).unwrap();
    assert_eq!(doc["accepted"].as_array().unwrap().len(), 2);
    assert_eq!(doc["duplicates"][0]["file"], "copy-of-az.md");
    assert_eq!(doc["rejected"][0]["file"], "broken.md");
    // The rejected bytes are evidence too.
    assert_eq!(ws.blob(run, "inbox/rejected/broken.md"), INVALID.as_bytes());

    // Nothing lost: each input is stored byte for byte or kept in rejected/.
    let originals = stored_originals(&ws);
    assert!(originals.iter().any(|(_, b)| *b == valid));
    assert!(originals
        .iter()
        .any(|(n, b)| n == "restore.toml" && *b == example("restore-test-2026-q3.toml")));

    // The same content dropped again later is a duplicate: removed, nothing new stored.
    std::fs::write(inbox.join("again.md"), &valid).unwrap();
    let before = ws.records().len();
    ws.collect();
    let records = ws.records();
    assert_eq!(records.len(), before + 1, "only the run record is added");
    let doc: serde_json::Value =
        serde_json::from_slice(&ws.blob(records.last().unwrap(), "inbox/run.json")).unwrap();
    assert_eq!(doc["duplicates"][0]["file"], "again.md");
    assert!(!inbox.join("again.md").exists());

    // An id reused with other content is rejected, not stored; a second rejection of the
    // same file name keeps the first.
    let changed = String::from_utf8(valid.clone())
        .unwrap()
        .replace("pass", "fail");
    std::fs::write(inbox.join("broken.md"), &changed).unwrap();
    ws.collect();
    assert_eq!(
        files(&inbox.join("rejected")),
        [
            "broken.md",
            "broken.md.2",
            "broken.md.2.reason",
            "broken.md.reason"
        ]
    );
    let reason = std::fs::read_to_string(inbox.join("rejected/broken.md.2.reason")).unwrap();
    assert!(reason.contains("already stored"), "{reason}");
    assert_eq!(
        std::fs::read_to_string(inbox.join("rejected/broken.md.2")).unwrap(),
        changed
    );
}

#[test]
fn empty_inbox_run_is_recorded_and_costs_no_new_blob() {
    let ws = Workspace::new("");
    let first = ws.collect();
    let second = ws.collect();
    assert!(first.contains("inbox complete"), "{first}");
    assert!(second.contains("(1 items, 0 new blob bytes)"), "{second}");
    let records = ws.records();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0].record.items[0].digest,
        records[1].record.items[0].digest
    );
    assert_eq!(
        records[0].record.items[0].media_type,
        "application/vnd.evidenced.inbox.run+json"
    );
}

#[test]
fn missing_inbox_is_a_failed_run_not_a_gap() {
    let ws = Workspace::new("");
    std::fs::remove_dir(ws.inbox()).unwrap();
    let out = ws.collect();
    assert!(out.contains("inbox failed"), "{out}");
    let r = ws.records().pop().unwrap();
    assert_eq!(r.record.status, Status::Failed);
    assert_eq!(r.record.errors[0].operation, "inbox:list");
}

#[test]
fn crash_between_commit_and_cleanup_does_not_store_twice() {
    let ws = Workspace::new("");
    let valid = example("region-failover-2026-03.md");
    std::fs::write(ws.inbox().join("dr.md"), &valid).unwrap();
    let paused =
        support::spawn_until_failpoint(ws.command(&["collect", "--once"]), "inbox-after-commit");
    paused.kill();
    // Committed but not yet removed.
    assert!(ws.inbox().join("dr.md").exists());
    let records = ws.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].record.kind, "region-failover");

    let out = ws.collect();
    assert!(stdout_has_no_error(&out), "{out}");
    assert!(!ws.inbox().join("dr.md").exists());
    let records = ws.records();
    let stored: Vec<_> = records
        .iter()
        .filter(|r| r.record.kind == "region-failover")
        .collect();
    assert_eq!(stored.len(), 1, "the drill log is stored exactly once");
    let doc: serde_json::Value =
        serde_json::from_slice(&ws.blob(records.last().unwrap(), "inbox/run.json")).unwrap();
    assert_eq!(doc["duplicates"][0]["file"], "dr.md");
    assert_eq!(doc["duplicates"][0]["seq"], 1);
    // And the chain still verifies.
    let v = ws.command(&["verify"]).output().unwrap();
    assert!(v.status.success(), "{}", stdout(&v));
}

fn stdout_has_no_error(out: &str) -> bool {
    !out.contains("failed") && !out.contains("partial")
}
