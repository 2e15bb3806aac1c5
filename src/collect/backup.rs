//! `type = "backup"`: AWS Backup plans with their selections (`backup/plans.json`), vaults
//! with lock configuration and access policy (`backup/vaults.json`), protected resources
//! (`backup/protected-resources.json`), restore-testing plans and selections
//! (`backup/restore-testing.json`), report plans (`backup/report-plans.json`), and
//! backup / copy / restore jobs incrementally ([`jobs`]).

pub mod jobs;
mod state;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::doc::ts_opt;
use super::{AwsCollector, CallLog, CollectError, Collected, Evidence, PrevState};
use super::{Problems, Target};
use crate::config::{BackupOptions, BackupPart};

#[derive(Debug, Serialize)]
pub struct PlansDoc {
    pub account: String,
    pub region: String,
    pub plans: Vec<Plan>,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub id: String,
    pub arn: Option<String>,
    pub name: Option<String>,
    pub version_id: Option<String>,
    pub creation_date: Option<String>,
    pub rules: Vec<Rule>,
    /// Absent when selections were not collected.
    pub selections: Option<Vec<Selection>>,
}

#[derive(Debug, Serialize)]
pub struct Rule {
    pub name: String,
    pub id: Option<String>,
    pub target_vault: String,
    pub schedule_expression: Option<String>,
    pub schedule_expression_timezone: Option<String>,
    pub start_window_minutes: Option<i64>,
    pub completion_window_minutes: Option<i64>,
    pub enable_continuous_backup: Option<bool>,
    pub lifecycle: Option<Lifecycle>,
    pub copy_actions: Vec<CopyAction>,
}

#[derive(Debug, Serialize)]
pub struct Lifecycle {
    pub move_to_cold_storage_after_days: Option<i64>,
    pub delete_after_days: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct CopyAction {
    pub destination_vault_arn: String,
    pub lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Serialize)]
