//! Human records: drill logs, restore-test records, RTO/RPO objectives, access reviews,
//! significant changes and reviewed declarations (public-bucket allowlist, data
//! classification, backup scope), as Markdown with TOML front matter (`+++` fences), plain TOML, or JSON.
//!
//! Parsing is strict: every field is checked and unknown fields are refused (a typo such as
//! `outcom` would otherwise silently drop evidence). Errors name the file and the field, or
//! the line for syntax errors. The result keeps the original bytes verbatim beside a
//! normalised canonical JSON form.

mod fields;
mod kinds;
mod names;

use serde_json::{Map, Value};
use time::OffsetDateTime;

pub use fields::fmt_time;
pub use names::BACKUP_RESOURCE_TYPES;

/// Largest human record accepted, in bytes. Drill logs are text; anything larger is a
/// mistake or an attack.
pub const MAX_SIZE: usize = 1024 * 1024;

/// Media type of the normalised form.
pub const CANONICAL_MEDIA_TYPE: &str = "application/vnd.evidenced.human-record+json";

/// The drill kinds.
pub const DRILL_KINDS: &[&str] = &[
    "restore-test",
    "az-failover",
    "region-failover",
    "data-loss",
    "security-incident",
    "tabletop",
];

/// Every kind accepted.
pub const ALL_KINDS: &[&str] = &[
    "restore-test",
    "az-failover",
    "region-failover",
    "data-loss",
    "security-incident",
    "tabletop",
    "objective",
    "access-review",
    "change",
    "public-bucket-allowlist",
    "data-classification",
    "backup-scope",
];

/// A human record that could not be accepted: names the file and the field or line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", location(.field, .line))]
pub struct InputError {
    pub file: String,
    pub field: Option<String>,
    pub line: Option<usize>,
    pub message: String,
}

fn location(field: &Option<String>, line: &Option<usize>) -> String {
    match (field, line) {
        (Some(f), _) => format!(": field `{f}`"),
        (None, Some(l)) => format!(":{l}"),
        (None, None) => String::new(),
    }
}

/// A validated human record.
#[derive(Debug, Clone)]
pub struct HumanRecord {
    pub kind: String,
    pub id: String,
    /// The time the record's fact refers to: the end of a drill, the approval of an
    /// objective, the review time (or submission time) of an access review, the time of a
    /// change, the review time of a declaration.
    pub observed_at: OffsetDateTime,
    /// Normalised form, to be stored as canonical JSON.
    pub canonical: Value,
    /// The file name the record came from (no directories).
    pub file_name: String,
    /// Original bytes, stored verbatim.
    pub original: Vec<u8>,
    pub original_media_type: &'static str,
}

#[derive(Clone, Copy)]
enum Syntax {
    Markdown,
    Toml,
    Json,
}

/// Parse and validate one human record. `name` is used in messages and as the stored
/// original's name; `now` bounds how far in the future times may lie (5 minutes of skew).
pub fn parse(name: &str, bytes: &[u8], now: OffsetDateTime) -> Result<HumanRecord, InputError> {
    let file = name.to_string();
    let err = |line: Option<usize>, message: String| InputError {
        file: file.clone(),
        field: None,
        line,
        message,
    };
    if bytes.len() > MAX_SIZE {
        return Err(err(
            None,
            format!(
                "file is {} bytes; human records are limited to {MAX_SIZE} bytes",
                bytes.len()
            ),
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        err(
            None,
            format!(
                "not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    let syntax = detect(name, text).ok_or_else(|| {
        err(
            None,
            "unknown format: use .md with +++ TOML front matter, .toml, or .json".into(),
        )
    })?;
    let (doc, body) = match syntax {
        Syntax::Json => (parse_json(text).map_err(|(l, m)| err(Some(l), m))?, None),
        Syntax::Toml => (parse_toml(text, 0).map_err(|(l, m)| err(Some(l), m))?, None),
        Syntax::Markdown => {
            let (front, body) = split_front_matter(text).map_err(|(l, m)| err(Some(l), m))?;
            (
                parse_toml(front, 1).map_err(|(l, m)| err(Some(l), m))?,
                Some(body.to_string()),
            )
        }
    };
    let file_name = name.rsplit('/').next().unwrap_or(name).to_string();
    let (kind, id, observed_at, mut canonical) = kinds::validate(&file, doc, now)?;
    if let Some(body) = body {
        let trimmed = body.trim();
        if !trimmed.is_empty() {
            canonical.insert("body".into(), Value::String(trimmed.to_string()));
        }
    }
    let media_type = match syntax {
        Syntax::Markdown => "text/markdown; charset=utf-8",
        Syntax::Toml => "application/toml",
        Syntax::Json => "application/json",
    };
    canonical.insert(
        "source".into(),
        serde_json::json!({
            "name": file_name,
            "digest": crate::digest::Digest::of(bytes).to_string(),
            "media_type": media_type,
        }),
    );
    Ok(HumanRecord {
        kind,
        id,
        observed_at,
        canonical: Value::Object(canonical),
        file_name,
        original: bytes.to_vec(),
        original_media_type: media_type,
    })
}

fn detect(name: &str, text: &str) -> Option<Syntax> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".md") || lower.ends_with(".markdown") {
        Some(Syntax::Markdown)
    } else if lower.ends_with(".toml") {
        Some(Syntax::Toml)
    } else if lower.ends_with(".json") {
        Some(Syntax::Json)
    } else if text.starts_with("+++") {
        Some(Syntax::Markdown)
    } else if text.trim_start().starts_with('{') {
        Some(Syntax::Json)
    } else {
        None
    }
}

/// Split `+++\n<toml>\n+++\n<body>`. Errors carry a 1-based line number.
fn split_front_matter(text: &str) -> Result<(&str, &str), (usize, String)> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "+++" {
        return Err((
            1,
            "expected the front matter to open with a `+++` line".into(),
        ));
    }
    let start = first.len();
    let mut offset = start;
    for line in lines {
        if line.trim_end() == "+++" {
            return Ok((&text[start..offset], &text[offset + line.len()..]));
        }
        offset += line.len();
    }
    Err((
        1,
        "front matter opened with `+++` is never closed by a `+++` line".into(),
    ))
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()[..byte.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn parse_toml(text: &str, line_offset: usize) -> Result<Map<String, Value>, (usize, String)> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1) + line_offset;
        (line, format!("TOML syntax: {}", e.message().trim()))
    })?;
    match toml_to_json(toml::Value::Table(table)) {
        Value::Object(m) => Ok(m),
        _ => Err((1, "expected a table at the top level".into())),
    }
}

fn parse_json(text: &str) -> Result<Map<String, Value>, (usize, String)> {
    // serde_json refuses nesting deeper than 128 levels on its own, without recursion blowup.
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err((1, "expected a JSON object at the top level".into())),
        Err(e) => Err((e.line(), format!("JSON syntax: {e}"))),
    }
}

fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

#[cfg(test)]
mod declaration_tests;
#[cfg(test)]
mod tests;
