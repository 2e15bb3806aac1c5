//! Backup, copy and restore jobs, incrementally. AWS lists jobs for 30 days only, so each
//! run stores the jobs that are new or changed since the previous committed run
//! (`backup/backup-jobs.json`, `backup/copy-jobs.json`, `backup/restore-jobs.json`); the
//! resume point is `backup/jobs-state.json` ([`super::state`]).
//!
//! The restore-jobs document is read by the requirements engine (BAR-002): its shape is a
//! contract, documented in docs/EVIDENCE.md.

use aws_smithy_types::DateTime;
use serde::Serialize;
use time::OffsetDateTime;

use super::state::{JobsState, KindState, Listed};
use crate::canonical::{self, CanonicalError};
use crate::collect::doc::ts_opt;
use crate::collect::{ts, CallLog, CollectError, Evidence, PrevState, Problems, Target};
use crate::config::BackupOptions;
use crate::digest::Digest;

pub const STATE: &str = "backup/jobs-state.json";
pub const BACKUP_JOBS: &str = "backup/backup-jobs.json";
pub const COPY_JOBS: &str = "backup/copy-jobs.json";
pub const RESTORE_JOBS: &str = "backup/restore-jobs.json";

/// Page size asked of the job listings (the API maximum).
const PAGE: i32 = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct BackupJob {
    pub backup_job_id: String,
    pub state: Option<String>,
    pub status_message: Option<String>,
    pub creation_date: String,
    pub completion_date: Option<String>,
    pub resource_arn: Option<String>,
    pub resource_type: Option<String>,
    pub resource_name: Option<String>,
    pub backup_vault_name: Option<String>,
    pub backup_vault_arn: Option<String>,
    pub recovery_point_arn: Option<String>,
    pub backup_plan_id: Option<String>,
    pub backup_rule_id: Option<String>,
    pub backup_type: Option<String>,
    pub backup_size_in_bytes: Option<i64>,
    pub is_parent: bool,
    pub parent_job_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CopyJob {
    pub copy_job_id: String,
    pub state: Option<String>,
    pub status_message: Option<String>,
    pub creation_date: String,
    pub completion_date: Option<String>,
    pub resource_arn: Option<String>,
    pub resource_type: Option<String>,
    pub source_backup_vault_arn: Option<String>,
    pub source_recovery_point_arn: Option<String>,
    pub destination_backup_vault_arn: Option<String>,
    pub destination_recovery_point_arn: Option<String>,
    pub backup_plan_id: Option<String>,
    pub backup_size_in_bytes: Option<i64>,
}

/// One restore job, in the contract shape (absent fields are left out, not null).
#[derive(Debug, Clone, Serialize)]
pub struct RestoreJob {
    pub restore_job_id: String,
    pub status: String,
    pub creation_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_status_message: Option<String>,
    pub resource_type: String,
    pub recovery_point_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_resource_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_testing_plan_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_point_creation_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

/// What one run read: the delta of each kind that could be listed, and the next state.
#[derive(Debug)]
pub struct JobsOutput {
    pub account: String,
    pub region: String,
    /// Canonical documents of [`BackupJob`], [`CopyJob`] and [`RestoreJob`], sorted by id.
    pub backup: Option<Vec<Vec<u8>>>,
    pub copy: Option<Vec<Vec<u8>>>,
    pub restore: Option<Vec<Vec<u8>>>,
    pub state: JobsState,
}

impl JobsOutput {
    pub fn into_evidence(self, at: OffsetDateTime) -> Result<Vec<Evidence>, CanonicalError> {
        let fields = [
            ("account", serde_json::Value::String(self.account.clone())),
            ("region", serde_json::Value::String(self.region.clone())),
        ];
        let mut out = Vec::new();
        if let Some(jobs) = self.backup {
            out.push(Evidence::list_raw(
                BACKUP_JOBS,
                &fields,
                "backup_jobs",
                &jobs,
                at,
            )?);
        }
        if let Some(jobs) = self.copy {
            out.push(Evidence::list_raw(
                COPY_JOBS,
                &fields,
                "copy_jobs",
                &jobs,
                at,
            )?);
        }
        if let Some(jobs) = self.restore {
            out.push(Evidence::list_raw(
                RESTORE_JOBS,
                &fields,
                "restore_jobs",
                &jobs,
                at,
            )?);
        }
        out.push(Evidence::json(STATE, &self.state, at)?);
        Ok(out)
    }
}

/// A job document's canonical bytes; kept instead of the struct so a 50,000-job listing
/// is held once, compactly.
fn enc<T: Serialize>(doc: &T) -> Result<Vec<u8>, crate::collect::CallError> {
    canonical::to_vec(doc).map_err(|e| crate::collect::CallError {
        operation: "evidenced:canonicalize".into(),
        code: None,
        message: e.to_string(),
    })
}

/// Keep the jobs of `listed` (id, creation date, open, canonical document) that the state
/// says are new or changed, sorted by id.
fn delta(state: &mut KindState, listed: Vec<(String, String, bool, Vec<u8>)>) -> Vec<Vec<u8>> {
    let mut docs = std::collections::BTreeMap::new();
    let mut reduced = Vec::with_capacity(listed.len());
    for (id, created, open, doc) in listed {
        reduced.push(Listed {
            id: id.clone(),
            created,
            fingerprint: Digest::of(&doc).hex()[..16].to_string(),
            open,
        });
        docs.insert(id, doc);
    }
    let emit = state.absorb(reduced);
    emit.iter().filter_map(|id| docs.remove(id)).collect()
}

pub async fn collect(
    opts: &BackupOptions,
    target: &Target,
    prev: &PrevState,
    log: &CallLog,
    p: &Problems,
) -> Result<JobsOutput, CollectError> {
    let mut state: JobsState = prev
        .get(STATE)
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or_default();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let overlap = i64::from(opts.overlap_hours) * 3600;
    let lookback = i64::from(opts.lookback_days) * 86_400;
    let c = &target.clients.backup;
    let starts = (
        DateTime::from_secs(state.backup.window_start(overlap, lookback, now)),
        DateTime::from_secs(state.copy.window_start(overlap, lookback, now)),
        DateTime::from_secs(state.restore.window_start(overlap, lookback, now)),
    );
    let (backup, copy, restore) = futures::join!(
        async {
            let mut out = Vec::new();
            let mut pages = c
                .list_backup_jobs()
                .by_created_after(starts.0)
                .max_results(PAGE)
                .into_paginator()
                .send();
            while let Some(pg) = log.page("backup:ListBackupJobs", pages.next()).await? {
                for j in pg.backup_jobs() {
                    let (Some(id), Some(created)) = (j.backup_job_id(), j.creation_date()) else {
                        continue;
                    };
                    let state = j.state().map(|s| s.as_str().to_string());
                    let open = !matches!(
                        state.as_deref(),
                        Some("COMPLETED" | "ABORTED" | "FAILED" | "EXPIRED" | "PARTIAL")
                    );
                    let created = ts(created);
                    out.push((
                        id.to_string(),
                        created.clone(),
                        open,
                        enc(&BackupJob {
                            backup_job_id: id.to_string(),
                            state,
                            status_message: j.status_message().map(String::from),
                            creation_date: created,
                            completion_date: ts_opt(j.completion_date()),
                            resource_arn: j.resource_arn().map(String::from),
                            resource_type: j.resource_type().map(String::from),
                            resource_name: j.resource_name().map(String::from),
                            backup_vault_name: j.backup_vault_name().map(String::from),
                            backup_vault_arn: j.backup_vault_arn().map(String::from),
                            recovery_point_arn: j.recovery_point_arn().map(String::from),
                            backup_plan_id: j
                                .created_by()
                                .and_then(|c| c.backup_plan_id())
                                .map(String::from),
                            backup_rule_id: j
                                .created_by()
                                .and_then(|c| c.backup_rule_id())
                                .map(String::from),
                            backup_type: j.backup_type().map(String::from),
                            backup_size_in_bytes: j.backup_size_in_bytes(),
                            is_parent: j.is_parent(),
                            parent_job_id: j.parent_job_id().map(String::from),
                        })?,
                    ));
                }
            }
            Ok::<_, crate::collect::CallError>(out)
        },
        async {
            let mut out = Vec::new();
            let mut pages = c
                .list_copy_jobs()
                .by_created_after(starts.1)
                .max_results(PAGE)
                .into_paginator()
                .send();
            while let Some(pg) = log.page("backup:ListCopyJobs", pages.next()).await? {
                for j in pg.copy_jobs() {
                    let (Some(id), Some(created)) = (j.copy_job_id(), j.creation_date()) else {
                        continue;
                    };
                    let state = j.state().map(|s| s.as_str().to_string());
                    let open =
                        !matches!(state.as_deref(), Some("COMPLETED" | "FAILED" | "PARTIAL"));
                    let created = ts(created);
                    out.push((
                        id.to_string(),
                        created.clone(),
                        open,
                        enc(&CopyJob {
                            copy_job_id: id.to_string(),
                            state,
                            status_message: j.status_message().map(String::from),
                            creation_date: created,
                            completion_date: ts_opt(j.completion_date()),
                            resource_arn: j.resource_arn().map(String::from),
                            resource_type: j.resource_type().map(String::from),
                            source_backup_vault_arn: j.source_backup_vault_arn().map(String::from),
                            source_recovery_point_arn: j
                                .source_recovery_point_arn()
                                .map(String::from),
                            destination_backup_vault_arn: j
                                .destination_backup_vault_arn()
                                .map(String::from),
                            destination_recovery_point_arn: j
                                .destination_recovery_point_arn()
                                .map(String::from),
                            backup_plan_id: j
                                .created_by()
                                .and_then(|c| c.backup_plan_id())
                                .map(String::from),
                            backup_size_in_bytes: j.backup_size_in_bytes(),
                        })?,
                    ));
                }
            }
            Ok::<_, crate::collect::CallError>(out)
        },
        async {
            let mut out = Vec::new();
            let mut pages = c
                .list_restore_jobs()
                .by_created_after(starts.2)
                .max_results(PAGE)
                .into_paginator()
                .send();
            while let Some(pg) = log.page("backup:ListRestoreJobs", pages.next()).await? {
                for j in pg.restore_jobs() {
                    let (Some(id), Some(created)) = (j.restore_job_id(), j.creation_date()) else {
                        continue;
                    };
                    let status = j
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default();
                    let validation = j.validation_status().map(|s| s.as_str().to_string());
                    let open = matches!(status.as_str(), "PENDING" | "RUNNING")
                        || validation.as_deref() == Some("VALIDATING");
                    let created = ts(created);
                    out.push((
                        id.to_string(),
                        created.clone(),
                        open,
                        enc(&RestoreJob {
                            restore_job_id: id.to_string(),
                            status,
                            creation_date: created,
                            completion_date: ts_opt(j.completion_date()),
                            validation_status: validation,
                            validation_status_message: j
                                .validation_status_message()
                                .map(String::from),
                            resource_type: j.resource_type().unwrap_or_default().to_string(),
                            recovery_point_arn: j
                                .recovery_point_arn()
                                .unwrap_or_default()
                                .to_string(),
                            created_resource_arn: j.created_resource_arn().map(String::from),
                            restore_testing_plan_arn: j
                                .created_by()
                                .and_then(|c| c.restore_testing_plan_arn())
                                .map(String::from),
                            recovery_point_creation_date: ts_opt(j.recovery_point_creation_date()),
                            status_message: j.status_message().map(String::from),
                        })?,
                    ));
                }
            }
            Ok::<_, crate::collect::CallError>(out)
        },
    );
    let mut out = JobsOutput {
        account: target.account.clone(),
        region: target.region.clone(),
        backup: None,
        copy: None,
        restore: None,
        state: JobsState::default(),
    };
    match backup {
        Ok(l) => out.backup = Some(delta(&mut state.backup, l)),
        Err(e) => p.add(&e),
    }
    match copy {
        Ok(l) => out.copy = Some(delta(&mut state.copy, l)),
        Err(e) => p.add(&e),
    }
    match restore {
        Ok(l) => out.restore = Some(delta(&mut state.restore, l)),
        Err(e) => p.add(&e),
    }
    out.state = state;
    Ok(out)
}
