//! The `fresh` rule: no collector went longer than twice its schedule without a committed
//! record. Failed runs are recorded (a gap is evidence) but do not refresh anything.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::catalog::Requirement;
use super::eval::{counts_for_freshness, set_due, Cited, Ctx, Outcome, Status};
use super::evidence::Evidence;
use crate::human::fmt_time;

/// Gaps listed before "and N more".
const SHOWN_GAPS: usize = 20;

fn hours(d: Duration) -> i64 {
    d.whole_hours()
}

pub(super) fn fresh(r: &Requirement, ev: &Evidence, ctx: &Ctx, out: &mut Outcome) {
    let (w, cutoff, opts) = (ctx.w, ctx.cutoff, ctx.opts);
    let fallback = Duration::hours(i64::from(r.max_age_hours.unwrap_or(48)));
    // (collector, account, region) → times of its committed (complete or partial) records,
    // and its failed runs: a scope whose every run fails is a gap like any other.
    let mut runs: BTreeMap<Lane, Runs> = BTreeMap::new();
    let mut named: std::collections::BTreeSet<&str> = Default::default();
    for (i, rec) in ev.records.iter().enumerate() {
        let r = &rec.record;
        if r.recorded_at > cutoff || r.collector == crate::submit::SUBMIT_COLLECTOR {
            continue;
        }
        named.insert(r.collector.as_str());
        let lane = (
            r.collector.clone(),
            r.scope.account.clone(),
            r.scope.region.clone(),
        );
        let entry = runs.entry(lane).or_default();
        if counts_for_freshness(&r.collector, r.status) {
            entry.committed.push((r.recorded_at, i));
        } else {
            entry.failed += 1;
            entry.last_error = r
                .errors
                .first()
                .map(|e| format!("{}: {}", e.operation, e.message));
        }
    }
    for name in opts.schedules.keys() {
        if !named.contains(name.as_str()) {
            runs.entry((name.clone(), None, None)).or_default();
        }
    }
    if runs.is_empty() {
        out.status = Status::Unknown;
        out.findings.push(match ctx.unread_before {
            None => "no collector has committed a record yet and none is configured".into(),
            Some(_) => format!(
                "no collector has committed a record{} and none is configured",
                ctx.since()
            ),
        });
        return;
    }
    let mut failing = false;
    let mut earliest_due: Option<OffsetDateTime> = None;
    let mut gaps = Vec::new();
    for ((name, account, region), lane) in &runs {
        let max_gap = opts.schedules.get(name).map(|s| *s * 2).unwrap_or(fallback);
        let scope = crate::record::Scope {
            account: account.clone(),
            region: region.clone(),
        };
        let place = super::evidence::place(&scope);
        let who = if place.is_empty() {
            format!("collector {name}")
        } else {
            format!("collector {name} in {place}")
        };
        let Some(&(last, last_idx)) = lane.committed.last() else {
            failing = true;
            gaps.push(if lane.failed > 0 {
                format!(
                    "{who}: no committed record; all {} runs failed (last error: {})",
                    lane.failed,
                    lane.last_error.as_deref().unwrap_or("not recorded")
                )
            } else {
                format!("{who} has no committed record{}", ctx.since())
            });
            continue;
        };
        let rec = &ev.records[last_idx];
        out.evidence.push(Cited {
            seq: rec.seq,
            digest: rec.hash,
            record_hash: rec.hash,
            item: None,
            label: format!("latest {who} record"),
            observed_at: fmt_time(last),
            recorded_at: fmt_time(last),
            late: false,
            period: None,
            groups: Vec::new(),
            details: None,
            drill: None,
        });
        for pair in lane.committed.windows(2) {
            let (a, b) = (pair[0].0, pair[1].0);
            if b > w.from && a < w.to.min(w.at) && b - a > max_gap {
                gaps.push(format!(
                    "{who}: no committed record from {} to {} ({} h; at most {} h allowed)",
                    fmt_time(a),
                    fmt_time(b),
                    hours(b - a),
                    hours(max_gap)
                ));
            }
        }
        if w.at - last > max_gap {
            gaps.push(format!(
                "{who}: no committed record since {} ({} h; at most {} h allowed)",
                fmt_time(last),
                hours(w.at - last),
                hours(max_gap)
            ));
        }
        let due = last + max_gap;
        earliest_due = Some(earliest_due.map_or(due, |d: OffsetDateTime| d.min(due)));
    }
    if !gaps.is_empty() {
        failing = true;
        let n = gaps.len();
        out.findings.extend(gaps.into_iter().take(SHOWN_GAPS));
        if n > SHOWN_GAPS {
            out.findings.push(format!(
                "and {} more gaps before {} ({n} in all)",
                n - SHOWN_GAPS,
                super::rules::day(cutoff)
            ));
        }
    }
    if let Some(due) = earliest_due {
        set_due(out, due, w.at);
    }
    out.status = if failing { Status::Fail } else { Status::Pass };
}

/// One collector in one scope.
type Lane = (String, Option<String>, Option<String>);

#[derive(Default)]
struct Runs {
    committed: Vec<(OffsetDateTime, usize)>,
    failed: usize,
    last_error: Option<String>,
}
