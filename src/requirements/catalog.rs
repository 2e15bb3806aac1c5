//! The requirements catalog: TOML data, not code (config/requirements.toml).
//!
//! A requirement names a rule kind and the evidence that satisfies it. The rule kinds are
//! few on purpose so that an auditor can read the catalog and know exactly what was
//! checked (docs/FORMAT-checkpoints-bundles.md, "Catalog"):
//!
//! - `every`: at least one matching fact in every calendar `period` (quarter, month, year);
//! - `within`: the newest matching fact is at most `days` old;
//! - `present`: the latest snapshot holds at least one element and every element passes
//!   `require`;
//! - `fresh`: no collector went longer than twice its schedule (or `max_age_hours`)
//!   without a committed record.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::human::CANONICAL_MEDIA_TYPE;

mod check;

/// The default catalog, shipped in the binary so `report` works without configuration.
pub const DEFAULT_CATALOG: &str = include_str!("../../config/requirements.toml");

/// A catalog that cannot be used, naming the requirement and the key.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: requirement {id}: key `{key}`: {message}")]
    Invalid {
        file: String,
        id: String,
        key: String,
        message: String,
    },
    #[error("{file}: [settings] {key}: {message}")]
    Setting {
        file: String,
        key: String,
        message: String,
    },
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Which catalog this is, so that a report names the rules it applied.
    #[serde(default)]
    pub catalog: About,
    #[serde(default)]
    pub settings: Settings,
    #[serde(default, rename = "requirement")]
    pub requirements: Vec<Requirement>,
    /// SHA-256 of the catalog's bytes (set by [`Catalog::parse`], not read from the file).
    #[serde(skip)]
    pub digest: Option<crate::digest::Digest>,
}

/// `[catalog]`: the catalog's identity, shown at the top of every report.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct About {
    /// A stable name, e.g. `evidenced-default`.
    #[serde(default)]
    pub id: String,
    /// The catalog's own version.
    #[serde(default)]
    pub version: String,
    /// The checklist releases whose wording the rules follow, e.g. `FTR 2026-08`.
    #[serde(default)]
    pub release: String,
}

/// `[settings]`: numbers that apply to every requirement unless it overrides them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Lead time of due-soon warnings, in days.
    #[serde(default = "default_due_soon_days")]
    pub due_soon_days: u32,
    /// Evidence recorded more than this many days after the fact it claims is flagged.
    #[serde(default = "default_late_after_days")]
    pub late_after_days: u32,
    /// How far before the review period's start (or `--at`, when earlier) evaluation reads:
    /// evidence recorded before that horizon is not read. Default: [`Catalog::min_lookback_days`]
    /// plus [`LOOKBACK_MARGIN_DAYS`], at least [`DEFAULT_LOOKBACK_DAYS`].
    #[serde(default)]
    pub lookback_days: Option<u32>,
}

/// The shortest default lookback: thirteen months and a margin, past the 12-month rules.
pub const DEFAULT_LOOKBACK_DAYS: u32 = 400;
/// Added to what the rules need when the default lookback is derived from them.
pub const LOOKBACK_MARGIN_DAYS: u32 = 35;

fn default_due_soon_days() -> u32 {
    21
}

fn default_late_after_days() -> u32 {
    7
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            due_soon_days: default_due_soon_days(),
            late_after_days: default_late_after_days(),
            lookback_days: None,
        }
    }
}

/// The rule kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    Every,
    Within,
    Present,
    Fresh,
}

/// Calendar periods of an `every` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Month,
    Quarter,
    Year,
}

/// One `[[requirement]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub title: String,
    /// Where the requirement comes from (checklist and item), for the report.
    #[serde(default)]
    pub source: Option<String>,
    pub rule: RuleKind,
    /// `every`: the calendar period.
    #[serde(default)]
    pub period: Option<Period>,
    /// `within`: the maximum age of the newest matching fact.
    #[serde(default)]
    pub days: Option<u32>,
    /// `fresh`: the longest allowed gap when the collector's schedule is not configured.
    #[serde(default)]
    pub max_age_hours: Option<u32>,
    /// What one matching fact is called in findings ("successful restore test").
    #[serde(default)]
    pub what: Option<String>,
    /// Overrides `[settings] due_soon_days`.
    #[serde(default)]
    pub due_soon_days: Option<u32>,
    /// Evidence that satisfies the rule; any one matcher suffices.
    #[serde(default)]
    pub evidence: Vec<Matcher>,
    /// What must each be covered (`every`, `present`): the groups (resource types,
    /// metrics, ...) that the sources or literal `values` name. Without it the rule asks for
    /// matching evidence at all.
    #[serde(default)]
    pub expect: Vec<Source>,
    /// What one group is called in findings ("resource type").
    #[serde(default)]
    pub per: Option<String>,
    /// A passing fact must follow every major `change` record within this many days
    /// ("after significant changes", "after major updates").
    #[serde(default)]
    pub after_major_change_days: Option<u32>,
}

