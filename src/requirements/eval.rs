//! Evaluation: a pure function of (catalog, evidence, window, options).
//!
//! Only records recorded at or before `at` count: the answer is what the store knew at that
//! time, so a report made later, or from a bundle holding the records up to `at`, says the
//! same thing. Calendar periods are those of `[from, min(to, at)]`.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::catalog::{Catalog, Requirement, RuleKind};
use super::evidence::{find, Evidence, Fact, Found};
use super::periods::Span;
use crate::digest::Digest;
use crate::human::fmt_time;
use crate::record::Status as RunStatus;
use crate::submit::SUBMIT_COLLECTOR;

/// The time of the evaluation and the review period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// "Now": due dates and ages are measured from here.
    pub at: OffsetDateTime,
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
}

/// Knobs that are not part of the catalog.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Overrides every due-soon lead time of the catalog.
    pub lead_days: Option<u32>,
    /// Schedule interval per collector name (from the configuration's `[[collector]]`
    /// tables); `fresh` rules allow twice this gap.
    pub schedules: BTreeMap<String, Duration>,
}

impl Options {
    /// Schedules from `(collector name, 6-field cron expression)` pairs, e.g. the
    /// configuration's `[[collector]]` tables. A schedule that does not parse is skipped:
    /// its collector falls back to the rule's `max_age_hours` (the daemon reports the
    /// schedule error itself).
    pub fn with_schedules<'a>(
        mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Options {
        for (name, expr) in pairs {
            if let Ok(i) = crate::daemon::schedule::interval(expr) {
                if let Ok(d) = Duration::try_from(i) {
                    self.schedules.insert(name.to_string(), d);
                }
            }
        }
        self
    }
}

/// Status of one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    DueSoon,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::DueSoon => "due-soon",
            Status::Unknown => "unknown",
        }
    }
}

/// One piece of evidence a result rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cited {
    pub seq: u64,
    /// Digest of the item's blob, or the record hash when the record itself is the evidence.
    pub digest: Digest,
    pub record_hash: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    pub label: String,
    /// The time the fact refers to.
    pub observed_at: String,
    pub recorded_at: String,
    /// Recorded more than `late_after_days` after the fact.
    pub late: bool,
}

/// One calendar period of an `every` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodResult {
    pub label: String,
    pub start: String,
    pub end: String,
    pub count: usize,
    /// `ok`, `missing` (ended without evidence) or `open` (not over yet, none so far).
    pub state: &'static str,
}

/// The result for one requirement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub rule: &'static str,
    pub status: Status,
    /// When the next evidence is due (RFC 3339), if the rule has a due date.
    pub due: Option<String>,
    pub evidence: Vec<Cited>,
    pub findings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub periods: Vec<PeriodResult>,
    /// Days from `at` to `due` (negative when overdue), for metrics.
    #[serde(skip)]
    pub days_until_due: Option<f64>,
}

/// The result for a whole catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub at: String,
    pub from: String,
    pub to: String,
    pub requirements: Vec<Outcome>,
}

fn day(t: OffsetDateTime) -> String {
    let d = t.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

struct Ctx<'a> {
    w: Window,
    cutoff: OffsetDateTime,
    lead: Duration,
    late_after: Duration,
    opts: &'a Options,
}

/// Evaluate every requirement of `catalog` over `ev`.
pub fn evaluate(catalog: &Catalog, ev: &Evidence, w: Window, opts: &Options) -> Evaluation {
    let requirements = catalog
        .requirements
        .iter()
        .map(|r| {
            let lead = opts
                .lead_days
                .or(r.due_soon_days)
                .unwrap_or(catalog.settings.due_soon_days);
            let ctx = Ctx {
                w,
                cutoff: w.at,
                lead: Duration::days(i64::from(lead)),
                late_after: Duration::days(i64::from(catalog.settings.late_after_days)),
                opts,
            };
            evaluate_one(r, ev, &ctx)
        })
        .collect();
    Evaluation {
        at: fmt_time(w.at),
        from: fmt_time(w.from),
        to: fmt_time(w.to),
        requirements,
    }
}

fn evaluate_one(r: &Requirement, ev: &Evidence, ctx: &Ctx) -> Outcome {
    let mut out = Outcome {
        id: r.id.clone(),
        title: r.title.clone(),
        source: r.source.clone(),
        rule: match r.rule {
            RuleKind::Every => "every",
            RuleKind::Within => "within",
            RuleKind::Present => "present",
            RuleKind::Fresh => "fresh",
        },
        status: Status::Unknown,
        due: None,
        evidence: Vec::new(),
        findings: Vec::new(),
        periods: Vec::new(),
        days_until_due: None,
    };
    let mut found = Found::default();
    for m in &r.evidence {
        let f = find(m, ev, ctx.cutoff);
        found.any_item |= f.any_item;
        found.facts.extend(f.facts);
        found.failing.extend(f.failing);
        found.unreadable.extend(f.unreadable);
    }
    found.facts.sort_by_key(|f| (f.observed_at, f.seq));
    match r.rule {
        RuleKind::Every => every(r, &found, ctx, &mut out),
        RuleKind::Within => within(r, &found, ctx, &mut out),
        RuleKind::Present => present(r, &found, &mut out),
        RuleKind::Fresh => super::fresh::fresh(r, ev, ctx.w, ctx.cutoff, ctx.opts, &mut out),
    }
    for u in found.unreadable {
        out.findings.push(format!("unreadable evidence: {u}"));
    }
    out
}

