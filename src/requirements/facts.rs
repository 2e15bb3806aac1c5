//! Finding a matcher's facts in the evidence of one evaluation ([`View`], [`find`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;

use super::catalog::{Matcher, Select};
use super::conditions::{first_failure, lookup};
use super::evidence::{Evidence, EvidenceRecord};
use crate::digest::Digest;
use crate::human::CANONICAL_MEDIA_TYPE;
use crate::record::Scope;

/// One matching fact, with where it came from.
#[derive(Debug, Clone)]
pub struct Fact {
    pub seq: u64,
    pub record_hash: Digest,
    pub item: String,
    pub digest: Digest,
    /// The time the fact refers to.
    pub observed_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
    /// Short name for findings: `restore-test restore-2026-q3`, `restore job 8F1E2D`.
    pub label: String,
    pub value: Value,
    /// The record's scope (account, region).
    pub scope: Scope,
    /// Why an in-scope fact does not count (a failed `require` or check, a failed drill).
    pub rejected: Option<String>,
    /// The groups the fact covers (requirements with `expect`).
    pub groups: Vec<String>,
    /// The calendar period the fact names (`period_field`), e.g. `2026-Q2`.
    pub period: Option<String>,
    /// What its evidence table calls one fact (`what`), for findings.
    pub noun: Option<String>,
}

impl Fact {
    /// `111122223333/us-east-1`, or empty for evidence without a scope.
    pub fn place(&self) -> String {
        place(&self.scope)
    }
}

/// A scope in words: `account/region`, either part left out when absent.
pub fn place(s: &Scope) -> String {
    match (&s.account, &s.region) {
        (Some(a), Some(r)) => format!("{a}/{r}"),
        (Some(a), None) => a.clone(),
        (None, Some(r)) => r.clone(),
        (None, None) => String::new(),
    }
}

/// What a matcher found, and what it could not read.
#[derive(Debug, Default)]
pub struct Found {
    pub facts: Vec<Fact>,
    /// Whether any item of the media type was recorded at all.
    pub any_item: bool,
    /// Evidence that could not be read (missing blob, not JSON).
    pub unreadable: Vec<String>,
    /// What `required` tables found none of.
    pub absent: Vec<String>,
    /// Records holding evidence of the matcher recorded after the evaluation time.
    pub after: Vec<u64>,
}

fn is_drill(kind: &str) -> bool {
    crate::human::DRILL_KINDS.contains(&kind)
}

/// One evaluation's view of the evidence: its records indexed by media type, and what each
/// distinct extraction found, so that the matchers, joins and expected groups of a catalog
/// that read the same documents (three requirements read the restore jobs) parse each of
/// them once. It is made for one [`super::evaluate`] and dropped with it: the evidence it
/// borrows cannot change under it.
pub struct View<'a> {
    ev: &'a Evidence,
    /// (record index, item index) of every item, by media type, in sequence order.
    by_media: HashMap<&'a str, Vec<(usize, usize)>>,
    extracted: Mutex<HashMap<String, Arc<Extracted>>>,
}

/// The facts of one document, each with its key.
type ItemFacts = Vec<(Option<String>, Fact)>;

/// Documents parsed in parallel at a time.
const PARSE_BATCH: usize = 256;

/// The facts of one extraction (media type, human kind, items, key, time, selection and
/// cutoff), before a matcher's `where`, `require` and `what`.
struct Extracted {
    /// Sorted by (time, seq); `rejected` is set only for a failed drill.
    facts: Vec<Fact>,
    any_item: bool,
    unreadable: Vec<String>,
    after: Vec<u64>,
}

impl<'a> View<'a> {
    pub fn new(ev: &'a Evidence) -> View<'a> {
        let mut by_media: HashMap<&'a str, Vec<(usize, usize)>> = HashMap::new();
        for (ri, r) in ev.records.iter().enumerate() {
            for (ii, item) in r.record.items.iter().enumerate() {
                by_media
                    .entry(item.media_type.as_str())
                    .or_default()
                    .push((ri, ii));
            }
        }
        View {
            ev,
            by_media,
            extracted: Mutex::new(HashMap::new()),
        }
    }

    fn extract(&self, m: &Matcher, cutoff: OffsetDateTime) -> Arc<Extracted> {
        let key = format!(
            "{}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{}",
            m.media_type(),
            m.human,
            m.items,
            m.key,
            m.time,
            m.select,
            m.period_field,
            cutoff.unix_timestamp_nanos()
        );
        let mut memo = self
            .extracted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            memo.entry(key)
                .or_insert_with(|| Arc::new(extract(m, self, cutoff))),
        )
    }
}

