//! Per-kind validation: which fields each kind takes, which are required, and the canonical
//! form each produces (docs/FORMAT.md, "Human records", lists the shapes).

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::fields::{fmt_time, strings, Fields};
use super::names;
use super::{InputError, ALL_KINDS};

/// Kind, id, observed time and the canonical form (without `body` and `source`).
pub type Validated = (String, String, OffsetDateTime, Map<String, Value>);

pub fn validate(
    file: &str,
    doc: Map<String, Value>,
    now: OffsetDateTime,
) -> Result<Validated, InputError> {
    let mut f = Fields::new(file, &doc, now);
    let kind = f.enum_str("kind", ALL_KINDS)?;
    let id = f.id("id")?;
    let mut out = Map::new();
    out.insert("kind".into(), Value::String(kind.clone()));
    out.insert("id".into(), Value::String(id.clone()));
    let observed_at = match kind.as_str() {
        "objective" => objective(&mut f, &mut out)?,
        "access-review" => access_review(&mut f, &mut out, now)?,
        "change" => change(&mut f, &mut out)?,
        "public-bucket-allowlist" | "data-classification" | "backup-scope" => {
            declaration(&mut f, &mut out, &kind)?
        }
        _ => drill(&mut f, &mut out, &kind)?,
    };
    f.copy_str_list(&mut out, "references", 0)?;
    f.copy_str(&mut out, "notes", false)?;
    f.reject_unknown()?;
    Ok((kind, id, observed_at, out))
}

fn put_time(out: &mut Map<String, Value>, key: &str, t: OffsetDateTime) {
    out.insert(key.into(), Value::String(fmt_time(t)));
}

/// An optional list that is always present in the canonical form (empty when not given).
fn always_list(
    f: &mut Fields,
    out: &mut Map<String, Value>,
    key: &'static str,
    min: usize,
    check: impl Fn(&str) -> Result<String, String>,
) -> Result<Vec<String>, InputError> {
    let list = f.list(key, min, check)?.unwrap_or_default();
    out.insert(key.into(), strings(list.clone()));
    Ok(list)
}

fn objective(f: &mut Fields, out: &mut Map<String, Value>) -> Result<OffsetDateTime, InputError> {
    f.copy_str(out, "workload", true)?;
    f.copy_minutes(out, "rto_minutes", true)?;
    f.copy_minutes(out, "rpo_minutes", true)?;
    f.copy_str(out, "owner", true)?;
    let approved = f.time("approved_at")?;
    put_time(out, "approved_at", approved);
    f.copy_str_list(out, "participants", 0)?;
    // Scope: both empty means every resource.
    always_list(f, out, "resource_types", 0, names::backup_resource_type)?;
    always_list(f, out, "resources", 0, names::resource)?;
    Ok(approved)
}

fn access_review(
    f: &mut Fields,
    out: &mut Map<String, Value>,
    now: OffsetDateTime,
) -> Result<OffsetDateTime, InputError> {
    let (quarter, start, end) = f.quarter("quarter")?;
    out.insert("quarter".into(), Value::String(quarter));
    put_time(out, "period_start", start);
    put_time(out, "period_end", end);
    f.copy_str(out, "reviewer", true)?;
    f.copy_decisions(out, "decisions")?;
    Ok(match f.opt_time("reviewed_at")? {
        Some(t) => {
            put_time(out, "reviewed_at", t);
            t
        }
        None => now,
    })
}

fn change(f: &mut Fields, out: &mut Map<String, Value>) -> Result<OffsetDateTime, InputError> {
    let at = f.time("at")?;
    put_time(out, "at", at);
    f.copy_str(out, "summary", true)?;
    let major = f.bool("major")?;
    out.insert("major".into(), Value::Bool(major));
    let workload = f.opt_str("workload")?;
    let scope = f.opt_str("scope")?;
    if workload.is_none() && scope.is_none() {
        return Err(f.error(
            "workload",
            "is required: add `workload` (the workload changed) or `scope` (what the change covers), or both",
        ));
    }
    for (k, v) in [("workload", workload), ("scope", scope)] {
        if let Some(v) = v {
            out.insert(k.into(), Value::String(v));
        }
    }
    f.copy_str_list(out, "participants", 0)?;
    Ok(at)
}

