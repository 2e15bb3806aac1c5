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

mod ser;

use std::cmp::Ordering;

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

/// Serialize any value to canonical JSON bytes (directly, without an intermediate
/// `serde_json::Value`; the bytes are those of [`value_to_vec`] of the value's JSON).
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    value.serialize(ser::Canon { out: &mut out })?;
    Ok(out)
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
            entries.sort_by(|a, b| key_cmp(a.0, b.0));
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
        write_u64(u, out)
    } else if let Some(i) = n.as_i64() {
        write_i64(i, out)
    } else if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
        write_f64(f, out)
    } else {
        Err(CanonicalError::UnsafeNumber(n.to_string()))
    }
}

fn write_u64(u: u64, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    if u > MAX_SAFE {
        return Err(CanonicalError::UnsafeNumber(u.to_string()));
    }
    out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    Ok(())
}

fn write_i64(i: i64, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    if i.unsigned_abs() > MAX_SAFE {
        return Err(CanonicalError::UnsafeNumber(i.to_string()));
    }
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    Ok(())
}

/// A finite float in ECMAScript form (`-0` is written `0`).
fn write_f64(f: f64, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    if f == 0.0 {
        out.push(b'0');
    } else {
        let mut buf = ryu_js::Buffer::new();
        out.extend_from_slice(buf.format_finite(f).as_bytes());
    }
    Ok(())
}

/// Member order: by UTF-16 code units. UTF-8 byte order is code point order, which is
/// UTF-16 order except between a character at U+E000..U+FFFF (lead byte 0xEE or 0xEF) and
/// a supplementary one (lead byte 0xF0..0xF4, a surrogate pair in UTF-16, so smaller):
/// the first differing byte decides.
fn key_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some(i) => {
            let high = |x: u8| (0xEE..=0xEF).contains(&x);
            match (a[i], b[i]) {
                (x, y) if high(x) && y >= 0xF0 => Ordering::Greater,
                (x, y) if x >= 0xF0 && high(y) => Ordering::Less,
                (x, y) => x.cmp(&y),
            }
        }
    }
}

/// Escapes touch ASCII bytes only, so runs of other bytes (including every byte of a
/// multi-byte UTF-8 sequence) are copied as they are.
fn write_string(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let named: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run..i]);
        run = i + 1;
        match named.is_empty() {
            false => out.extend_from_slice(named),
            true => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[run..]);
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
    fn key_order_is_utf16_order_for_every_pair() {
        let keys = [
            "",
            "a",
            "ab",
            "b",
            "\r",
            "1",
            "\u{7f}",
            "\u{80}",
            "\u{f6}",
            "\u{7ff}",
            "\u{800}",
            "\u{d7ff}",
            "\u{e000}",
            "\u{e000}a",
            "\u{fb33}",
            "\u{ffff}",
            "\u{10000}",
            "\u{1f600}",
            "\u{10ffff}",
            "a\u{e000}",
            "a\u{1f600}",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(
                    key_cmp(a, b),
                    a.encode_utf16().cmp(b.encode_utf16()),
                    "{a:?} vs {b:?}"
                );
            }
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

    /// The direct serializer and the `Value` route give the same bytes.
    fn same<T: Serialize>(x: &T) {
        let direct = to_vec(x).unwrap();
        let via_value = value_to_vec(&serde_json::to_value(x).unwrap()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&direct),
            String::from_utf8_lossy(&via_value)
        );
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(u8),
        Tuple(i32, String),
        Struct { z: bool, a: Option<f64> },
    }

    #[derive(Serialize)]
    struct Doc {
        zeta: String,
        alpha: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        numbers: Vec<f64>,
        ints: (i64, u64, i8),
        shapes: Vec<Shape>,
        by_int: std::collections::BTreeMap<u32, &'static str>,
        by_name: std::collections::HashMap<String, serde_json::Value>,
        bytes: serde_bytes_like::Bytes,
        ch: char,
        unit: (),
        #[serde(flatten)]
        extra: std::collections::BTreeMap<String, i32>,
    }

    mod serde_bytes_like {
        pub struct Bytes(pub Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[test]
    fn direct_serializer_matches_the_value_route() {
        let doc = Doc {
            zeta: "tab\there \"q\" \u{1} \u{1f} é \u{20ac} \u{1f600}".into(),
            alpha: None,
            skipped: None,
            numbers: vec![1.0e30, 4.5, 0.002, 1e-7, -0.0, 333333333.3333333, f64::NAN],
            ints: (-9007199254740991, 9007199254740991, -5),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype(7),
                Shape::Tuple(-1, "x".into()),
                Shape::Struct {
                    z: true,
                    a: Some(0.5),
                },
            ],
            by_int: [(10, "ten"), (9, "nine"), (100, "hundred")]
                .into_iter()
                .collect(),
            by_name: [
                (
                    "\u{fb33}".to_string(),
                    json!({"b": [1, {"\r": null}], "a": "x"}),
                ),
                ("\u{1f600}".to_string(), json!(1)),
                ("\u{20ac}".to_string(), json!(false)),
                ("1".to_string(), json!([])),
            ]
            .into_iter()
            .collect(),
            bytes: serde_bytes_like::Bytes(vec![0, 255, 16]),
            ch: '\u{0}',
            unit: (),
            extra: [("zeta".to_string(), 3), ("m".to_string(), 4)]
                .into_iter()
                .collect(),
        };
        same(&doc);
        same(
            &json!({"\u{20ac}": "Euro Sign", "\r": "CR", "\u{fb33}": 1, "1": 2, "\u{1f600}": 3, "\u{0080}": 4}),
        );
        same(&json!([null, true, "", {}, [], {"a": {"b": {"c": []}}}]));
    }

    #[test]
    fn direct_serializer_refuses_unsafe_numbers() {
        assert!(matches!(
            to_vec(&9007199254740992u64),
            Err(CanonicalError::UnsafeNumber(_))
        ));
        assert!(matches!(
            to_vec(&i64::MIN),
            Err(CanonicalError::UnsafeNumber(_))
        ));
        assert!(to_vec(&u128::MAX).is_err());
    }
}
