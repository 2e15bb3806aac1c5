//! One id, one record: concurrent submits and inbox collectors (local and S3), ids held by
//! other content, interrupted claims, format-1 stores, and `verify`'s claim checks.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use evidenced::chain::{EvidenceStore, StoredRecord};
use evidenced::ids::{binding_key, claim_key};
use evidenced::store::LocalStore;

use crate::inbox::rt;
use crate::support::{self, bin, moto_env, ok, stderr, stdout};

fn drill(id: &str, scenario: &str) -> String {
    format!(
        "{{\"kind\": \"tabletop\", \"id\": \"{id}\", \"started_at\": \"2026-04-02T09:00:00Z\", \"ended_at\": \"2026-04-02T10:00:00Z\", \"scenario\": \"{scenario}\", \"outcome\": \"pass\", \"participants\": [\"ops-oncall\"]}}\n"
    )
}

fn submit(store: &str, file: &str) -> Command {
    let mut c = Command::new(bin());
    c.args(["--store", store, "submit", file])
        .env_remove("EVIDENCED_CONFIG");
    c
}

/// Start every command at once, then wait for all of them.
fn race(cmds: Vec<Command>) -> Vec<Output> {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| {
            c.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn evidenced")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect()
}

fn local_records(store: &Path) -> Vec<StoredRecord> {
    rt().block_on(EvidenceStore::new(LocalStore::new(store)).records())
        .unwrap()
}

/// Records holding `record/<kind>/<id>.json`.
fn holding(records: &[StoredRecord], kind: &str, id: &str) -> Vec<u64> {
    let name = format!("record/{kind}/{id}.json");
    records
        .iter()
        .filter(|r| r.record.items.iter().any(|i| i.name == name))
        .map(|r| r.seq)
        .collect()
}

fn verify_local(store: &str) -> Output {
    // --allow-empty: some of these stores hold claims but no record yet.
    support::run(&[
        "--store",
        store,
        "--allow-empty",
        "verify",
        "--format",
        "json",
    ])
}

fn problems(out: &Output) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(&stdout(out)).unwrap_or_else(|e| {
        panic!(
            "verify --format json: {e}\n{}\n{}",
            stdout(out),
            stderr(out)
        )
    });
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["check"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_processes_submitting_the_same_file_at_once_store_it_once() {
    for round in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("evidence").display().to_string();
        let file = support::write(dir.path(), "tt.json", &drill("tt-race", "Ransomware"));
        let outs = race(vec![submit(&store, &file), submit(&store, &file)]);
        for o in &outs {
            assert!(o.status.success(), "round {round}: {}", stderr(o));
        }
        let said: Vec<String> = outs.iter().map(stdout).collect();
        assert_eq!(
            said.iter()
                .filter(|s| s.contains("stored tabletop tt-race as record"))
                .count(),
            1,
            "round {round}: {said:?}"
        );
        assert_eq!(
            said.iter()
                .filter(|s| s.contains("already stored as record 1"))
                .count(),
            1,
            "round {round}: {said:?}"
        );
        let records = local_records(&dir.path().join("evidence"));
        assert_eq!(
            holding(&records, "tabletop", "tt-race"),
            vec![1],
            "round {round}"
        );
        assert!(problems(&verify_local(&store)).is_empty(), "round {round}");
    }
}

#[test]
fn one_id_with_two_contents_at_once_stores_one_and_refuses_the_other_with_exit_2() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("evidence").display().to_string();
        let a = support::write(dir.path(), "a.json", &drill("tt-twice", "Ransomware"));
        let b = support::write(dir.path(), "b.json", &drill("tt-twice", "Region outage"));
        let outs = race(vec![submit(&store, &a), submit(&store, &b)]);
        let codes: Vec<_> = outs.iter().map(|o| o.status.code()).collect();
        assert!(
            codes.contains(&Some(0)) && codes.contains(&Some(2)),
            "round {round}: {codes:?}"
        );
        let loser = outs.iter().find(|o| o.status.code() == Some(2)).unwrap();
        assert!(
            stderr(loser).contains("tabletop \"tt-twice\" is already"),
            "round {round}: {}",
            stderr(loser)
        );
        let records = local_records(&dir.path().join("evidence"));
        assert_eq!(
            holding(&records, "tabletop", "tt-twice").len(),
            1,
            "round {round}"
        );
        assert!(problems(&verify_local(&store)).is_empty(), "round {round}");
    }
}

