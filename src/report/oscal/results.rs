//! OSCAL assessment results of one evaluation: one result for the review period, each
//! requirement as an observation (what was examined: every cited record) and a finding (its
//! status against the catalog's control), and what the report stands on (store, head,
//! verification) as metadata properties.
//!
//! Fail closed: only `pass` and `due-soon` (met now, lapsing soon) are `satisfied`;
//! `fail` and `unknown` are `not-satisfied`, with the reason `fail` or `other`.

use serde_json::{json, Value};

use super::{
    pretty, prop, props, put_list, sha256_hex, text, token, uuid, CATALOG_FILE, PLAN_FILE,
    SHIPPED_CATALOG, SHIPPED_PLAN,
};
use crate::requirements::eval::Cited;
use crate::requirements::{Evaluation, Outcome, Status};

/// `(state, reason)` of an OSCAL finding target for a status.
pub fn state(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Pass | Status::DueSoon => ("satisfied", "pass"),
        Status::Fail => ("not-satisfied", "fail"),
        Status::Unknown => ("not-satisfied", "other"),
    }
}

/// Where a cited fact lies in a store or bundle: its blob, or its record when the record
/// itself is the evidence.
pub fn blob_path(c: &Cited) -> String {
    if c.item.is_some() && c.digest != c.record_hash {
        let h = c.digest.hex();
        format!("blobs/sha256/{}/{h}", &h[..2])
    } else {
        record_path(c.seq)
    }
}

pub fn record_path(seq: u64) -> String {
    format!("chain/records/{seq:020}.json")
}

/// The inputs that name an evaluation: the same ones give the same UUIDs.
fn seed(e: &Evaluation) -> [String; 5] {
    [
        e.catalog.digest.clone(),
        e.at.clone(),
        e.from.clone(),
        e.to.clone(),
        e.basis
            .as_ref()
            .and_then(|b| b.head_hash.clone())
            .unwrap_or_else(|| "no-basis".into()),
    ]
}

fn id(e: &Evaluation, parts: &[&str]) -> String {
    let s = seed(e);
    let mut all: Vec<&str> = s.iter().map(String::as_str).collect();
    all.extend_from_slice(parts);
    uuid(&all)
}

/// The assessment results of `e`, as pretty JSON.
pub fn render(e: &Evaluation) -> String {
    pretty(&document(e))
}

fn metadata(e: &Evaluation) -> Value {
    let mut ps: Vec<(&str, String)> = Vec::new();
    match &e.basis {
        Some(b) => {
            ps.push(("store", b.store.clone()));
            ps.push(("chain-id", b.chain_id.clone().unwrap_or_default()));
            ps.push((
                "head-seq",
                b.head_seq.map(|s| s.to_string()).unwrap_or_default(),
            ));
            ps.push(("head-hash", b.head_hash.clone().unwrap_or_default()));
            ps.push(("verified", b.verified.to_string()));
            ps.push(("checkpoints", b.checkpoints.to_string()));
            ps.push((
                "vouched-seq",
                b.vouched_seq.map(|s| s.to_string()).unwrap_or_default(),
            ));
            for p in &b.problems {
                ps.push(("problem", p.clone()));
            }
            if let Some(c) = &b.checked {
                ps.push(("checked", c.clone()));
            }
            ps.push(("clock-skew", b.clock_skew.clone().unwrap_or_default()));
            ps.push(("timestamped", b.timestamped.clone().unwrap_or_default()));
            ps.push(("program", b.program.clone()));
        }
        None => ps.push(("verified", "false".into())),
    }
    ps.push(("catalog-id", e.catalog.id.clone()));
    ps.push(("catalog-version", e.catalog.version.clone()));
    ps.push(("checklist-release", e.catalog.release.clone()));
    ps.push(("catalog-digest", e.catalog.digest.clone()));
    ps.push(("evaluated-at", e.at.clone()));
    if let Some(h) = &e.horizon {
        ps.push(("horizon", h.clone()));
    }
    let (warning, _) = crate::report::header(e);
    let mut m = json!({
        "title": format!("Evidence assessment results at {}", e.at),
        "last-modified": e.at,
        "version": e.at,
        "oscal-version": super::OSCAL_VERSION,
    });
    put_list(&mut m, "props", props(ps));
    if let Some(w) = warning {
        if let Some(o) = m.as_object_mut() {
            o.insert("remarks".into(), Value::String(w));
        }
    }
    m
}

