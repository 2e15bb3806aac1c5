//! The rules `every`, `within` and `present` over the facts a requirement's matchers found
//! (after their CEL part). A fact with `rejected` set is in scope but does not count: it is
//! named in the findings with the reason, never silently dropped.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::catalog::{Requirement, Select};
use super::conditions::lookup;
use super::eval::{set_due, Cited, Ctx, Outcome, PeriodResult, Status};
use super::evidence::{find, Fact, Found, View};
use super::judge;
use super::periods::Span;
use crate::human::{fmt_time, DRILL_KINDS};

pub(super) fn day(t: OffsetDateTime) -> String {
    let d = t.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// What a drill log says, for the auditor: scenario, outcome, regions, achieved vs target.
fn details(v: &Value) -> Option<String> {
    let kind = lookup(v, "kind")?.as_str()?;
    if !DRILL_KINDS.contains(&kind) {
        return None;
    }
    let s = |p: &str| lookup(v, p).and_then(Value::as_str).map(str::to_string);
    let n = |p: &str| lookup(v, p).and_then(Value::as_u64);
    let mut parts = Vec::new();
    if let Some(x) = s("scenario") {
        parts.push(format!("scenario: {x}"));
    }
    parts.push(format!(
        "outcome: {}",
        s("outcome").unwrap_or_else(|| "not recorded".into())
    ));
    if let (Some(a), Some(b)) = (s("source_region"), s("target_region")) {
        parts.push(format!("{a} → {b}"));
    }
    for (name, key) in [("RTO", "rto_minutes"), ("RPO", "rpo_minutes")] {
        let achieved = n(&format!("achieved.{key}"));
        let target = n(&format!("targets.{key}"));
        match (achieved, target) {
            (Some(a), Some(t)) => parts.push(format!("{name} {a} min (target {t} min)")),
            (Some(a), None) => parts.push(format!("{name} {a} min (no target)")),
            (None, Some(t)) => parts.push(format!("{name} not measured (target {t} min)")),
            (None, None) => {}
        }
    }
    Some(parts.join("; "))
}

/// A drill log's fields; `None` for any other fact.
fn drill(v: &Value) -> Option<super::eval::Drill> {
    let kind = lookup(v, "kind")?.as_str()?;
    if !DRILL_KINDS.contains(&kind) {
        return None;
    }
    let s = |p: &str| lookup(v, p).and_then(Value::as_str).map(str::to_string);
    let n = |p: &str| lookup(v, p).and_then(Value::as_u64);
    Some(super::eval::Drill {
        kind: kind.to_string(),
        scenario: s("scenario"),
        outcome: s("outcome"),
        participants: lookup(v, "participants")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        source_region: s("source_region"),
        target_region: s("target_region"),
        rto_achieved: n("achieved.rto_minutes"),
        rto_target: n("targets.rto_minutes"),
        rpo_achieved: n("achieved.rpo_minutes"),
        rpo_target: n("targets.rpo_minutes"),
    })
}

/// `f` as cited evidence.
fn citation(f: &Fact, period: Option<&Span>, late: bool) -> Cited {
    Cited {
        seq: f.seq,
        digest: f.digest,
        record_hash: f.record_hash,
        item: Some(f.item.clone()),
        label: f.label.clone(),
        observed_at: fmt_time(f.observed_at),
        recorded_at: fmt_time(f.recorded_at),
        late,
        period: period.map(Span::label),
        groups: f.groups.clone(),
        details: details(&f.value),
        drill: drill(&f.value),
    }
}

/// Cite `f` (once), flagging it late when recorded long after the fact it claims.
pub(super) fn cite(f: &Fact, period: Option<&Span>, ctx: &Ctx, out: &mut Outcome) {
    // A fact that names its period is late when recorded long after that period ended.
    let (reference, what) = match period {
        Some(s) if f.period.is_some() => (s.end, format!("{} ended", s.label())),
        _ => (f.observed_at, "the fact".to_string()),
    };
    let late = f.recorded_at - reference > ctx.late_after;
    let c = citation(f, period, late);
    if out.evidence.contains(&c) {
        return;
    }
    if late {
        out.findings.push(format!(
            "{} was recorded on {}, {} days after {what} (record {})",
            f.label,
            day(f.recorded_at),
            (f.recorded_at - reference).whole_days(),
            f.seq
        ));
    }
    out.evidence.push(c);
}

/// A group in words: Backup resource types get their noun.
fn group_words(per: &str, g: &str) -> String {
    if per == "resource type" {
        let noun = match g {
            "RDS" => Some("an RDS database"),
            "Aurora" => Some("an Aurora cluster"),
            "DynamoDB" => Some("a DynamoDB table"),
            "EFS" => Some("an EFS file system"),
            "EBS" => Some("an EBS volume"),
            "EC2" => Some("an EC2 instance"),
            "S3" => Some("an S3 bucket"),
            "FSx" => Some("an FSx file system"),
            "DocumentDB" => Some("a DocumentDB cluster"),
            "Neptune" => Some("a Neptune cluster"),
            "Redshift" => Some("a Redshift cluster"),
            _ => None,
        };
        if let Some(noun) = noun {
            return format!("{noun} (resource type {g})");
        }
    }
    format!("{per} {g}")
}

/// What a requirement's expectation says at one cutoff.
enum Expected {
    /// No expectation: any counting fact will do.
    Any,
    /// The inventory was never collected (by the cutoff): `unknown`, not a pass.
    Uncollected(String),
    /// Collected, but it names no group: nothing to test is not a pass.
    Empty(String),
    Groups(BTreeSet<String>),
}

/// The groups `r` expects from evidence recorded by `cutoff`; with `out`, the facts that
/// first name each group are cited.
fn expected_groups(
    r: &Requirement,
    ev: &View,
    ctx: &Ctx,
    cutoff: OffsetDateTime,
    out: Option<&mut Outcome>,
) -> Expected {
    if r.expect.is_empty() {
        return Expected::Any;
    }
    let per = r.per.as_deref().unwrap_or("group");
    let sources = || {
        let mut v: Vec<&str> = r
            .expect
            .iter()
            .map(|e| e.human.as_deref().unwrap_or(e.media_type()))
            .filter(|s| !s.is_empty())
            .collect();
        v.dedup();
        v.join(" or ")
    };
    let literal = r.expect.iter().any(|e| !e.values.is_empty());
    // Collected by `cutoff`: a snapshot recorded by then, or a declaration claiming a time
    // by then (recorded by the evaluation time).
    let collected = literal
        || r.expect
            .iter()
            .filter(|e| e.human.is_some() || e.media_type.is_some())
            .any(|e| match e.select {
                Select::Latest => find(&e.matcher(), ev, cutoff.min(ctx.cutoff)).any_item,
                Select::All => find(&e.matcher(), ev, ctx.cutoff)
                    .facts
                    .iter()
                    .any(|f| f.observed_at <= cutoff),
            });
    if !collected {
        return Expected::Uncollected(match ctx.unread_before {
            None => format!(
                "no inventory of in-scope {per}s ({}) was recorded by {}",
                sources(),
                day(cutoff)
            ),
            Some(h) => format!(
                "no inventory of in-scope {per}s ({}) was recorded between the horizon, {}, and {}",
                sources(),
                day(h),
                day(cutoff)
            ),
        });
    }
    let groups = judge::expected(&r.expect, ev, cutoff, ctx.cutoff);
    if groups.is_empty() {
        return Expected::Empty(format!(
            "no in-scope {per} is known on {}: the evidence ({}) names none, so nothing shows the requirement met",
            day(cutoff),
            sources()
        ));
    }
    if let Some(out) = out {
        // The fact that first names each group stands for the inventory (not every resource).
        for f in groups.values().filter_map(|facts| facts.first()) {
            cite(f, None, ctx, out);
        }
    }
    Expected::Groups(groups.into_keys().collect())
}

/// The rejected facts among `facts`, as findings (`prefix` names the period).
fn rejections<'a>(prefix: &str, facts: impl Iterator<Item = &'a Fact>, out: &mut Outcome) {
    for f in facts {
        if let Some(why) = &f.rejected {
            let line = format!("{prefix}{} does not count: {why}", f.label);
            if !out.findings.contains(&line) {
                out.findings.push(line);
            }
        }
    }
}

