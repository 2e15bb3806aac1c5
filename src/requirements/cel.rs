//! CEL (the Common Expression Language) for catalog rules that a field condition cannot
//! say: joins of two kinds of evidence, computed groups, and checks with their own words.
//!
//! CEL is an established, non-Turing-complete expression language with a specification
//! and maintained implementations (here the `cel` crate); expressions cannot loop, touch
//! files or the network, and always terminate. The variables a catalog expression sees:
//!
//! - `fact`: the fact under test (a JSON element of an evidence document, or a human
//!   record's normalised form);
//! - `scope`: the record's scope, `{"account": …, "region": …}` (absent members are
//!   absent keys, so `has(scope.account)` tests for them);
//! - `record`: `{"seq": …, "recorded_at": …}` of the record holding the fact;
//! - `observed_at`: the time the fact refers to (RFC 3339 string);
//! - `at`: the evaluation time (RFC 3339 string): `timestamp(at)`;
//! - `other`: in a join's `on`, the candidate fact of the joined source;
//! - each join's `name`: the list of joined facts.
//!
//! An expression that cannot be evaluated (a missing field, a type mismatch) counts as
//! false: a fact is never in scope, joined or passing because of an error, and a failed
//! check's finding carries the error.

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::Map;
use cel::{Context, Program, Value};
use serde_json::Value as Json;

/// Names a join may not take: they are bound by evaluation itself.
pub const RESERVED: &[&str] = &["fact", "scope", "record", "observed_at", "at", "other"];

/// Whether `s` is a CEL identifier a join can be bound to.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Compile a CEL expression; the error is one line saying where and what.
pub fn compile(src: &str) -> Result<Program, String> {
    Program::compile(src).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or("syntax error").trim();
        format!("CEL syntax: {first} (in `{src}`)")
    })
}

/// A JSON value as a CEL value. Integers become `int` so that they compare with literals.
pub fn value(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(a) => Value::List(Arc::new(a.iter().map(value).collect())),
        Json::Object(o) => {
            let m: HashMap<String, Value> = o.iter().map(|(k, v)| (k.clone(), value(v))).collect();
            Value::Map(Map::from(m))
        }
    }
}

/// Evaluate `p` as a boolean; `Err` names why it is not `true` or `false`.
pub fn truth(p: &Program, ctx: &Context) -> Result<bool, String> {
    match p.execute(ctx) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("gives {}, not a bool", other.type_of())),
        Err(e) => Err(e.to_string()),
    }
}

/// Evaluate `p` as group names: a string, or a list of strings.
pub fn strings(p: &Program, ctx: &Context) -> Result<Vec<String>, String> {
    match p.execute(ctx) {
        Ok(Value::String(s)) => Ok(vec![s.to_string()]),
        Ok(Value::List(l)) => l
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.to_string()),
                other => Err(format!("gives a list holding {}", other.type_of())),
            })
            .collect(),
        Ok(Value::Null) => Ok(Vec::new()),
        Ok(other) => Err(format!("gives {}, not a string or a list", other.type_of())),
        Err(e) => Err(e.to_string()),
    }
}

/// How a CEL value reads in a finding.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::List(l) => l.iter().map(display).collect::<Vec<_>>().join(", "),
        Value::Timestamp(t) => t.to_rfc3339(),
        other => format!("{other:?}"),
    }
}

enum Piece {
    Text(String),
    Expr(Program, String),
}

/// A finding template: text with `{expr}` placeholders (`{{` and `}}` for braces).
pub struct Template(Vec<Piece>);

impl Template {
    pub fn compile(src: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = src.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut depth = 1;
                    let mut quote: Option<char> = None;
                    let start = i + 1;
                    let mut end = None;
                    for (j, d) in chars.by_ref() {
                        match (quote, d) {
                            (Some(q), d) if d == q => quote = None,
                            (Some(_), _) => {}
                            (None, '"' | '\'') => quote = Some(d),
                            (None, '{') => depth += 1,
                            (None, '}') => {
                                depth -= 1;
                                if depth == 0 {
                                    end = Some(j);
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                    let Some(end) = end else {
                        return Err(format!(
                            "`{{` at offset {i} is never closed (write `{{{{` for a brace)"
                        ));
                    };
                    let expr = &src[start..end];
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Expr(compile(expr)?, expr.to_string()));
                }
                '}' => {
                    return Err(format!(
                        "`}}` at offset {i} closes nothing (write `}}}}` for a brace)"
                    ))
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template(pieces))
    }

    /// The text, each placeholder replaced by its value (or `<expr: error>`).
    pub fn render(&self, ctx: &Context) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Expr(prog, src) => match prog.execute(ctx) {
                    Ok(v) => out.push_str(&display(&v)),
                    Err(e) => out.push_str(&format!("<{src}: {e}>")),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(fact: Json) -> Context<'static, 'static> {
        let mut c = Context::default();
        c.add_variable_from_value("fact", value(&fact));
        c.add_variable_from_value("at", Value::from("2026-10-01T00:00:00Z"));
        c
    }

    #[test]
    fn json_integers_compare_with_literals_and_timestamps_parse() {
        let c = ctx(json!({"m": 720, "t": "2026-09-01T00:00:00Z", "l": ["EFS", "RDS"]}));
        let p = compile("fact.m > 240 && timestamp(fact.t) < timestamp(at) && 'EFS' in fact.l")
            .unwrap();
        assert_eq!(truth(&p, &c), Ok(true));
        let p = compile("fact.missing > 1").unwrap();
        assert!(
            truth(&p, &c).is_err(),
            "a missing field is an error, never true"
        );
        assert_eq!(
            strings(&compile("fact.l").unwrap(), &c).unwrap(),
            ["EFS", "RDS"]
        );
    }

    #[test]
    fn templates_fill_placeholders_and_keep_escaped_braces() {
        let c = ctx(json!({"id": "rj-1", "m": 720}));
        let t = Template::compile("restore {fact.id} took {fact.m} min {{sic}}").unwrap();
        assert_eq!(t.render(&c), "restore rj-1 took 720 min {sic}");
        assert!(Template::compile("open {fact.id").is_err());
        assert!(Template::compile("bad {fact.}").is_err());
        assert!(compile("fact.(").is_err());
    }
}
