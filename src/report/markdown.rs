//! The Markdown report: a summary table, then each requirement with its findings and the
//! evidence it rests on.

use std::fmt::Write as _;

use crate::requirements::Evaluation;

/// Escape the characters that break a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(e: &Evaluation) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Evidence report\n");
    let (warning, lines) = super::header(e);
    if let Some(w) = warning {
        let _ = writeln!(o, "> **WARNING: {w}**\n");
    }
    for (k, v) in &lines {
        let _ = writeln!(o, "- {k}: {}", cell(v));
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Evaluated at {}, review period {} to {}.\n",
        e.at, e.from, e.to
    );
    let summary: Vec<String> = super::counts(e)
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let _ = writeln!(o, "{}\n", summary.join(", "));
    let _ = writeln!(o, "| id | title | status | due | findings |");
    let _ = writeln!(o, "|---|---|---|---|---|");
    for r in &e.requirements {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            cell(&r.id),
            cell(&r.title),
            r.status.as_str(),
            r.due.as_deref().unwrap_or("—"),
            r.findings.len()
        );
    }
    o.push_str(&super::checklist::markdown(e));
    for r in &e.requirements {
        let _ = writeln!(o, "\n## {} — {}\n", r.id, r.title);
        let _ = writeln!(o, "Status: **{}**  ", r.status.as_str());
        if let Some(src) = &r.source {
            let _ = writeln!(o, "Source: {src}  ");
        }
        let _ = writeln!(o, "Rule: {}  ", r.rule);
        let _ = writeln!(o, "Next due: {}\n", r.due.as_deref().unwrap_or("—"));
        if !r.periods.is_empty() {
            let line: Vec<String> = r
                .periods
                .iter()
                .map(|p| format!("{} {} ({})", p.label, p.state, p.count))
                .collect();
            let _ = writeln!(o, "Periods: {}\n", line.join(", "));
        }
        if !r.findings.is_empty() {
            let _ = writeln!(o, "Findings:\n");
            for f in &r.findings {
                let _ = writeln!(o, "- {f}");
            }
            let _ = writeln!(o);
        }
        if !r.evidence.is_empty() {
            let _ = writeln!(o, "| seq | evidence | fact time | recorded | digest |");
            let _ = writeln!(o, "|---|---|---|---|---|");
            for c in &r.evidence {
                let late = if c.late { " **(late)**" } else { "" };
                let extra = c
                    .details
                    .as_deref()
                    .map(|d| format!(" — {}", cell(d)))
                    .unwrap_or_default();
                let _ = writeln!(
                    o,
                    "| {} | {}{}{} | {} | {} | `{}` |",
                    c.seq,
                    cell(&c.label),
                    extra,
                    late,
                    c.observed_at,
                    c.recorded_at,
                    c.digest
                );
            }
        }
    }
    o
}