fn span_days(a: OffsetDateTime, b: OffsetDateTime) -> i64 {
    (b - a).whole_days().max(0)
}

pub(super) fn every(r: &Requirement, found: &Found, ev: &View, ctx: &Ctx, out: &mut Outcome) {
    let Some(kind) = r.period else { return };
    let what = r.what();
    let per = r.per.as_deref().unwrap_or("group");
    let at = ctx.w.at;
    let end = ctx.w.to.min(at);
    let spans = Span::covering(kind, ctx.w.from, end);
    if spans.is_empty() {
        out.findings
            .push("the review period is empty (from is after to or at)".to_string());
        return;
    }
    // Judged per period against the inventory as it stood at the period's end (or now):
    // a type protected later is not owed for earlier quarters, one dropped later still is.
    if let Expected::Uncollected(f) = expected_groups(r, ev, ctx, ctx.cutoff, None) {
        out.status = Status::Unknown;
        out.findings.push(f);
        return;
    }
    let first = ev.first_recorded();
    // The span a fact counts for: the one it names, else the one its time lies in.
    let span_of = |f: &Fact, s: &Span| -> bool {
        match &f.period {
            Some(label) => *label == s.label(),
            None => {
                s.contains(f.observed_at)
                    && f.observed_at <= at
                    && f.observed_at >= ctx.w.from
                    && f.observed_at <= ctx.w.to
            }
        }
    };
    let mut missing_any = false;
    let mut soon = false;
    let mut current_covered = false;
    let current = Span::containing(kind, at);
    for s in &spans {
        let in_span: Vec<&Fact> = found.facts.iter().filter(|f| span_of(f, s)).collect();
        // A record that names a period before it began cannot attest to it.
        let premature = |f: &Fact| f.period.is_some() && f.recorded_at < s.start;
        for f in in_span
            .iter()
            .filter(|f| f.rejected.is_none() && premature(f))
        {
            out.findings.push(format!(
                "{}: {} does not count: it was recorded on {}, before the period began",
                s.label(),
                f.label,
                day(f.recorded_at)
            ));
        }
        let counting: Vec<&Fact> = in_span
            .iter()
            .copied()
            .filter(|f| f.rejected.is_none() && !premature(f))
            .collect();
        rejections(&format!("{}: ", s.label()), in_span.iter().copied(), out);
        for f in &counting {
            cite(f, Some(s), ctx, out);
        }
        let cutoff = s.end.min(at);
        let missing: Vec<String> = match expected_groups(r, ev, ctx, cutoff, Some(out)) {
            Expected::Groups(groups) => {
                let covered: BTreeSet<&String> =
                    counting.iter().flat_map(|f| f.groups.iter()).collect();
                groups
                    .iter()
                    .filter(|g| !covered.contains(g))
                    .cloned()
                    .collect()
            }
            Expected::Any if counting.is_empty() => vec![String::new()],
            Expected::Any => Vec::new(),
            Expected::Uncollected(f) | Expected::Empty(f) => {
                out.findings.push(format!("{}: {f}", s.label()));
                vec![String::new()]
            }
        };
        // `--to 2026-12-31` means the end of that day (23:59:59): that cuts nothing.
        let clipped =
            s.start < ctx.w.from || (s.end > ctx.w.to + Duration::seconds(1) && ctx.w.to < at);
        let state = if missing.is_empty() {
            if s == &current {
                current_covered = true;
            }
            "ok"
        } else if s.end <= at && !clipped {
            missing_any = true;
            let before = match first {
                Some(t) if s.end <= t => format!(
                    " (the store's first record is from {}, after this period ended)",
                    day(t)
                ),
                Some(t) if s.start < t => format!(
                    " (the store's first record is from {}; earlier evidence is not in it)",
                    day(t)
                ),
                None => " (the store holds no record)".to_string(),
                _ => String::new(),
            };
            for g in &missing {
                let noun = if g.is_empty() {
                    what.clone()
                } else {
                    format!("{what} of {}", group_words(per, g))
                };
                out.findings
                    .push(format!("{}: no {noun}{before}", s.label()));
            }
            "missing"
        } else if s.end <= at || ctx.w.to < at {
            let (a, b) = (s.start.max(ctx.w.from), s.end.min(end));
            let held = if counting.is_empty() {
                format!("they hold no {what}")
            } else {
                format!("they do not hold a {what} of every {per}")
            };
            out.findings.push(format!(
                "{}: not judged: only {} of its {} days lie in the review period, and {held}",
                s.label(),
                span_days(a, b),
                span_days(s.start, s.end)
            ));
            "not-judged"
        } else {
            if s.end - at <= ctx.lead {
                soon = true;
                for g in &missing {
                    let noun = if g.is_empty() {
                        what.clone()
                    } else {
                        format!("{what} of {}", group_words(per, g))
                    };
                    out.findings.push(format!(
                        "{}: no {noun} yet; due by {}",
                        s.label(),
                        day(s.end - Duration::seconds(1))
                    ));
                }
            }
            "open"
        };
        out.periods.push(PeriodResult {
            label: s.label(),
            start: fmt_time(s.start),
            end: fmt_time(s.end),
            count: counting.len(),
            state,
            missing: missing.into_iter().filter(|g| !g.is_empty()).collect(),
        });
    }
    let due = if current_covered {
        current.next().end
    } else {
        current.end
    };
    set_due(out, due, at);
    out.status = if missing_any {
        Status::Fail
    } else if soon {
        Status::DueSoon
    } else {
        Status::Pass
    };
    super::changes::after_changes(r, found, ev, ctx, out);
}

