//! Unit tests of the reviewed declarations: public-bucket allowlist, data classification,
//! backup scope.

use serde_json::json;
use time::macros::datetime;

use super::parse;
use super::tests::{bad, edit, good, NOW};

const ALLOWLIST: &str = r#"kind = "public-bucket-allowlist"
id = "pba-1"
reviewer = "security-lead"
reviewed_at = "2026-07-20T09:00:00Z"
expires_at = "2027-07-20T09:00:00Z"
buckets = ["www.example.com", "public-assets-1"]
reason = "static website"
"#;

const CLASSIFICATION: &str = r#"kind = "data-classification"
id = "dc-1"
reviewer = "dpo"
reviewed_at = "2026-07-20T09:00:00Z"
expires_at = "2027-07-20T09:00:00Z"
sensitive = ["AWS::RDS::DBInstance", "arn:aws:s3:::orders-exports"]
"#;

const SCOPE: &str = r#"kind = "backup-scope"
id = "bs-1"
reviewer = "head-of-platform"
reviewed_at = "2026-07-20T09:00:00Z"
expires_at = "2027-07-20T09:00:00Z"
resource_types = ["RDS", "dynamodb"]
"#;

#[test]
fn declarations_have_reviewer_review_time_and_expiry() {
    let r = parse("p.toml", ALLOWLIST.as_bytes(), NOW).unwrap();
    assert_eq!(r.observed_at, datetime!(2026-07-20 09:00 UTC));
    let c = &r.canonical;
    assert_eq!(c["reviewer"], "security-lead");
    assert_eq!(c["reviewed_at"], "2026-07-20T09:00:00Z");
    // An expiry lies in the future by nature.
    assert_eq!(c["expires_at"], "2027-07-20T09:00:00Z");
    assert_eq!(c["buckets"], json!(["www.example.com", "public-assets-1"]));
    assert_eq!(c["reason"], "static website");
    for text in [ALLOWLIST, CLASSIFICATION, SCOPE] {
        bad(
            "d.toml",
            &edit(text, "2027-07-20T09:00:00Z", "2026-07-20T09:00:00Z"),
            "expires_at",
            "after reviewed_at",
        );
        bad(
            "d.toml",
            &edit(text, "expires_at = \"2027-07-20T09:00:00Z\"\n", ""),
            "expires_at",
            "required",
        );
        bad(
            "d.toml",
            &edit(text, "2026-07-20T09:00:00Z", "2026-12-20T09:00:00Z"),
            "reviewed_at",
            "future",
        );
        bad(
            "d.toml",
            &edit(text, "reviewer = ", "approver = "),
            "reviewer",
            "required",
        );
        bad(
            "d.toml",
            &format!("{text}owner = \"x\"\n"),
            "owner",
            "unknown field",
        );
    }
}

#[test]
fn public_bucket_allowlist_checks_bucket_names_and_reason() {
    for name in [
        "ab",
        "Upper",
        "under_score",
        "-start",
        "end.",
        "two..dots",
        "192.168.1.1",
    ] {
        bad(
            "p.toml",
            &edit(ALLOWLIST, "\"public-assets-1\"", &format!("{name:?}")),
            "buckets[1]",
            "S3 bucket name",
        );
    }
    bad(
        "p.toml",
        &edit(
            ALLOWLIST,
            "[\"www.example.com\", \"public-assets-1\"]",
            "[]",
        ),
        "buckets",
        "at least 1",
    );
    bad(
        "p.toml",
        &edit(ALLOWLIST, "reason = \"static website\"\n", ""),
        "reason",
        "required",
    );
}

#[test]
fn data_classification_lists_sensitive_stores() {
    let c = good("d.toml", CLASSIFICATION);
    assert_eq!(
        c["sensitive"],
        json!(["AWS::RDS::DBInstance", "arn:aws:s3:::orders-exports"])
    );
    assert_eq!(c["not_sensitive"], json!([]));
    let all = good(
        "d.toml",
        &edit(
            CLASSIFICATION,
            "[\"AWS::RDS::DBInstance\", \"arn:aws:s3:::orders-exports\"]",
            "[\"*\"]\nnot_sensitive = [\"arn:aws:s3:::public-assets-1\", \"i-0abc\"]",
        ),
    );
    assert_eq!(all["sensitive"], json!(["*"]));
    assert_eq!(
        all["not_sensitive"],
        json!(["arn:aws:s3:::public-assets-1", "i-0abc"])
    );
    bad(
        "d.toml",
        &edit(CLASSIFICATION, "AWS::RDS::DBInstance", "AWS::RDS"),
        "sensitive[0]",
        "AWS::RDS::DBInstance",
    );
    bad(
        "d.toml",
        &edit(
            CLASSIFICATION,
            "[\"AWS::RDS::DBInstance\", \"arn:aws:s3:::orders-exports\"]",
            "[]",
        ),
        "sensitive",
        "at least 1",
    );
    bad(
        "d.toml",
        &format!("{CLASSIFICATION}not_sensitive = [\"arn:aws:s3:::orders-exports\"]\n"),
        "not_sensitive[0]",
        "also listed in sensitive",
    );
}

#[test]
fn backup_scope_lists_backup_resource_types() {
    let c = good("b.json", &toml_to_json(SCOPE));
    assert_eq!(c["resource_types"], json!(["RDS", "DynamoDB"]));
    assert_eq!(c["resources"], json!([]));
    bad(
        "b.toml",
        &edit(SCOPE, "[\"RDS\", \"dynamodb\"]", "[]"),
        "resource_types",
        "at least 1",
    );
    bad(
        "b.toml",
        &edit(SCOPE, "resource_types = [\"RDS\", \"dynamodb\"]\n", ""),
        "resource_types",
        "required",
    );
    bad(
        "b.toml",
        &edit(SCOPE, "\"dynamodb\"", "\"AWS::DynamoDB::Table\""),
        "resource_types[1]",
        "AWS Backup resource type",
    );
}

/// The same record as JSON (JSON input follows the same rules).
fn toml_to_json(text: &str) -> String {
    let table: toml::Table = toml::from_str(text).unwrap();
    serde_json::to_string(&table).unwrap()
}
