//! Bad human records: rejected with exit code 2, a message naming the file and the field,
//! and nothing written.

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

[achieved]
rto_minutes = 150
rpo_minutes = 15
+++
Body.
"#;

/// A valid restore-test record with the given id: it names what it restored and what was
/// checked.
fn restore_test(id: &str) -> String {
    format!(
        "kind = \"restore-test\"\nid = \"{id}\"\nstarted_at = \"2026-02-01T10:00:00Z\"\nended_at = \"2026-02-01T10:30:00Z\"\noutcome = \"pass\"\nparticipants = [\"dba\"]\nresource_types = [\"RDS\"]\nchecks = [\"row counts match\"]\n"
    )
}

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
            "noachieved.md",
            variant("\n[achieved]\nrto_minutes = 150\nrpo_minutes = 15\n", ""),
            "field `achieved`",
        ),
        (
            "norpo.md",
            variant("rpo_minutes = 15\n", ""),
            "field `achieved.rpo_minutes`",
        ),
        (
            "regionshape.md",
            variant(
                "source_region = \"us-east-1\"",
                "source_region = \"foo-bar-baz-1\"",
            ),
            "field `source_region`",
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

#[test]
fn new_kinds_and_rules_name_the_file_and_the_field() {
    let restore = restore_test("rt");
    let change = "kind = \"change\"\nid = \"c\"\nat = \"2026-05-15T22:00:00Z\"\nsummary = \"s\"\nmajor = true\n";
    let allow = "kind = \"public-bucket-allowlist\"\nid = \"p\"\nreviewer = \"r\"\nreviewed_at = \"2026-07-20T09:00:00Z\"\nexpires_at = \"2099-07-20T09:00:00Z\"\nreason = \"site\"\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "nochecks.toml",
            restore.replace("checks = [\"row counts match\"]\n", ""),
            "field `checks`",
        ),
        (
            "nowhat.toml",
            restore.replace("resource_types = [\"RDS\"]\n", ""),
            "field `references`",
        ),
        (
            "badtype.toml",
            restore.replace("\"RDS\"", "\"Oracle\""),
            "field `resource_types[0]`",
        ),
        ("noscope.toml", change.to_string(), "field `workload`"),
        (
            "major.toml",
            format!("{}workload = \"w\"\n", change.replace("true", "1")),
            "field `major`",
        ),
        (
            "nobuckets.toml",
            allow.to_string(),
            "field `buckets`",
        ),
        (
            "badbucket.toml",
            format!("{allow}buckets = [\"Not_A_Bucket\"]\n"),
            "field `buckets[0]`",
        ),
        (
            "expiry.toml",
            format!(
                "{}buckets = [\"b-1\"]\n",
                allow.replace("2099-07-20T09:00:00Z", "2026-07-19T09:00:00Z")
            ),
            "field `expires_at`",
        ),
        (
            "sensitive.toml",
            "kind = \"data-classification\"\nid = \"d\"\nreviewer = \"r\"\nreviewed_at = \"2026-07-20T09:00:00Z\"\nexpires_at = \"2099-07-20T09:00:00Z\"\nsensitive = []\n".into(),
            "field `sensitive`",
        ),
        (
            "scope.toml",
            "kind = \"backup-scope\"\nid = \"b\"\nreviewer = \"r\"\nreviewed_at = \"2026-07-20T09:00:00Z\"\nexpires_at = \"2099-07-20T09:00:00Z\"\nresource_types = [\"AWS::RDS::DBInstance\"]\n".into(),
            "field `resource_types[0]`",
        ),
        (
            "objscope.toml",
            "kind = \"objective\"\nid = \"o\"\nworkload = \"w\"\nrto_minutes = 1\nrpo_minutes = 1\nowner = \"o\"\napproved_at = \"2026-01-01T00:00:00Z\"\nresource_types = [\"Mainframe\"]\n".into(),
            "field `resource_types[0]`",
        ),
    ];
    for (name, text, needle) in &cases {
        rejected(name, text.as_bytes(), needle);
    }
}

#[test]
fn new_kinds_are_stored_with_their_canonical_fields() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("evidence");
    let s = store.to_str().unwrap();
    let files: Vec<String> = [
        ("c.toml", "kind = \"change\"\nid = \"c\"\nat = \"2026-05-15T22:00:00Z\"\nsummary = \"s\"\nmajor = false\nscope = \"all accounts\"\n".to_string()),
        ("a.toml", "kind = \"access-review\"\nid = \"a\"\nquarter = \"2026-Q2\"\nreviewer = \"r\"\ndecisions = [\"x\"]\n".to_string()),
        ("r.toml", restore_test("r").replace("resource_types = [\"RDS\"]", "resource_type = \"rds\"")),
        ("d.toml", "kind = \"data-classification\"\nid = \"d\"\nreviewer = \"r\"\nreviewed_at = \"2026-07-20T09:00:00Z\"\nexpires_at = \"2099-07-20T09:00:00Z\"\nsensitive = [\"*\"]\n".to_string()),
    ]
    .iter()
    .map(|(n, t)| support::write(dir.path(), n, t))
    .collect();
    let mut args = vec!["--store", s, "submit"];
    args.extend(files.iter().map(String::as_str));
    ok(run(&args));
    let canonical = |kind: &str, id: &str| -> serde_json::Value {
        let name = format!("record/{kind}/{id}.json");
        let digest = std::fs::read_dir(store.join("chain/records"))
            .unwrap()
            .map(|f| {
                let bytes = std::fs::read(f.unwrap().path()).unwrap();
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
            })
            .flat_map(|r| r["items"].as_array().cloned().unwrap_or_default())
            .find(|i| i["name"] == name.as_str())
            .and_then(|i| i["digest"].as_str().map(String::from))
            .unwrap_or_else(|| panic!("{name} not in the chain"));
        let hex = digest.trim_start_matches("sha256:");
        let blob = store.join(format!("blobs/sha256/{}/{hex}", &hex[..2]));
        serde_json::from_slice(&std::fs::read(blob).unwrap()).unwrap()
    };
    let c = canonical("change", "c");
    assert_eq!(c["at"], "2026-05-15T22:00:00Z");
    assert_eq!(c["major"], false);
    assert_eq!(c["scope"], "all accounts");
    let a = canonical("access-review", "a");
    assert_eq!(a["period_start"], "2026-04-01T00:00:00Z");
    assert_eq!(a["period_end"], "2026-07-01T00:00:00Z");
    let r = canonical("restore-test", "r");
    assert_eq!(r["resource_types"], serde_json::json!(["RDS"]));
    assert!(r.get("resource_type").is_none());
    let d = canonical("data-classification", "d");
    assert_eq!(d["sensitive"], serde_json::json!(["*"]));
    assert_eq!(d["expires_at"], "2099-07-20T09:00:00Z");
}
