//! Cron schedules: 6 fields (`sec min hour day-of-month month day-of-week`), UTC.

use std::time::Duration;

use chrono::Utc;
use croner::parser::{CronParser, Seconds};
use croner::Cron;

/// A schedule that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("schedule {expr:?} is not a 6-field cron expression (sec min hour dom month dow, UTC): {reason}")]
pub struct ScheduleError {
    pub expr: String,
    pub reason: String,
}

/// Parse a 6-field cron expression, the same way the scheduler does.
pub fn parse(expr: &str) -> Result<Cron, ScheduleError> {
    if expr.split_whitespace().count() != 6 {
        return Err(ScheduleError {
            expr: expr.to_string(),
            reason: "expected exactly 6 fields".into(),
        });
    }
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map_err(|e| ScheduleError {
            expr: expr.to_string(),
            reason: e.to_string(),
        })
}

/// The nominal interval of a schedule: the longest gap between two occurrences over a
/// year from a fixed reference (so a monthly schedule is 31 days whatever the month, and
/// the answer does not depend on when it is asked). Used for catch-up at start ("older
/// than one interval") and for staleness ("twice the interval").
pub fn interval(expr: &str) -> Result<Duration, ScheduleError> {
    let cron = parse(expr)?;
    let never = || ScheduleError {
        expr: expr.to_string(),
        reason: "never fires".into(),
    };
    let reference = chrono::DateTime::<Utc>::from_timestamp(1_767_225_600, 0) // 2026-01-01
        .ok_or_else(never)?;
    let horizon = reference + chrono::Duration::days(400);
    let mut a = cron
        .find_next_occurrence(&reference, false)
        .map_err(|_| never())?;
    let mut longest = chrono::Duration::zero();
    for _ in 0..20_000 {
        let Ok(b) = cron.find_next_occurrence(&a, false) else {
            break;
        };
        longest = longest.max(b - a);
        if b > horizon {
            break;
        }
        a = b;
    }
    if longest.is_zero() {
        return Err(never());
    }
    Ok(longest.to_std().unwrap_or(Duration::from_secs(1)))
}

/// The first occurrence of `cron` strictly after `after`: what the daemon's ticker waits
/// for. None when the schedule never fires again.
pub fn next_after(cron: &Cron, after: chrono::DateTime<Utc>) -> Option<chrono::DateTime<Utc>> {
    use chrono::SubsecRound as _;
    // Whole seconds: croner carries a fraction of `after` into the occurrence it finds.
    cron.find_next_occurrence(&after.trunc_subsecs(0), false)
        .ok()
}

/// How many times the schedule fired in `(from, to]`, capped at 1000 (a gauge, not a log).
pub fn fires_between(expr: &str, from: time::OffsetDateTime, to: time::OffsetDateTime) -> u64 {
    let Ok(cron) = parse(expr) else { return 0 };
    let to_chrono = |t: time::OffsetDateTime| {
        chrono::DateTime::<Utc>::from_timestamp(t.unix_timestamp(), t.nanosecond())
    };
    let (Some(mut at), Some(end)) = (to_chrono(from), to_chrono(to)) else {
        return 0;
    };
    let mut n = 0;
    while n < 1000 {
        match cron.find_next_occurrence(&at, false) {
            Ok(next) if next <= end => {
                n += 1;
                at = next;
            }
            _ => break,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_of_common_schedules() {
        let i = interval("* * * * * *");
        assert_eq!(i.as_ref().ok(), Some(&Duration::from_secs(1)), "{i:?}");
        assert_eq!(
            interval("0 */15 * * * *").unwrap(),
            Duration::from_secs(900)
        );
        assert_eq!(
            interval("0 0 3 * * *").unwrap(),
            Duration::from_secs(86_400)
        );
        // The longest gap, whatever the month it is asked in.
        assert_eq!(
            interval("0 0 6 1 * *").unwrap(),
            Duration::from_secs(31 * 86_400)
        );
        assert!(parse("0 * * * *").is_err(), "5 fields accepted");
        let t0 = time::macros::datetime!(2026-01-01 00:00:30 UTC);
        let t1 = time::macros::datetime!(2026-01-01 01:00:30 UTC);
        assert_eq!(fires_between("0 */15 * * * *", t0, t1), 4);
        assert_eq!(fires_between("0 0 3 * * *", t0, t1), 0);
        assert!(parse("0 0 25 * * *").is_err(), "hour 25 accepted");
    }

    #[test]
    fn the_ticker_fires_strictly_after_and_day_of_month_and_weekday_both_hold() {
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let every_15 = parse("0 */15 * * * *").unwrap();
        assert_eq!(
            next_after(&every_15, at("2026-01-01T00:15:00Z")),
            Some(at("2026-01-01T00:30:00Z")),
            "an occurrence is never fired twice"
        );
        assert_eq!(
            next_after(&every_15, at("2026-01-01T00:14:59.900Z")),
            Some(at("2026-01-01T00:15:00Z"))
        );
        // Day of month AND weekday, as validated: the 1st of a month that is a Monday
        // (2026-06-01), not every Monday and every 1st.
        let first_monday = parse("0 0 6 1 * MON").unwrap();
        assert_eq!(
            next_after(&first_monday, at("2026-01-01T00:00:00Z")),
            Some(at("2026-06-01T06:00:00Z"))
        );
    }
}
