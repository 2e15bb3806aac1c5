//! The HTML report, the auditor's artefact: one self-contained file (no script, font,
//! image or link to fetch; print styles for a clean PDF). The report header comes first
//! (store, head, verification, program, catalog), then a legend and the summary table, the
//! timeline, the checklist view, and for each requirement every period and every cited
//! fact, drills with their scenario, outcome, participants and achieved against target
//! RTO / RPO, late evidence marked.

use std::fmt::Write as _;

use crate::requirements::eval::{Cited, Drill};
use crate::requirements::{Evaluation, Outcome, Status};

pub(crate) fn esc(s: &str) -> String {
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

pub(crate) fn color(s: Status) -> &'static str {
    match s {
        Status::Pass => "#2e7d32",
        Status::DueSoon => "#ef6c00",
        Status::Fail => "#c62828",
        Status::Unknown => "#757575",
    }
}

/// A status badge.
pub(crate) fn badge(s: Status) -> String {
    format!(
        "<span class=\"st\" style=\"background:{}\">{}</span>",
        color(s),
        s.as_str()
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:75em}\
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}\
th{background:#f5f5f5}.st{color:#fff;padding:1px 6px;border-radius:3px;font-weight:bold;white-space:nowrap}\
code{font-size:80%;word-break:break-all}.late{color:#c62828;font-weight:bold}.warn{color:#c62828;font-weight:bold;border:2px solid #c62828;padding:.5em}\
.drill td,.drill th{border:none;padding:0 6px 0 0;font-size:90%}.met{color:#2e7d32}.missed{color:#c62828;font-weight:bold}\
.legend span{margin-right:1.2em;white-space:nowrap}.sw{display:inline-block;width:.9em;height:.9em;vertical-align:middle;margin-right:.3em}\
svg{max-width:100%;height:auto;overflow:visible}svg text{font-size:11px;font-family:system-ui,sans-serif}\
section.req{margin-top:1.5em;border-top:1px solid #ccc}\
@page{size:A4;margin:14mm}\
@media print{body{margin:0;font-size:9.5pt;max-width:none}a{color:inherit;text-decoration:none}\
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}h2,h3{break-after:avoid}tr,.drill,svg{break-inside:avoid}\
thead{display:table-header-group}section.req{break-before:auto}}";

pub fn render(e: &Evaluation) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Evidence report {}</title><style>{STYLE}</style></head><body>\n",
        esc(&e.at)
    );
    let _ = writeln!(o, "<h1>Evidence report</h1>");
    let (warning, lines) = super::header(e);
    if let Some(w) = warning {
        let _ = writeln!(
            o,
            "<p class=\"warn\" id=\"warning\">WARNING: {}</p>",
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
    legend(&mut o);
    summary_table(&mut o, e);
    let _ = writeln!(o, "<h2>Timeline</h2>");
    o.push_str(&super::timeline::render(e));
    o.push_str(&super::checklist::html(e));
    let _ = writeln!(o, "<h2>Requirements</h2>");
    for r in &e.requirements {
        details(&mut o, r);
    }
    let _ = writeln!(o, "</body></html>");
    o
}

fn legend(o: &mut String) {
    let _ = write!(o, "<p class=\"legend\" id=\"legend\">");
    for s in [Status::Pass, Status::DueSoon, Status::Fail, Status::Unknown] {
        let _ = write!(o, "<span>{}</span>", badge(s));
    }
    for (label, state) in [
        ("period met", "ok"),
        ("period missed", "missing"),
        ("period open", "open"),
        ("not judged", "not-judged"),
    ] {
        let _ = write!(
            o,
            "<span><i class=\"sw\" style=\"background:{}\"></i>{label}</span>",
            super::timeline::period_color(state)
        );
    }
    let _ = writeln!(
        o,
        "<span class=\"late\">recorded late</span>: evidence recorded long after the fact it claims.</p>"
    );
}

fn summary_table(o: &mut String, e: &Evaluation) {
    let _ = writeln!(
        o,
        "<table id=\"summary\"><thead><tr><th>id</th><th>checklist item</th><th>title</th><th>status</th><th>due</th><th>periods</th><th>evidence</th><th>findings</th></tr></thead><tbody>"
    );
    for r in &e.requirements {
        let p = super::checklist::place(&r.id, r.source.as_deref());
        let periods: Vec<String> = r
            .periods
            .iter()
            .map(|p| format!("{} {}", p.label, p.state))
            .collect();
        let _ = writeln!(
            o,
            "<tr><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.item),
            esc(&r.title),
            badge(r.status),
            esc(r.due.as_deref().unwrap_or("—")),
            esc(&periods.join(", ")),
            r.evidence.len(),
            r.findings.len(),
            id = esc(&r.id),
        );
    }
    let _ = writeln!(o, "</tbody></table>");
}

fn details(o: &mut String, r: &Outcome) {
    let _ = writeln!(
        o,
        "<section class=\"req\"><h3 id=\"{}\">{} — {} {}</h3>",
        esc(&r.id),
        esc(&r.id),
        esc(&r.title),
        badge(r.status)
    );
    let _ = writeln!(
        o,
        "<p>Rule: {}. Source: {}. Next due: {}.{}</p>",
        r.rule,
        esc(r.source.as_deref().unwrap_or("—")),
        esc(r.due.as_deref().unwrap_or("—")),
        if r.manual {
            " Evidenced by human records (an attestation)."
        } else {
            ""
        }
    );
    if !r.findings.is_empty() {
        let _ = writeln!(o, "<ul class=\"findings\">");
        for f in &r.findings {
            let _ = writeln!(o, "<li>{}</li>", esc(f));
        }
        let _ = writeln!(o, "</ul>");
    }
    if !r.periods.is_empty() {
        let _ = writeln!(
            o,
            "<table class=\"periods\"><thead><tr><th>period</th><th>from</th><th>to</th><th>state</th><th>counting facts</th><th>missing</th></tr></thead><tbody>"
        );
        for p in &r.periods {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><i class=\"sw\" style=\"background:{}\"></i>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&p.label),
                esc(&p.start),
                esc(&p.end),
                super::timeline::period_color(p.state),
                p.state,
                p.count,
                esc(&p.missing.join(", "))
            );
        }
        let _ = writeln!(o, "</tbody></table>");
    }
    if r.evidence.is_empty() {
        let _ = writeln!(o, "<p>No evidence cited.</p>");
    } else {
        let _ = writeln!(
            o,
            "<table class=\"evidence\"><thead><tr><th>record</th><th>evidence</th><th>period</th><th>fact time</th><th>recorded</th><th>record hash / blob digest</th></tr></thead><tbody>"
        );
        for c in &r.evidence {
            cited(o, c);
        }
        let _ = writeln!(o, "</tbody></table>");
    }
    let _ = writeln!(o, "</section>");
}

fn cited(o: &mut String, c: &Cited) {
    let late = if c.late {
        " <span class=\"late\">recorded late</span>"
    } else {
        ""
    };
    let extra = match (&c.drill, &c.details) {
        (Some(d), _) => drill(d),
        (None, Some(d)) => format!("<br><small>{}</small>", esc(d)),
        (None, None) => String::new(),
    };
    let groups = if c.groups.is_empty() {
        String::new()
    } else {
        format!("<br><small>covers {}</small>", esc(&c.groups.join(", ")))
    };
    let _ = writeln!(
        o,
        "<tr><td>{}</td><td>{}{groups}{extra}{late}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code><br><code>{}</code></td></tr>",
        c.seq,
        esc(&c.label),
        esc(c.period.as_deref().unwrap_or("")),
        esc(&c.observed_at),
        esc(&c.recorded_at),
        c.record_hash,
        c.digest
    );
}

/// Achieved against target, marked met or missed.
fn versus(achieved: Option<u64>, target: Option<u64>) -> String {
    match (achieved, target) {
        (Some(a), Some(t)) if a <= t => {
            format!("<span class=\"met\">{a} min (target {t} min): met</span>")
        }
        (Some(a), Some(t)) => {
            format!("<span class=\"missed\">{a} min (target {t} min): missed</span>")
        }
        (Some(a), None) => format!("{a} min (no target)"),
        (None, Some(t)) => format!("<span class=\"missed\">not measured (target {t} min)</span>"),
        (None, None) => "—".into(),
    }
}

fn drill(d: &Drill) -> String {
    let mut rows = vec![
        ("kind", esc(&d.kind)),
        (
            "scenario",
            esc(d.scenario.as_deref().unwrap_or("not recorded")),
        ),
        (
            "outcome",
            esc(d.outcome.as_deref().unwrap_or("not recorded")),
        ),
        (
            "participants",
            if d.participants.is_empty() {
                "none named".into()
            } else {
                esc(&d.participants.join(", "))
            },
        ),
    ];
    if let (Some(a), Some(b)) = (&d.source_region, &d.target_region) {
        rows.push(("regions", format!("{} → {}", esc(a), esc(b))));
    }
    rows.push(("RTO", versus(d.rto_achieved, d.rto_target)));
    rows.push(("RPO", versus(d.rpo_achieved, d.rpo_target)));
    let mut s = String::from("<table class=\"drill\">");
    for (k, v) in rows {
        let _ = write!(s, "<tr><th>{k}</th><td>{v}</td></tr>");
    }
    s.push_str("</table>");
    s
}