pub struct Selection {
    pub id: String,
    pub name: Option<String>,
    pub iam_role_arn: Option<String>,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    pub tag_conditions: Vec<TagCondition>,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct TagCondition {
    pub condition_type: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct VaultsDoc {
    pub account: String,
    pub region: String,
    pub vaults: Vec<Vault>,
}

#[derive(Debug, Serialize)]
pub struct Vault {
    pub name: String,
    pub arn: Option<String>,
    pub vault_type: Option<String>,
    pub creation_date: Option<String>,
    pub encryption_key_arn: Option<String>,
    /// Vault Lock: whether it is locked, the retention bounds, and when it became immutable.
    pub locked: Option<bool>,
    pub min_retention_days: Option<i64>,
    pub max_retention_days: Option<i64>,
    pub lock_date: Option<String>,
    /// The access policy document, parsed; absent when the vault has none or policies
    /// were not collected.
    pub access_policy: Option<serde_json::Value>,
}

#[derive(Debug, Serialize)]
pub struct ProtectedDoc {
    pub account: String,
    pub region: String,
    pub resources: Vec<Protected>,
}

#[derive(Debug, Serialize)]
pub struct Protected {
    pub resource_arn: String,
    pub resource_type: Option<String>,
    pub resource_name: Option<String>,
    pub last_backup_time: Option<String>,
    pub last_backup_vault_arn: Option<String>,
    pub last_recovery_point_arn: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RestoreTestingDoc {
    pub account: String,
    pub region: String,
    pub plans: Vec<RestoreTestingPlan>,
}

#[derive(Debug, Serialize)]
pub struct RestoreTestingPlan {
    pub name: String,
    pub arn: String,
    pub schedule_expression: String,
    pub schedule_expression_timezone: Option<String>,
    pub start_window_hours: i32,
    pub creation_time: String,
    pub selections: Vec<RestoreTestingSelection>,
}

#[derive(Debug, Serialize)]
pub struct RestoreTestingSelection {
    pub name: String,
    pub protected_resource_type: String,
    pub iam_role_arn: String,
    pub validation_window_hours: i32,
}

#[derive(Debug, Serialize)]
pub struct ReportPlansDoc {
    pub account: String,
    pub region: String,
    pub report_plans: Vec<ReportPlan>,
}

#[derive(Debug, Serialize)]
pub struct ReportPlan {
    pub name: String,
    pub arn: Option<String>,
    pub description: Option<String>,
    pub report_template: Option<String>,
    pub framework_arns: Vec<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub s3_bucket_name: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub formats: Vec<String>,
    pub deployment_status: Option<String>,
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn lifecycle(l: Option<&aws_sdk_backup::types::Lifecycle>) -> Option<Lifecycle> {
    l.map(|l| Lifecycle {
        move_to_cold_storage_after_days: l.move_to_cold_storage_after_days(),
        delete_after_days: l.delete_after_days(),
    })
}

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
            out.evidence.extend(j?.into_evidence(now)?);
        }
        out.errors = p.take();
        Ok(out)
    }
}

async fn plans(
    target: &Target,
    log: &CallLog,
    p: &Problems,
    with_selections: bool,
) -> Option<PlansDoc> {
    let c = &target.clients.backup;
    let mut listed = Vec::new();
    let mut pages = c.list_backup_plans().into_paginator().send();
    loop {
        match log.page("backup:ListBackupPlans", pages.next()).await {
            Ok(Some(pg)) => listed.extend(pg.backup_plans_list().iter().cloned()),
            Ok(None) => break,
            Err(e) => {
                p.add(&e);
                return None;
            }
        }
    }
    let plans: Vec<Option<Plan>> = stream::iter(listed)
        .map(|m| async move {
            let id = m.backup_plan_id()?.to_string();
            let got = p.ok(log
                .call(
                    "backup:GetBackupPlan",
                    c.get_backup_plan().backup_plan_id(&id).send(),
                )
                .await)?;
            let mut rules: Vec<Rule> = got
                .backup_plan()
                .map(|bp| bp.rules())
                .unwrap_or_default()
                .iter()
                .map(|r| Rule {
                    name: r.rule_name().to_string(),
                    id: r.rule_id().map(String::from),
                    target_vault: r.target_backup_vault_name().to_string(),
                    schedule_expression: r.schedule_expression().map(String::from),
                    schedule_expression_timezone: r
                        .schedule_expression_timezone()
                        .map(String::from),
                    start_window_minutes: r.start_window_minutes(),
                    completion_window_minutes: r.completion_window_minutes(),
                    enable_continuous_backup: r.enable_continuous_backup(),
                    lifecycle: lifecycle(r.lifecycle()),
                    copy_actions: {
                        let mut v: Vec<CopyAction> = r
                            .copy_actions()
                            .iter()
                            .map(|a| CopyAction {
                                destination_vault_arn: a.destination_backup_vault_arn().to_string(),
                                lifecycle: lifecycle(a.lifecycle()),
                            })
                            .collect();
                        v.sort_by(|a, b| a.destination_vault_arn.cmp(&b.destination_vault_arn));
                        v
                    },
                })
                .collect();
            rules.sort_by(|a, b| a.name.cmp(&b.name));
            let selections = match with_selections {
                // A plan whose selections cannot be read is kept, with `selections: null`.
                true => selections(target, log, p, &id).await,
                false => None,
            };
            Some(Plan {
                arn: m.backup_plan_arn().map(String::from),
                name: m.backup_plan_name().map(String::from),
                version_id: m.version_id().map(String::from),
                creation_date: ts_opt(m.creation_date()),
                rules,
                selections,
                id,
            })
        })
        .buffered(target.concurrency)
        .collect()
        .await;
    let mut plans: Vec<Plan> = plans.into_iter().flatten().collect();
    plans.sort_by(|a, b| a.id.cmp(&b.id));
    Some(PlansDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        plans,
    })
}

