//! CSV for spreadsheets (RFC 4180: CRLF line ends, a field quoted when it holds a comma,
//! quote, CR or LF, quotes doubled). Two shapes: one row per requirement × period
//! ([`render`]; a requirement without calendar periods has one row with the period
//! columns empty), and one row per cited fact ([`evidence`], `--evidence`). docs/REPORTS.md
//! lists the columns.

use crate::requirements::{Evaluation, Outcome};

/// Columns of [`render`].
pub const COLUMNS: &[&str] = &[
    "requirement_id",
    "title",
    "source",
    "rule",
    "status",
    "due",
    "period",
    "period_start",
    "period_end",
    "period_state",
    "period_count",
    "period_missing",
    "evidence_count",
    "findings",
    "evaluated_at",
    "store_verified",
];

/// Columns of [`evidence`].
pub const EVIDENCE_COLUMNS: &[&str] = &[
    "requirement_id",
    "status",
    "period",
    "seq",
    "record_hash",
    "blob_digest",
    "item",
    "label",
    "fact_time",
    "recorded_time",
    "late",
    "groups",
    "details",
    "evaluated_at",
    "store_verified",
];

/// One RFC 4180 field.
pub fn field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn row(o: &mut String, cells: &[String]) {
    let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
    o.push_str(&line.join(","));
    o.push_str("\r\n");
}

fn header(o: &mut String, cols: &[&str]) {
    row(o, &cols.iter().map(|c| c.to_string()).collect::<Vec<_>>());
}

fn common(r: &Outcome) -> Vec<String> {
    vec![
        r.id.clone(),
        r.title.clone(),
        r.source.clone().unwrap_or_default(),
        r.rule.to_string(),
        r.status.as_str().to_string(),
        r.due.clone().unwrap_or_default(),
    ]
}

/// One row per requirement × period.
pub fn render(e: &Evaluation) -> String {
    let mut o = String::new();
    header(&mut o, COLUMNS);
    let verified = e.verified().to_string();
    for r in &e.requirements {
        let tail = |period: &[String], n: usize| {
            let mut v = common(r);
            v.extend_from_slice(period);
            v.push(n.to_string());
            v.push(r.findings.join("\n"));
            v.push(e.at.clone());
            v.push(verified.clone());
            v
        };
        if r.periods.is_empty() {
            row(&mut o, &tail(&vec![String::new(); 6], r.evidence.len()));
        }
        for p in &r.periods {
            let n = r
                .evidence
                .iter()
                .filter(|c| c.period.as_deref() == Some(p.label.as_str()))
                .count();
            let period = [
                p.label.clone(),
                p.start.clone(),
                p.end.clone(),
                p.state.to_string(),
                p.count.to_string(),
                p.missing.join(" "),
            ];
            row(&mut o, &tail(&period, n));
        }
    }
    o
}

/// One row per cited fact.
pub fn evidence(e: &Evaluation) -> String {
    let mut o = String::new();
    header(&mut o, EVIDENCE_COLUMNS);
    let verified = e.verified().to_string();
    for r in &e.requirements {
        for c in &r.evidence {
            row(
                &mut o,
                &[
                    r.id.clone(),
                    r.status.as_str().to_string(),
                    c.period.clone().unwrap_or_default(),
                    c.seq.to_string(),
                    c.record_hash.to_string(),
                    c.digest.to_string(),
                    c.item.clone().unwrap_or_default(),
                    c.label.clone(),
                    c.observed_at.clone(),
                    c.recorded_at.clone(),
                    c.late.to_string(),
                    c.groups.join(" "),
                    c.details.clone().unwrap_or_default(),
                    e.at.clone(),
                    verified.clone(),
                ],
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "");
    }
}