#[test]
fn a_writer_paused_after_its_claim_and_another_of_the_same_content_store_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence").display().to_string();
    let file = support::write(dir.path(), "tt.json", &drill("tt-pause", "Ransomware"));
    // The first writer holds the claim and is paused before its record.
    let mut first = submit(&store, &file);
    first
        .env("EVIDENCED_FAILPOINT", "after-id-claim")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut first = first.spawn().unwrap();
    let mut err = std::io::BufReader::new(first.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("failpoint after-id-claim reached") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut err, &mut line).unwrap() > 0,
            "exited early"
        );
    }
    // The second finds the claim of its own content and commits.
    let second = ok(submit(&store, &file).output().unwrap());
    assert!(
        second.contains("stored tabletop tt-pause as record 1"),
        "{second}"
    );
    // The first goes on: before its create it checks the record committed meanwhile.
    drop(first.stdin.take());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{rest}");
    assert!(
        stdout(&first).contains("already stored as record 1; nothing written"),
        "{}",
        stdout(&first)
    );
    let records = local_records(&dir.path().join("evidence"));
    assert_eq!(holding(&records, "tabletop", "tt-pause"), vec![1]);
    assert_eq!(records.len(), 1);
}

#[test]
fn a_claim_left_by_a_killed_writer_does_not_block_the_same_content() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let store = root.display().to_string();
    let file = support::write(dir.path(), "tt.json", &drill("tt-orphan", "Ransomware"));
    support::spawn_until_failpoint(submit(&store, &file), "after-id-claim").kill();
    assert!(local_records(&root).is_empty(), "nothing was committed");
    assert!(root.join(claim_key("tabletop", "tt-orphan")).exists());
    // An interrupted claim is not damage.
    assert!(problems(&verify_local(&store)).is_empty());
    let out = ok(submit(&store, &file).output().unwrap());
    assert!(
        out.contains("stored tabletop tt-orphan as record 1"),
        "{out}"
    );
    let binding: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(binding_key("tabletop", "tt-orphan"))).unwrap(),
    )
    .unwrap();
    assert_eq!(binding["seq"], 1);
    assert!(problems(&verify_local(&store)).is_empty());
}

#[test]
fn a_young_claim_of_other_content_refuses_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let store = root.display().to_string();
    let a = support::write(dir.path(), "a.json", &drill("tt-held", "Ransomware"));
    let b = support::write(dir.path(), "b.json", &drill("tt-held", "Region outage"));
    let paused = support::spawn_until_failpoint(submit(&store, &a), "after-id-claim");
    let out = submit(&store, &b).output().unwrap();
    paused.kill();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("is already claimed for different content, whose record is not committed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_writer_stopped_after_its_record_leaves_a_claim_the_next_writer_binds() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let store = root.display().to_string();
    let file = support::write(dir.path(), "tt.json", &drill("tt-unbound", "Ransomware"));
    support::spawn_until_failpoint(submit(&store, &file), "after-id-record").kill();
    assert!(!root.join(binding_key("tabletop", "tt-unbound")).exists());
    // Not damage: verify passes.
    assert!(problems(&verify_local(&store)).is_empty());
    let out = ok(submit(&store, &file).output().unwrap());
    assert!(out.contains("already stored as record 1"), "{out}");
    assert!(root.join(binding_key("tabletop", "tt-unbound")).exists());
    assert_eq!(
        holding(&local_records(&root), "tabletop", "tt-unbound"),
        vec![1]
    );
}

