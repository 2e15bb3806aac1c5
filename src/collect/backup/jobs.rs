//! Backup, copy and restore jobs, incrementally. AWS lists jobs for 30 days only, so each
//! run stores the jobs that are new or changed since the previous committed run
//! (`backup/backup-jobs.json`, `backup/copy-jobs.json`, `backup/restore-jobs.json`); the
//! resume point is `backup/jobs-state.json` ([`super::state`]).
//!
//! The restore-jobs document is read by the requirements engine (BAR-002): its shape is a
//! contract, documented in docs/EVIDENCE.md.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::DateTime;
use aws_types::request_id::RequestId;
use serde::Serialize;
use time::OffsetDateTime;

use aws_sdk_backup::operation::list_backup_jobs::ListBackupJobsOutput;
use aws_sdk_backup::operation::list_copy_jobs::ListCopyJobsOutput;
use aws_sdk_backup::operation::list_restore_jobs::ListRestoreJobsOutput;

use super::state::{JobsState, KindState, Listed};
use crate::canonical::{self, CanonicalError};
use crate::collect::doc::ts_opt;
use crate::collect::pipeline::Mapped;
use crate::collect::pipeline::Prefetch;
use crate::collect::Target;
use crate::collect::{ts, CallError, CallLog, CollectError, Evidence, PrevState, Problems};
use crate::config::BackupOptions;
use crate::digest::Digest;

pub const STATE: &str = "backup/jobs-state.json";
pub const BACKUP_JOBS: &str = "backup/backup-jobs.json";
pub const COPY_JOBS: &str = "backup/copy-jobs.json";
pub const RESTORE_JOBS: &str = "backup/restore-jobs.json";

/// Page size asked of the job listings (the API maximum).
const PAGE: i32 = 1000;

/// Borrowed from the SDK's parsed page: only the timestamps are formatted anew.
#[derive(Debug, Clone, Serialize)]
pub struct BackupJob<'a> {
    pub backup_job_id: &'a str,
    pub state: Option<&'a str>,
    pub status_message: Option<&'a str>,
    pub creation_date: String,
    pub completion_date: Option<String>,
    pub resource_arn: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub resource_name: Option<&'a str>,
    pub backup_vault_name: Option<&'a str>,
    pub backup_vault_arn: Option<&'a str>,
    pub recovery_point_arn: Option<&'a str>,
    pub backup_plan_id: Option<&'a str>,
    pub backup_rule_id: Option<&'a str>,
    pub backup_type: Option<&'a str>,
    pub backup_size_in_bytes: Option<i64>,
    pub is_parent: bool,
    pub parent_job_id: Option<&'a str>,
}

/// Borrowed from the SDK's parsed page: only the timestamps are formatted anew.
#[derive(Debug, Clone, Serialize)]
pub struct CopyJob<'a> {
    pub copy_job_id: &'a str,
    pub state: Option<&'a str>,
    pub status_message: Option<&'a str>,
    pub creation_date: String,
    pub completion_date: Option<String>,
    pub resource_arn: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub source_backup_vault_arn: Option<&'a str>,
    pub source_recovery_point_arn: Option<&'a str>,
    pub destination_backup_vault_arn: Option<&'a str>,
    pub destination_recovery_point_arn: Option<&'a str>,
    pub backup_plan_id: Option<&'a str>,
    pub backup_size_in_bytes: Option<i64>,
    /// Region components of the source and destination vault ARNs, and the account
    /// component of the destination's (`null` when the ARN is absent or not parseable).
    pub source_region: Option<&'a str>,
    pub destination_region: Option<&'a str>,
    pub destination_account: Option<&'a str>,
}

/// One restore job, in the contract shape (absent fields are left out, not null).
/// Borrowed from the SDK's parsed page: only the timestamps are formatted anew.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreJob<'a> {
    pub restore_job_id: &'a str,
    pub status: &'a str,
    pub creation_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_status_message: Option<&'a str>,
    pub resource_type: &'a str,
    pub recovery_point_arn: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_resource_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_testing_plan_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_point_creation_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<&'a str>,
    /// Minutes from `creation_date` to `completion_date`, rounded up; only with both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<i64>,
    /// Region component of `recovery_point_arn`, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_region: Option<&'a str>,
    /// Region component of `created_resource_arn` when it has one, else the region the
    /// job was listed in.
    pub destination_region: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_resource_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<&'a str>,
}

/// The components of an ARN (`arn:partition:service:region:account:resource`) a job
/// document records; `None` when `arn` is not an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArnParts<'a> {
    /// `None` for global resources (`arn:aws:s3:::bucket`).
    pub region: Option<&'a str>,
    /// `None` when the ARN has no account (`arn:aws:ec2:us-east-1::snapshot/snap-1`).
    pub account: Option<&'a str>,
}

