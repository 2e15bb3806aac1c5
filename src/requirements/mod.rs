//! Requirements: a catalog of rules over the stored evidence (config/requirements.toml),
//! evaluated as a pure function of (catalog, evidence, time).
//!
//! - [`catalog`]: the TOML catalog and its checks;
//! - [`periods`]: calendar months, quarters and years;
//! - [`evidence`]: loading store contents once; `facts` finds a matcher's facts in them,
//!   each distinct extraction once per evaluation;
//!   [`loaded`] keeps them between evaluations and reads only records committed since;
//!   both read from the evaluation's horizon ([`eval::Window::horizon`]) on, and
//!   `horizon_tests` holds what that costs and what it may never change;
//! - [`conditions`]: field conditions (`equals`, `one_of`, `at_most`, ...);
//! - [`cel`]: CEL expressions of catalog rules (joins, checks, groups); `aws_schedule`
//!   adds `schedule_minutes(expr)` for AWS Backup schedules;
//! - [`judge`]: a matcher's CEL part applied to its facts, and expected groups;
//! - [`eval`]: the entry point and the result types; [`rules`] holds `every`, `within`
//!   and `present`, `changes` the "after major changes" check, `fresh` its own rule;
//! - [`basis`]: what a report stands on (store, head, verification, program).

mod aws_schedule;
pub mod basis;
pub mod catalog;
pub mod cel;
mod changes;
pub mod conditions;
pub mod eval;
pub mod evidence;
mod facts;
mod fresh;
#[cfg(test)]
mod horizon_tests;
pub mod judge;
pub mod loaded;
pub mod periods;
mod rules;

pub use basis::Basis;

pub use catalog::{Catalog, CatalogError};
pub use eval::{evaluate, Evaluation, Options, Outcome, Status, Window};
pub use evidence::Evidence;

/// The numbers the daemon publishes per requirement (CloudWatch metrics).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub requirement: String,
    /// Days from the evaluation time to the due date; negative when overdue; `None` when
    /// the rule has no due date (e.g. `present`).
    pub days_until_due: Option<f64>,
    /// 1 when the requirement fails, else 0.
    pub failing: f64,
}

/// Turn an evaluation into per-requirement metric values.
pub fn metrics(e: &Evaluation) -> Vec<Metric> {
    e.requirements
        .iter()
        .map(|o| Metric {
            requirement: o.id.clone(),
            days_until_due: o.days_until_due,
            failing: if o.status == Status::Fail { 1.0 } else { 0.0 },
        })
        .collect()
}