impl std::ops::Deref for View<'_> {
    type Target = Evidence;
    fn deref(&self) -> &Evidence {
        self.ev
    }
}

/// Facts of `m` among records recorded at or before `cutoff`.
pub fn find(m: &Matcher, ev: &View, cutoff: OffsetDateTime) -> Found {
    let x = ev.extract(m, cutoff);
    let mut found = Found {
        any_item: x.any_item,
        unreadable: x.unreadable.clone(),
        after: x.after.clone(),
        ..Found::default()
    };
    for f in &x.facts {
        if first_failure(&m.filter, &f.value).is_some() {
            continue;
        }
        let mut fact = f.clone();
        if fact.rejected.is_none() {
            fact.rejected = first_failure(&m.require, &fact.value);
        }
        fact.noun = m.what.clone();
        found.facts.push(fact);
    }
    found
}

/// The facts of `m`'s extraction (see [`Extracted`]).
fn extract(m: &Matcher, view: &View, cutoff: OffsetDateTime) -> Extracted {
    let ev = view.ev;
    let media = m.media_type();
    let mut x = Extracted {
        facts: Vec::new(),
        any_item: false,
        unreadable: Vec::new(),
        after: Vec::new(),
    };
    // (record index, item index) of every item of the media type.
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for &(ri, ii) in view.by_media.get(media).map_or(&[][..], Vec::as_slice) {
        let r = &ev.records[ri];
        if let Some(h) = &m.human {
            if &r.record.kind != h {
                continue;
            }
        }
        if r.record.recorded_at > cutoff {
            // Not known at the evaluation time: said, never silently dropped.
            x.after.push(r.seq);
            continue;
        }
        hits.push((ri, ii));
    }
    x.any_item = !hits.is_empty();
    if m.select == Select::Latest {
        let mut latest: BTreeMap<(Option<String>, Option<String>), (usize, usize)> =
            BTreeMap::new();
        for (ri, ii) in hits {
            let Scope { account, region } = ev.records[ri].record.scope.clone();
            latest.insert((account, region), (ri, ii));
        }
        hits = latest.into_values().collect();
        hits.sort();
    }
    // Each document is parsed and turned into facts on every core, a batch at a time (so
    // that no more than a batch's superseded states are held); they are then taken in
    // sequence order, so the latest recorded state per scope and key wins (the same name
    // in two accounts or regions is two facts).
    let mut keyed: BTreeMap<(Option<String>, Option<String>, String), Fact> = BTreeMap::new();
    let mut unkeyed: Vec<Fact> = Vec::new();
    for batch in hits.chunks(PARSE_BATCH) {
        let per_item: Vec<Result<ItemFacts, String>> = batch
            .par_iter()
            .map(|&(ri, ii)| item_facts(m, &ev.records[ri], ii, ev))
            .collect();
        for facts in per_item {
            let facts = match facts {
                Ok(f) => f,
                Err(why) => {
                    x.unreadable.push(why);
                    continue;
                }
            };
            for (key, fact) in facts {
                match key {
                    Some(k) => {
                        let (account, region) =
                            (fact.scope.account.clone(), fact.scope.region.clone());
                        keyed.insert((account, region, k), fact);
                    }
                    None => unkeyed.push(fact),
                }
            }
        }
    }
    for mut fact in unkeyed.into_iter().chain(keyed.into_values()) {
        if fact.value.is_null() {
            continue;
        }
        if media == CANONICAL_MEDIA_TYPE {
            let kind = lookup(&fact.value, "kind").and_then(Value::as_str);
            if let Some(h) = &m.human {
                if kind != Some(h.as_str()) {
                    continue;
                }
            }
            // A failed drill never satisfies a requirement, whatever the catalog says.
            if kind.is_some_and(is_drill) {
                let outcome = lookup(&fact.value, "outcome").and_then(Value::as_str);
                if outcome != Some("pass") {
                    fact.rejected = Some(format!(
                        "its outcome is {}",
                        outcome.unwrap_or("not recorded")
                    ));
                }
            }
        }
        x.facts.push(fact);
    }
    x.facts.sort_by_key(|f| (f.observed_at, f.seq));
    x
}