impl<'a> ArnParts<'a> {
    pub fn parse(arn: &'a str) -> Option<ArnParts<'a>> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(_)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if partition.is_empty() || service.is_empty() {
            return None;
        }
        let region = Some(region).filter(|r| {
            !r.is_empty()
                && r.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        let account =
            Some(account).filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
        Some(ArnParts { region, account })
    }
}

/// The region component of `arn`, if it is an ARN with one.
pub fn arn_region(arn: Option<&str>) -> Option<&str> {
    ArnParts::parse(arn?)?.region
}

/// The account component of `arn`, if it is an ARN with one.
pub fn arn_account(arn: Option<&str>) -> Option<&str> {
    ArnParts::parse(arn?)?.account
}

/// Whole minutes from `from` to `to`, rounded up (`None` if `to` is before `from`).
fn minutes_between(from: &DateTime, to: &DateTime) -> Option<i64> {
    let nanos = to.as_nanos().checked_sub(from.as_nanos())?;
    if nanos < 0 {
        return None;
    }
    let minute = 60_000_000_000i128;
    i64::try_from((nanos + minute - 1) / minute).ok()
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
        let JobsOutput {
            account,
            region,
            backup,
            copy,
            restore,
            state,
        } = self;
        let fields = [
            ("account", serde_json::Value::String(account)),
            ("region", serde_json::Value::String(region)),
        ];
        std::thread::scope(|s| {
            // The resume state (an entry per listed job) is serialised beside the lists.
            let state = s.spawn(move || Evidence::json(STATE, &state, at));
            let mut out = Vec::new();
            for (name, key, jobs) in [
                (BACKUP_JOBS, "backup_jobs", backup),
                (COPY_JOBS, "copy_jobs", copy),
                (RESTORE_JOBS, "restore_jobs", restore),
            ] {
                if let Some(jobs) = jobs {
                    out.push(Evidence::list_raw(name, &fields, key, jobs, at)?);
                }
            }
            let state = state
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            out.push(state);
            Ok(out)
        })
    }
}

/// One job as listed: what the incremental state needs, and the canonical document.
#[derive(Debug)]
struct JobDoc {
    listed: Listed,
    doc: Vec<u8>,
}

impl JobDoc {
    /// A job document's canonical bytes and fingerprint; kept instead of the struct so a
    /// 50,000-job listing is held once, compactly.
    fn new<T: Serialize>(
        id: &str,
        created: String,
        open: bool,
        doc: &T,
    ) -> Result<JobDoc, CallError> {
        let mut doc = canonical::to_vec(doc).map_err(|e| CallError {
            operation: "evidenced:canonicalize".into(),
            code: None,
            message: e.to_string(),
        })?;
        doc.shrink_to_fit();
        Ok(JobDoc {
            listed: Listed {
                id: id.to_string(),
                created,
                fingerprint: Digest::of(&doc).hex()[..16].to_string(),
                open,
            },
            doc,
        })
    }
}

/// Keep the jobs of `listed` that the state says are new or changed, sorted by id (a job
/// listed twice counts once, as last listed).
fn delta(state: &mut KindState, mut listed: Vec<JobDoc>) -> Vec<Vec<u8>> {
    listed.sort_by(|a, b| a.listed.id.cmp(&b.listed.id));
    let mut jobs: Vec<JobDoc> = Vec::with_capacity(listed.len());
    for j in listed {
        match jobs.last_mut() {
            Some(last) if last.listed.id == j.listed.id => *last = j,
            _ => jobs.push(j),
        }
    }
    let (reduced, docs): (Vec<Listed>, Vec<Vec<u8>>) =
        jobs.into_iter().map(|j| (j.listed, j.doc)).unzip();
    let ids: Vec<String> = reduced.iter().map(|l| l.id.clone()).collect();
    // Both `ids` and the ids to emit are sorted: walk them together.
    let mut emit = state.absorb(reduced).into_iter().peekable();
    let mut out = Vec::new();
    for (id, doc) in ids.iter().zip(docs) {
        if emit.peek() == Some(id) {
            emit.next();
            out.push(doc);
        }
    }
    out
}

fn backup_page((pg, _): (ListBackupJobsOutput, Region)) -> Result<Vec<JobDoc>, CallError> {
    let mut out = Vec::with_capacity(pg.backup_jobs().len());
    for j in pg.backup_jobs() {
        let (Some(id), Some(created)) = (j.backup_job_id(), j.creation_date()) else {
            continue;
        };
        let state = j.state().map(|s| s.as_str());
        let open = !matches!(
            state,
            Some("COMPLETED" | "ABORTED" | "FAILED" | "EXPIRED" | "PARTIAL")
        );
        let created = ts(created);
        let doc = BackupJob {
            backup_job_id: id,
            state,
            status_message: j.status_message(),
            creation_date: created.clone(),
            completion_date: ts_opt(j.completion_date()),
            resource_arn: j.resource_arn(),
            resource_type: j.resource_type(),
            resource_name: j.resource_name(),
            backup_vault_name: j.backup_vault_name(),
            backup_vault_arn: j.backup_vault_arn(),
            recovery_point_arn: j.recovery_point_arn(),
            backup_plan_id: j.created_by().and_then(|c| c.backup_plan_id()),
            backup_rule_id: j.created_by().and_then(|c| c.backup_rule_id()),
            backup_type: j.backup_type(),
            backup_size_in_bytes: j.backup_size_in_bytes(),
            is_parent: j.is_parent(),
            parent_job_id: j.parent_job_id(),
        };
        out.push(JobDoc::new(id, created, open, &doc)?);
    }
    Ok(out)
}

fn copy_page((pg, _): (ListCopyJobsOutput, Region)) -> Result<Vec<JobDoc>, CallError> {
    let mut out = Vec::with_capacity(pg.copy_jobs().len());
    for j in pg.copy_jobs() {
        let (Some(id), Some(created)) = (j.copy_job_id(), j.creation_date()) else {
            continue;
        };
        let state = j.state().map(|s| s.as_str());
        let open = !matches!(state, Some("COMPLETED" | "FAILED" | "PARTIAL"));
        let created = ts(created);
        let doc = CopyJob {
            copy_job_id: id,
            state,
            status_message: j.status_message(),
            creation_date: created.clone(),
            completion_date: ts_opt(j.completion_date()),
            resource_arn: j.resource_arn(),
            resource_type: j.resource_type(),
            source_backup_vault_arn: j.source_backup_vault_arn(),
            source_recovery_point_arn: j.source_recovery_point_arn(),
            destination_backup_vault_arn: j.destination_backup_vault_arn(),
            destination_recovery_point_arn: j.destination_recovery_point_arn(),
            backup_plan_id: j.created_by().and_then(|c| c.backup_plan_id()),
            backup_size_in_bytes: j.backup_size_in_bytes(),
            source_region: arn_region(j.source_backup_vault_arn()),
            destination_region: arn_region(j.destination_backup_vault_arn()),
            destination_account: arn_account(j.destination_backup_vault_arn()),
        };
        out.push(JobDoc::new(id, created, open, &doc)?);
    }
    Ok(out)
}

fn restore_page((pg, region): (ListRestoreJobsOutput, Region)) -> Result<Vec<JobDoc>, CallError> {
    let mut out = Vec::with_capacity(pg.restore_jobs().len());
    for j in pg.restore_jobs() {
        let (Some(id), Some(created_at)) = (j.restore_job_id(), j.creation_date()) else {
            continue;
        };
        let status = j.status().map(|s| s.as_str()).unwrap_or_default();
        let validation = j.validation_status().map(|s| s.as_str());
        let open = matches!(status, "PENDING" | "RUNNING") || validation == Some("VALIDATING");
        let created = ts(created_at);
        let doc = RestoreJob {
            restore_job_id: id,
            status,
            creation_date: created.clone(),
            completion_date: ts_opt(j.completion_date()),
            validation_status: validation,
            validation_status_message: j.validation_status_message(),
            resource_type: j.resource_type().unwrap_or_default(),
            recovery_point_arn: j.recovery_point_arn().unwrap_or_default(),
            created_resource_arn: j.created_resource_arn(),
            restore_testing_plan_arn: j.created_by().and_then(|c| c.restore_testing_plan_arn()),
            recovery_point_creation_date: ts_opt(j.recovery_point_creation_date()),
            status_message: j.status_message(),
            duration_minutes: j
                .completion_date()
                .and_then(|done| minutes_between(created_at, done)),
            source_region: arn_region(j.recovery_point_arn()),
            destination_region: arn_region(j.created_resource_arn()).unwrap_or(&region),
            source_resource_arn: j.source_resource_arn(),
            account_id: j.account_id(),
        };
        out.push(JobDoc::new(id, created, open, &doc)?);
    }
    Ok(out)
}

/// The region a listing was read in, handed to each page's mapping.
type Region = std::sync::Arc<str>;

/// One job listing: a chain of page tokens, each page mapped off the paging loop.
async fn listing<O, E>(
    log: &CallLog,
    operation: &'static str,
    region: &Region,
    mut pages: Prefetch<O, E>,
    map: fn((O, Region)) -> Result<Vec<JobDoc>, CallError>,
) -> Result<Vec<JobDoc>, CallError>
where
    O: RequestId + Send + 'static,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut mapped = Mapped::new(operation);
    while let Some(page) = log.page(operation, pages.next()).await? {
        mapped.push((page, region.clone()), map).await?;
    }
    mapped.finish().await
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
    let region: Region = target.region.as_str().into();
    let (backup, copy, restore) = futures::join!(
        listing(
            log,
            "backup:ListBackupJobs",
            &region,
            Prefetch::new(
                c.list_backup_jobs()
                    .by_created_after(starts.0)
                    .max_results(PAGE)
                    .into_paginator()
                    .send(),
            ),
            backup_page,
        ),
        listing(
            log,
            "backup:ListCopyJobs",
            &region,
            Prefetch::new(
                c.list_copy_jobs()
                    .by_created_after(starts.1)
                    .max_results(PAGE)
                    .into_paginator()
                    .send(),
            ),
            copy_page,
        ),
        listing(
            log,
            "backup:ListRestoreJobs",
            &region,
            Prefetch::new(
                c.list_restore_jobs()
                    .by_created_after(starts.2)
                    .max_results(PAGE)
                    .into_paginator()
                    .send(),
            ),
            restore_page,
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, v: u32) -> serde_json::Value {
        serde_json::json!({"id": id, "v": v})
    }

    fn job(id: &str, v: u32) -> JobDoc {
        JobDoc::new(id, "2026-01-01T00:00:00Z".into(), false, &doc(id, v)).unwrap()
    }

    fn canon(id: &str, v: u32) -> Vec<u8> {
        canonical::to_vec(&doc(id, v)).unwrap()
    }

    #[test]
    fn delta_emits_new_and_changed_jobs_once_sorted_by_id() {
        let mut state = KindState::default();
        // "b" is listed twice (pages overlapped while it changed): the last listing counts.
        let out = delta(&mut state, vec![job("b", 1), job("a", 1), job("b", 2)]);
        assert_eq!(out, [canon("a", 1), canon("b", 2)]);
        let out = delta(&mut state, vec![job("c", 1), job("a", 1), job("b", 3)]);
        assert_eq!(out, [canon("b", 3), canon("c", 1)]);
        assert_eq!(state.jobs.len(), 3);
    }

    #[test]
    fn arn_region_and_account_components() {
        let acct = "111122223333";
        let vault = format!("arn:aws:backup:us-east-1:{acct}:backup-vault:primary");
        assert_eq!(arn_region(Some(&vault)), Some("us-east-1"));
        assert_eq!(arn_account(Some(&vault)), Some(acct));
        // Resource parts may hold colons; the account may be empty (public snapshots).
        let rds = format!("arn:aws:rds:eu-west-1:{acct}:snapshot:awsbackup:job-1");
        assert_eq!(arn_region(Some(&rds)), Some("eu-west-1"));
        let snap = "arn:aws:ec2:us-east-1::snapshot/snap-0abc";
        assert_eq!(arn_region(Some(snap)), Some("us-east-1"));
        assert_eq!(arn_account(Some(snap)), None);
        // Other partitions.
        let gov = format!("arn:aws-us-gov:backup:us-gov-west-1:{acct}:backup-vault:v");
        assert_eq!(arn_region(Some(&gov)), Some("us-gov-west-1"));
        // Global resources have no region.
        assert_eq!(arn_region(Some("arn:aws:s3:::bucket")), None);
        assert_eq!(arn_account(Some("arn:aws:s3:::bucket")), None);
        // Not ARNs.
        for bad in [
            "",
            "primary",
            "arn:aws:backup:us-east-1",
            "urn:aws:backup:us-east-1:111122223333:backup-vault:v",
            "arn::backup:us-east-1:111122223333:backup-vault:v",
            "arn:aws:backup:US EAST:111122223333:x",
        ] {
            assert_eq!(ArnParts::parse(bad).and_then(|p| p.region), None, "{bad:?}");
        }
        assert_eq!(arn_region(None), None);
        assert_eq!(arn_account(None), None);
    }

    #[test]
    fn minutes_between_rounds_up() {
        let at = |secs, nanos| DateTime::from_secs_and_nanos(secs, nanos);
        assert_eq!(minutes_between(&at(0, 0), &at(0, 0)), Some(0));
        assert_eq!(minutes_between(&at(0, 0), &at(60, 0)), Some(1));
        assert_eq!(minutes_between(&at(0, 0), &at(60, 1)), Some(2));
        assert_eq!(minutes_between(&at(0, 0), &at(1, 0)), Some(1));
        assert_eq!(
            minutes_between(&at(100, 0), &at(100 + 42 * 60, 0)),
            Some(42)
        );
        assert_eq!(minutes_between(&at(60, 0), &at(0, 0)), None);
    }
}