/// Reviewed exceptions and declarations: a reviewer, when reviewed, when it expires.
fn declaration(
    f: &mut Fields,
    out: &mut Map<String, Value>,
    kind: &str,
) -> Result<OffsetDateTime, InputError> {
    f.copy_str(out, "reviewer", true)?;
    let reviewed = f.time("reviewed_at")?;
    let expires = f.any_time("expires_at")?;
    if expires <= reviewed {
        return Err(f.error(
            "expires_at",
            format!(
                "must be after reviewed_at ({} is not after {})",
                fmt_time(expires),
                fmt_time(reviewed)
            ),
        ));
    }
    put_time(out, "reviewed_at", reviewed);
    put_time(out, "expires_at", expires);
    match kind {
        "public-bucket-allowlist" => {
            always_list(f, out, "buckets", 1, names::bucket)?;
            f.copy_str(out, "reason", true)?;
        }
        "data-classification" => {
            let sensitive = always_list(f, out, "sensitive", 1, names::store)?;
            let not = always_list(f, out, "not_sensitive", 0, names::store)?;
            if let Some((i, s)) = not.iter().enumerate().find(|(_, s)| sensitive.contains(s)) {
                return Err(f.error(
                    &format!("not_sensitive[{i}]"),
                    format!("{s:?} is also listed in sensitive; list it in one of the two"),
                ));
            }
        }
        _ => {
            always_list(f, out, "resource_types", 1, names::backup_resource_type)?;
            always_list(f, out, "resources", 0, names::resource)?;
        }
    }
    Ok(reviewed)
}

fn drill(
    f: &mut Fields,
    out: &mut Map<String, Value>,
    kind: &str,
) -> Result<OffsetDateTime, InputError> {
    let started = f.time("started_at")?;
    let ended = f.time("ended_at")?;
    if ended <= started {
        return Err(f.error(
            "ended_at",
            format!(
                "must be after started_at ({} is not after {})",
                fmt_time(ended),
                fmt_time(started)
            ),
        ));
    }
    put_time(out, "started_at", started);
    put_time(out, "ended_at", ended);
    f.copy_outcome(out, "outcome")?;
    f.copy_str_list(out, "participants", 1)?;
    f.copy_str(out, "scenario", kind != "restore-test")?;
    let failover = matches!(kind, "az-failover" | "region-failover");
    f.copy_objectives(out, "targets", failover)?;
    f.copy_objectives(out, "achieved", failover)?;
    if kind == "restore-test" {
        restore_test(f, out)?;
    }
    if kind == "region-failover" {
        let source = f.region("source_region")?;
        let target = f.region("target_region")?;
        if source == target {
            return Err(f.error(
                "target_region",
                format!(
                    "must differ from source_region (both are {source:?}): a region-failover recovers into another region"
                ),
            ));
        }
        out.insert("source_region".into(), Value::String(source));
        out.insert("target_region".into(), Value::String(target));
    }
    Ok(ended)
}

/// What was restored (`references`, `resources`, `resource_types`: at least one) and what
/// was verified (`checks`, at least one). A single `resource_type` is normalised into
/// `resource_types`.
fn restore_test(f: &mut Fields, out: &mut Map<String, Value>) -> Result<(), InputError> {
    match f.list("checks", 0, |s| Ok(s.to_string()))? {
        Some(checks) if !checks.is_empty() => {
            out.insert("checks".into(), strings(checks));
        }
        _ => {
            return Err(f.error(
                "checks",
                "is required: list at least 1 thing verified on the restored resource (e.g. checks = [\"row counts match the source\"])",
            ))
        }
    }
    let single = f.opt_checked("resource_type", names::backup_resource_type)?;
    let many = f.list("resource_types", 0, names::backup_resource_type)?;
    let types = match (single, many) {
        (Some(_), Some(_)) => {
            return Err(f.error(
                "resource_type",
                "give resource_type or resource_types, not both",
            ))
        }
        (Some(t), None) => vec![t],
        (None, many) => many.unwrap_or_default(),
    };
    out.insert("resource_types".into(), strings(types.clone()));
    let resources = always_list(f, out, "resources", 0, names::resource)?;
    let references = f.list("references", 0, |s| Ok(s.to_string()))?;
    if types.is_empty() && resources.is_empty() && references.is_none_or(|r| r.is_empty()) {
        return Err(f.error(
            "references",
            "a restore-test must name what it restored: add `references` (e.g. the restore job ARN), `resources` (ARNs or ids) or `resource_types` (e.g. [\"RDS\"])",
        ));
    }
    Ok(())
}
