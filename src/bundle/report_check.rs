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

/// The `basis` of the bundled report.json.
fn bundled_basis(opened: &Opened) -> Result<crate::requirements::Basis, String> {
    let path = opened.root().join("report/report.json");
    let bytes =
        std::fs::read(&path).map_err(|e| format!("report/report.json cannot be read: {e}"))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("report/report.json is not JSON: {e}"))?;
    serde_json::from_value(v.get("basis").cloned().unwrap_or_default())
        .map_err(|e| format!("report/report.json has no valid `basis`: {e}"))
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
    let mut evaluation = evaluate(&catalog, &evidence, window, &options);
    let mut problems = Vec::new();
    // The header says what the report stood on when it was made; it must name this
    // bundle's chain and last record.
    match bundled_basis(opened) {
        Ok(basis) => {
            let last = evidence
                .records
                .iter()
                .find(|r| r.seq == opened.meta.last_seq);
            let chain = evidence.records.first().map(|r| r.hash.to_string());
            if basis.head_seq != Some(opened.meta.last_seq)
                || basis.head_hash != last.map(|r| r.hash.to_string())
                || basis.chain_id != chain
            {
                problems.push(problem(
                    "report-mismatch",
                    "report/report.json",
                    format!(
                        "the report's basis names chain {} head {} ({}), not this bundle's chain {} and last record {}",
                        basis.chain_id.as_deref().unwrap_or("none"),
                        basis.head_seq.map_or("none".into(), |s| s.to_string()),
                        basis.head_hash.as_deref().unwrap_or("none"),
                        chain.as_deref().unwrap_or("none"),
                        opened.meta.last_seq
                    ),
                ));
            }
            evaluation.basis = Some(basis);
        }
        Err(message) => problems.push(problem("report-mismatch", "report/report.json", message)),
    }
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