fn evidence(c: &Cited) -> Value {
    let mut description = c.label.clone();
    if let Some(d) = &c.details {
        description.push_str(" — ");
        description.push_str(d);
    }
    let mut ps = props([
        ("seq", c.seq.to_string()),
        ("record-hash", c.record_hash.to_string()),
        ("blob-digest", c.digest.to_string()),
        ("item", c.item.clone().unwrap_or_default()),
        ("fact-time", c.observed_at.clone()),
        ("recorded-time", c.recorded_at.clone()),
        ("late", c.late.to_string()),
        ("period", c.period.clone().unwrap_or_default()),
    ]);
    ps.extend(c.groups.iter().filter_map(|g| prop("group", g)));
    json!({
        "href": blob_path(c),
        "description": text(&description).unwrap_or_else(|| "cited record".into()),
        "props": ps,
        "links": [{"href": record_path(c.seq), "rel": "reference", "text": format!("record {}", c.seq)}],
    })
}

fn observation(e: &Evaluation, r: &Outcome) -> Value {
    let periods: Vec<String> = r
        .periods
        .iter()
        .map(|p| format!("{} {} ({})", p.label, p.state, p.count))
        .collect();
    let mut description = format!(
        "Examined {} cited fact(s) for {} under rule `{}`.",
        r.evidence.len(),
        r.id,
        r.rule
    );
    if !periods.is_empty() {
        description.push_str(&format!(" Periods: {}.", periods.join(", ")));
    }
    let mut o = json!({
        "uuid": id(e, &["observation", &r.id]),
        "title": format!("Evidence for {}", r.id),
        "description": description,
        "props": props([("requirement-id", r.id.clone()), ("rule", r.rule.to_string())]),
        "methods": ["EXAMINE"],
        "types": ["control-objective"],
    });
    let mut pp: Vec<Value> = Vec::new();
    for p in &r.periods {
        pp.extend(prop(
            "period",
            &format!(
                "{} {}..{} {} ({} matching{})",
                p.label,
                p.start,
                p.end,
                p.state,
                p.count,
                if p.missing.is_empty() {
                    String::new()
                } else {
                    format!("; missing {}", p.missing.join(", "))
                }
            ),
        ));
    }
    if let Some(a) = o.get_mut("props").and_then(Value::as_array_mut) {
        a.extend(pp);
    }
    put_list(
        &mut o,
        "relevant-evidence",
        r.evidence.iter().map(evidence).collect(),
    );
    if let Some(m) = o.as_object_mut() {
        m.insert("collected".into(), Value::String(e.at.clone()));
    }
    o
}

fn finding(e: &Evaluation, r: &Outcome) -> Value {
    let (state, reason) = state(r.status);
    let description = if r.findings.is_empty() {
        format!("{}: {} (no finding).", r.id, r.status.as_str())
    } else {
        r.findings.join("\n")
    };
    let tok = token(&r.id);
    let mut f = json!({
        "uuid": id(e, &["finding", &r.id]),
        "title": format!("{}: {}", r.id, r.title),
        "description": description,
        "props": props([
            ("requirement-id", r.id.clone()),
            ("status", r.status.as_str().to_string()),
            ("rule", r.rule.to_string()),
            ("source", r.source.clone().unwrap_or_default()),
            ("due", r.due.clone().unwrap_or_default()),
        ]),
        "target": {
            "type": "objective-id",
            "target-id": format!("{tok}_obj"),
            "status": {"state": state, "reason": reason},
        },
        "related-observations": [{"observation-uuid": id(e, &["observation", &r.id])}],
    });
    if r.status == Status::DueSoon {
        if let Some(m) = f.as_object_mut() {
            m.insert(
                "remarks".into(),
                Value::String(format!(
                    "Met now; the next evidence is due by {}.",
                    r.due.as_deref().unwrap_or("an unknown date")
                )),
            );
        }
    }
    f
}

