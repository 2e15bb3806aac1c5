//! Canonical JSON per RFC 8785 (JSON Canonicalization Scheme).
//!
//! Every document evidenced produces, and every record, is written in this form so that
//! identical content always yields identical bytes, and therefore an identical SHA-256.
//! The rules, restated in docs/FORMAT.md for independent verifiers:
//! - no insignificant whitespace;
//! - object members sorted by the UTF-16 code units of their names;
//! - strings escaped minimally: `"` `\` and control characters below U+0020 only
//!   (`\b \t \n \f \r` by name, the rest as `\u00xx`, lowercase hex);
//! - numbers in the ECMAScript `Number.prototype.toString` form (integers without
//!   exponent or fraction up to 2^53).

use serde::Serialize;
use serde_json::Value;

/// Why a value cannot be put into canonical form.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalError {
    #[error("cannot serialize to JSON: {0}")]
    Serialize(#[from] serde_json::Error),
    #[error("number {0} cannot be represented exactly in canonical JSON (outside the IEEE 754 safe range)")]
    UnsafeNumber(String),
}

/// Serialize any value to canonical JSON bytes.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let value = serde_json::to_value(value)?;
    value_to_vec(&value)
}

/// Canonical bytes of an already-built JSON value.
pub fn value_to_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

/// True when `bytes` are exactly the canonical form of the JSON they contain.
pub fn is_canonical(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => value_to_vec(&v).map(|c| c == bytes).unwrap_or(false),
        Err(_) => false,
    }
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_value(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

const MAX_SAFE: u64 = (1 << 53) - 1;

fn write_number(n: &serde_json::Number, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE {
            return Err(CanonicalError::UnsafeNumber(n.to_string()));
        }
        out.extend_from_slice(u.to_string().as_bytes());
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE {
            return Err(CanonicalError::UnsafeNumber(n.to_string()));
        }
        out.extend_from_slice(i.to_string().as_bytes());
    } else if let Some(f) = n.as_f64() {
        if !f.is_finite() {
            return Err(CanonicalError::UnsafeNumber(n.to_string()));
        }
        if f == 0.0 {
            out.push(b'0');
        } else {
            let mut buf = ryu_js::Buffer::new();
            out.extend_from_slice(buf.format_finite(f).as_bytes());
        }
    } else {
        return Err(CanonicalError::UnsafeNumber(n.to_string()));
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{0c}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: Value) -> String {
        String::from_utf8(value_to_vec(&v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_keys_by_utf16_code_units() {
        // RFC 8785 section 3.2.3 example: keys sort by UTF-16, not by UTF-8 bytes.
        let v = json!({"\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh", "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{0080}": "Control", "\u{00f6}": "Latin Small Letter O With Diaeresis"});
        let s = canon(v);
        let order: Vec<&str> = [
            "\"\\r\"",
            "\"1\"",
            "\"\u{0080}\"",
            "\"\u{00f6}\"",
            "\"\u{20ac}\"",
            "\"\u{1f600}\"",
            "\"\u{fb33}\"",
        ]
        .to_vec();
        let mut last = 0;
        for key in order {
            let pos = s.find(key).unwrap();
            assert!(pos >= last, "{key} out of order in {s}");
            last = pos;
        }
    }

    #[test]
    fn numbers_follow_ecmascript() {
        assert_eq!(
            canon(json!([1.0e30, 4.5, 0.002, 1e-7, -0.0, 333333333.3333333])),
            "[1e+30,4.5,0.002,1e-7,0,333333333.3333333]"
        );
        assert_eq!(canon(json!(9007199254740991u64)), "9007199254740991");
        assert!(value_to_vec(&json!(9007199254740992u64)).is_err());
    }

    #[test]
    fn escapes_minimally() {
        assert_eq!(
            canon(json!("a\"b\\c\u{1}\n/\u{7f}é")),
            "\"a\\\"b\\\\c\\u0001\\n/\u{7f}é\""
        );
    }

    #[test]
    fn detects_non_canonical_bytes() {
        assert!(is_canonical(br#"{"a":1,"b":[true,null]}"#));
        assert!(!is_canonical(br#"{"b":1,"a":2}"#));
        assert!(!is_canonical(br#"{"a": 1}"#));
        assert!(!is_canonical(b"not json"));
    }
}