/// The facts of item `ii` of record `r`, each with its key, in the document's order; or
/// why the document cannot be read.
fn item_facts(
    m: &Matcher,
    r: &EvidenceRecord,
    ii: usize,
    ev: &Evidence,
) -> Result<ItemFacts, String> {
    let item = &r.record.items[ii];
    let Some(bytes) = ev.blobs.get(&item.digest) else {
        return Err(format!(
            "record {} item {} ({}) is not available",
            r.seq, item.name, item.digest
        ));
    };
    let mut doc: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("record {} item {} is not JSON: {e}", r.seq, item.name))?;
    let elements: Vec<Value> = match &m.items {
        None => vec![doc],
        Some(path) => match lookup_mut(&mut doc, path) {
            Some(Value::Array(a)) => std::mem::take(a),
            _ => {
                return Err(format!(
                    "record {} item {}: `{path}` is not an array",
                    r.seq, item.name
                ))
            }
        },
    };
    let place = place(&r.record.scope);
    let mut out = Vec::with_capacity(elements.len());
    for value in elements {
        let key = m
            .key
            .as_deref()
            .and_then(|k| lookup(&value, k))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string));
        let observed_at = match &m.time {
            None => Some(item.observed_at),
            Some(field) => lookup(&value, field).and_then(Value::as_str).and_then(|s| {
                OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
            }),
        };
        let period = m
            .period_field
            .as_deref()
            .and_then(|f| lookup(&value, f))
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut label = label(m, &value, key.as_deref(), &item.name);
        if m.human.is_none() && !place.is_empty() {
            label = format!("{label} ({place})");
        }
        let fact = Fact {
            seq: r.seq,
            record_hash: r.hash,
            item: item.name.clone(),
            digest: item.digest,
            // A fact without its time cannot place itself in a period; it is dropped by
            // the caller.
            observed_at: observed_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            recorded_at: r.record.recorded_at,
            label,
            value: if observed_at.is_some() {
                value
            } else {
                Value::Null
            },
            scope: r.record.scope.clone(),
            rejected: None,
            groups: Vec::new(),
            period,
            noun: None,
        };
        out.push((key, fact));
    }
    Ok(out)
}

fn lookup_mut<'v>(v: &'v mut Value, path: &str) -> Option<&'v mut Value> {
    path.split('.').try_fold(v, |v, seg| v.get_mut(seg))
}

