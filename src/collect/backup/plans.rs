//! Backup plans with their rules and selections (`backup/plans.json`).

use futures::stream::{self, StreamExt};
use serde::Serialize;

use crate::collect::doc::ts_opt;
use crate::collect::{CallLog, Problems, Target};

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

pub(super) fn sorted(v: &[String]) -> Vec<String> {
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

pub(super) async fn plans(
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
