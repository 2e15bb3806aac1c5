//! Evaluation: a pure function of (catalog, evidence, window, options).
//!
//! Only records recorded at or before `at` count: the answer is what the store knew at that
//! time, so a report made later, or from a bundle holding the records up to `at`, says the
//! same thing. Calendar periods are those of `[from, min(to, at)]`.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::catalog::{Catalog, Requirement, RuleKind};
use super::evidence::{find, Evidence, Found, View};
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

impl Window {
    /// The earliest time evaluation reads evidence from: `lookback_days` before the review
    /// period's start, or before `at` when that is earlier. Records recorded before it are
    /// not read (docs/RULES.md, "The horizon").
    pub fn horizon(&self, catalog: &Catalog) -> OffsetDateTime {
        self.from.min(self.at) - Duration::days(i64::from(catalog.lookback_days()))
    }
}

/// Knobs that are not part of the catalog.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Overrides every due-soon lead time of the catalog.
    pub lead_days: Option<u32>,
    /// Schedule interval per collector name (from the configuration's `[[collector]]`
    /// tables); `fresh` rules allow twice this gap.
    pub schedules: BTreeMap<String, Duration>,
    /// Read every record, with no horizon: how reports of format-1 bundles were made, so
    /// that they can be re-made byte for byte.
    pub whole_chain: bool,
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
    /// The calendar period the fact counts for (`every` rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// The groups the fact covers (requirements with `expect`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// What a drill log says: scenario, outcome, achieved against targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// The same drill log as fields, for reports that lay them out (HTML, CSV).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drill: Option<Drill>,
}

/// The fields of a drill log that an auditor reads: what was tested, by whom, with what
/// result, and the achieved recovery times against their targets (minutes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drill {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_achieved: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rto_target: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpo_achieved: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpo_target: Option<u64>,
}

/// One calendar period of an `every` rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodResult {
    pub label: String,
    pub start: String,
    pub end: String,
    pub count: usize,
    /// `ok`; `missing` (ended without the evidence); `open` (not over yet); `not-judged`
    /// (only part of it lies in the review period, and that part holds nothing).
    pub state: &'static str,
    /// Expected groups with no counting fact in the period.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
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
    /// Evidenced only by human records (drill logs, reviews, objectives): an attestation
    /// rather than collected state.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
    /// Days from `at` to `due` (negative when overdue), for metrics.
    #[serde(skip)]
    pub days_until_due: Option<f64>,
}

/// The catalog an evaluation applied.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct CatalogInfo {
    pub id: String,
    pub version: String,
    /// The checklist releases whose wording the rules follow.
    pub release: String,
    /// SHA-256 of the catalog's bytes.
    pub digest: String,
}

/// The result for a whole catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// What the report stands on: the store, its head, whether it verified. Set by the
    /// caller that read the store; a report without it says so.
    pub basis: Option<super::Basis>,
    pub catalog: CatalogInfo,
    pub at: String,
    pub from: String,
    pub to: String,
    /// Evidence recorded before this time was not read ([`Window::horizon`]); absent
    /// when the whole chain was read ([`Options::whole_chain`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub horizon: Option<String>,
    pub requirements: Vec<Outcome>,
}

impl Evaluation {
    /// Whether the evidence under the report verified (false when unknown).
    pub fn verified(&self) -> bool {
        self.basis.as_ref().is_some_and(|b| b.verified)
    }
}

pub(super) struct Ctx<'a> {
    pub w: Window,
    pub cutoff: OffsetDateTime,
    pub lead: Duration,
    pub late_after: Duration,
    pub opts: &'a Options,
    pub root: &'a cel::Context<'static, 'static>,
    /// The horizon, when the store holds records from before it that were not read.
    pub unread_before: Option<OffsetDateTime>,
}

impl Ctx<'_> {
    /// ` since the horizon, 2025-06-28` when records before the horizon were not read (a
    /// finding of absence must not say "in the store"), else empty.
    pub fn since(&self) -> String {
        self.unread_before
            .map(|h| format!(" since the horizon, {}", super::rules::day(h)))
            .unwrap_or_default()
    }
}

