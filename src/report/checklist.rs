//! Where each requirement sits in the checklists it answers: the checklist (FTR,
//! Competency, or the product's own policy), the checklist section, and the item id.
//! Read from the requirement's `id` and `source` as the catalog writes them
//! ("FTR BAR-002 ...", "Competency 2.9", "Product policy: ..."), so a user's catalog that
//! follows the same convention is grouped the same way.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::requirements::{Evaluation, Outcome};

/// The checklist a requirement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Checklist {
    Ftr,
    Competency,
    Product,
}

impl Checklist {
    pub fn id(self) -> &'static str {
        match self {
            Checklist::Ftr => "ftr",
            Checklist::Competency => "competency",
            Checklist::Product => "product",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Checklist::Ftr => "AWS Foundational Technical Review (FTR) Partner Hosted checklist",
            Checklist::Competency => "AWS Competency validation checklist",
            Checklist::Product => "Product policy",
        }
    }

    /// The part of the catalog's `release` that names this checklist's release
    /// ("FTR Partner Hosted checklist 2026-08").
    pub fn release(self, release: &str) -> Option<String> {
        let prefix = match self {
            Checklist::Ftr => "FTR",
            Checklist::Competency => "Competency",
            Checklist::Product => return None,
        };
        release
            .split(';')
            .map(str::trim)
            .find(|r| r.starts_with(prefix))
            .map(str::to_string)
    }
}

/// A requirement's place in its checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub checklist: Checklist,
    /// Section id within the checklist (`BAR`, `2`), unique within it.
    pub section: String,
    pub section_title: String,
    /// The checklist item (`BAR-002`, `2.9`); the requirement id for product policy.
    pub item: String,
}

/// Where requirement `id` with `source` sits.
pub fn place(id: &str, source: Option<&str>) -> Place {
    let source = source.unwrap_or("").trim();
    let first = source.split(';').next().unwrap_or("").trim();
    if let Some(rest) = first.strip_prefix("FTR ") {
        let item = word(rest).unwrap_or_else(|| id.to_string());
        let section = item.split('-').next().unwrap_or(&item).to_string();
        return Place {
            checklist: Checklist::Ftr,
            section_title: ftr_section(&section),
            section,
            item,
        };
    }
    if let Some(rest) = first.strip_prefix("Competency ") {
        let item = word(rest).unwrap_or_else(|| id.to_string());
        let section = item.split('.').next().unwrap_or(&item).to_string();
        return Place {
            checklist: Checklist::Competency,
            section_title: format!("Competency section {section}"),
            section,
            item,
        };
    }
    Place {
        checklist: Checklist::Product,
        section: "policy".into(),
        section_title: "Product policy".into(),
        item: id.to_string(),
    }
}

/// The first word of `s`, less trailing punctuation.
fn word(s: &str) -> Option<String> {
    let w = s
        .split_whitespace()
        .next()?
        .trim_end_matches([',', ':', ';']);
    (!w.is_empty()).then(|| w.to_string())
}

/// Names of the FTR checklist's sections, by item prefix.
fn ftr_section(prefix: &str) -> String {
    let name = match prefix {
        "ARC" => "Architecture review",
        "BAR" => "Backups and recovery",
        "IAM" => "Identity and access management",
        "RES" => "Resiliency",
        "S3" => "Amazon S3 bucket access",
        "SDAT" => "Sensitive data",
        _ => return prefix.to_string(),
    };
    format!("{name} ({prefix})")
}

/// One checklist section: its title and its requirements with their places.
pub struct Section<'a> {
    pub id: String,
    pub title: String,
    pub rows: Vec<(Place, &'a Outcome)>,
}

/// The requirements of `e` grouped by checklist, then by section in the order the catalog
/// first names them.
pub fn grouped(e: &Evaluation) -> Vec<(Checklist, Vec<Section<'_>>)> {
    let mut out: BTreeMap<Checklist, Vec<Section<'_>>> = BTreeMap::new();
    for r in &e.requirements {
        let p = place(&r.id, r.source.as_deref());
        let sections = out.entry(p.checklist).or_default();
        match sections.iter_mut().find(|s| s.id == p.section) {
            Some(s) => s.rows.push((p, r)),
            None => sections.push(Section {
                id: p.section.clone(),
                title: p.section_title.clone(),
                rows: vec![(p, r)],
            }),
        }
    }
    out.into_iter().collect()
}

