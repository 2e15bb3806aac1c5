//! Conditions of a matcher over a JSON fact, by dotted field path.

use serde_json::Value;

use super::catalog::Conditions;

/// The value at a dotted path (`achieved.rto_minutes`), if any.
pub fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, seg| v.get(seg))
}

/// A catalog value as JSON, for comparison with documents.
pub fn toml_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_json(v))).collect())
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if a.is_number() && b.is_number() => x == y,
        _ => a == b,
    }
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// The number a bound refers to: a literal, or another field of the fact.
fn bound(fact: &Value, b: &toml::Value) -> Option<f64> {
    match b {
        toml::Value::String(field) => lookup(fact, field)?.as_f64(),
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// The first condition `fact` fails, described in plain words; `None` when all hold.
pub fn first_failure(c: &Conditions, fact: &Value) -> Option<String> {
    for (field, want) in &c.equals {
        let want = toml_json(want);
        match lookup(fact, field) {
            Some(v) if same(v, &want) => {}
            Some(v) => return Some(format!("{field} is {v}, not {want}")),
            None => return Some(format!("{field} is absent (expected {want})")),
        }
    }
    for (field, banned) in &c.not_equals {
        let banned = toml_json(banned);
        if let Some(v) = lookup(fact, field) {
            if same(v, &banned) {
                return Some(format!("{field} is {v}"));
            }
        }
    }
    for (field, allowed) in &c.one_of {
        let allowed: Vec<Value> = allowed.iter().map(toml_json).collect();
        match lookup(fact, field) {
            Some(v) if allowed.iter().any(|a| same(v, a)) => {}
            v => {
                let shown = v.map_or("absent".to_string(), Value::to_string);
                return Some(format!(
                    "{field} is {shown}, not one of {}",
                    Value::Array(allowed)
                ));
            }
        }
    }
    for field in &c.exists {
        if !lookup(fact, field).is_some_and(non_empty) {
            return Some(format!("{field} is absent or empty"));
        }
    }
    for [a, b] in &c.differ {
        let (va, vb) = (lookup(fact, a), lookup(fact, b));
        if va.is_none() || vb.is_none() || va == vb {
            return Some(format!("{a} and {b} do not differ"));
        }
    }
    for (strict, map) in [(false, &c.at_most), (true, &c.below)] {
        for (field, b) in map {
            let v = lookup(fact, field).and_then(Value::as_f64);
            let limit = bound(fact, b);
            let ok = match (v, limit) {
                (Some(v), Some(l)) => {
                    if strict {
                        v < l
                    } else {
                        v <= l
                    }
                }
                _ => false,
            };
            if !ok {
                let op = if strict { "below" } else { "at most" };
                let shown = v.map_or("absent".to_string(), |v| v.to_string());
                let lim = match b {
                    toml::Value::String(f) => format!(
                        "{f} ({})",
                        limit.map_or("absent".to_string(), |l| l.to_string())
                    ),
                    other => other.to_string(),
                };
                return Some(format!("{field} is {shown}, not {op} {lim}"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conds(text: &str) -> Conditions {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn each_condition_kind_can_fail() {
        let fact = json!({"status": "COMPLETED", "a": {"x": 5, "y": 4}, "s": "us-east-1", "t": "us-east-1", "n": []});
        assert_eq!(
            first_failure(&conds("equals = { status = \"COMPLETED\" }"), &fact),
            None
        );
        assert!(first_failure(&conds("equals = { status = \"FAILED\" }"), &fact).is_some());
        assert!(first_failure(&conds("one_of = { status = [\"A\", \"B\"] }"), &fact).is_some());
        assert!(first_failure(&conds("not_equals = { status = \"COMPLETED\" }"), &fact).is_some());
        assert_eq!(
            first_failure(&conds("not_equals = { missing = true }"), &fact),
            None
        );
        assert_eq!(
            first_failure(
                &conds("one_of = { status = [\"A\", \"COMPLETED\"] }"),
                &fact
            ),
            None
        );
        assert!(first_failure(&conds("exists = [\"n\"]"), &fact).is_some());
        assert!(first_failure(&conds("differ = [[\"s\", \"t\"]]"), &fact).is_some());
        assert!(first_failure(&conds("at_most = { \"a.x\" = \"a.y\" }"), &fact).is_some());
        assert_eq!(
            first_failure(&conds("at_most = { \"a.y\" = \"a.x\" }"), &fact),
            None
        );
        assert!(first_failure(&conds("below = { \"a.x\" = 5 }"), &fact).is_some());
        assert_eq!(
            first_failure(&conds("at_most = { \"a.x\" = 5 }"), &fact),
            None
        );
    }
}
