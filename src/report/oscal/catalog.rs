//! The OSCAL catalog of a requirements catalog, grouped as the checklists group their items,
//! and the minimal assessment plan that assessment results import. For the default catalog
//! both are shipped in config/oscal/ and a test checks that they are what this module
//! generates from config/requirements.toml (`EVIDENCED_UPDATE_GOLDEN=1` rewrites them).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{pretty, props, put_list, sha256_hex, token, uuid, version_time, OSCAL_VERSION};
use crate::report::checklist::{place, Checklist};
use crate::requirements::catalog::{Period, Requirement, RuleKind};
use crate::requirements::Catalog;

/// Whether a requirement is evidenced by human records alone (drill logs, reviews,
/// objectives submitted through the inbox), by machine collections alone, or by both.
pub fn evidence_kind(r: &Requirement) -> &'static str {
    if r.rule == RuleKind::Fresh {
        return "machine";
    }
    let human = r.evidence.iter().filter(|m| m.media_type.is_none()).count();
    match (human, r.evidence.len()) {
        (_, 0) => "none",
        (h, n) if h == n => "manual",
        (0, _) => "machine",
        _ => "mixed",
    }
}

/// The requirement's rule in words: the statement of its control.
pub fn statement(r: &Requirement) -> String {
    let what = r.what();
    let per = r
        .per
        .as_deref()
        .filter(|_| !r.expect.is_empty())
        .map(|p| format!(", for each expected {p}"))
        .unwrap_or_default();
    let mut s = match r.rule {
        RuleKind::Every => format!(
            "At least one {what} in every calendar {} of the review period{per}.",
            match r.period {
                Some(Period::Month) => "month",
                Some(Period::Year) => "year",
                _ => "quarter",
            }
        ),
        RuleKind::Within => format!(
            "A {what} no older than {} days at the time of evaluation.",
            r.days.unwrap_or(0)
        ),
        RuleKind::Present => format!(
            "Every {what} in the latest evidence passes the catalog's checks{per}; without such evidence the requirement is unknown, never met."
        ),
        RuleKind::Fresh => format!(
            "No collector, in any account and region, goes longer than twice its schedule (or {} hours where none is configured) without a committed record.",
            r.max_age_hours.unwrap_or(0)
        ),
    };
    if let Some(d) = r.after_major_change_days {
        s.push_str(&format!(
            " After each major change, a passing {what} within {d} days."
        ));
    }
    s
}

fn control(r: &Requirement) -> Value {
    let id = token(&r.id);
    let p = place(&r.id, r.source.as_deref());
    let mut c = json!({
        "id": id,
        "class": "evidenced-requirement",
        "title": r.title,
    });
    let mut ps = vec![json!({"name": "label", "value": r.id})];
    ps.extend(props([
        ("checklist-item", p.item.clone()),
        ("source", r.source.clone().unwrap_or_default()),
        (
            "rule",
            match r.rule {
                RuleKind::Every => "every",
                RuleKind::Within => "within",
                RuleKind::Present => "present",
                RuleKind::Fresh => "fresh",
            }
            .to_string(),
        ),
        ("evidence-kind", evidence_kind(r).to_string()),
        (
            "after-major-change-days",
            r.after_major_change_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ),
    ]));
    put_list(&mut c, "props", ps);
    let statement = statement(r);
    put_list(
        &mut c,
        "parts",
        vec![
            json!({"id": format!("{id}_smt"), "name": "statement", "prose": statement}),
            json!({
                "id": format!("{id}_obj"),
                "name": "assessment-objective",
                "prose": format!("The evidence store shows: {statement}"),
            }),
            json!({
                "id": format!("{id}_gdn"),
                "name": "guidance",
                "prose": format!(
                    "Checklist item {} ({}). The statement is this catalog's rule in its own words; the checklist's wording is that of the release named in the catalog's metadata.",
                    p.item,
                    r.source.as_deref().unwrap_or("no source named")
                ),
            }),
        ],
    );
    c
}

/// The OSCAL catalog of `catalog`, as pretty JSON.
pub fn render(catalog: &Catalog) -> String {
    pretty(&document(catalog))
}

