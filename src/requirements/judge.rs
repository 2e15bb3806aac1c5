//! The CEL part of a matcher, applied to the facts [`find`](super::evidence::find) found:
//! `when` (scope), joins, `check` (does the fact count, and if not why) and `group` (what
//! the fact covers). Also the groups a requirement expects.

use std::collections::{BTreeMap, BTreeSet};

use cel::{Context, Program, Value};
use serde_json::Value as Json;
use time::OffsetDateTime;

use super::catalog::{Matcher, Select, Source};
use super::cel::{self as c, Template};
use super::conditions::lookup;
use super::evidence::{find, Fact, View};
use crate::human::fmt_time;
use crate::record::Scope;

fn scope_value(s: &Scope) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(a) = &s.account {
        m.insert("account".into(), Json::String(a.clone()));
    }
    if let Some(r) = &s.region {
        m.insert("region".into(), Json::String(r.clone()));
    }
    c::value(&Json::Object(m))
}

/// Bind the variables every expression over `f` sees.
fn bind(ctx: &mut Context, f: &Fact, fact_value: Value) {
    ctx.add_variable_from_value("fact", fact_value);
    ctx.add_variable_from_value("scope", scope_value(&f.scope));
    ctx.add_variable_from_value(
        "record",
        c::value(&serde_json::json!({"seq": f.seq, "recorded_at": fmt_time(f.recorded_at)})),
    );
    ctx.add_variable_from_value("observed_at", Value::from(fmt_time(f.observed_at)));
}

/// The root context of one evaluation: `at` and the standard library.
pub fn root(at: OffsetDateTime) -> Context<'static, 'static> {
    let mut ctx = Context::default();
    ctx.add_variable_from_value("at", Value::from(fmt_time(at)));
    super::aws_schedule::register(&mut ctx);
    ctx
}

fn program(src: &Option<String>) -> Option<Program> {
    // The catalog compiled every expression when it was loaded.
    src.as_deref().and_then(|s| c::compile(s).ok())
}