/// The format-1 record of docs/FORMAT.md's worked example, with its blobs.
fn format_1_store(root: &Path) -> String {
    let doc = std::fs::read_to_string(support::root().join("docs/FORMAT.md")).unwrap();
    let block = |name: &str| {
        let start = doc.find(&format!("<!-- check:{name} -->")).unwrap();
        let body = &doc[start..];
        let body = &body[body.find("```").unwrap()..];
        let body = &body[body.find('\n').unwrap() + 1..];
        body[..body.find("\n```").unwrap()].to_string()
    };
    let record = block("record").replace("\"format\":3", "\"format\":1");
    let original = format!("{}\n", block("original"));
    let canonical = block("canonical");
    let put = |key: String, bytes: &[u8]| {
        let p = root.join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    for b in [original.as_bytes(), canonical.as_bytes()] {
        put(
            evidenced::chain::blob_key(&evidenced::digest::Digest::of(b)),
            b,
        );
    }
    put(evidenced::chain::record_key(1), record.as_bytes());
    original
}

#[test]
fn a_format_1_store_gets_its_ids_claimed_once_and_keeps_verifying() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let store = root.display().to_string();
    let original = format_1_store(&root);
    assert!(
        problems(&verify_local(&store)).is_empty(),
        "a format-1 store verifies"
    );
    // The same file again: found through the claim the first writer backfills.
    let same = support::write(dir.path(), "tt-2026-04.json", &original);
    let out = ok(submit(&store, &same).output().unwrap());
    assert!(out.contains("already stored as record 1"), "{out}");
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("ids/backfill.json")).unwrap()).unwrap();
    assert_eq!(marker["through_seq"], 1);
    // Other content under the format-1 record's id: refused.
    let other = support::write(
        dir.path(),
        "other.json",
        &drill("tt-2026-04", "Something else"),
    );
    let out = submit(&store, &other).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is already stored (record 1) with different content"),
        "{}",
        stderr(&out)
    );
    // A new record is of the current format and claimed.
    let new = support::write(dir.path(), "new.json", &drill("tt-new", "Region outage"));
    ok(submit(&store, &new).output().unwrap());
    let records = local_records(&root);
    assert_eq!(records[0].record.format, 1);
    assert_eq!(records[1].record.format, evidenced::record::FORMAT_VERSION);
    assert!(problems(&verify_local(&store)).is_empty());
}

#[test]
fn verify_checks_claims_against_records_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    let store = root.display().to_string();
    for (id, scenario) in [("tt-a", "Ransomware"), ("tt-b", "Region outage")] {
        let f = support::write(dir.path(), &format!("{id}.json"), &drill(id, scenario));
        ok(submit(&store, &f).output().unwrap());
    }
    assert!(problems(&verify_local(&store)).is_empty());

    // A record whose claim is gone.
    let claim_a = root.join(claim_key("tabletop", "tt-a"));
    let saved = std::fs::read(&claim_a).unwrap();
    std::fs::remove_file(&claim_a).unwrap();
    let p = problems(&verify_local(&store));
    assert!(p.contains(&"unclaimed-id".to_string()), "{p:?}");
    std::fs::write(&claim_a, &saved).unwrap();

    // A binding that names another record.
    let bind_b = root.join(binding_key("tabletop", "tt-b"));
    let saved = std::fs::read(&bind_b).unwrap();
    let mut b: serde_json::Value = serde_json::from_slice(&saved).unwrap();
    b["seq"] = 1.into();
    std::fs::write(&bind_b, evidenced::canonical::value_to_vec(&b).unwrap()).unwrap();
    let p = problems(&verify_local(&store));
    assert!(p.contains(&"claim-mismatch".to_string()), "{p:?}");
    std::fs::write(&bind_b, &saved).unwrap();

    // Something under ids/ that is not a claim.
    std::fs::write(root.join("ids/tabletop/tt-a/extra.json"), b"{}").unwrap();
    let p = problems(&verify_local(&store));
    assert!(p.contains(&"unexpected-key".to_string()), "{p:?}");
    std::fs::remove_file(root.join("ids/tabletop/tt-a/extra.json")).unwrap();

    // A second record of an id, appended past the claims (as a format-1 writer could).
    let s = EvidenceStore::new(LocalStore::new(&root));
    let records = local_records(&root);
    let first = &records[0];
    let blobs: Vec<_> = first
        .record
        .items
        .iter()
        .map(|i| evidenced::digest::Blob::new(rt().block_on(s.blob(&i.digest)).unwrap().unwrap()))
        .collect();
    let draft = evidenced::record::Draft {
        collector: "submit".into(),
        kind: first.record.kind.clone(),
        scope: Default::default(),
        status: evidenced::record::Status::Complete,
        errors: Vec::new(),
        items: first.record.items.clone(),
        caller_arn: None,
        api_calls: Vec::new(),
    };
    rt().block_on(s.append(draft, &blobs)).unwrap();
    let p = problems(&verify_local(&store));
    assert!(p.contains(&"duplicate-id".to_string()), "{p:?}");
    assert_eq!(verify_local(&store).status.code(), Some(1));
}

/// Two `collect --once` on one inbox of 50 files: 50 records, each file once, and both runs
/// recorded.
fn two_inbox_collectors(config: &str, env: impl Fn(&mut Command)) -> Vec<Output> {
    let cmds = (0..2)
        .map(|_| {
            let mut c = Command::new(bin());
            c.args(["--config", config, "collect", "--once"])
                .env_remove("EVIDENCED_CONFIG");
            env(&mut c);
            c
        })
        .collect();
    race(cmds)
}

