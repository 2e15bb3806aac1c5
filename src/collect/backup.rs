//! `type = "backup"`: AWS Backup plans with their selections (`backup/plans.json`), vaults
//! with lock configuration and access policy (`backup/vaults.json`), protected resources
//! (`backup/protected-resources.json`), restore-testing plans and selections
//! (`backup/restore-testing.json`), report plans (`backup/report-plans.json`), and
//! backup / copy / restore jobs incrementally ([`jobs`]).

mod catalog;
pub mod jobs;
mod plans;
mod state;
mod vaults;

use super::{AwsCollector, CallLog, CollectError, Collected, Evidence, PrevState};
use super::{Problems, Target};
use crate::config::{BackupOptions, BackupPart};

use catalog::{protected, report_plans, restore_testing};
pub use catalog::{
    Protected, ProtectedDoc, ReportPlan, ReportPlansDoc, RestoreTestingDoc, RestoreTestingPlan,
    RestoreTestingSelection,
};
use plans::plans;
pub use plans::{CopyAction, Lifecycle, Plan, PlansDoc, Rule, Selection, TagCondition};
use vaults::vaults;
pub use vaults::{Vault, VaultsDoc};

impl AwsCollector for BackupOptions {
    fn state_items(&self) -> &'static [&'static str] {
        &[jobs::STATE]
    }

    async fn collect(
        &self,
        target: &Target,
        prev: &PrevState,
        log: &CallLog,
    ) -> Result<Collected, CollectError> {
        let p = Problems::new(Some(target.region.clone()));
        let has = |part| self.include.contains(&part);
        let (plans, vaults, protected, testing, reports, jobs) = futures::join!(
            async {
                if has(BackupPart::Plans) {
                    plans(target, log, &p, has(BackupPart::Selections)).await
                } else {
                    None
                }
            },
            async {
                if has(BackupPart::Vaults) {
                    vaults(target, log, &p, has(BackupPart::VaultPolicies)).await
                } else {
                    None
                }
            },
            async {
                if has(BackupPart::ProtectedResources) {
                    protected(target, log, &p).await
                } else {
                    None
                }
            },
            async {
                if has(BackupPart::RestoreTesting) {
                    restore_testing(target, log, &p).await
                } else {
                    None
                }
            },
            async {
                if has(BackupPart::ReportPlans) {
                    report_plans(target, log, &p).await
                } else {
                    None
                }
            },
            async {
                if has(BackupPart::Jobs) {
                    Some(jobs::collect(self, target, prev, log, &p).await)
                } else {
                    None
                }
            },
        );
        let now = super::observed_now();
        let mut out = Collected::default();
        if let Some(d) = plans {
            out.evidence
                .push(Evidence::json("backup/plans.json", &d, now)?);
        }
        if let Some(d) = vaults {
            out.evidence
                .push(Evidence::json("backup/vaults.json", &d, now)?);
        }
        if let Some(d) = protected {
            out.evidence
                .push(Evidence::json("backup/protected-resources.json", &d, now)?);
        }
        if let Some(d) = testing {
            out.evidence
                .push(Evidence::json("backup/restore-testing.json", &d, now)?);
        }
        if let Some(d) = reports {
            out.evidence
                .push(Evidence::json("backup/report-plans.json", &d, now)?);
        }
        if let Some(j) = jobs {
            // Written to spools as the sorted listings are read (file I/O, off the runtime).
            let j = j?;
            match tokio::task::spawn_blocking(move || j.into_streamed(now)).await {
                Ok(Ok(docs)) => out.streamed.extend(docs),
                Ok(Err(e)) => p.add(&e.to_call_error("backup job documents")),
                Err(e) => p.add(&super::CallError {
                    operation: "evidenced:spool".into(),
                    code: None,
                    message: format!("writing the backup job documents failed: {e}"),
                }),
            }
        }
        out.errors = p.take();
        Ok(out)
    }
}
