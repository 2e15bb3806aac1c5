//! Re-evaluating a bundle's report: the bundled catalog over the bundled records, at the
//! bundle's times, must give the bundled report byte for byte. This catches a report that
//! was edited together with the MANIFEST, which the MANIFEST alone cannot.

use super::{Opened, CATALOG};
use crate::report::{self, ReportFormat};
use crate::requirements::{evaluate, Evidence, Options};
use crate::verify::Problem;

fn problem(check: &'static str, key: &str, message: String) -> Problem {
    Problem {
        check,
        seq: None,
        key: key.to_string(),
        expected: None,
        actual: None,
        message,
    }
}

/// Problems found re-making the bundled report (none when it matches).
pub async fn check_report(opened: &Opened) -> Vec<Problem> {
    let catalog = match opened.catalog() {
        Ok(c) => c,
        Err(e) => {
            return vec![problem(
                "report-unverifiable",
                CATALOG,
                format!("the bundled catalog cannot be used: {e}"),
            )]
        }
    };
    let window = match opened.meta.window() {
        Ok(w) => w,
        Err(e) => return vec![problem("report-unverifiable", super::META, e.to_string())],
    };
    let evidence = match Evidence::load(&opened.store(), &catalog).await {
        Ok(ev) => ev,
        Err(e) => {
            return vec![problem(
                "report-unverifiable",
                "store/chain/records",
                format!("the bundled records cannot be read to re-make the report: {e}"),
            )]
        }
    };
    let options: Options = opened.meta.options();
    let evaluation = evaluate(&catalog, &evidence, window, &options);
    let mut problems = Vec::new();
    for (path, format) in [
        ("report/report.json", ReportFormat::Json),
        ("report/report.md", ReportFormat::Md),
        ("report/report.html", ReportFormat::Html),
    ] {
        let want = report::render(&evaluation, format);
        match std::fs::read(opened.root().join(path)) {
            Ok(got) if got == want.as_bytes() => {}
            Ok(_) => problems.push(problem(
                "report-mismatch",
                path,
                format!("{path} is not what the bundled catalog gives over the bundled evidence at the bundle's times: the report was changed"),
            )),
            Err(e) => problems.push(problem(
                "report-mismatch",
                path,
                format!("{path} cannot be read: {e}"),
            )),
        }
    }
    problems
}