fn assert_each_once(records: &[StoredRecord], outs: &[Output]) {
    for o in outs {
        assert!(o.status.success(), "{}", stderr(o));
    }
    for n in 0..50 {
        let id = format!("tt-{n:02}");
        assert_eq!(holding(records, "tabletop", &id).len(), 1, "{id}");
    }
    let runs = records.iter().filter(|r| r.record.kind == "inbox").count();
    assert_eq!(runs, 2, "each collector records its run");
    assert_eq!(records.len(), 52);
}

#[test]
fn two_inbox_collectors_over_the_same_50_files_store_each_once() {
    let ws = crate::inbox::Workspace::new("");
    for n in 0..50 {
        std::fs::write(
            ws.inbox().join(format!("tt-{n:02}.json")),
            drill(&format!("tt-{n:02}"), "Ransomware"),
        )
        .unwrap();
    }
    let outs = two_inbox_collectors(&ws.config(), |_| {});
    assert_each_once(&ws.records(), &outs);
    let left: Vec<_> = std::fs::read_dir(ws.inbox())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(ok(ws.command(&["verify"]).output().unwrap()).starts_with("OK:"));
}

#[test]
fn two_inbox_collectors_over_the_same_50_s3_objects_store_each_once() {
    let rt = rt();
    let bucket = rt.block_on(support::lock_bucket("ids-inbox"));
    let client = rt.block_on(support::s3_client());
    let inbox_bucket = format!("inbox-{:08x}", rand::random::<u32>());
    rt.block_on(client.create_bucket().bucket(&inbox_bucket).send())
        .unwrap();
    for n in 0..50 {
        rt.block_on(
            client
                .put_object()
                .bucket(&inbox_bucket)
                .key(format!("drop/tt-{n:02}.json"))
                .body(
                    drill(&format!("tt-{n:02}"), "Ransomware")
                        .into_bytes()
                        .into(),
                )
                .send(),
        )
        .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let config = support::write(
        dir.path(),
        "evidenced.toml",
        &format!("[store]\nurl = \"s3://{bucket}/ev\"\n\n[aws]\nregions = [\"us-east-1\"]\n\n[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"0 */5 * * * *\"\nurl = \"s3://{inbox_bucket}/drop\"\nsettle_secs = 0\n"),
    );
    let outs = two_inbox_collectors(&config, |c| {
        c.env_remove("AWS_ENDPOINT_URL")
            .env("EVIDENCED_AWS__ENDPOINT_URL", &support::moto().endpoint)
            .env("EVIDENCED_AWS__FORCE_PATH_STYLE", "true")
            .env("EVIDENCED_AWS__MOTO_COMPAT", "true");
        moto_env(c);
    });
    let store = evidenced::store::S3Store::new(client.clone(), bucket.clone(), "ev");
    let records = rt.block_on(EvidenceStore::new(store).records()).unwrap();
    assert_each_once(&records, &outs);
    let left = rt
        .block_on(
            client
                .list_objects_v2()
                .bucket(&inbox_bucket)
                .prefix("drop/")
                .send(),
        )
        .unwrap();
    assert_eq!(left.key_count(), Some(0), "{:?}", left.contents());
    let mut v = Command::new(bin());
    v.args(["--config", &config, "verify"])
        .env_remove("EVIDENCED_CONFIG");
    assert!(ok(moto_env(&mut v).output().unwrap()).starts_with("OK:"));
}

#[test]
fn two_processes_submitting_the_same_file_to_s3_at_once_store_it_once() {
    let rt = rt();
    let bucket = rt.block_on(support::lock_bucket("ids-submit"));
    let url = format!("s3://{bucket}/ev");
    let dir = tempfile::tempdir().unwrap();
    let file = support::write(dir.path(), "tt.json", &drill("tt-s3", "Ransomware"));
    for _ in 0..5 {
        let outs = race(
            (0..2)
                .map(|_| {
                    let mut c = submit(&url, &file);
                    moto_env(&mut c);
                    c
                })
                .collect(),
        );
        for o in &outs {
            assert!(o.status.success(), "{}", stderr(o));
        }
    }
    let client = rt.block_on(support::s3_client());
    let store = evidenced::store::S3Store::new(client, bucket, "ev");
    let records = rt.block_on(EvidenceStore::new(store).records()).unwrap();
    assert_eq!(holding(&records, "tabletop", "tt-s3"), vec![1]);
    assert_eq!(records.len(), 1);
}
