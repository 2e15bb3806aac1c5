//! The checks a catalog must pass to load: every rule's keys, matcher kinds, bounds and
//! CEL expressions, each failure naming the requirement and the key.

use super::{Catalog, CatalogError, Conditions, RuleKind};

impl Catalog {
    pub(super) fn check(&self, file: &str) -> Result<(), CatalogError> {
        if let Some(days) = self.settings.lookback_days {
            let need = self.min_lookback_days();
            if days < need {
                return Err(CatalogError::Setting {
                    file: file.to_string(),
                    key: "lookback_days".into(),
                    message: format!(
                        "is {days}, shorter than the {need} days the rules look back (the longest `within` window with its `after_major_change_days`, or a year for a yearly `every` rule): evidence they need would not be read"
                    ),
                });
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in self.requirements.iter().enumerate() {
            let id = if r.id.is_empty() {
                format!("#{}", i + 1)
            } else {
                r.id.clone()
            };
            let bad = |key: &str, message: String| CatalogError::Invalid {
                file: file.to_string(),
                id: id.clone(),
                key: key.to_string(),
                message,
            };
            if r.id.trim().is_empty() {
                return Err(bad("id", "must not be empty".into()));
            }
            if !seen.insert(r.id.clone()) {
                return Err(bad("id", "is used by another requirement".into()));
            }
            let needs = |present: bool, key: &str| {
                if present {
                    Ok(())
                } else {
                    Err(bad(key, format!("is required by rule = {:?}", r.rule)))
                }
            };
            match r.rule {
                RuleKind::Every => needs(r.period.is_some(), "period")?,
                RuleKind::Within => {
                    needs(r.days.is_some_and(|d| d > 0), "days")?;
                }
                RuleKind::Present => {}
                RuleKind::Fresh => {
                    needs(r.max_age_hours.is_some_and(|h| h > 0), "max_age_hours")?;
                }
            }
            if r.rule != RuleKind::Every && r.period.is_some() {
                return Err(bad("period", "applies only to rule = \"every\"".into()));
            }
            if r.rule != RuleKind::Within && r.days.is_some() {
                return Err(bad("days", "applies only to rule = \"within\"".into()));
            }
            if r.rule == RuleKind::Fresh {
                if !r.evidence.is_empty() {
                    return Err(bad(
                        "evidence",
                        "rule = \"fresh\" reads the records themselves; remove the evidence tables"
                            .into(),
                    ));
                }
            } else if r.evidence.is_empty() {
                return Err(bad(
                    "evidence",
                    "at least one [[requirement.evidence]] table is required".into(),
                ));
            }
            let only = |ok: bool, key: &str, rules: &str| {
                if ok {
                    Ok(())
                } else {
                    Err(bad(key, format!("applies only to rule = {rules}")))
                }
            };
            only(
                r.expect.is_empty() || matches!(r.rule, RuleKind::Every | RuleKind::Present),
                "expect",
                "\"every\" or \"present\"",
            )?;
            only(
                r.after_major_change_days.is_none()
                    || matches!(r.rule, RuleKind::Every | RuleKind::Within),
                "after_major_change_days",
                "\"every\" or \"within\"",
            )?;
            for (j, m) in r.evidence.iter().enumerate() {
                let key = |k: &str| format!("evidence[{j}].{k}");
                source_kind(m.human.as_deref(), m.media_type.as_deref(), false)
                    .map_err(|(k, msg)| bad(&key(k), msg))?;
                only(
                    m.period_field.is_none() || r.rule == RuleKind::Every,
                    &key("period_field"),
                    "\"every\"",
                )?;
                only(
                    !(m.in_period || m.required) || r.rule == RuleKind::Present,
                    &key("in_period"),
                    "\"present\" (with `required`)",
                )?;
                only(
                    m.group.is_none() || !r.expect.is_empty(),
                    &key("group"),
                    "requirements with [[requirement.expect]]",
                )?;
                if !r.expect.is_empty() && m.group.is_none() {
                    return Err(bad(
                        &key("group"),
                        "is required: this requirement expects groups, so say which group a fact covers".into(),
                    ));
                }
                for (name, conds) in [("where", &m.filter), ("require", &m.require)] {
                    check_bounds(conds).map_err(|f| {
                        bad(
                            &key(&format!("{name}.{f}")),
                            "must be a number or the name of another field".into(),
                        )
                    })?;
                }
                let mut names = std::collections::BTreeSet::new();
                for (k, jn) in m.join.iter().enumerate() {
                    let jkey = |s: &str| key(&format!("join[{k}].{s}"));
                    let Some(n) = &jn.name else {
                        return Err(bad(
                            &jkey("name"),
                            "is required: the CEL variable the joined facts are bound to".into(),
                        ));
                    };
                    if !crate::requirements::cel::is_identifier(n)
                        || crate::requirements::cel::RESERVED.contains(&n.as_str())
                    {
                        return Err(bad(
                            &jkey("name"),
                            format!(
                                "{n:?} must be an identifier (a-z, 0-9, _) other than {}",
                                crate::requirements::cel::RESERVED.join(", ")
                            ),
                        ));
                    }
                    if !names.insert(n.clone()) {
                        return Err(bad(
                            &jkey("name"),
                            format!("{n:?} is used by another join of this evidence table"),
                        ));
                    }
                    source_kind(jn.human.as_deref(), jn.media_type.as_deref(), false)
                        .map_err(|(k, msg)| bad(&jkey(k), msg))?;
                    if jn.group.is_some() || !jn.values.is_empty() {
                        return Err(bad(
                            &jkey("group"),
                            "`group` and `values` belong in [[requirement.expect]]".into(),
                        ));
                    }
                    check_cel(&jkey("when"), jn.when.as_deref())
                        .map_err(|(k, msg)| bad(&k, msg))?;
                    check_cel(&jkey("on"), jn.on.as_deref()).map_err(|(k, msg)| bad(&k, msg))?;
                }
                check_cel(&key("when"), m.when.as_deref()).map_err(|(k, msg)| bad(&k, msg))?;
                check_cel(&key("group"), m.group.as_deref()).map_err(|(k, msg)| bad(&k, msg))?;
                for (k, c) in m.check.iter().enumerate() {
                    check_cel(&key(&format!("check[{k}].test")), Some(&c.test))
                        .map_err(|(k, msg)| bad(&k, msg))?;
                    crate::requirements::cel::Template::compile(&c.says)
                        .map_err(|msg| bad(&key(&format!("check[{k}].says")), msg))?;
                }
            }
            for (j, e) in r.expect.iter().enumerate() {
                let key = |k: &str| format!("expect[{j}].{k}");
                if e.name.is_some() || !e.equal.is_empty() || e.on.is_some() {
                    return Err(bad(
                        &key("name"),
                        "`name`, `equal` and `on` belong in joins".into(),
                    ));
                }
                let literal = !e.values.is_empty();
                source_kind(e.human.as_deref(), e.media_type.as_deref(), literal)
                    .map_err(|(k, msg)| bad(&key(k), msg))?;
                if (e.human.is_some() || e.media_type.is_some()) && e.group.is_none() {
                    return Err(bad(
                        &key("group"),
                        "is required: CEL giving the group(s) each fact names".into(),
                    ));
                }
                check_cel(&key("when"), e.when.as_deref()).map_err(|(k, msg)| bad(&k, msg))?;
                check_cel(&key("group"), e.group.as_deref()).map_err(|(k, msg)| bad(&k, msg))?;
            }
        }
        Ok(())
    }
}

/// `human` xor `media_type` (or neither when `optional`), with a known human kind.
fn source_kind(
    human: Option<&str>,
    media_type: Option<&str>,
    optional: bool,
) -> Result<(), (&'static str, String)> {
    match (human, media_type) {
        (None, None) if optional => Ok(()),
        (None, None) => Err(("media_type", "give `media_type` or `human`".into())),
        (Some(_), Some(_)) => Err((
            "human",
            "give either `human` or `media_type`, not both".into(),
        )),
        (Some(h), None) if !crate::human::ALL_KINDS.contains(&h) => Err((
            "human",
            format!(
                "unknown human record kind {h:?}; expected one of {}",
                crate::human::ALL_KINDS.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// The first `at_most` / `below` field whose bound is neither a number nor a field name.
fn check_bounds(c: &Conditions) -> Result<(), String> {
    for (field, v) in c.at_most.iter().chain(c.below.iter()) {
        if !(v.is_integer() || v.is_float() || v.is_str()) {
            return Err(field.clone());
        }
    }
    Ok(())
}

fn check_cel(key: &str, src: Option<&str>) -> Result<(), (String, String)> {
    match src {
        None => Ok(()),
        Some(s) => crate::requirements::cel::compile(s)
            .map(|_| ())
            .map_err(|e| (key.to_string(), e)),
    }
}
