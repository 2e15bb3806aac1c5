//! Kill tests: SIGKILL at random moments during submission and collection, each followed by
//! `verify` (clean) and a further run (the chain continues, nothing stored twice).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::store_local::{log_json, restore_test};
use crate::support::{self, ok, run};

const TRIALS: usize = 50;

fn head(store: &str) -> u64 {
    // --allow-empty: a writer may have been killed before record 1.
    log_json(&ok(run(&[
        "--store",
        store,
        "--allow-empty",
        "log",
        "--format",
        "json",
    ])))
    .len() as u64
}

fn restore_ids(store: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(store.join("chain/records")) else {
        return out;
    };
    for f in dir {
        let path = f.unwrap().path();
        // Temporary files of a killed write are not records (docs/FORMAT.md, section 1).
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".tmp-")
        {
            continue;
        }
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for item in r["items"].as_array().unwrap() {
            if let Some(n) = item["name"]
                .as_str()
                .and_then(|n| n.strip_prefix("record/restore-test/"))
            {
                out.push(n.trim_end_matches(".json").to_string());
            }
        }
    }
    out
}

#[test]
fn sigkill_at_random_moments_never_damages_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("evidence");
    let store = store_path.to_str().unwrap().to_string();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let cfg = support::write(
        dir.path(),
        "evidenced.toml",
        &format!("[store]\nurl = {store:?}\n\n[[collector]]\ntype = \"inbox\"\nname = \"drills\"\nschedule = \"0 * * * * *\"\nurl = {inbox:?}\nsettle_secs = 0\n"),
    );
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    let mut killed_mid_run = 0;
    let mut partly_committed = 0;
    for trial in 0..TRIALS {
        let before = head(&store);
        let mut cmd = Command::new(support::bin());
        if trial % 2 == 0 {
            let paths: Vec<String> = (0..4)
                .map(|i| {
                    let id = format!("s{trial}-{i}");
                    support::write(&files, &format!("{id}.toml"), &restore_test(&id))
                })
                .collect();
            cmd.args(["--store", &store, "submit"]).args(&paths);
        } else {
            for i in 0..4 {
                let id = format!("c{trial}-{i}");
                support::write(&inbox, &format!("{id}.toml"), &restore_test(&id));
            }
            cmd.args(["--config", &cfg, "collect", "--once"]);
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The random moment of the kill (0 to 120 ms after start).
        std::thread::sleep(Duration::from_micros(rand::random::<u64>() % 120_000));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        if status.code().is_none() {
            killed_mid_run += 1;
        }

        let v = run(&["--store", &store, "--allow-empty", "verify"]);
        assert_eq!(
            v.status.code(),
            Some(0),
            "trial {trial}: {}",
            support::stdout(&v)
        );
        // A further run continues the chain.
        let after_kill = head(&store);
        assert!(after_kill >= before);
        if status.code().is_none() && after_kill > before {
            partly_committed += 1;
        }
        let id = format!("next{trial}");
        let f = support::write(&files, &format!("{id}.toml"), &restore_test(&id));
        let out = ok(run(&["--store", &store, "submit", &f]));
        assert!(
            out.contains(&format!("as record {}", after_kill + 1)),
            "trial {trial}: {out}"
        );
    }
    // Finish what the killed runs left: resubmit every file, collect the inbox once more.
    let mut all: Vec<String> = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    all.sort();
    let mut args = vec!["--store", store.as_str(), "submit"];
    args.extend(all.iter().map(String::as_str));
    ok(run(&args));
    ok(run(&["--config", &cfg, "collect", "--once"]));
    assert!(ok(run(&["--store", &store, "verify"])).starts_with("OK:"));
    // Nothing lost, nothing stored twice.
    let mut ids = restore_ids(&store_path);
    ids.sort();
    let dups: Vec<&String> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| &w[0])
        .collect();
    if !dups.is_empty() {
        let kept = dir.keep();
        panic!("stored twice: {dups:?}; store kept at {}", kept.display());
    }
    ids.dedup();
    for trial in 0..TRIALS {
        let prefix = if trial % 2 == 0 { 's' } else { 'c' };
        for i in 0..4 {
            let id = format!("{prefix}{trial}-{i}");
            assert!(ids.contains(&id), "{id} lost");
        }
    }
    let left = std::fs::read_dir(&inbox)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(left, 0, "files left in the inbox");
    println!("kill trials: {TRIALS}, killed before exit: {killed_mid_run}, of which after committing part of their work: {partly_committed}; all verified clean and continued");
    assert!(
        partly_committed > 0,
        "no kill landed in the middle of the work: widen the window"
    );
}
