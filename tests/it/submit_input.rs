//! Bad human records: rejected with exit code 2, a message naming the file and the field,
//! and nothing written.

use crate::store_local::restore_test;
use crate::support::{self, ok, run, stderr};

const DRILL: &str = r#"+++
kind = "region-failover"
id = "dr-1"
started_at = "2026-03-10T09:00:00Z"
ended_at = "2026-03-10T11:30:00Z"
scenario = "Primary region impaired"
source_region = "us-east-1"
target_region = "us-west-2"
outcome = "pass"
participants = ["ops"]

[targets]
rto_minutes = 240
rpo_minutes = 60
+++
Body.
"#;

/// Apply a textual change to the valid drill; panics if the change does not apply, so a
/// variant can never silently test the valid file.
fn variant(from: &str, to: &str) -> String {
    assert!(DRILL.contains(from), "{from:?} not in the base drill");
    DRILL.replacen(from, to, 1)
}

#[track_caller]
fn rejected(name: &str, bytes: &[u8], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let store = dir.path().join("evidence");
    let out = run(&[
        "--store",
        store.to_str().unwrap(),
        "submit",
        path.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert!(
        err.contains(name),
        "{name}: message does not name the file: {err}"
    );
    assert!(
        err.contains(needle),
        "{name}: message does not contain {needle:?}: {err}"
    );
    assert!(!store.exists(), "{name}: something was written");
}

#[test]
fn the_base_drill_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let p = support::write(dir.path(), "dr.md", DRILL);
    let store = dir.path().join("s");
    ok(run(&["--store", store.to_str().unwrap(), "submit", &p]));
}

#[test]
fn each_invalid_drill_variant_names_its_field() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "kind.md",
            variant("kind = \"region-failover\"", "kind = \"fire-drill\""),
            "field `kind`",
        ),
        ("noid.md", variant("id = \"dr-1\"\n", ""), "field `id`"),
        (
            "badid.md",
            variant("id = \"dr-1\"", "id = \"dr 1/..\""),
            "field `id`",
        ),
        (
            "time.md",
            variant("2026-03-10T09:00:00Z", "2026-13-10T09:00:00Z"),
            "field `started_at`",
        ),
        (
            "nooffset.md",
            variant("\"2026-03-10T09:00:00Z\"", "\"2026-03-10T09:00:00\""),
            "field `started_at`",
        ),
        (
            "order.md",
            variant("2026-03-10T11:30:00Z", "2026-03-10T08:30:00Z"),
            "field `ended_at`",
        ),
        (
            "future.md",
            variant("2026-03-10T11:30:00Z", "2999-03-10T11:30:00Z"),
            "field `ended_at`",
        ),
        (
            "outcome.md",
            variant("outcome = \"pass\"", "outcome = \"ok\""),
            "field `outcome`",
        ),
        (
            "noone.md",
            variant("participants = [\"ops\"]", "participants = []"),
            "field `participants`",
        ),
        (
            "noparticipants.md",
            variant("participants = [\"ops\"]\n", ""),
            "field `participants`",
        ),
        (
            "sameregion.md",
            variant(
                "target_region = \"us-west-2\"",
                "target_region = \"us-east-1\"",
            ),
            "field `target_region`",
        ),
        (
            "notarget.md",
            variant("target_region = \"us-west-2\"\n", ""),
            "field `target_region`",
        ),
        (
            "badregion.md",
            variant("target_region = \"us-west-2\"", "target_region = \"mars\""),
            "field `target_region`",
        ),
        (
            "typo.md",
            variant(
                "outcome = \"pass\"",
                "outcome = \"pass\"\noutcom = \"pass\"",
            ),
            "field `outcom`",
        ),
        (
            "rto.md",
            variant("rto_minutes = 240", "rto_minutes = -5"),
            "field `targets.rto_minutes`",
        ),
        (
            "rtokey.md",
            variant("rto_minutes = 240", "rto_mins = 240"),
            "field `targets.rto_mins`",
        ),
        (
            "noscenario.md",
            variant("scenario = \"Primary region impaired\"\n", ""),
            "field `scenario`",
        ),
        (
            "unclosed.md",
            DRILL.replacen("+++\nBody.", "Body.", 1),
            "never closed",
        ),
        (
            "syntax.md",
            variant("outcome = \"pass\"", "outcome = pass"),
            "TOML syntax",
        ),
    ];
    for (name, text, needle) in &cases {
        rejected(name, text.as_bytes(), needle);
    }
}

#[test]
fn syntax_errors_name_the_line() {
    // Line 9 of the file (the front matter starts on line 2).
    rejected(
        "line.md",
        variant("outcome = \"pass\"", "outcome = pass").as_bytes(),
        "line.md:9",
    );
    rejected(
        "bad.json",
        b"{\n  \"kind\": \"tabletop\",\n  oops\n}",
        "bad.json:3",
    );
}

#[test]
fn other_kinds_are_validated_too() {
    rejected(
        "obj.toml",
        b"kind = \"objective\"\nid = \"o\"\nworkload = \"w\"\nrto_minutes = 1\nrpo_minutes = 1\napproved_at = \"2026-01-01T00:00:00Z\"\n",
        "field `owner`",
    );
    rejected(
        "ar.toml",
        b"kind = \"access-review\"\nid = \"a\"\nquarter = \"2026-Q5\"\nreviewer = \"r\"\ndecisions = [\"x\"]\n",
        "field `quarter`",
    );
    rejected(
        "j.json",
        br#"{"kind": "tabletop", "id": "t", "started_at": 5}"#,
        "field `started_at`",
    );
}

#[test]
fn hostile_bytes_are_refused_without_writing() {
    rejected(
        "latin1.toml",
        b"kind = \"tabletop\"\nid = \"caf\xe9\"\n",
        "not valid UTF-8",
    );
    let big = vec![b'#'; evidenced::human::MAX_SIZE + 1];
    rejected("big.toml", &big, "limited to");
    rejected("notes.txt", b"hello", "unknown format");
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    rejected(
        "deep.json",
        format!("{{\"kind\": {deep}}}").as_bytes(),
        "deep.json",
    );
}

#[test]
fn one_invalid_file_in_a_batch_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = support::write(dir.path(), "good.toml", &restore_test("good"));
    let bad = support::write(
        dir.path(),
        "bad.md",
        &variant("outcome = \"pass\"", "outcome = \"maybe\""),
    );
    let store = dir.path().join("evidence");
    let out = run(&["--store", store.to_str().unwrap(), "submit", &good, &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.md: field `outcome`"),
        "{}",
        stderr(&out)
    );
    assert!(!store.exists());
}

#[test]
fn reusing_an_id_for_other_content_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let s = store.to_str().unwrap();
    let a = support::write(dir.path(), "a.toml", &restore_test("same-id"));
    ok(run(&["--store", s, "submit", &a]));
    let before = ok(run(&["--store", s, "log", "--format", "json"]));
    let other = restore_test("same-id").replace("\"pass\"", "\"fail\"");
    let b = support::write(dir.path(), "b.toml", &other);
    let out = run(&["--store", s, "submit", &b]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("field `id`"), "{}", stderr(&out));
    assert!(stderr(&out).contains("record 1"), "{}", stderr(&out));
    assert_eq!(ok(run(&["--store", s, "log", "--format", "json"])), before);
}