async fn selections(
    target: &Target,
    log: &CallLog,
    p: &Problems,
    plan_id: &str,
) -> Option<Vec<Selection>> {
    let c = &target.clients.backup;
    let mut listed = Vec::new();
    let mut pages = c
        .list_backup_selections()
        .backup_plan_id(plan_id)
        .into_paginator()
        .send();
    loop {
        match log.page("backup:ListBackupSelections", pages.next()).await {
            Ok(Some(pg)) => listed.extend(pg.backup_selections_list().iter().cloned()),
            Ok(None) => break,
            Err(e) => {
                p.add(&e);
                return None;
            }
        }
    }
    let mut out = Vec::new();
    for s in listed {
        let Some(sid) = s.selection_id() else {
            continue;
        };
        let got = p.ok(log
            .call(
                "backup:GetBackupSelection",
                c.get_backup_selection()
                    .backup_plan_id(plan_id)
                    .selection_id(sid)
                    .send(),
            )
            .await)?;
        let sel = got.backup_selection();
        let mut tags: Vec<TagCondition> = sel
            .map(|s| s.list_of_tags())
            .unwrap_or_default()
            .iter()
            .map(|t| TagCondition {
                condition_type: t.condition_type().as_str().to_string(),
                key: t.condition_key().to_string(),
                value: t.condition_value().to_string(),
            })
            .collect();
        tags.sort();
        out.push(Selection {
            id: sid.to_string(),
            name: s.selection_name().map(String::from),
            iam_role_arn: s.iam_role_arn().map(String::from),
            resources: sel.map(|s| sorted(s.resources())).unwrap_or_default(),
            not_resources: sel.map(|s| sorted(s.not_resources())).unwrap_or_default(),
            tag_conditions: tags,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Some(out)
}

async fn vaults(
    target: &Target,
    log: &CallLog,
    p: &Problems,
    with_policies: bool,
) -> Option<VaultsDoc> {
    let c = &target.clients.backup;
    let mut listed = Vec::new();
    let mut pages = c.list_backup_vaults().into_paginator().send();
    loop {
        match log.page("backup:ListBackupVaults", pages.next()).await {
            Ok(Some(pg)) => listed.extend(pg.backup_vault_list().iter().cloned()),
            Ok(None) => break,
            Err(e) => {
                p.add(&e);
                return None;
            }
        }
    }
    let vaults: Vec<Option<Vault>> = stream::iter(listed)
        .map(|v| async move {
            let name = v.backup_vault_name()?.to_string();
            let access_policy = match with_policies {
                false => None,
                true => match log
                    .call(
                        "backup:GetBackupVaultAccessPolicy",
                        c.get_backup_vault_access_policy()
                            .backup_vault_name(&name)
                            .send(),
                    )
                    .await
                {
                    Ok(o) => o.policy().map(|s| {
                        serde_json::from_str(s)
                            .unwrap_or_else(|_| serde_json::Value::String(s.into()))
                    }),
                    Err(e) if e.code.as_deref() == Some("ResourceNotFoundException") => None,
                    Err(e) => {
                        p.add(&e);
                        return None;
                    }
                },
            };
            Some(Vault {
                arn: v.backup_vault_arn().map(String::from),
                vault_type: v.vault_type().map(|t| t.as_str().to_string()),
                creation_date: ts_opt(v.creation_date()),
                encryption_key_arn: v.encryption_key_arn().map(String::from),
                locked: v.locked(),
                min_retention_days: v.min_retention_days(),
                max_retention_days: v.max_retention_days(),
                lock_date: ts_opt(v.lock_date()),
                access_policy,
                name,
            })
        })
        .buffered(target.concurrency)
        .collect()
        .await;
    let mut vaults: Vec<Vault> = vaults.into_iter().flatten().collect();
    vaults.sort_by(|a, b| a.name.cmp(&b.name));
    Some(VaultsDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        vaults,
    })
}

async fn protected(target: &Target, log: &CallLog, p: &Problems) -> Option<ProtectedDoc> {
    let c = &target.clients.backup;
    let mut resources = Vec::new();
    let mut pages = c.list_protected_resources().into_paginator().send();
    loop {
        match log
            .page("backup:ListProtectedResources", pages.next())
            .await
        {
            Ok(Some(pg)) => resources.extend(pg.results().iter().map(|r| Protected {
                resource_arn: r.resource_arn().unwrap_or_default().to_string(),
                resource_type: r.resource_type().map(String::from),
                resource_name: r.resource_name().map(String::from),
                last_backup_time: ts_opt(r.last_backup_time()),
                last_backup_vault_arn: r.last_backup_vault_arn().map(String::from),
                last_recovery_point_arn: r.last_recovery_point_arn().map(String::from),
            })),
            Ok(None) => break,
            Err(e) => {
                p.add(&e);
                return None;
            }
        }
    }
    resources.sort_by(|a, b| a.resource_arn.cmp(&b.resource_arn));
    Some(ProtectedDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        resources,
    })
}

async fn restore_testing(
    target: &Target,
    log: &CallLog,
    p: &Problems,
) -> Option<RestoreTestingDoc> {
    let c = &target.clients.backup;
    let mut listed = Vec::new();
    let mut pages = c.list_restore_testing_plans().into_paginator().send();
    loop {
        match log
            .page("backup:ListRestoreTestingPlans", pages.next())
            .await
        {
            Ok(Some(pg)) => listed.extend(pg.restore_testing_plans().iter().cloned()),
            Ok(None) => break,
            Err(e) => {
                p.add(&e);
                return None;
            }
        }
    }
    let mut plans = Vec::new();
    for plan in listed {
        let name = plan.restore_testing_plan_name().to_string();
        let mut selections = Vec::new();
        let mut pages = c
            .list_restore_testing_selections()
            .restore_testing_plan_name(&name)
            .into_paginator()
            .send();
        loop {
            match log
                .page("backup:ListRestoreTestingSelections", pages.next())
                .await
            {
                Ok(Some(pg)) => {
                    selections.extend(pg.restore_testing_selections().iter().map(|s| {
                        RestoreTestingSelection {
                            name: s.restore_testing_selection_name().to_string(),
                            protected_resource_type: s.protected_resource_type().to_string(),
                            iam_role_arn: s.iam_role_arn().to_string(),
                            validation_window_hours: s.validation_window_hours(),
                        }
                    }))
                }
                Ok(None) => break,
                Err(e) => {
                    p.add(&e);
                    return None;
                }
            }
        }
        selections.sort_by(|a, b| a.name.cmp(&b.name));
        plans.push(RestoreTestingPlan {
            arn: plan.restore_testing_plan_arn().to_string(),
            schedule_expression: plan.schedule_expression().to_string(),
            schedule_expression_timezone: plan.schedule_expression_timezone().map(String::from),
            start_window_hours: plan.start_window_hours(),
            creation_time: super::ts(plan.creation_time()),
            selections,
            name,
        });
    }
    plans.sort_by(|a, b| a.name.cmp(&b.name));
    Some(RestoreTestingDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        plans,
    })
}

