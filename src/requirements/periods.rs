//! Calendar periods (UTC): months, quarters and years, each a half-open range
//! `[start, end)`.

use time::{Date, Month, OffsetDateTime, Time};

use super::catalog::Period;

/// One calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub kind: Period,
}

fn at_midnight(year: i32, month: u8) -> OffsetDateTime {
    let month = Month::try_from(month).unwrap_or(Month::January);
    Date::from_calendar_date(year, month, 1)
        .unwrap_or(Date::MIN)
        .with_time(Time::MIDNIGHT)
        .assume_utc()
}

/// Months per period.
fn months(kind: Period) -> u8 {
    match kind {
        Period::Month => 1,
        Period::Quarter => 3,
        Period::Year => 12,
    }
}

impl Span {
    /// The period of `kind` that contains `t`.
    pub fn containing(kind: Period, t: OffsetDateTime) -> Span {
        let t = t.to_offset(time::UtcOffset::UTC);
        let m = months(kind);
        let first = (u8::from(t.month()) - 1) / m * m + 1;
        let start = at_midnight(t.year(), first);
        Span {
            start,
            end: Span::advance(t.year(), first, m),
            kind,
        }
    }

    fn advance(year: i32, month: u8, by: u8) -> OffsetDateTime {
        let zero_based = u32::from(month - 1) + u32::from(by);
        at_midnight(year + (zero_based / 12) as i32, (zero_based % 12) as u8 + 1)
    }

    /// The period right before this one.
    pub fn previous(&self) -> Span {
        Span::containing(self.kind, self.start - time::Duration::seconds(1))
    }

    /// The default review period's start: the last four full quarters before the one
    /// holding `at`, so the review period is whole quarters plus the current one.
    pub fn default_review_start(at: OffsetDateTime) -> OffsetDateTime {
        let mut s = Span::containing(Period::Quarter, at);
        for _ in 0..4 {
            s = s.previous();
        }
        s.start
    }

    /// The period right after this one.
    pub fn next(&self) -> Span {
        Span::containing(self.kind, self.end)
    }

    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.start <= t && t < self.end
    }

    /// Every period of `kind` that overlaps `[from, to]`, in order.
    pub fn covering(kind: Period, from: OffsetDateTime, to: OffsetDateTime) -> Vec<Span> {
        let mut out = Vec::new();
        if to < from {
            return out;
        }
        let mut s = Span::containing(kind, from);
        while s.start <= to {
            out.push(s);
            s = s.next();
        }
        out
    }

    /// Its name: `2026-Q3`, `2026-07`, `2026`.
    pub fn label(&self) -> String {
        let y = self.start.year();
        let m = u8::from(self.start.month());
        match self.kind {
            Period::Month => format!("{y}-{m:02}"),
            Period::Quarter => format!("{y}-Q{}", (m - 1) / 3 + 1),
            Period::Year => format!("{y}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn quarters_are_calendar_quarters() {
        let q = Span::containing(Period::Quarter, datetime!(2026-08-14 13:00 UTC));
        assert_eq!(q.label(), "2026-Q3");
        assert_eq!(q.start, datetime!(2026-07-01 0:00 UTC));
        assert_eq!(q.end, datetime!(2026-10-01 0:00 UTC));
        assert_eq!(q.next().label(), "2026-Q4");
        assert_eq!(q.next().next().label(), "2027-Q1");
        assert_eq!(q.next().end, datetime!(2027-01-01 0:00 UTC));
    }

    #[test]
    fn covering_lists_every_overlapping_period() {
        let v = Span::covering(
            Period::Quarter,
            datetime!(2025-02-10 0:00 UTC),
            datetime!(2025-12-31 23:59 UTC),
        );
        let labels: Vec<String> = v.iter().map(Span::label).collect();
        assert_eq!(labels, ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]);
        let m = Span::containing(Period::Month, datetime!(2025-12-31 23:59 UTC));
        assert_eq!(
            (m.label(), m.end),
            ("2025-12".into(), datetime!(2026-01-01 0:00 UTC))
        );
        assert_eq!(
            Span::containing(Period::Year, datetime!(2025-06-01 0:00 UTC)).label(),
            "2025"
        );
    }
}