fn document(catalog: &Catalog) -> Value {
    let about = &catalog.catalog;
    let digest = catalog.digest.map(|d| d.to_string()).unwrap_or_default();
    // checklist → section → controls, in the catalog's order within a section.
    let mut tree: BTreeMap<Checklist, BTreeMap<String, (String, Vec<Value>)>> = BTreeMap::new();
    let mut order: BTreeMap<Checklist, Vec<String>> = BTreeMap::new();
    for r in &catalog.requirements {
        let p = place(&r.id, r.source.as_deref());
        let sections = tree.entry(p.checklist).or_default();
        if !sections.contains_key(&p.section) {
            order
                .entry(p.checklist)
                .or_default()
                .push(p.section.clone());
        }
        sections
            .entry(p.section.clone())
            .or_insert_with(|| (p.section_title.clone(), Vec::new()))
            .1
            .push(control(r));
    }
    let groups: Vec<Value> = tree
        .into_iter()
        .map(|(list, mut sections)| {
            let mut g = json!({"id": list.id(), "class": "checklist", "title": list.title()});
            put_list(
                &mut g,
                "props",
                props([(
                    "checklist-release",
                    list.release(&about.release).unwrap_or_default(),
                )]),
            );
            let subs: Vec<Value> = order
                .get(&list)
                .into_iter()
                .flatten()
                .filter_map(|s| {
                    let (title, controls) = sections.remove(s)?;
                    Some(json!({
                        "id": token(&format!("{}-{}", list.id(), s.to_lowercase())),
                        "class": "checklist-section",
                        "title": title,
                        "controls": controls,
                    }))
                })
                .collect();
            put_list(&mut g, "groups", subs);
            g
        })
        .collect();
    let metadata = metadata(
        format!("Requirements catalog {}", name(catalog)),
        &about.version,
        props([
            ("catalog-id", about.id.clone()),
            ("checklist-release", about.release.clone()),
            ("source-digest", digest.clone()),
        ]),
    );
    let mut doc = json!({
        "uuid": uuid(&["catalog", &about.id, &about.version, &digest]),
        "metadata": metadata,
    });
    put_list(&mut doc, "groups", groups);
    json!({ "catalog": doc })
}

/// Document metadata in the catalog's version (the OSCAL `version` and `last-modified`).
fn metadata(title: String, version: &str, properties: Vec<Value>) -> Value {
    let mut m = json!({
        "title": title,
        "last-modified": version_time(version),
        "version": if version.is_empty() { "unversioned" } else { version },
        "oscal-version": OSCAL_VERSION,
    });
    put_list(&mut m, "props", properties);
    m
}

fn name(catalog: &Catalog) -> &str {
    if catalog.catalog.id.is_empty() {
        "unnamed"
    } else {
        &catalog.catalog.id
    }
}

/// The minimal assessment plan of `catalog`: it reviews every control of the catalog whose
/// JSON is `catalog_json` (linked with its SHA-256 in the back matter). OSCAL requires an
/// assessment plan to import a system security plan; this project keeps none, so
/// `import-ssp` points at a back-matter resource that says so (docs/REPORTS.md).
pub fn plan(catalog: &Catalog, catalog_json: &str) -> String {
    let about = &catalog.catalog;
    let digest = catalog.digest.map(|d| d.to_string()).unwrap_or_default();
    let ssp = uuid(&["plan-ssp", &about.id, &about.version, &digest]);
    let cat = uuid(&["plan-catalog", &about.id, &about.version, &digest]);
    let metadata = metadata(
        format!("Assessment plan: evidence for {}", name(catalog)),
        &about.version,
        props([
            ("catalog-id", about.id.clone()),
            ("source-digest", digest.clone()),
        ]),
    );
    let doc = json!({
        "assessment-plan": {
            "uuid": uuid(&["plan", &about.id, &about.version, &digest]),
            "metadata": metadata,
            "import-ssp": {"href": format!("#{ssp}")},
            "reviewed-controls": {
                "description": "Every requirement of the catalog, evaluated from the evidence store alone by `evidenced report`.",
                "control-selections": [{"include-all": {}}],
            },
            "back-matter": {"resources": [
                {
                    "uuid": ssp,
                    "title": "System under assessment",
                    "description": "The AWS accounts and regions whose evidence the store holds. No system security plan is kept by this project; a GRC tool that requires one replaces this import with its own plan.",
                },
                {
                    "uuid": cat,
                    "title": format!("OSCAL catalog {}", name(catalog)),
                    "rlinks": [{
                        "href": super::CATALOG_FILE,
                        "media-type": "application/oscal.catalog+json",
                        "hashes": [{"algorithm": "SHA-256", "value": sha256_hex(catalog_json.as_bytes())}],
                    }],
                },
            ]},
        }
    });
    pretty(&doc)
}