/// A set of facts read beside the evidence: a join (`[[requirement.evidence.join]]`,
/// bound to `name` in CEL expressions) or an expectation (`[[requirement.expect]]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Joins: the CEL variable holding the matching facts (a list).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub human: Option<String>,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub items: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub select: Select,
    #[serde(default, rename = "where")]
    pub filter: Conditions,
    /// CEL: which facts of the source are in scope (`fact`, `scope`, `at`).
    #[serde(default)]
    pub when: Option<String>,
    /// Joins: fact field = source field, compared as strings (a hash join). A path
    /// `scope.account` / `scope.region` names the record's scope.
    #[serde(default)]
    pub equal: BTreeMap<String, String>,
    /// Joins: CEL over `fact` (the evidence) and `other` (the source fact).
    #[serde(default)]
    pub on: Option<String>,
    /// Expectations: CEL giving the group(s) of a source fact (a string or a list).
    #[serde(default)]
    pub group: Option<String>,
    /// Expectations: groups named literally.
    #[serde(default)]
    pub values: Vec<String>,
}

/// A CEL check on an in-scope fact: when `test` is false the fact does not count and the
/// finding says `says` (with `{expr}` placeholders evaluated in the same context).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub test: String,
    pub says: String,
}

/// Which records a matcher reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// Every record (incremental evidence: drills, restore jobs).
    #[default]
    All,
    /// Only the latest record per scope (account, region): a snapshot of current state.
    Latest,
}

/// One `[[requirement.evidence]]`: what a matching fact looks like.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    /// Human record kind: shorthand for the human-record media type and `kind = <this>`.
    /// A drill whose `outcome` is `fail` never matches.
    #[serde(default)]
    pub human: Option<String>,
    /// Media type of the item holding the evidence document.
    #[serde(default)]
    pub media_type: Option<String>,
    /// Dotted path of an array in the document whose elements are the facts; without it
    /// the document itself is the one fact.
    #[serde(default)]
    pub items: Option<String>,
    /// Field identifying a fact across records (e.g. `restore_job_id`): the latest
    /// recorded state of each key wins.
    #[serde(default)]
    pub key: Option<String>,
    /// Field holding the time the fact refers to (RFC 3339); default: the item's
    /// `observed_at`.
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub select: Select,
    /// Which facts are in scope (all must hold).
    #[serde(default, rename = "where")]
    pub filter: Conditions,
    /// `present` rules: what every in-scope fact must satisfy. `every` and `within`
    /// rules: an in-scope fact that fails it does not count, and the finding says why.
    #[serde(default)]
    pub require: Conditions,
    /// CEL: which facts are in scope, beside `where`.
    #[serde(default)]
    pub when: Option<String>,
    /// CEL checks, beside `require`.
    #[serde(default)]
    pub check: Vec<Check>,
    /// Facts of other evidence bound as lists for `when`, `check` and `group`.
    #[serde(default)]
    pub join: Vec<Source>,
    /// CEL giving the group(s) a fact covers (see [`Requirement::expect`]).
    #[serde(default)]
    pub group: Option<String>,
    /// Field naming the calendar period the fact counts for (`2026-Q2`, `2026-07`,
    /// `2026`), instead of the period its time lies in.
    #[serde(default)]
    pub period_field: Option<String>,
    /// `present`: judge only facts whose time lies in the review period (e.g. every
    /// restore of the period against the RTO); default: all facts up to `at`.
    #[serde(default)]
    pub in_period: bool,
    /// `present`: this table must find at least one fact, or the requirement fails.
    #[serde(default)]
    pub required: bool,
    /// What one fact of this table is called, when `required` fails.
    #[serde(default)]
    pub what: Option<String>,
}

