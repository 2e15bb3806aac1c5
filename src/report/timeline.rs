//! The HTML report's timeline: inline SVG over the review period, one lane per
//! requirement that has calendar periods (cells coloured by state, with the count of
//! counting facts) or dated evidence (a dot per fact, a ring when recorded late); a tick
//! per month, a legend, and a left margin wide enough for the longest id, so that no label
//! is clipped.

use std::fmt::Write as _;

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, Time};

use super::html::{color, esc};
use crate::requirements::{Evaluation, Outcome};

fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// The colour of a period state.
pub fn period_color(state: &str) -> &'static str {
    match state {
        "ok" => "#2e7d32",
        "missing" => "#c62828",
        "open" => "#90a4ae",
        _ => "#bdbdbd",
    }
}

const WIDTH: f64 = 760.0;
const LANE: f64 = 28.0;
const TOP: f64 = 42.0;
/// Approximate advance of one character at 11 px.
const CHAR: f64 = 7.0;

/// The first day of every month in `[from, to]`.
fn months(from: OffsetDateTime, to: OffsetDateTime) -> Vec<OffsetDateTime> {
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), u8::from(from.month()));
    while let Ok(month) = Month::try_from(m) {
        let Ok(d) = Date::from_calendar_date(y, month, 1) else {
            break;
        };
        let t = d.with_time(Time::MIDNIGHT).assume_utc();
        if t > to {
            break;
        }
        if t >= from {
            out.push(t);
        }
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

pub fn render(e: &Evaluation) -> String {
    let (Some(from), Some(to)) = (parse(&e.from), parse(&e.to)) else {
        return String::new();
    };
    let lanes: Vec<&Outcome> = e
        .requirements
        .iter()
        .filter(|r| !r.periods.is_empty() || (r.rule == "within" && !r.evidence.is_empty()))
        .collect();
    if lanes.is_empty() {
        return "<p>No requirement has dated evidence or calendar periods to draw.</p>\n".into();
    }
    let left = 16.0
        + CHAR
            * lanes
                .iter()
                .map(|r| r.id.chars().count())
                .max()
                .unwrap_or(4) as f64;
    let span = (to - from).as_seconds_f64().max(1.0);
    let x = |t: OffsetDateTime| left + ((t - from).as_seconds_f64() / span).clamp(0.0, 1.0) * WIDTH;
    let bottom = TOP + LANE * lanes.len() as f64;
    let height = bottom + 46.0;
    let total = left + WIDTH + 24.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\" viewBox=\"0 0 {total} {height}\" width=\"{total}\" height=\"{height}\" role=\"img\" aria-label=\"Evidence over the review period\">"
    );
    // Month ticks with their labels; the year is named in January and at the first tick.
    for (i, m) in months(from, to).iter().enumerate() {
        let xm = x(*m);
        let label = if i == 0 || m.month() == Month::January {
            format!("{:.3} {}", m.month().to_string(), m.year())
        } else {
            format!("{:.3}", m.month().to_string())
        };
        let _ = writeln!(
            s,
            "<line class=\"tick\" x1=\"{xm:.1}\" x2=\"{xm:.1}\" y1=\"{}\" y2=\"{bottom}\" stroke=\"#e0e0e0\"/><text x=\"{:.1}\" y=\"{}\">{}</text>",
            TOP - 8.0,
            xm + 2.0,
            TOP - 12.0,
            esc(&label)
        );
    }
    let _ = writeln!(
        s,
        "<text x=\"{left}\" y=\"12\">{}</text><text x=\"{}\" y=\"12\" text-anchor=\"end\">{}</text>",
        esc(&e.from[..10.min(e.from.len())]),
        left + WIDTH,
        esc(&e.to[..10.min(e.to.len())])
    );
    for (i, r) in lanes.iter().enumerate() {
        let y = TOP + LANE * i as f64;
        let _ = writeln!(
            s,
            "<text x=\"4\" y=\"{}\">{}</text><line x1=\"{left}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>",
            y + 15.0,
            esc(&r.id),
            left + WIDTH,
            y + 11.0,
            y + 11.0
        );
        for p in &r.periods {
            let (Some(a), Some(b)) = (parse(&p.start), parse(&p.end)) else {
                continue;
            };
            let (xa, xb) = (x(a), x(b));
            let w = (xb - xa).max(1.0);
            let label = format!("{} · {}", p.label, p.count);
            // A label that does not fit its cell is left to the tooltip, not clipped.
            let text = if label.chars().count() as f64 * 6.2 + 6.0 <= w {
                format!(
                    "<text x=\"{:.1}\" y=\"{}\" fill=\"#fff\" text-anchor=\"middle\">{}</text>",
                    (xa + xb) / 2.0,
                    y + 15.0,
                    esc(&label)
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "<g class=\"period\"><rect x=\"{xa:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"22\" fill=\"{}\" stroke=\"#fff\"><title>{} {}: {} counting</title></rect>{text}</g>",
                period_color(p.state),
                esc(&p.label),
                p.state,
                p.count,
            );
        }
        if r.periods.is_empty() {
            for c in &r.evidence {
                let Some(t) = parse(&c.observed_at) else {
                    continue;
                };
                if t < from || t > to {
                    continue;
                }
                let ring = if c.late {
                    " stroke=\"#000\" stroke-width=\"2\""
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    "<circle class=\"fact\" cx=\"{:.1}\" cy=\"{}\" r=\"6\" fill=\"{}\"{ring}><title>{} {}{}</title></circle>",
                    x(t),
                    y + 11.0,
                    color(r.status),
                    esc(&c.label),
                    esc(&c.observed_at),
                    if c.late { " (recorded late)" } else { "" }
                );
            }
        }
    }
    // The legend, under the lanes.
    let ly = bottom + 22.0;
    let mut lx = left;
    for (label, fill) in [
        ("period met", period_color("ok")),
        ("period missed", period_color("missing")),
        ("period open", period_color("open")),
        ("not judged", period_color("not-judged")),
    ] {
        let _ = writeln!(
            s,
            "<rect x=\"{lx}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{fill}\"/><text x=\"{}\" y=\"{ly}\">{label}</text>",
            ly - 11.0,
            lx + 18.0
        );
        lx += 30.0 + CHAR * label.len() as f64;
    }
    let _ = writeln!(
        s,
        "<circle cx=\"{}\" cy=\"{}\" r=\"6\" fill=\"#2e7d32\"/><text x=\"{}\" y=\"{ly}\">dated fact (colour: status)</text>",
        lx + 6.0,
        ly - 4.0,
        lx + 18.0
    );
    lx += 40.0 + CHAR * 26.0;
    let _ = writeln!(
        s,
        "<circle cx=\"{}\" cy=\"{}\" r=\"6\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"2\"/><text x=\"{}\" y=\"{ly}\">recorded late</text>",
        lx + 6.0,
        ly - 4.0,
        lx + 18.0
    );
    s.push_str("</svg>\n");
    s
}