pub(super) fn within(r: &Requirement, found: &Found, ev: &View, ctx: &Ctx, out: &mut Outcome) {
    let Some(days) = r.days else { return };
    let what = r.what();
    let at = ctx.w.at;
    let max_age = Duration::days(i64::from(days));
    let recent = |f: &&Fact| f.observed_at <= at && at - f.observed_at <= max_age;
    rejections("", found.facts.iter().filter(recent), out);
    let facts: Vec<&Fact> = found
        .facts
        .iter()
        .filter(|f| f.observed_at <= at && f.rejected.is_none())
        .collect();
    let Some(latest) = facts.last() else {
        out.status = Status::Fail;
        out.findings
            .push(format!("no {what} on record{}", ctx.since()));
        super::changes::after_changes(r, found, ev, ctx, out);
        return;
    };
    for f in facts.iter().filter(|f| at - f.observed_at <= max_age) {
        cite(f, None, ctx, out);
    }
    let due = latest.observed_at + max_age;
    set_due(out, due, at);
    if due <= at {
        cite(latest, None, ctx, out);
        out.status = Status::Fail;
        out.findings.push(format!(
            "no {what} since {} (more than {days} days before {})",
            day(latest.observed_at),
            day(at)
        ));
    } else if due - at <= ctx.lead {
        out.status = Status::DueSoon;
        out.findings.push(format!(
            "the last {what} was on {}; the next is due by {}",
            day(latest.observed_at),
            day(due)
        ));
    } else {
        out.status = Status::Pass;
    }
    super::changes::after_changes(r, found, ev, ctx, out);
}