/// Conditions over dotted field paths; all must hold.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Field equals value.
    #[serde(default)]
    pub equals: BTreeMap<String, toml::Value>,
    /// Field is absent, null, or anything but the value.
    #[serde(default)]
    pub not_equals: BTreeMap<String, toml::Value>,
    /// Field equals one of the values.
    #[serde(default)]
    pub one_of: BTreeMap<String, Vec<toml::Value>>,
    /// Field is present, not null, and not an empty string, array or table.
    #[serde(default)]
    pub exists: Vec<String>,
    /// Pairs of fields whose values must differ.
    #[serde(default)]
    pub differ: Vec<[String; 2]>,
    /// Field ≤ a number, or ≤ another field when the value is a string naming it.
    #[serde(default)]
    pub at_most: BTreeMap<String, toml::Value>,
    /// Field < a number, or < another field.
    #[serde(default)]
    pub below: BTreeMap<String, toml::Value>,
}

impl Matcher {
    /// The media type this matcher reads.
    pub fn media_type(&self) -> &str {
        match (&self.media_type, &self.human) {
            (Some(m), _) => m,
            (None, Some(_)) => CANONICAL_MEDIA_TYPE,
            (None, None) => "",
        }
    }
}

impl Source {
    /// The media type this source reads.
    pub fn media_type(&self) -> &str {
        match (&self.media_type, &self.human) {
            (Some(m), _) => m,
            (None, Some(_)) => CANONICAL_MEDIA_TYPE,
            (None, None) => "",
        }
    }

    /// The source as a matcher, to find its facts.
    pub fn matcher(&self) -> Matcher {
        Matcher {
            human: self.human.clone(),
            media_type: self.media_type.clone(),
            items: self.items.clone(),
            key: self.key.clone(),
            select: self.select,
            filter: self.filter.clone(),
            when: self.when.clone(),
            ..Matcher::default()
        }
    }
}

impl Requirement {
    /// The noun used in findings.
    pub fn what(&self) -> String {
        self.what
            .clone()
            .unwrap_or_else(|| "matching evidence".to_string())
    }
}

impl Catalog {
    /// The days before the review period that the rules themselves look back: the longest
    /// `within` window plus its `after_major_change_days`, and a whole year when an
    /// `every` rule counts years (the year holding the period's start begins up to 366
    /// days before it).
    pub fn min_lookback_days(&self) -> u32 {
        self.requirements
            .iter()
            .map(|r| match (r.rule, r.period) {
                (RuleKind::Within, _) => {
                    r.days.unwrap_or(0) + r.after_major_change_days.unwrap_or(0)
                }
                (RuleKind::Every, Some(Period::Year)) => 366,
                (RuleKind::Every, Some(Period::Quarter)) => 92,
                (RuleKind::Every, _) => 31,
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// `[settings] lookback_days`, or the default derived from the rules.
    pub fn lookback_days(&self) -> u32 {
        self.settings.lookback_days.unwrap_or_else(|| {
            (self.min_lookback_days() + LOOKBACK_MARGIN_DAYS).max(DEFAULT_LOOKBACK_DAYS)
        })
    }

    /// Read and check a catalog file.
    pub fn load(path: &std::path::Path) -> Result<Catalog, CatalogError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            file: file.clone(),
            source,
        })?;
        Catalog::parse(&file, &text)
    }

    /// The built-in default catalog.
    pub fn default_catalog() -> Result<Catalog, CatalogError> {
        Catalog::parse("<built-in config/requirements.toml>", DEFAULT_CATALOG)
    }

    /// Parse `text` (named `file` in errors) and check every requirement.
    pub fn parse(file: &str, text: &str) -> Result<Catalog, CatalogError> {
        let mut catalog: Catalog = toml::from_str(text).map_err(|e| syntax(file, text, &e))?;
        catalog.check(file)?;
        catalog.digest = Some(crate::digest::Digest::of(text.as_bytes()));
        Ok(catalog)
    }
}

fn syntax(file: &str, text: &str, e: &toml::de::Error) -> CatalogError {
    let (line, column) = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            (line, column)
        }
        None => (1, 1),
    };
    let mut message = e.message().trim().to_string();
    // Name the requirement the error sits in, so a long catalog is easy to fix.
    if let Some(id) = enclosing_id(&text[..e.span().map_or(0, |s| s.start).min(text.len())]) {
        message = format!("requirement {id}: {message}");
    }
    CatalogError::Syntax {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

/// The `id` of the last `[[requirement]]` table that starts before the error.
fn enclosing_id(before: &str) -> Option<String> {
    let start = before.rfind("[[requirement]]")?;
    before[start..].lines().find_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix("id")?.trim_start().strip_prefix('=')?;
        Some(rest.trim().trim_matches('"').to_string())
    })
}