fn label(m: &Matcher, v: &Value, key: Option<&str>, item: &str) -> String {
    if let Some(h) = &m.human {
        let id = lookup(v, "id").and_then(Value::as_str).unwrap_or("?");
        return format!("{h} {id}");
    }
    match (key, &m.key) {
        // `restore_job_id` → "restore job <id>"; other keys (names, ARNs) speak for themselves.
        (Some(k), Some(field)) if field.ends_with("_id") => {
            format!("{} {k}", field.trim_end_matches("_id").replace('_', " "))
        }
        (Some(k), Some(_)) => k.to_string(),
        _ => item.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::record::{Item, Provenance, Record, Status};
    use crate::requirements::evidence::EvidenceRecord;
    use crate::requirements::{evaluate, Catalog, Options, Window};

    const JOBS: &str = "application/vnd.evidenced.aws.backup.restore-jobs+json";

    /// Two restore-jobs documents recorded a day apart: job `a` is completed in both (the
    /// later state wins under a key), job `b` failed.
    fn evidence() -> Evidence {
        let mut ev = Evidence::default();
        for (day, a_status) in [(1, "RUNNING"), (2, "COMPLETED")] {
            let t = datetime!(2026-06-01 0:00 UTC) + time::Duration::days(day);
            let stamp = crate::human::fmt_time(t);
            let doc = json!({"restore_jobs": [
                {"restore_job_id": "a", "status": a_status, "completion_date": stamp, "validation_status": "SUCCESSFUL"},
                {"restore_job_id": "b", "status": "FAILED", "completion_date": stamp},
            ]});
            let bytes = serde_json::to_vec(&doc).unwrap();
            let digest = Digest::of(&bytes);
            ev.blobs.insert(digest, bytes);
            let seq = ev.records.len() as u64 + 1;
            let record = Record {
                format: crate::record::FORMAT_VERSION,
                seq,
                prev: ev.records.last().map_or(Digest::ZERO, |r| r.hash),
                recorded_at: t,
                collector: "backup".into(),
                kind: "backup".into(),
                scope: Scope::default(),
                status: Status::Complete,
                errors: Vec::new(),
                items: vec![Item {
                    name: "backup/restore-jobs.json".into(),
                    digest,
                    size: 0,
                    media_type: JOBS.into(),
                    observed_at: t,
                }],
                provenance: Provenance {
                    program: "test".into(),
                    writer_nonce: seq.to_string(),
                    caller_arn: None,
                    api_calls: Vec::new(),
                },
            };
            let hash = Digest::of_record(&record.to_bytes().unwrap());
            ev.records.push(EvidenceRecord { seq, hash, record });
        }
        ev
    }

    /// A `present` requirement over the restore jobs, with the given table lines.
    fn requirement(id: &str, table: &str) -> String {
        format!(
            "[[requirement]]\nid = \"{id}\"\ntitle = \"{id}\"\nrule = \"present\"\n[[requirement.evidence]]\nmedia_type = \"{JOBS}\"\nitems = \"restore_jobs\"\n{table}\n"
        )
    }

    const TABLES: [(&str, &str); 4] = [
        (
            "KEYED-COMPLETED",
            "key = \"restore_job_id\"\nwhat = \"completed job\"\nwhere = { equals = { status = \"COMPLETED\" } }",
        ),
        (
            "KEYED-ALL",
            "key = \"restore_job_id\"\nrequire = { equals = { validation_status = \"SUCCESSFUL\" } }",
        ),
        ("UNKEYED", "require = { equals = { status = \"COMPLETED\" } }"),
        (
            "TIMED",
            "time = \"completion_date\"\nin_period = true",
        ),
    ];

    fn catalog(ids: &[(&str, &str)]) -> Catalog {
        let mut text = String::from("[catalog]\nid = \"t\"\nversion = \"1\"\n");
        for (id, table) in ids {
            text.push_str(&requirement(id, table));
        }
        Catalog::parse("t.toml", &text).unwrap()
    }

    #[test]
    fn requirements_that_read_the_same_documents_each_get_their_own_facts() {
        let ev = evidence();
        let w = Window {
            at: datetime!(2026-06-10 0:00 UTC),
            from: datetime!(2026-06-02 12:00 UTC),
            to: datetime!(2026-06-10 0:00 UTC),
        };
        let opts = Options::default();
        // All four in one evaluation (one view, the documents parsed once) ...
        let together = evaluate(&catalog(&TABLES), &ev, w, &opts);
        // ... give what each gives alone.
        for (i, t) in TABLES.iter().enumerate() {
            let alone = evaluate(&catalog(&[*t]), &ev, w, &opts);
            assert_eq!(
                serde_json::to_value(&together.requirements[i]).unwrap(),
                serde_json::to_value(&alone.requirements[0]).unwrap(),
                "{}",
                t.0
            );
        }
        let facts = |i: usize| -> Vec<String> {
            together.requirements[i]
                .evidence
                .iter()
                .map(|c| format!("{} {}", c.seq, c.label))
                .collect()
        };
        // Keyed: the later state of `a` only; its `where` drops `b`.
        assert_eq!(facts(0), ["2 restore job a"]);
        // Keyed without `where`: both jobs, `b` rejected by `require`.
        assert_eq!(facts(1), ["2 restore job a", "2 restore job b"]);
        assert_eq!(
            together.requirements[1].status,
            crate::requirements::Status::Fail
        );
        // Without a key every element of both documents is a fact: three of the four are
        // not completed.
        let unkeyed = &together.requirements[2];
        assert_eq!(unkeyed.findings.len(), 3, "{:?}", unkeyed.findings);
        assert!(
            unkeyed.findings[0].contains("\"RUNNING\""),
            "{:?}",
            unkeyed.findings
        );
        // Timed by completion and in the period: the jobs of day 2 only (cited once per
        // document), none of record 1.
        assert_eq!(facts(3), ["2 backup/restore-jobs.json"]);
    }
}
