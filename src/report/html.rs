//! The HTML report: one self-contained file (no scripts, fonts or links to fetch) with a
//! summary table, a timeline chart as inline SVG, and the details of each requirement.

use std::fmt::Write as _;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::requirements::{Evaluation, Outcome, Status};

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

fn color(s: Status) -> &'static str {
    match s {
        Status::Pass => "#2e7d32",
        Status::DueSoon => "#ef6c00",
        Status::Fail => "#c62828",
        Status::Unknown => "#757575",
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
.st{color:#fff;padding:2px 6px;border-radius:3px;font-weight:bold}code{font-size:85%}\
.late{color:#c62828;font-weight:bold}svg text{font-size:11px;font-family:system-ui,sans-serif}";

pub fn render(e: &Evaluation) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Evidence report {}</title><style>{STYLE}</style></head><body>\n",
        esc(&e.at)
    );
    let _ = writeln!(o, "<h1>Evidence report</h1>");
    let (warning, lines) = super::header(e);
    if let Some(w) = warning {
        let _ = writeln!(
            o,
            "<p class=\"late\" id=\"warning\">WARNING: {}</p>",
            esc(&w)
        );
    }
    let _ = writeln!(o, "<table id=\"basis\">");
    for (k, v) in &lines {
        let _ = writeln!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(
        o,
        "<p>Evaluated at <b>{}</b>; review period {} to {}.</p>",
        esc(&e.at),
        esc(&e.from),
        esc(&e.to)
    );
    let summary: Vec<String> = super::counts(e)
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let _ = writeln!(o, "<p>{}</p>", summary.join(", "));
    let _ = writeln!(
        o,
        "<table id=\"summary\"><tr><th>id</th><th>title</th><th>status</th><th>due</th><th>findings</th></tr>"
    );
    for r in &e.requirements {
        let _ = writeln!(
            o,
            "<tr><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td><span class=\"st\" style=\"background:{}\">{}</span></td><td>{}</td><td>{}</td></tr>",
            esc(&r.title),
            color(r.status),
            r.status.as_str(),
            esc(r.due.as_deref().unwrap_or("—")),
            r.findings.len(),
            id = esc(&r.id),
        );
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(o, "<h2>Timeline</h2>");
    o.push_str(&timeline(e));
    for r in &e.requirements {
        details(&mut o, r);
    }
    let _ = writeln!(o, "</body></html>");
    o
}

fn details(o: &mut String, r: &Outcome) {
    let _ = writeln!(
        o,
        "<h2 id=\"{}\">{} — {} <span class=\"st\" style=\"background:{}\">{}</span></h2>",
        esc(&r.id),
        esc(&r.id),
        esc(&r.title),
        color(r.status),
        r.status.as_str()
    );
    let _ = writeln!(
        o,
        "<p>Rule: {}. Source: {}. Next due: {}.</p>",
        r.rule,
        esc(r.source.as_deref().unwrap_or("—")),
        esc(r.due.as_deref().unwrap_or("—"))
    );
    if !r.findings.is_empty() {
        let _ = writeln!(o, "<ul>");
        for f in &r.findings {
            let _ = writeln!(o, "<li>{}</li>", esc(f));
        }
        let _ = writeln!(o, "</ul>");
    }
    if !r.evidence.is_empty() {
        let _ = writeln!(
            o,
            "<table><tr><th>seq</th><th>evidence</th><th>fact time</th><th>recorded</th><th>digest</th></tr>"
        );
        for c in &r.evidence {
            let late = if c.late {
                " <span class=\"late\">recorded late</span>"
            } else {
                ""
            };
            let extra = c
                .details
                .as_deref()
                .map(|d| format!("<br><small>{}</small>", esc(d)))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}{extra}{late}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                c.seq,
                esc(&c.label),
                esc(&c.observed_at),
                esc(&c.recorded_at),
                c.digest
            );
        }
        let _ = writeln!(o, "</table>");
    }
}

/// One lane per requirement that has a calendar (period cells coloured by state, with the
/// count of matching facts) or dated evidence (a dot per fact), over the review period.
fn timeline(e: &Evaluation) -> String {
    let (Some(from), Some(to)) = (parse(&e.from), parse(&e.to)) else {
        return String::new();
    };
    let span = (to - from).as_seconds_f64().max(1.0);
    const LEFT: f64 = 90.0;
    const WIDTH: f64 = 720.0;
    const LANE: f64 = 28.0;
    let x = |t: OffsetDateTime| LEFT + ((t - from).as_seconds_f64() / span).clamp(0.0, 1.0) * WIDTH;
    let lanes: Vec<&Outcome> = e
        .requirements
        .iter()
        .filter(|r| !r.periods.is_empty() || (r.rule == "within" && !r.evidence.is_empty()))
        .collect();
    let height = 30.0 + LANE * lanes.len() as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"Evidence over the review period\">",
        LEFT + WIDTH + 20.0
    );
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"12\">{}</text><text x=\"{}\" y=\"12\" text-anchor=\"end\">{}</text>",
        esc(&e.from[..10.min(e.from.len())]),
        LEFT + WIDTH,
        esc(&e.to[..10.min(e.to.len())])
    );
    for (i, r) in lanes.iter().enumerate() {
        let y = 20.0 + LANE * i as f64;
        let _ = writeln!(
            s,
            "<text x=\"0\" y=\"{}\">{}</text><line x1=\"{LEFT}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#ddd\"/>",
            y + 15.0,
            esc(&r.id),
            LEFT + WIDTH,
            y + 11.0,
            y + 11.0
        );
        for p in &r.periods {
            let (Some(a), Some(b)) = (parse(&p.start), parse(&p.end)) else {
                continue;
            };
            let fill = match p.state {
                "ok" => "#2e7d32",
                "missing" => "#c62828",
                _ => "#bdbdbd",
            };
            let (xa, xb) = (x(a), x(b));
            let _ = writeln!(
                s,
                "<g class=\"period\"><rect x=\"{xa:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"22\" fill=\"{fill}\" stroke=\"#fff\"><title>{} {}: {} matching</title></rect><text x=\"{:.1}\" y=\"{}\" fill=\"#fff\" text-anchor=\"middle\">{} · {}</text></g>",
                (xb - xa).max(1.0),
                esc(&p.label),
                p.state,
                p.count,
                (xa + xb) / 2.0,
                y + 15.0,
                esc(&p.label),
                p.count
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
                let _ = writeln!(
                    s,
                    "<circle class=\"fact\" cx=\"{:.1}\" cy=\"{}\" r=\"6\" fill=\"{}\"><title>{} {}</title></circle>",
                    x(t),
                    y + 11.0,
                    color(r.status),
                    esc(&c.label),
                    esc(&c.observed_at)
                );
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
