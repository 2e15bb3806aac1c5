//! Field-by-field access to a parsed human record, remembering which keys were used so
//! that unknown ones can be refused by name.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::{names, InputError};

/// How far in the future a time may lie (clock skew between the operator and us).
const FUTURE_SKEW: Duration = Duration::minutes(5);

pub struct Fields<'a> {
    file: &'a str,
    doc: &'a Map<String, Value>,
    used: BTreeSet<&'static str>,
    now: OffsetDateTime,
}

/// RFC 3339 in UTC with a `Z`, fractional seconds only when present.
pub fn fmt_time(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

impl<'a> Fields<'a> {
    pub fn new(file: &'a str, doc: &'a Map<String, Value>, now: OffsetDateTime) -> Fields<'a> {
        Fields {
            file,
            doc,
            used: BTreeSet::new(),
            now,
        }
    }

    pub fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        InputError {
            file: self.file.to_string(),
            field: Some(field.to_string()),
            line: None,
            message: message.into(),
        }
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.insert(key);
        self.doc.get(key)
    }

    fn required(&mut self, key: &'static str) -> Result<&'a Value, InputError> {
        self.get(key)
            .ok_or_else(|| self.error(key, "is required but missing"))
    }

    fn string(&self, key: &str, v: &Value) -> Result<String, InputError> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
            Value::String(_) => Err(self.error(key, "must not be empty")),
            other => Err(self.error(key, format!("must be a string, found {}", type_name(other)))),
        }
    }

    pub fn enum_str(&mut self, key: &'static str, allowed: &[&str]) -> Result<String, InputError> {
        let v = self.required(key)?;
        let s = self.string(key, v)?;
        if allowed.contains(&s.as_str()) {
            Ok(s)
        } else {
            Err(self.error(key, format!("{s:?} is not one of: {}", allowed.join(", "))))
        }
    }

    pub fn id(&mut self, key: &'static str) -> Result<String, InputError> {
        let v = self.required(key)?;
        let s = self.string(key, v)?;
        if s.len() > 128
            || s == "."
            || s == ".."
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(self.error(
                key,
                format!(
                    "{s:?} must be 1 to 128 characters of A-Z a-z 0-9 . _ - (and not `.` or `..`)"
                ),
            ));
        }
        Ok(s)
    }

    pub fn copy_str(
        &mut self,
        out: &mut Map<String, Value>,
        key: &'static str,
        required: bool,
    ) -> Result<(), InputError> {
        let v = if required {
            Some(self.required(key)?)
        } else {
            self.get(key)
        };
        if let Some(v) = v {
            let s = self.string(key, v)?;
            out.insert(key.into(), Value::String(s));
        }
        Ok(())
    }

    /// A list of non-empty strings, each passed through `check` (which returns the
    /// normalised entry or a message). `None` when the key is absent and `min` is 0.
    pub fn list(
        &mut self,
        key: &'static str,
        min: usize,
        check: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Option<Vec<String>>, InputError> {
        let v = match self.get(key) {
            Some(v) => v,
            None if min == 0 => return Ok(None),
            None => return Err(self.error(key, format!("is required: list at least {min} entry"))),
        };
        let Value::Array(items) = v else {
            return Err(self.error(
                key,
                format!("must be a list of strings, found {}", type_name(v)),
            ));
        };
        if items.len() < min {
            return Err(self.error(key, format!("needs at least {min} entry")));
        }
        let mut list = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item {
                Value::String(s) if !s.trim().is_empty() => {
                    list.push(check(s).map_err(|m| self.error(&format!("{key}[{i}]"), m))?)
                }
                _ => return Err(self.error(&format!("{key}[{i}]"), "must be a non-empty string")),
            }
        }
        Ok(Some(list))
    }

    pub fn copy_str_list(
        &mut self,
        out: &mut Map<String, Value>,
        key: &'static str,
        min: usize,
    ) -> Result<(), InputError> {
        if let Some(list) = self.list(key, min, |s| Ok(s.to_string()))? {
            out.insert(key.into(), strings(list));
        }
        Ok(())
    }

    /// An optional string, checked by `check`.
    pub fn opt_checked(
        &mut self,
        key: &'static str,
        check: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Option<String>, InputError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let s = self.string(key, v)?;
        check(&s).map(Some).map_err(|m| self.error(key, m))
    }

    pub fn opt_str(&mut self, key: &'static str) -> Result<Option<String>, InputError> {
        self.opt_checked(key, |s| Ok(s.to_string()))
    }

    pub fn bool(&mut self, key: &'static str) -> Result<bool, InputError> {
        match self.required(key)? {
            Value::Bool(b) => Ok(*b),
            other => Err(self.error(
                key,
                format!("must be true or false, found {}", type_name(other)),
            )),
        }
    }

    /// An RFC 3339 time that may lie in the future (an expiry).
    pub fn opt_any_time(
        &mut self,
        key: &'static str,
    ) -> Result<Option<OffsetDateTime>, InputError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let s = match v {
            Value::String(s) => s,
            other => {
                return Err(self.error(
                    key,
                    format!("must be an RFC 3339 time, found {}", type_name(other)),
                ))
            }
        };
        OffsetDateTime::parse(s, &Rfc3339).map(Some).map_err(|_| {
            self.error(
                key,
                format!("{s:?} is not an RFC 3339 time with an offset (e.g. 2026-03-10T09:00:00Z)"),
            )
        })
    }

    /// An RFC 3339 time no later than now (plus clock skew): when something happened.
    pub fn opt_time(&mut self, key: &'static str) -> Result<Option<OffsetDateTime>, InputError> {
        let t = self.opt_any_time(key)?;
        if let Some(t) = t {
            if t > self.now + FUTURE_SKEW {
                return Err(self.error(key, format!("{:?} lies in the future", fmt_time(t))));
            }
        }
        Ok(t)
    }

    pub fn time(&mut self, key: &'static str) -> Result<OffsetDateTime, InputError> {
        match self.opt_time(key)? {
            Some(t) => Ok(t),
            None => Err(self.error(key, "is required but missing")),
        }
    }

    pub fn any_time(&mut self, key: &'static str) -> Result<OffsetDateTime, InputError> {
        match self.opt_any_time(key)? {
            Some(t) => Ok(t),
            None => Err(self.error(key, "is required but missing")),
        }
    }

    fn minutes(&self, key: &str, v: &Value) -> Result<u64, InputError> {
        match v.as_u64() {
            Some(n) if n <= 10 * 365 * 24 * 60 => Ok(n),
            _ => Err(self.error(
                key,
                format!("must be a whole number of minutes ≥ 0, found {v}"),
            )),
        }
    }

    pub fn copy_minutes(
        &mut self,
        out: &mut Map<String, Value>,
        key: &'static str,
        required: bool,
    ) -> Result<(), InputError> {
        let v = if required {
            Some(self.required(key)?)
        } else {
            self.get(key)
        };
        if let Some(v) = v {
            let n = self.minutes(key, v)?;
            out.insert(key.into(), Value::from(n));
        }
        Ok(())
    }

    /// `[targets]` / `[achieved]`: a table with `rto_minutes` and/or `rpo_minutes`; with
    /// `required`, the table and both of them must be given.
    pub fn copy_objectives(
        &mut self,
        out: &mut Map<String, Value>,
        key: &'static str,
        required: bool,
    ) -> Result<(), InputError> {
        let Some(v) = self.get(key) else {
            if required {
                return Err(self.error(
                    key,
                    format!("is required: add a [{key}] table with rto_minutes and rpo_minutes"),
                ));
            }
            return Ok(());
        };
        let Value::Object(t) = v else {
            return Err(self.error(key, format!("must be a table, found {}", type_name(v))));
        };
        let mut norm = Map::new();
        for (k, val) in t {
            let path = format!("{key}.{k}");
            if k != "rto_minutes" && k != "rpo_minutes" {
                return Err(
                    self.error(&path, "unknown field (expected rto_minutes or rpo_minutes)")
                );
            }
            norm.insert(k.clone(), Value::from(self.minutes(&path, val)?));
        }
        if norm.is_empty() {
            return Err(self.error(key, "must give rto_minutes and/or rpo_minutes"));
        }
        if required {
            for k in ["rto_minutes", "rpo_minutes"] {
                if !norm.contains_key(k) {
                    return Err(self.error(&format!("{key}.{k}"), "is required but missing"));
                }
            }
        }
        out.insert(key.into(), Value::Object(norm));
        Ok(())
    }

    pub fn copy_outcome(
        &mut self,
        out: &mut Map<String, Value>,
        key: &'static str,
    ) -> Result<(), InputError> {
        let s = self.enum_str(key, &["pass", "fail"])?;
        out.insert(key.into(), Value::String(s));
        Ok(())
    }

    pub fn region(&mut self, key: &'static str) -> Result<String, InputError> {
        let v = self.required(key)?;
        let s = self.string(key, v)?;
        names::region(&s).map_err(|m| self.error(key, m))
    }

    /// `YYYY-Qn`, with the quarter's first instant and the next quarter's first instant.
    pub fn quarter(
        &mut self,
        key: &'static str,
    ) -> Result<(String, OffsetDateTime, OffsetDateTime), InputError> {
        let v = self.required(key)?;
        let s = self.string(key, v)?;
        names::quarter(&s).map_err(|m| self.error(key, m))
    }

    /// `decisions`: a non-empty list of strings or tables (kept as given).
    pub fn copy_decisions(
        &mut self,
        out: &mut Map<String, Value>,
        key: &'static str,
    ) -> Result<(), InputError> {
        let v = self.required(key)?;
        match v {
            Value::Array(a) if !a.is_empty() => {
                for (i, d) in a.iter().enumerate() {
                    if !matches!(d, Value::String(_) | Value::Object(_)) {
                        return Err(
                            self.error(&format!("{key}[{i}]"), "must be a string or a table")
                        );
                    }
                }
                out.insert(key.into(), v.clone());
                Ok(())
            }
            _ => Err(self.error(key, "must be a non-empty list of decisions")),
        }
    }

    pub fn reject_unknown(&self) -> Result<(), InputError> {
        for key in self.doc.keys() {
            if !self.used.contains(key.as_str()) {
                let known: Vec<&str> = self.used.iter().copied().collect();
                return Err(self.error(
                    key,
                    format!("unknown field for this kind (known: {})", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// A JSON array of strings.
pub fn strings(list: Vec<String>) -> Value {
    Value::Array(list.into_iter().map(Value::String).collect())
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}