async fn report_plans(target: &Target, log: &CallLog, p: &Problems) -> Option<ReportPlansDoc> {
    let c = &target.clients.backup;
    let mut out = Vec::new();
    let mut pages = c.list_report_plans().into_paginator().send();
    loop {
        match log.page("backup:ListReportPlans", pages.next()).await {
            Ok(Some(pg)) => out.extend(pg.report_plans().iter().map(|r| {
                let s = r.report_setting();
                let d = r.report_delivery_channel();
                ReportPlan {
                    name: r.report_plan_name().unwrap_or_default().to_string(),
                    arn: r.report_plan_arn().map(String::from),
                    description: r.report_plan_description().map(String::from),
                    report_template: s.map(|s| s.report_template().to_string()),
                    framework_arns: s.map(|s| sorted(s.framework_arns())).unwrap_or_default(),
                    accounts: s.map(|s| sorted(s.accounts())).unwrap_or_default(),
                    regions: s.map(|s| sorted(s.regions())).unwrap_or_default(),
                    s3_bucket_name: d.map(|d| d.s3_bucket_name().to_string()),
                    s3_key_prefix: d.and_then(|d| d.s3_key_prefix()).map(String::from),
                    formats: d.map(|d| sorted(d.formats())).unwrap_or_default(),
                    deployment_status: r.deployment_status().map(String::from),
                }
            })),
            Ok(None) => break,
            Err(e) => {
                p.add(&e);
                return None;
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Some(ReportPlansDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        report_plans: out,
    })
}
