//! Protected resources with their latest restore (`backup/protected-resources.json`),
//! restore-testing plans and selections (`backup/restore-testing.json`) and report plans
//! (`backup/report-plans.json`).

use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::plans::sorted;
use crate::collect::doc::ts_opt;
use crate::collect::{CallLog, Problems, Target};

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
    /// The latest restore of the resource (from DescribeProtectedResource: the
    /// ListProtectedResources entries do not carry it). `null` when the resource has
    /// never been restored, no longer exists, or the read failed (then the error is in
    /// the record).
    pub latest_restore_execution_time_minutes: Option<i64>,
    pub latest_restore_job_creation_date: Option<String>,
    pub latest_restore_recovery_point_creation_date: Option<String>,
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

pub(super) async fn protected(
    target: &Target,
    log: &CallLog,
    p: &Problems,
) -> Option<ProtectedDoc> {
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
                latest_restore_execution_time_minutes: None,
                latest_restore_job_creation_date: None,
                latest_restore_recovery_point_creation_date: None,
            })),
            Ok(None) => break,
            Err(e) => {
                p.add(&e);
                return None;
            }
        }
    }
    // Access denied is the same answer for every resource: once is enough.
    let denied = &AtomicBool::new(false);
    let mut resources: Vec<Protected> = stream::iter(resources)
        .map(|mut r| async move {
            if r.resource_arn.is_empty() || denied.load(Ordering::Relaxed) {
                return r;
            }
            match log
                .call(
                    "backup:DescribeProtectedResource",
                    c.describe_protected_resource()
                        .resource_arn(&r.resource_arn)
                        .send(),
                )
                .await
            {
                Ok(d) => {
                    r.latest_restore_execution_time_minutes =
                        d.latest_restore_execution_time_minutes();
                    r.latest_restore_job_creation_date =
                        ts_opt(d.latest_restore_job_creation_date());
                    r.latest_restore_recovery_point_creation_date =
                        ts_opt(d.latest_restore_recovery_point_creation_date());
                }
                // Deleted since it was listed: nothing to say about its restores.
                Err(e) if e.code.as_deref() == Some("ResourceNotFoundException") => {}
                Err(e) if e.is_access_denied() => {
                    if !denied.swap(true, Ordering::Relaxed) {
                        p.add(&e);
                    }
                }
                Err(e) => p.add(&e),
            }
            r
        })
        .buffered(target.concurrency)
        .collect()
        .await;
    resources.sort_by(|a, b| a.resource_arn.cmp(&b.resource_arn));
    Some(ProtectedDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        resources,
    })
}

pub(super) async fn restore_testing(
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
            creation_time: crate::collect::ts(plan.creation_time()),
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

pub(super) async fn report_plans(
    target: &Target,
    log: &CallLog,
    p: &Problems,
) -> Option<ReportPlansDoc> {
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
