//! "After significant changes" (BAR-002) and "after major updates" (RES-004): every
//! `change` record with `major = true` must be followed, within the requirement's
//! `after_major_change_days`, by a fact that counts for the requirement.

use serde_json::Value;
use time::Duration;

use super::catalog::{Matcher, Requirement};
use super::conditions::lookup;
use super::eval::{set_due, Ctx, Outcome, Status};
use super::evidence::{find, Found, View};
use super::rules::{cite, day};

fn change_matcher() -> Matcher {
    Matcher {
        human: Some("change".into()),
        key: Some("id".into()),
        ..Matcher::default()
    }
}

pub(super) fn after_changes(
    r: &Requirement,
    found: &Found,
    ev: &View,
    ctx: &Ctx,
    out: &mut Outcome,
) {
    let Some(days) = r.after_major_change_days else {
        return;
    };
    let what = r.what();
    let grace = Duration::days(i64::from(days));
    let at = ctx.w.at;
    let changes = find(&change_matcher(), ev, ctx.cutoff).facts;
    for c in changes {
        if lookup(&c.value, "major").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        // Changes before the review period were judged in theirs; later ones are not known.
        if c.observed_at > at || c.observed_at + grace < ctx.w.from {
            continue;
        }
        let summary = lookup(&c.value, "summary")
            .and_then(Value::as_str)
            .unwrap_or("no summary");
        let due = c.observed_at + grace;
        let follow = found.facts.iter().find(|f| {
            f.rejected.is_none() && f.observed_at >= c.observed_at && f.observed_at <= due.min(at)
        });
        cite(&c, None, ctx, out);
        match follow {
            Some(f) => cite(f, None, ctx, out),
            None if due <= at => {
                out.status = Status::Fail;
                out.findings.push(format!(
                    "{} on {} ({summary}) was not followed by a {what} within {days} days (due by {})",
                    c.label,
                    day(c.observed_at),
                    day(due)
                ));
            }
            None => {
                if out.status == Status::Pass && due - at <= ctx.lead {
                    out.status = Status::DueSoon;
                }
                out.findings.push(format!(
                    "{} on {} ({summary}) awaits a {what}; due by {}",
                    c.label,
                    day(c.observed_at),
                    day(due)
                ));
                let earlier = out
                    .days_until_due
                    .is_none_or(|d| (due - at).as_seconds_f64() / 86_400.0 < d);
                if earlier {
                    set_due(out, due, at);
                }
            }
        }
    }
}
