//! Rendering an [`Evaluation`] for people and programs: JSON (the contract), Markdown, and
//! one self-contained HTML file an auditor opens offline.
//!
//! Renderers are pure: the same evaluation gives the same bytes, so a report made from a
//! bundle can be compared byte for byte with the one made in production.

mod html;
mod markdown;

use crate::requirements::Evaluation;

/// Output formats of `evidenced report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Md,
    Html,
}

/// Render `e` in `format`.
pub fn render(e: &Evaluation, format: ReportFormat) -> String {
    match format {
        ReportFormat::Json => json(e),
        ReportFormat::Md => markdown::render(e),
        ReportFormat::Html => html::render(e),
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