/// For a manual item (evidenced by human records alone): the newest cited attestation, and
/// when it stops counting (the requirement's next due date).
/// Drill logs come before other records (a cited `change` is not an attestation).
pub fn attestation(r: &Outcome, at: &str) -> Option<(String, String)> {
    if !r.manual {
        return None;
    }
    let newest = r.evidence.iter().max_by(|a, b| {
        (a.drill.is_some(), a.observed_at.as_str(), a.seq).cmp(&(
            b.drill.is_some(),
            b.observed_at.as_str(),
            b.seq,
        ))
    });
    let what = match newest {
        Some(c) => format!(
            "{} of {} (record {}, recorded {})",
            c.label,
            &c.observed_at[..10.min(c.observed_at.len())],
            c.seq,
            &c.recorded_at[..10.min(c.recorded_at.len())]
        ),
        None => "none on record".to_string(),
    };
    let expires = r
        .due
        .as_ref()
        .map(|d| {
            if d.as_str() < at {
                format!("expired {d}")
            } else {
                d.clone()
            }
        })
        .unwrap_or_else(|| {
            if newest.is_some() {
                "does not expire by rule".into()
            } else {
                "—".into()
            }
        });
    Some((what, expires))
}

fn release(e: &Evaluation, c: Checklist) -> String {
    c.release(&e.catalog.release)
        .map(|r| format!(" (release: {r})"))
        .unwrap_or_default()
}

/// The checklist view in Markdown.
pub fn markdown(e: &Evaluation) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut o = String::from("\n## Checklist view\n\nThe wording is this catalog's title of each item; the checklist's own text is that of the release named.\n");
    for (c, sections) in grouped(e) {
        let _ = writeln!(o, "\n### {}{}", c.title(), release(e, c));
        for Section { title, rows, .. } in sections {
            let _ = writeln!(o, "\n#### {title}\n");
            let _ = writeln!(
                o,
                "| item | requirement | wording | status | attestation | expires |"
            );
            let _ = writeln!(o, "|---|---|---|---|---|---|");
            for (p, r) in rows {
                let (att, exp) = attestation(r, &e.at)
                    .unwrap_or_else(|| ("collected evidence".into(), "—".into()));
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} |",
                    cell(&p.item),
                    cell(&r.id),
                    cell(&r.title),
                    r.status.as_str(),
                    cell(&att),
                    cell(&exp)
                );
            }
        }
    }
    o
}

/// The checklist view in HTML.
pub fn html(e: &Evaluation) -> String {
    use super::html::{badge, esc};
    let mut o = String::from("<h2 id=\"checklist\">Checklist view</h2>\n<p>The wording is this catalog's title of each item; the checklist's own text is that of the release named.</p>\n");
    for (c, sections) in grouped(e) {
        let _ = writeln!(o, "<h3>{}{}</h3>", esc(c.title()), esc(&release(e, c)));
        for Section { title, rows, .. } in sections {
            let _ = writeln!(o, "<h4>{}</h4>", esc(&title));
            let _ = writeln!(o, "<table class=\"checklist\"><thead><tr><th>item</th><th>requirement</th><th>wording</th><th>status</th><th>attestation</th><th>expires</th></tr></thead><tbody>");
            for (p, r) in rows {
                let (att, exp) = attestation(r, &e.at)
                    .unwrap_or_else(|| ("collected evidence".into(), "—".into()));
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td><a href=\"#{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&p.item),
                    esc(&r.title),
                    badge(r.status),
                    esc(&att),
                    esc(&exp),
                    id = esc(&r.id)
                );
            }
            let _ = writeln!(o, "</tbody></table>");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_follow_the_source_convention() {
        let p = place(
            "BAR-002",
            Some("FTR BAR-002 (every calendar quarter: product policy)"),
        );
        assert_eq!(
            (p.checklist, p.section.as_str(), p.item.as_str()),
            (Checklist::Ftr, "BAR", "BAR-002")
        );
        let p = place("C-2.13", Some("Competency 2.13"));
        assert_eq!(
            (p.checklist, p.section.as_str(), p.item.as_str()),
            (Checklist::Competency, "2", "2.13")
        );
        let p = place("ARC-005", Some("FTR ARC-005; Competency 2.4, 4.2"));
        assert_eq!((p.checklist, p.item.as_str()), (Checklist::Ftr, "ARC-005"));
        let p = place(
            "FRESH",
            Some("Product policy: 2 × each collector's schedule"),
        );
        assert_eq!(
            (p.checklist, p.item.as_str()),
            (Checklist::Product, "FRESH")
        );
        assert_eq!(
            Checklist::Competency.release("FTR x 2026-08; Competency y 2026-08"),
            Some("Competency y 2026-08".into())
        );
    }
}