/// Evaluate every requirement of `catalog` over `ev`.
pub fn evaluate(catalog: &Catalog, ev: &Evidence, w: Window, opts: &Options) -> Evaluation {
    let horizon = (!opts.whole_chain).then(|| w.horizon(catalog));
    // Loaders read from the horizon and drop what lies before it; evidence that reaches
    // further is cut here, so that every caller gets the same answer.
    let cut;
    let ev = if let Some(horizon) = horizon.filter(|h| ev.reaches_before(*h)) {
        cut = ev.since(horizon);
        &cut
    } else {
        ev
    };
    let unread_before = horizon.filter(|h| ev.first_recorded().is_some_and(|first| first < *h));
    let root = super::judge::root(w.at);
    let view = View::new(ev);
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
                root: &root,
                unread_before,
            };
            evaluate_one(r, &view, &ctx)
        })
        .collect();
    Evaluation {
        basis: None,
        catalog: CatalogInfo {
            id: catalog.catalog.id.clone(),
            version: catalog.catalog.version.clone(),
            release: catalog.catalog.release.clone(),
            digest: catalog
                .digest
                .map_or_else(|| "unknown".to_string(), |d| d.to_string()),
        },
        at: fmt_time(w.at),
        from: fmt_time(w.from),
        to: fmt_time(w.to),
        horizon: horizon.map(fmt_time),
        requirements,
    }
}

fn evaluate_one(r: &Requirement, ev: &View, ctx: &Ctx) -> Outcome {
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
        manual: r.rule != RuleKind::Fresh
            && !r.evidence.is_empty()
            && r.evidence
                .iter()
                .all(|m| m.media_type.is_none() && m.join.iter().all(|j| j.media_type.is_none())),
        days_until_due: None,
    };
    let mut found = Found::default();
    let end = ctx.w.to.min(ctx.w.at);
    for m in &r.evidence {
        let f = find(m, ev, ctx.cutoff);
        found.any_item |= f.any_item;
        let facts: Vec<_> = super::judge::judge(m, f.facts, ev, ctx.root, ctx.cutoff)
            .into_iter()
            .filter(|f| !m.in_period || (f.observed_at >= ctx.w.from && f.observed_at <= end))
            .collect();
        if m.required && facts.is_empty() {
            found
                .absent
                .push(m.what.clone().unwrap_or_else(|| r.what()));
        }
        found.facts.extend(facts);
        found.unreadable.extend(f.unreadable);
        found.after.extend(f.after);
    }
    found.facts.sort_by_key(|f| (f.observed_at, f.seq));
    match r.rule {
        RuleKind::Every => super::rules::every(r, &found, ev, ctx, &mut out),
        RuleKind::Within => super::rules::within(r, &found, ev, ctx, &mut out),
        RuleKind::Present => super::rules::present(r, &found, ev, ctx, &mut out),
        RuleKind::Fresh => super::fresh::fresh(r, ev, ctx, &mut out),
    }
    for u in found.unreadable {
        out.findings.push(format!("unreadable evidence: {u}"));
    }
    found.after.sort_unstable();
    found.after.dedup();
    if let (Some(first), Some(last)) = (found.after.first(), found.after.last()) {
        let n = found.after.len();
        let which = if n == 1 {
            format!("record {first}")
        } else {
            format!("{n} records ({first} to {last})")
        };
        out.findings.push(format!(
            "recorded after --at ({}): {which} of this evidence not counted; evaluate later, or check the writer's clock if the store's time is ahead",
            fmt_time(ctx.w.at)
        ));
    }
    out
}

pub(super) fn set_due(out: &mut Outcome, due: OffsetDateTime, at: OffsetDateTime) {
    out.due = Some(fmt_time(due));
    out.days_until_due = Some((due - at).as_seconds_f64() / 86_400.0);
}

/// Whether a record counts as a committed collection for freshness.
pub(super) fn counts_for_freshness(collector: &str, status: RunStatus) -> bool {
    collector != SUBMIT_COLLECTOR && status != RunStatus::Failed
}