fn set_due(out: &mut Outcome, due: OffsetDateTime, at: OffsetDateTime) {
    out.due = Some(fmt_time(due));
    out.days_until_due = Some((due - at).as_seconds_f64() / 86_400.0);
}

fn cite(f: &Fact, ctx: &Ctx, out: &mut Outcome) {
    let late = f.recorded_at - f.observed_at > ctx.late_after;
    if late {
        out.findings.push(format!(
            "{} ({}) was recorded {} days after the fact (record {})",
            f.label,
            day(f.observed_at),
            (f.recorded_at - f.observed_at).whole_days(),
            f.seq
        ));
    }
    let c = Cited {
        seq: f.seq,
        digest: f.digest,
        record_hash: f.record_hash,
        item: Some(f.item.clone()),
        label: f.label.clone(),
        observed_at: fmt_time(f.observed_at),
        recorded_at: fmt_time(f.recorded_at),
        late,
    };
    if !out.evidence.contains(&c) {
        out.evidence.push(c);
    }
}

fn every(r: &Requirement, found: &Found, ctx: &Ctx, out: &mut Outcome) {
    let Some(kind) = r.period else { return };
    let what = r.what();
    let at = ctx.w.at;
    let spans = Span::covering(kind, ctx.w.from, ctx.w.to.min(at));
    if spans.is_empty() {
        out.findings
            .push("the review period is empty (from is after to or at)".to_string());
        return;
    }
    let facts_in = |s: &Span| -> Vec<&Fact> {
        found
            .facts
            .iter()
            .filter(|f| s.contains(f.observed_at) && f.observed_at <= at)
            .collect()
    };
    let mut missing = false;
    let mut soon = false;
    for s in &spans {
        let facts = facts_in(s);
        let state = if let Some(last) = facts.last() {
            cite(last, ctx, out);
            "ok"
        } else if s.end <= at {
            missing = true;
            out.findings.push(format!("{} has no {what}", s.label()));
            "missing"
        } else {
            if s.end - at <= ctx.lead {
                soon = true;
                out.findings.push(format!(
                    "{} has no {what} yet; due by {}",
                    s.label(),
                    day(s.end - Duration::seconds(1))
                ));
            }
            "open"
        };
        out.periods.push(PeriodResult {
            label: s.label(),
            start: fmt_time(s.start),
            end: fmt_time(s.end),
            count: facts.len(),
            state,
        });
    }
    let current = Span::containing(kind, at);
    let due = if facts_in(&current).is_empty() {
        current.end
    } else {
        current.next().end
    };
    set_due(out, due, at);
    out.status = if missing {
        Status::Fail
    } else if soon {
        Status::DueSoon
    } else {
        Status::Pass
    };
}

fn within(r: &Requirement, found: &Found, ctx: &Ctx, out: &mut Outcome) {
    let Some(days) = r.days else { return };
    let what = r.what();
    let at = ctx.w.at;
    let max_age = Duration::days(i64::from(days));
    let facts: Vec<&Fact> = found.facts.iter().filter(|f| f.observed_at <= at).collect();
    let Some(latest) = facts.last() else {
        out.status = Status::Fail;
        out.findings.push(format!("no {what} on record"));
        return;
    };
    for f in facts.iter().filter(|f| at - f.observed_at <= max_age) {
        cite(f, ctx, out);
    }
    let due = latest.observed_at + max_age;
    set_due(out, due, at);
    if due <= at {
        cite(latest, ctx, out);
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
}

fn present(r: &Requirement, found: &Found, out: &mut Outcome) {
    let what = r.what();
    if !found.any_item {
        let media: Vec<&str> = r.evidence.iter().map(|m| m.media_type()).collect();
        out.status = Status::Unknown;
        out.findings.push(format!(
            "no {what} in the store yet (evidence of type {})",
            media.join(" or ")
        ));
        return;
    }
    for f in &found.facts {
        let c = Cited {
            seq: f.seq,
            digest: f.digest,
            record_hash: f.record_hash,
            item: Some(f.item.clone()),
            label: f.label.clone(),
            observed_at: fmt_time(f.observed_at),
            recorded_at: fmt_time(f.recorded_at),
            late: false,
        };
        if !out
            .evidence
            .iter()
            .any(|e| e.seq == c.seq && e.item == c.item)
        {
            out.evidence.push(c);
        }
    }
    if found.facts.is_empty() {
        out.status = Status::Fail;
        out.findings
            .push(format!("the latest evidence holds no {what}"));
    } else if !found.failing.is_empty() {
        out.status = Status::Fail;
        const SHOWN: usize = 20;
        out.findings.extend(
            found
                .failing
                .iter()
                .take(SHOWN)
                .map(|f| format!("{what} {f}")),
        );
        if found.failing.len() > SHOWN {
            out.findings
                .push(format!("and {} more", found.failing.len() - SHOWN));
        }
    } else {
        out.status = Status::Pass;
    }
}

/// Whether a record counts as a committed collection for freshness.
pub(super) fn counts_for_freshness(collector: &str, status: RunStatus) -> bool {
    collector != SUBMIT_COLLECTOR && status != RunStatus::Failed
}

/// `YYYY-MM-DD`, for findings.
pub(super) fn fmt_day(t: OffsetDateTime) -> String {
    day(t)
}

pub(super) fn set_due_date(out: &mut Outcome, due: OffsetDateTime, at: OffsetDateTime) {
    set_due(out, due, at);
}
