//! The `fresh` rule: no collector went longer than twice its schedule without a committed
//! record. Failed runs are recorded (a gap is evidence) but do not refresh anything.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use super::catalog::Requirement;
use super::eval::{
    counts_for_freshness, fmt_day, set_due_date, Cited, Options, Outcome, Status, Window,
};
use super::evidence::Evidence;
use crate::human::fmt_time;

/// Gaps listed per collector before "and N more".
const SHOWN_GAPS: usize = 10;

fn hours(d: Duration) -> i64 {
    d.whole_hours()
}

pub(super) fn fresh(
    r: &Requirement,
    ev: &Evidence,
    w: Window,
    cutoff: OffsetDateTime,
    opts: &Options,
    out: &mut Outcome,
) {
    let fallback = Duration::hours(i64::from(r.max_age_hours.unwrap_or(48)));
    // Collector name → times of its committed (complete or partial) records.
    let mut runs: BTreeMap<String, Vec<(OffsetDateTime, usize)>> = BTreeMap::new();
    for name in opts.schedules.keys() {
        runs.entry(name.clone()).or_default();
    }
    for (i, rec) in ev.records.iter().enumerate() {
        let r = &rec.record;
        if r.recorded_at > cutoff || r.collector == crate::submit::SUBMIT_COLLECTOR {
            continue;
        }
        let entry = runs.entry(r.collector.clone()).or_default();
        if counts_for_freshness(&r.collector, r.status) {
            entry.push((r.recorded_at, i));
        }
    }
    if runs.is_empty() {
        out.status = Status::Unknown;
        out.findings
            .push("no collector has committed a record yet and none is configured".into());
        return;
    }
    let mut failing = false;
    let mut earliest_due: Option<OffsetDateTime> = None;
    for (name, times) in &runs {
        let max_gap = opts.schedules.get(name).map(|s| *s * 2).unwrap_or(fallback);
        let Some(&(last, last_idx)) = times.last() else {
            failing = true;
            out.findings
                .push(format!("collector {name} has no committed record"));
            continue;
        };
        let rec = &ev.records[last_idx];
        out.evidence.push(Cited {
            seq: rec.seq,
            digest: rec.hash,
            record_hash: rec.hash,
            item: None,
            label: format!("latest {name} record"),
            observed_at: fmt_time(last),
            recorded_at: fmt_time(last),
            late: false,
        });
        let mut gaps = Vec::new();
        for pair in times.windows(2) {
            let (a, b) = (pair[0].0, pair[1].0);
            if b > w.from && a < w.to.min(w.at) && b - a > max_gap {
                gaps.push(format!(
                    "collector {name}: no committed record from {} to {} ({} h; at most {} h allowed)",
                    fmt_time(a),
                    fmt_time(b),
                    hours(b - a),
                    hours(max_gap)
                ));
            }
        }
        if w.at - last > max_gap {
            gaps.push(format!(
                "collector {name}: no committed record since {} ({} h; at most {} h allowed)",
                fmt_time(last),
                hours(w.at - last),
                hours(max_gap)
            ));
        }
        if !gaps.is_empty() {
            failing = true;
            let n = gaps.len();
            out.findings.extend(gaps.into_iter().take(SHOWN_GAPS));
            if n > SHOWN_GAPS {
                out.findings.push(format!(
                    "collector {name}: and {} more gaps before {}",
                    n - SHOWN_GAPS,
                    fmt_day(cutoff)
                ));
            }
        }
        let due = last + max_gap;
        earliest_due = Some(earliest_due.map_or(due, |d: OffsetDateTime| d.min(due)));
    }
    if let Some(due) = earliest_due {
        set_due_date(out, due, w.at);
    }
    out.status = if failing { Status::Fail } else { Status::Pass };
}
