//! Rendering an [`Evaluation`] for people and programs: JSON (the contract), Markdown, one
//! self-contained HTML file an auditor opens offline, CSV for spreadsheets, and OSCAL
//! assessment results for GRC tools.
//!
//! Renderers are pure functions of the same evaluation: the same evaluation gives the same
//! bytes, so a report made from a bundle can be compared byte for byte with the one made in
//! production, and no two formats can disagree.
//!
//! - `markdown`, `html`: the reports people read;
//! - [`csv`]: one row per requirement × period, or per cited fact;
//! - [`oscal`]: assessment results, and the catalog and plan they refer to;
//! - [`checklist`]: where each requirement sits in the FTR and Competency checklists.

pub mod checklist;
pub mod csv;
mod html;
mod markdown;
pub mod oscal;
mod timeline;

use crate::requirements::Evaluation;

/// Output formats of `evidenced report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Md,
    Html,
    /// One row per requirement × period (RFC 4180).
    Csv,
    /// OSCAL 1.1 assessment results (JSON).
    Oscal,
}

/// Render `e` in `format`.
pub fn render(e: &Evaluation, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => json(e),
        ReportFormat::Md => markdown::render(e),
        ReportFormat::Html => html::render(e),
        ReportFormat::Csv => csv::render(e),
        ReportFormat::Oscal => oscal::results::render(e),
    }
}

/// Pretty JSON with a trailing newline.
pub fn json(e: &Evaluation) -> String {
    // Serializing plain strings, numbers and enums cannot fail.
    let mut s = serde_json::to_string_pretty(e)
        .unwrap_or_else(|err| format!("{{\"error\": {:?}}}", err.to_string()));
    s.push('\n');
    s
}

/// Counts per status, for summaries.
pub(crate) fn counts(e: &Evaluation) -> [(&'static str, usize); 4] {
    use crate::requirements::Status;
    let n = |s: Status| e.requirements.iter().filter(|o| o.status == s).count();
    [
        ("pass", n(Status::Pass)),
        ("due-soon", n(Status::DueSoon)),
        ("fail", n(Status::Fail)),
        ("unknown", n(Status::Unknown)),
    ]
}

/// The report header as (label, value) lines, and whether it warns: what the report stands
/// on. A report without a basis, or on evidence that does not verify, says so first.
pub(crate) fn header(e: &Evaluation) -> (Option<String>, Vec<(&'static str, String)>) {
    let mut lines = Vec::new();
    let warning = match &e.basis {
        None => Some(
            "This report was made without verifying the store: nothing below is vouched for.".to_string(),
        ),
        Some(b) if !b.verified => Some(format!(
            "The evidence under this report does NOT verify ({} problem line(s) below): do not rely on it.",
            b.problems.len()
        )),
        Some(_) => None,
    };
    if let Some(b) = &e.basis {
        lines.push(("Store", b.store.clone()));
        lines.push((
            "Chain id",
            b.chain_id
                .clone()
                .unwrap_or_else(|| "none (no record)".into()),
        ));
        lines.push((
            "Head",
            match (b.head_seq, &b.head_hash) {
                (Some(s), Some(h)) => format!("record {s}, {h}"),
                _ => "none".into(),
            },
        ));
        lines.push((
            "Verified",
            if b.verified && b.checked.is_some() {
                match b.vouched_seq {
                    Some(v) => format!(
                        "yes: what the evaluation read (below; {} checkpoint(s) checked; a signed checkpoint vouches up to record {v})",
                        b.checkpoints
                    ),
                    None => "yes: what the evaluation read (below); no signed checkpoint, so a cut tail could not be detected".to_string(),
                }
            } else if b.verified {
                match b.vouched_seq {
                    Some(v) => format!(
                        "yes: every record, blob and checkpoint ({} checked; a signed checkpoint vouches up to record {v})",
                        b.checkpoints
                    ),
                    None => "yes: every record and blob; no signed checkpoint, so a cut tail could not be detected".to_string(),
                }
            } else {
                "NO".into()
            },
        ));
        if let Some(c) = &b.checked {
            lines.push(("Checked", c.clone()));
        }
        if let Some(t) = &b.timestamped {
            lines.push(("Time-stamped", t.clone()));
        }
        for p in &b.problems {
            lines.push(("Problem", p.clone()));
        }
        if let Some(skew) = &b.clock_skew {
            lines.push(("Clock skew", skew.clone()));
        }
        lines.push(("Program", b.program.clone()));
    }
    if let Some(h) = &e.horizon {
        lines.push((
            "Horizon",
            format!(
                "{h}: evidence recorded before it was not read (the catalog's lookback before the review period)"
            ),
        ));
    }
    let c = &e.catalog;
    lines.push((
        "Catalog",
        format!(
            "{} version {} ({}), sha256 {}",
            if c.id.is_empty() { "unnamed" } else { &c.id },
            if c.version.is_empty() {
                "unversioned"
            } else {
                &c.version
            },
            if c.release.is_empty() {
                "no checklist release named"
            } else {
                &c.release
            },
            c.digest
        ),
    ));
    (warning, lines)
}
