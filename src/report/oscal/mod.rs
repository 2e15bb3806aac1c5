//! OSCAL 1.1 documents (NIST's Open Security Controls Assessment Language, JSON form) for
//! GRC tools: the assessment results of one evaluation ([`results`]), and the catalog and
//! minimal assessment plan of a requirements catalog ([`catalog`], shipped in config/oscal/).
//!
//! Every document is deterministic: its UUIDs are derived from stable inputs (see [`uuid`]),
//! its times come from the evaluation or the catalog's version, never from the clock, so
//! the same evaluation gives the same bytes. docs/REPORTS.md says what each field means.

pub mod catalog;
pub mod results;

use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

/// The OSCAL version the documents follow (compliance-trestle 3.12 validates 1.1.0–1.1.3).
pub const OSCAL_VERSION: &str = "1.1.3";

/// The namespace of every property this project defines (`ns` of OSCAL props). A name, not
/// a location: `.invalid` is reserved and never resolves (OSCAL tools expect an
/// `https:` URI here, and trestle refuses a URN).
pub const NS: &str = "https://evidenced.invalid/ns/oscal";

/// The shipped OSCAL catalog of the default requirements catalog (config/oscal/).
pub const SHIPPED_CATALOG: &str = include_str!("../../../config/oscal/catalog.json");
/// The shipped minimal assessment plan that the assessment results import.
pub const SHIPPED_PLAN: &str = include_str!("../../../config/oscal/assessment-plan.json");

/// File names of the shipped documents, as the `href`s of back-matter links give them
/// (relative: keep the assessment results beside them).
pub const CATALOG_FILE: &str = "catalog.json";
pub const PLAN_FILE: &str = "assessment-plan.json";

/// A UUID derived from `parts`: the first 16 bytes of SHA-256 over a domain tag and the
/// parts (each NUL-terminated), with the version (4) and variant bits set so that OSCAL's
/// UUID pattern accepts it. Not random: the same inputs give the same UUID, which is the
/// point (the same evaluation gives the same document).
pub fn uuid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(b"evidenced-oscal-uuid\0");
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// An OSCAL token (`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`) for an id: other characters become
/// `_`, and an id that starts with a digit or `.`/`-` gets a leading `_`.
pub fn token(id: &str) -> String {
    let mut s: String = id
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !s
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
    {
        s.insert(0, '_');
    }
    s
}

/// OSCAL strings may not be empty nor start or end with whitespace.
pub(crate) fn text(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// A property of this project's namespace; `None` for an empty value.
pub(crate) fn prop(name: &str, value: &str) -> Option<Value> {
    text(value).map(|v| json!({"name": name, "ns": NS, "value": v}))
}

/// Properties with empty values left out.
pub(crate) fn props<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Vec<Value> {
    pairs.into_iter().filter_map(|(k, v)| prop(k, &v)).collect()
}

/// Insert `key: list` into `obj` unless the list is empty (OSCAL arrays hold at least one
/// item).
pub(crate) fn put_list(obj: &mut Value, key: &str, list: Vec<Value>) {
    if !list.is_empty() {
        if let Some(m) = obj.as_object_mut() {
            m.insert(key.to_string(), Value::Array(list));
        }
    }
}

/// Pretty JSON with a trailing newline.
pub(crate) fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}

/// SHA-256 of `bytes` in lowercase hex, as OSCAL `hashes` give it.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The `last-modified` of a catalog document: the first day of the month its version
/// names (`2026.12` → 2026-12-01T00:00:00Z), so the shipped files change only with the
/// catalog; the epoch when the version is not `YYYY.MM`.
pub(crate) fn version_time(version: &str) -> String {
    let mut it = version.split(['.', '-']);
    let y = it.next().and_then(|y| y.parse::<u16>().ok());
    let m = it.next().and_then(|m| m.parse::<u8>().ok());
    match (y, m) {
        (Some(y), Some(m)) if (1970..=9999).contains(&y) && (1..=12).contains(&m) => {
            format!("{y:04}-{m:02}-01T00:00:00Z")
        }
        _ => "1970-01-01T00:00:00Z".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_v4_format_and_differ_by_input() {
        let a = uuid(&["x", "y"]);
        assert_eq!(a, uuid(&["x", "y"]));
        assert_ne!(a, uuid(&["xy"]));
        let b: Vec<char> = a.chars().collect();
        assert_eq!((a.len(), b[14]), (36, '4'));
        assert!(matches!(b[19], '8' | '9' | 'a' | 'b'), "{a}");
    }

    #[test]
    fn tokens_and_times() {
        assert_eq!(token("C-2.9"), "C-2.9");
        assert_eq!(token("2 fast"), "_2_fast");
        assert_eq!(version_time("2026.12"), "2026-12-01T00:00:00Z");
        assert_eq!(version_time("v1"), "1970-01-01T00:00:00Z");
    }
}