/// A field of a fact as a join key: a string as itself, other values as JSON.
fn key_of(f: &Fact, path: &str) -> Option<String> {
    let v = match path {
        "scope.account" => return f.scope.account.clone(),
        "scope.region" => return f.scope.region.clone(),
        p => lookup(&f.value, p)?,
    };
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The facts of a source that pass its `when`, with their CEL values.
fn source_facts(
    s: &Source,
    ev: &View,
    root: &Context,
    cutoff: OffsetDateTime,
) -> Vec<(Fact, Value)> {
    let when = program(&s.when);
    find(&s.matcher(), ev, cutoff)
        .facts
        .into_iter()
        .filter(|f| f.rejected.is_none())
        .filter_map(|f| {
            let v = c::value(&f.value);
            if let Some(p) = &when {
                let mut ctx = root.new_inner_scope();
                bind(&mut ctx, &f, v.clone());
                if c::truth(p, &ctx) != Ok(true) {
                    return None;
                }
            }
            Some((f, v))
        })
        .collect()
}

struct Join {
    name: String,
    equal: Vec<(String, String)>,
    on: Option<Program>,
    facts: Vec<(Fact, Value)>,
    /// Equality-join index: the tuple of the source's `equal` fields → fact indexes.
    index: BTreeMap<Vec<String>, Vec<usize>>,
}

impl Join {
    fn new(s: &Source, ev: &View, root: &Context, cutoff: OffsetDateTime) -> Join {
        let facts = source_facts(s, ev, root, cutoff);
        let equal: Vec<(String, String)> = s
            .equal
            .iter()
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect();
        let mut index: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
        if !equal.is_empty() {
            for (i, (f, _)) in facts.iter().enumerate() {
                let k: Option<Vec<String>> = equal.iter().map(|(_, b)| key_of(f, b)).collect();
                if let Some(k) = k {
                    index.entry(k).or_default().push(i);
                }
            }
        }
        Join {
            name: s.name.clone().unwrap_or_default(),
            equal,
            on: program(&s.on),
            facts,
            index,
        }
    }

    /// The joined facts of `f` as a CEL list.
    fn matches(&self, f: &Fact, fact_value: &Value, root: &Context) -> Value {
        let candidates: Vec<usize> = if self.equal.is_empty() {
            (0..self.facts.len()).collect()
        } else {
            let k: Option<Vec<String>> = self.equal.iter().map(|(a, _)| key_of(f, a)).collect();
            k.and_then(|k| self.index.get(&k).cloned())
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        for i in candidates {
            let (_, v) = &self.facts[i];
            if let Some(p) = &self.on {
                let mut ctx = root.new_inner_scope();
                bind(&mut ctx, f, fact_value.clone());
                ctx.add_variable_from_value("other", v.clone());
                if c::truth(p, &ctx) != Ok(true) {
                    continue;
                }
            }
            out.push(v.clone());
        }
        Value::List(std::sync::Arc::new(out))
    }
}

/// Apply `m`'s `when`, joins, checks and group to `facts`: out-of-scope facts are dropped,
/// failed checks set `rejected`, groups are filled in.
pub fn judge(
    m: &Matcher,
    facts: Vec<Fact>,
    ev: &View,
    root: &Context,
    cutoff: OffsetDateTime,
) -> Vec<Fact> {
    if m.when.is_none() && m.check.is_empty() && m.group.is_none() {
        return facts;
    }
    let when = program(&m.when);
    let group = program(&m.group);
    let checks: Vec<(Program, Option<Template>, &str)> = m
        .check
        .iter()
        .filter_map(|k| {
            Some((
                c::compile(&k.test).ok()?,
                Template::compile(&k.says).ok(),
                k.says.as_str(),
            ))
        })
        .collect();
    let joins: Vec<Join> = m
        .join
        .iter()
        .map(|s| Join::new(s, ev, root, cutoff))
        .collect();
    let mut out = Vec::with_capacity(facts.len());
    for mut f in facts {
        let v = c::value(&f.value);
        let mut ctx = root.new_inner_scope();
        bind(&mut ctx, &f, v.clone());
        for j in &joins {
            ctx.add_variable_from_value(j.name.clone(), j.matches(&f, &v, root));
        }
        if let Some(p) = &when {
            if c::truth(p, &ctx) != Ok(true) {
                continue;
            }
        }
        if f.rejected.is_none() {
            for (test, says, src) in &checks {
                match c::truth(test, &ctx) {
                    Ok(true) => continue,
                    Ok(false) => {
                        f.rejected = Some(says.as_ref().map_or(src.to_string(), |t| t.render(&ctx)))
                    }
                    Err(e) => {
                        let said = says.as_ref().map_or(src.to_string(), |t| t.render(&ctx));
                        f.rejected = Some(format!("{said} (the check could not be evaluated: {e})"))
                    }
                }
                break;
            }
        }
        if let Some(p) = &group {
            match c::strings(p, &ctx) {
                Ok(g) => f.groups = g,
                Err(e) => {
                    if f.rejected.is_none() {
                        f.rejected = Some(format!("its group cannot be determined: {e}"));
                    }
                }
            }
        }
        out.push(f);
    }
    out
}

/// The groups a requirement expects as of `as_of` (a period's end, or the evaluation
/// time), with the facts that name each (for citation). Snapshots (`select = "latest"`)
/// are the latest recorded by `as_of`; other facts (declarations) count from the time they
/// claim, when recorded by `cutoff`, and their `when` sees `at` = `as_of` (a declaration
/// valid at the end of the period). Values are always expected.
pub fn expected(
    sources: &[Source],
    ev: &View,
    as_of: OffsetDateTime,
    cutoff: OffsetDateTime,
) -> BTreeMap<String, Vec<Fact>> {
    let root = self::root(as_of);
    let mut out: BTreeMap<String, Vec<Fact>> = BTreeMap::new();
    for s in sources {
        for v in &s.values {
            out.entry(v.clone()).or_default();
        }
        if s.human.is_none() && s.media_type.is_none() {
            continue;
        }
        let Some(group) = program(&s.group) else {
            continue;
        };
        let facts = match s.select {
            Select::Latest => source_facts(s, ev, &root, as_of.min(cutoff)),
            Select::All => source_facts(s, ev, &root, cutoff)
                .into_iter()
                .filter(|(f, _)| f.observed_at <= as_of)
                .collect(),
        };
        for (f, v) in facts {
            let mut ctx = root.new_inner_scope();
            bind(&mut ctx, &f, v);
            if let Ok(groups) = c::strings(&group, &ctx) {
                let unique: BTreeSet<String> = groups.into_iter().collect();
                for g in unique {
                    out.entry(g).or_default().push(f.clone());
                }
            }
        }
    }
    out
}