/// Back-matter resources: the assessment plan the results import and the catalog, linked
/// with their SHA-256 when the evaluation applied the built-in catalog; otherwise they
/// name the catalog that was applied by its digest.
fn back_matter(e: &Evaluation) -> (String, Value) {
    let builtin =
        crate::digest::Digest::of(crate::requirements::catalog::DEFAULT_CATALOG.as_bytes())
            .to_string()
            == e.catalog.digest;
    let ap = uuid(&["results-plan", &e.catalog.digest]);
    let cat = uuid(&["results-catalog", &e.catalog.digest]);
    let rlink = |href: &str, media: &str, bytes: &str| {
        json!([{
            "href": href,
            "media-type": media,
            "hashes": [{"algorithm": "SHA-256", "value": sha256_hex(bytes.as_bytes())}],
        }])
    };
    let mut plan = json!({"uuid": ap, "title": "Assessment plan"});
    let mut catalog = json!({
        "uuid": cat,
        "title": format!("Requirements catalog {} {}", e.catalog.id, e.catalog.version),
        "props": props([("catalog-digest", e.catalog.digest.clone())]),
    });
    if let (Some(p), Some(c)) = (plan.as_object_mut(), catalog.as_object_mut()) {
        if builtin {
            p.insert(
                "rlinks".into(),
                rlink(PLAN_FILE, "application/oscal.ap+json", SHIPPED_PLAN),
            );
            c.insert(
                "rlinks".into(),
                rlink(
                    CATALOG_FILE,
                    "application/oscal.catalog+json",
                    SHIPPED_CATALOG,
                ),
            );
        } else {
            let note = "The evaluation applied a catalog other than the built-in one (see its digest); generate its OSCAL catalog and plan with the same generator to link them.";
            p.insert("description".into(), Value::String(note.into()));
            c.insert("description".into(), Value::String(note.into()));
        }
    }
    (ap, json!({"resources": [plan, catalog]}))
}

fn document(e: &Evaluation) -> Value {
    let (ap, back) = back_matter(e);
    let (warning, lines) = crate::report::header(e);
    let counts: Vec<String> = crate::report::counts(e)
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let mut description = format!(
        "Requirements evaluated at {} over the review period {} to {}: {}.",
        e.at,
        e.from,
        e.to,
        counts.join(", ")
    );
    if let Some(w) = warning {
        description = format!("WARNING: {w} {description}");
    }
    for (k, v) in &lines {
        description.push_str(&format!("\n{k}: {v}"));
    }
    let mut result = json!({
        "uuid": id(e, &["result"]),
        "title": format!("Evaluation of {} at {}", e.catalog.id, e.at),
        "description": description,
        "start": e.from,
        "end": e.to,
        "props": props(crate::report::counts(e).iter().map(|(s, n)| (*s, n.to_string()))),
    });
    let selections = if e.requirements.is_empty() {
        json!([{"include-all": {}}])
    } else {
        json!([{"include-controls": e.requirements.iter().map(|r| json!({"control-id": token(&r.id)})).collect::<Vec<_>>()}])
    };
    if let Some(m) = result.as_object_mut() {
        m.insert(
            "reviewed-controls".into(),
            json!({"control-selections": selections}),
        );
    }
    put_list(
        &mut result,
        "observations",
        e.requirements.iter().map(|r| observation(e, r)).collect(),
    );
    put_list(
        &mut result,
        "findings",
        e.requirements.iter().map(|r| finding(e, r)).collect(),
    );
    json!({"assessment-results": {
        "uuid": id(e, &["assessment-results"]),
        "metadata": metadata(e),
        "import-ap": {"href": format!("#{ap}")},
        "results": [result],
        "back-matter": back,
    }})
}