pub(super) fn present(r: &Requirement, found: &Found, ev: &View, ctx: &Ctx, out: &mut Outcome) {
    let what = r.what();
    let per = r.per.as_deref().unwrap_or("group");
    if !found.any_item {
        let mut media: Vec<&str> = r.evidence.iter().map(|m| m.media_type()).collect();
        media.dedup();
        out.status = Status::Unknown;
        out.findings.push(match ctx.unread_before {
            None => format!(
                "no {what} in the store yet (evidence of type {})",
                media.join(" or ")
            ),
            Some(_) => format!(
                "no {what} recorded{} (evidence of type {}; what was recorded before it was not read)",
                ctx.since(),
                media.join(" or ")
            ),
        });
        return;
    }
    let facts: Vec<&Fact> = found.facts.iter().collect();
    for f in &facts {
        let c = citation(f, None, false);
        if !out
            .evidence
            .iter()
            .any(|e| e.seq == c.seq && e.item == c.item && e.label == c.label)
        {
            out.evidence.push(c);
        }
    }
    let mut failing = false;
    for a in &found.absent {
        failing = true;
        out.findings.push(match ctx.unread_before {
            None => format!("no {a} in the store"),
            Some(_) => format!("no {a} recorded{}", ctx.since()),
        });
    }
    match expected_groups(r, ev, ctx, ctx.cutoff, Some(out)) {
        Expected::Any => {}
        Expected::Uncollected(finding) => {
            out.status = Status::Unknown;
            out.findings.push(finding);
            return;
        }
        Expected::Empty(finding) => {
            failing = true;
            out.findings.push(finding);
        }
        Expected::Groups(groups) => {
            let mut covered: BTreeMap<&String, bool> = BTreeMap::new();
            for f in facts.iter().filter(|f| f.rejected.is_none()) {
                for g in &f.groups {
                    covered.insert(g, true);
                }
            }
            for g in groups.iter().filter(|g| !covered.contains_key(g)) {
                failing = true;
                out.findings
                    .push(format!("no passing {what} for {}", group_words(per, g)));
            }
        }
    }
    let rejected: Vec<&&Fact> = facts.iter().filter(|f| f.rejected.is_some()).collect();
    if facts.is_empty() {
        failing = true;
        out.findings.push(format!(
            "the evidence up to {} holds no {what}",
            day(ctx.w.at)
        ));
    } else if !rejected.is_empty() {
        failing = true;
        const SHOWN: usize = 20;
        out.findings.extend(rejected.iter().take(SHOWN).map(|f| {
            // "CloudWatch alarm a2: …", but "restore job rj-2: …", not "restore job restore job".
            let what = f.noun.as_deref().unwrap_or(&what);
            // Human records' labels name their kind ("objective objective-orders").
            let noun = if f.label.starts_with(what) || f.scope == Default::default() {
                String::new()
            } else {
                format!("{what} ")
            };
            format!(
                "{noun}{}: {}",
                f.label,
                f.rejected.as_deref().unwrap_or_default()
            )
        }));
        if rejected.len() > SHOWN {
            out.findings.push(format!(
                "and {} more (of {} in scope)",
                rejected.len() - SHOWN,
                facts.len()
            ));
        }
    }
    out.status = if failing { Status::Fail } else { Status::Pass };
}
