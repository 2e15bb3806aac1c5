//! The automation contract of the remaining commands: `--format json` on submit, keygen and
//! bundle; `bundle -o -` to standard output and its progress line on a terminal; shell
//! completions and man pages generated from the command line's definitions.

use std::process::Command;

use serde_json::Value;

use crate::store_local::restore_test;
use crate::support::{bin, ok, run, stderr, stdout, write};

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", stdout(out), stderr(out)))
}

#[test]
fn submit_json_names_each_file_with_its_outcome_seq_and_hash() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence").display().to_string();
    let a = write(dir.path(), "a.toml", &restore_test("json-a"));
    let b = write(dir.path(), "b.toml", &restore_test("json-b"));
    let out = run(&["--store", &store, "submit", "--format", "json", &a, &b]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let records = v["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{v}");
    assert_eq!(records[0]["file"], a.as_str());
    assert_eq!(records[0]["kind"], "restore-test");
    assert_eq!(records[0]["id"], "json-a");
    assert_eq!(records[0]["outcome"], "stored");
    assert!(records[0]["hash"].as_str().unwrap().starts_with("sha256:"));
    assert!(v.get("error").is_none(), "{v}");
    let seq_b = records[1]["seq"].as_u64().unwrap();
    // The hash is the record's, as `log` shows it.
    let log = ok(run(&["--store", &store, "log"]));
    assert!(
        log.contains(records[1]["hash"].as_str().unwrap()),
        "{log}\n{v}"
    );

    // Again: already stored, same seq, no hash (nothing written).
    let out = run(&["--store", &store, "submit", "--format", "json", &b]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = json(&out);
    assert_eq!(again["records"][0]["outcome"], "already-stored", "{again}");
    assert_eq!(again["records"][0]["seq"].as_u64(), Some(seq_b));
    assert!(again["records"][0].get("hash").is_none(), "{again}");

    // An invalid file: exit 2, nothing stored, and the JSON says why.
    let bad = write(dir.path(), "bad.toml", "kind = \"restore-test\"\n");
    let out = run(&["--store", &store, "submit", "--format", "json", &bad]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["records"].as_array().map(Vec::len), Some(0), "{v}");
    assert!(v["error"].as_str().unwrap().contains("bad.toml"), "{v}");
}

#[test]
fn keygen_json_gives_the_key_id_and_public_key_of_the_file_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let out = run(&["keygen", "--format", "json", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["file"], key.to_str().unwrap());
    assert_eq!(v["algorithm"], "ed25519");
    let pem = v["public_key_pem"].as_str().unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    // The id is the one the key's checkpoints carry: sign one and compare.
    let store = dir.path().join("evidence");
    let cfg = write(
        dir.path(),
        "e.toml",
        &format!(
            "[store]\nurl = {:?}\n[checkpoint]\nkey_file = {:?}\n",
            store.to_str().unwrap(),
            key.to_str().unwrap()
        ),
    );
    let f = write(dir.path(), "r.toml", &restore_test("keygen-json"));
    ok(run(&["--config", &cfg, "submit", &f]));
    let keys: Vec<String> = std::fs::read_dir(store.join("chain/keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let id = v["key_id"].as_str().unwrap();
    assert!(
        keys.iter()
            .any(|k| k.contains(id.trim_start_matches("sha256:"))),
        "key id {id} not among {keys:?}"
    );
}

/// A store with one record and the arguments of a bundle of it at a fixed time.
fn bundled_store(dir: &std::path::Path) -> (String, Vec<String>) {
    let store = dir.join("evidence").display().to_string();
    let f = write(dir, "r.toml", &restore_test("bundle-stdout"));
    ok(run(&["--store", &store, "submit", &f]));
    let args = [
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--at",
        "2026-12-31",
    ]
    .map(String::from)
    .to_vec();
    (store, args)
}

#[test]
fn bundle_to_standard_output_is_the_same_archive_as_to_a_file_and_json_tells_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (store, window) = bundled_store(dir.path());
    let file = dir.path().join("b.tar.gz");
    let mut a: Vec<&str> = vec!["--store", &store, "bundle"];
    a.extend(window.iter().map(String::as_str));
    let mut to_file = a.clone();
    to_file.extend(["-o", file.to_str().unwrap(), "--format", "json"]);
    let out = run(&to_file);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(v["bytes"].as_u64(), Some(bytes.len() as u64), "{v}");
    assert_eq!(
        v["sha256"].as_str().unwrap(),
        evidenced::digest::Digest::of(&bytes).to_string()
    );
    assert_eq!(v["records"].as_u64(), Some(1));
    assert_eq!(v["verified"], true);
    assert_eq!(v["signed"], false);
    assert_eq!(v["output"], file.to_str().unwrap());

    let mut to_stdout = a.clone();
    to_stdout.extend(["-o", "-"]);
    let out = run(&to_stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        out.stdout, bytes,
        "the archive on stdout differs from the file"
    );
    let summary = stderr(&out);
    assert!(
        summary.lines().any(|l| l.starts_with("-: 1 records")),
        "{summary}"
    );
    assert!(summary.contains(v["sha256"].as_str().unwrap()), "{summary}");
    // And it is a bundle that verifies.
    let piped = dir.path().join("piped.tar.gz");
    std::fs::write(&piped, &out.stdout).unwrap();
    ok(run(&["verify", piped.to_str().unwrap()]));
}

/// Run `args` with a pseudo-terminal as standard error (and input), through script(1).
fn on_a_terminal(args: &[&str], stdout_file: &std::path::Path) -> std::process::Output {
    let quoted: Vec<String> = std::iter::once(bin().to_string())
        .chain(args.iter().map(|a| (*a).to_string()))
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let cmd = format!("{} > '{}'", quoted.join(" "), stdout_file.display());
    Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("script(1), from util-linux")
}

#[test]
fn bundle_shows_progress_on_a_terminal_only_and_never_writes_the_archive_to_one() {
    let dir = tempfile::tempdir().unwrap();
    let (store, window) = bundled_store(dir.path());
    let mut a: Vec<&str> = vec!["--store", &store, "bundle"];
    a.extend(window.iter().map(String::as_str));

    let file = dir.path().join("t.tar.gz");
    let mut args = a.clone();
    args.extend(["-o", file.to_str().unwrap()]);
    let summary_file = dir.path().join("summary");
    let out = on_a_terminal(&args, &summary_file);
    assert!(out.status.success(), "{}", stdout(&out));
    let terminal = stdout(&out);
    assert!(
        terminal.contains("bundle: records 1/1, blobs "),
        "no progress line on the terminal: {terminal:?}"
    );
    assert!(
        std::fs::read_to_string(&summary_file)
            .unwrap()
            .contains("1 records"),
        "the summary goes to standard output"
    );

    // Not a terminal (a pipe): no progress at all.
    let mut args = a.clone();
    let piped = dir.path().join("p.tar.gz");
    args.extend(["-o", piped.to_str().unwrap()]);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("bundle: records"),
        "{}",
        stderr(&out)
    );
    // -q on a terminal: none either.
    let mut args = vec!["-q"];
    args.extend(a.iter().copied());
    args.extend(["--force", "-o", file.to_str().unwrap()]);
    let out = on_a_terminal(&args, &summary_file);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        !stdout(&out).contains("bundle: records"),
        "{}",
        stdout(&out)
    );

    // The archive is never written to a terminal.
    let mut args = a.clone();
    args.extend(["-o", "-"]);
    let cmd: Vec<String> = std::iter::once(bin().to_string())
        .chain(args.iter().map(|s| format!("'{s}'")))
        .collect();
    let out = Command::new("script")
        .args(["-qec", &cmd.join(" "), "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("standard output is a terminal"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn completions_and_man_pages_are_generated_from_the_command_line() {
    // bash: a script bash accepts, completing every command.
    let out = run(&["completions", "bash"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let script = stdout(&out);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "evidenced.bash", &script);
    let check = Command::new("bash").args(["-n", &path]).output().unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    let commands = [
        "submit",
        "verify",
        "log",
        "collect",
        "run",
        "healthcheck",
        "report",
        "bundle",
        "keygen",
        "completions",
        "man",
    ];
    for c in commands {
        assert!(script.contains(c), "bash completion lacks {c}");
    }
    assert!(script.contains("--allow-empty") && script.contains("--fail-on"));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        assert!(stdout(&out).contains("bundle"), "{shell}");
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );

    // No configuration is read: a broken one does not matter.
    let mut cmd = Command::new(bin());
    let out = cmd
        .args(["completions", "bash"])
        .env("EVIDENCED_CONFIG", dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    // man: the main page names every command; --dir writes one page per command.
    let page = ok(run(&["man"]));
    assert!(page.contains(".TH evidenced 1"), "{page}");
    for c in commands {
        assert!(page.contains(c), "the man page lacks {c}");
    }
    let mandir = dir.path().join("man1");
    let out = run(&["man", "--dir", mandir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for c in ["submit", "bundle", "report", "verify"] {
        let p = mandir.join(format!("evidenced-{c}.1"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(text.contains(".TH"), "{}", p.display());
    }
    // And it renders: groff formats it without a warning.
    let groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(mandir.join("evidenced-bundle.1"))
        .output();
    match groff {
        Ok(g) => assert!(
            g.status.success() && g.stderr.is_empty(),
            "groff: {}",
            stderr(&g)
        ),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("NOTE: groff not run ({e}); the pages were checked as text only")
        }
        Err(e) => panic!("groff is needed in CI: {e}"),
    }
}
