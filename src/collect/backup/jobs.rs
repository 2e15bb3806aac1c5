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

use super::state::{Absorb, JobsState, KindState, Listed, Seen};
use crate::canonical;
use crate::collect::doc::{ts_opt, ListSpool, SpoolError, Streamed};
use crate::collect::pipeline::Mapped;
use crate::collect::pipeline::Prefetch;
use crate::collect::spill::Spill;
use crate::collect::Target;
use crate::collect::{ts, CallError, CallLog, CollectError, PrevState, Problems};
use crate::config::BackupOptions;
use crate::digest::Digest;
use crate::store::SpoolWriter;

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

/// What one run read: the jobs of each kind that could be listed (spilled to disk past a
/// budget, sorted at the end), and the state the run started from.
#[derive(Debug)]
pub struct JobsOutput {
    pub account: String,
    pub region: String,
    /// [`JobDoc`] entries keyed by job id, in listing order.
    pub backup: Option<Spill>,
    pub copy: Option<Spill>,
    pub restore: Option<Spill>,
    pub prev: JobsState,
}

impl JobsOutput {
    /// The three job documents (new and changed jobs of each kind, sorted by id; a kind
    /// whose listing failed has none) and the next state, each written to a spool as the
    /// sorted listing is read: the same bytes as building them in memory, in bounded memory.
    /// Blocking (file I/O): run it on the blocking pool.
    pub fn into_streamed(self, at: OffsetDateTime) -> Result<Vec<Streamed>, SpoolError> {
        let JobsOutput {
            account,
            region,
            backup,
            copy,
            restore,
            prev,
        } = self;
        let fields = [
            ("account", serde_json::Value::String(account)),
            ("region", serde_json::Value::String(region)),
        ];
        let mut out = Vec::new();
        let mut kinds: Vec<KindOut> = Vec::new();
        for (name, key, spill, prev) in [
            (BACKUP_JOBS, "backup_jobs", backup, &prev.backup),
            (COPY_JOBS, "copy_jobs", copy, &prev.copy),
            (RESTORE_JOBS, "restore_jobs", restore, &prev.restore),
        ] {
            match spill {
                Some(spill) => {
                    let (doc, kind) = stream_kind(name, key, &fields, spill, prev, at)?;
                    out.push(doc);
                    kinds.push(kind);
                }
                None => kinds.push(KindOut::Unchanged(canonical::to_vec(prev)?)),
            }
        }
        out.push(stream_state(kinds, at)?);
        Ok(out)
    }
}

/// One kind's part of the next state.
enum KindOut {
    /// The listing failed: the previous state of the kind, as it was.
    Unchanged(Vec<u8>),
    /// The cursor, and the `"id":{...}` members of `jobs` keyed for RFC 8785 order.
    Listed(Option<String>, Spill),
}

/// Merge one kind's listing: emit the new and changed jobs into their document, and
/// each job's state entry into a spill for the state document.
fn stream_kind(
    name: &str,
    list_key: &str,
    fields: &[(&str, serde_json::Value)],
    spill: Spill,
    prev: &KindState,
    at: OffsetDateTime,
) -> Result<(Streamed, KindOut), SpoolError> {
    let mut doc = ListSpool::new(fields, list_key)?;
    let mut entries = Spill::default();
    let mut absorb = Absorb::new(prev);
    let mut sorted = spill.sorted()?;
    let mut pending = None;
    while let Some((id, bytes)) = sorted.next_last_of_key(&mut pending)? {
        let job = JobDoc::decode(id, &bytes)?;
        if absorb.see(&job.listed) {
            doc.item(job.doc)?;
        }
        let mut member = canonical::to_vec(&job.listed.id)?;
        member.push(b':');
        member.extend(canonical::to_vec(&Seen {
            created: job.listed.created.clone(),
            fingerprint: job.listed.fingerprint.clone(),
            open: job.listed.open,
        })?);
        entries.push(utf16_key(&job.listed.id), member)?;
    }
    Ok((
        doc.finish(name, at)?,
        KindOut::Listed(absorb.cursor(), entries),
    ))
}

/// Object member names sort by UTF-16 code units (RFC 8785); big-endian UTF-16 bytes
/// sort the same way.
fn utf16_key(id: &str) -> Vec<u8> {
    id.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// `{"backup":…,"copy":…,"restore":…}`, each kind `{"cursor":…,"jobs":{…}}`: the canonical
/// form of [`JobsState`].
fn stream_state(kinds: Vec<KindOut>, at: OffsetDateTime) -> Result<Streamed, SpoolError> {
    let mut w = SpoolWriter::new()?;
    for (kind, name) in kinds.into_iter().zip(["backup", "copy", "restore"]) {
        w.write(if name == "backup" { b"{" } else { b"," })?;
        w.write(&canonical::to_vec(&name)?)?;
        w.write(b":")?;
        match kind {
            KindOut::Unchanged(bytes) => w.write(&bytes)?,
            KindOut::Listed(cursor, entries) => {
                w.write(b"{\"cursor\":")?;
                w.write(&canonical::to_vec(&cursor)?)?;
                w.write(b",\"jobs\":{")?;
                crate::collect::doc::write_joined(&mut w, entries)?;
                w.write(b"}}")?;
            }
        }
    }
    w.write(b"}")?;
    Ok(Streamed::new(STATE, w.finish()?, at))
}

/// One job as listed: what the incremental state needs, and the canonical document.
#[derive(Debug)]
struct JobDoc {
    listed: Listed,
    doc: Vec<u8>,
}

/// A decoded spill entry: the listed fields borrowed-by-copy, the document borrowed.
struct JobRef<'a> {
    listed: Listed,
    doc: &'a [u8],
}

impl JobDoc {
    /// A job document's canonical bytes and fingerprint; kept instead of the struct so a
    /// listing is held compactly until it is spilled.
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

    /// The spill entry: key the id, value `open`, the lengths of `created` and
    /// `fingerprint`, both, then the document.
    fn encode(self) -> (Vec<u8>, Vec<u8>) {
        let l = self.listed;
        let mut v = Vec::with_capacity(5 + l.created.len() + l.fingerprint.len() + self.doc.len());
        v.push(u8::from(l.open));
        v.extend_from_slice(&(l.created.len() as u16).to_le_bytes());
        v.extend_from_slice(&(l.fingerprint.len() as u16).to_le_bytes());
        v.extend_from_slice(l.created.as_bytes());
        v.extend_from_slice(l.fingerprint.as_bytes());
        v.extend_from_slice(&self.doc);
        (l.id.into_bytes(), v)
    }

    fn decode(id: Vec<u8>, v: &[u8]) -> Result<JobRef<'_>, std::io::Error> {
        let bad = || std::io::Error::other("damaged spill entry");
        let (head, rest) = v.split_first_chunk::<5>().ok_or_else(bad)?;
        let [open, c0, c1, f0, f1] = *head;
        let (c, f) = (
            usize::from(u16::from_le_bytes([c0, c1])),
            usize::from(u16::from_le_bytes([f0, f1])),
        );
        if rest.len() < c + f {
            return Err(bad());
        }
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| bad());
        Ok(JobRef {
            listed: Listed {
                id: String::from_utf8(id).map_err(|_| bad())?,
                created: text(&rest[..c])?,
                fingerprint: text(&rest[c..c + f])?,
                open: open == 1,
            },
            doc: &rest[c + f..],
        })
    }
}

/// Keep the jobs of `listed` that the state says are new or changed, sorted by id (a job
/// listed twice counts once, as last listed). The in-memory form of [`stream_kind`], for
/// the tests to compare it with.
#[cfg(test)]
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

/// One job listing: a chain of page tokens, each page mapped off the paging loop, the
/// mapped jobs spilled past a budget (so a listing is never held whole).
async fn listing<O, E>(
    log: &CallLog,
    operation: &'static str,
    region: &Region,
    mut pages: Prefetch<O, E>,
    map: fn((O, Region)) -> Result<Vec<JobDoc>, CallError>,
) -> Result<Spill, CallError>
where
    O: RequestId + Send + 'static,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut mapped = Mapped::new(operation);
    let mut spill = Spill::default();
    let spilled = |e: std::io::Error| SpoolError::from(e).to_call_error(operation);
    while let Some(page) = log.page(operation, pages.next()).await? {
        mapped.push((page, region.clone()), map).await?;
        for job in mapped.take_done() {
            let (k, v) = job.encode();
            spill.push(k, v).map_err(spilled)?;
        }
    }
    for job in mapped.finish().await? {
        let (k, v) = job.encode();
        spill.push(k, v).map_err(spilled)?;
    }
    Ok(spill)
}

pub async fn collect(
    opts: &BackupOptions,
    target: &Target,
    prev: &PrevState,
    log: &CallLog,
    p: &Problems,
) -> Result<JobsOutput, CollectError> {
    let state: JobsState = prev
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
        prev: JobsState::default(),
    };
    match backup {
        Ok(l) => out.backup = Some(l),
        Err(e) => p.add(&e),
    }
    match copy {
        Ok(l) => out.copy = Some(l),
        Err(e) => p.add(&e),
    }
    match restore {
        Ok(l) => out.restore = Some(l),
        Err(e) => p.add(&e),
    }
    out.prev = state;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Evidence;

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

    /// A listing with repeats (a job listed twice while it changed), ids out of order,
    /// ids whose UTF-8 and UTF-16 orders differ, and a previous state some jobs match.
    fn listing_and_prev() -> (Vec<(String, String, bool, u32)>, JobsState) {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut jobs: Vec<(String, String, bool, u32)> = (0..3000u32)
            .map(|i| {
                let id = format!("{:08X}-job", (i * 7919) % 3001);
                let created = format!("2026-08-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24);
                (id, created, i % 7 == 0, i % 3)
            })
            .collect();
        jobs.push((
            "job-\u{FFFD}".into(),
            "2026-08-30T00:00:00Z".into(),
            false,
            1,
        ));
        jobs.push((
            "job-\u{1F600}".into(),
            "2026-08-30T00:00:01Z".into(),
            true,
            1,
        ));
        jobs.push((
            "00000001-job".into(),
            "2026-08-31T00:00:00Z".into(),
            false,
            9,
        ));
        jobs.shuffle(&mut rand::rngs::StdRng::seed_from_u64(13));
        let mut prev = JobsState::default();
        let earlier: Vec<JobDoc> = jobs
            .iter()
            .step_by(2)
            .map(|(id, c, open, v)| job_at(id, c, *open, *v))
            .collect();
        delta(&mut prev.backup, earlier);
        prev.copy.cursor = Some("2026-07-01T00:00:00Z".into());
        (jobs, prev)
    }

    fn job_at(id: &str, created: &str, open: bool, v: u32) -> JobDoc {
        JobDoc::new(id, created.into(), open, &doc(id, v)).unwrap()
    }

    #[test]
    fn streamed_documents_equal_the_documents_built_in_memory() {
        let (jobs, prev) = listing_and_prev();
        let at = OffsetDateTime::UNIX_EPOCH;
        // In memory: sort, de-duplicate, delta, then serialise whole.
        let mut state = prev.clone();
        let listed = || {
            jobs.iter()
                .map(|(id, c, o, v)| job_at(id, c, *o, *v))
                .collect()
        };
        let backup = delta(&mut state.backup, listed());
        assert!(
            !backup.is_empty() && backup.len() < 3000,
            "some jobs unchanged"
        );
        let restore = delta(&mut state.restore, Vec::new());
        let fields = [
            ("account", serde_json::json!("111122223333")),
            ("region", serde_json::json!("us-east-1")),
        ];
        let expected = [
            Evidence::list_raw(BACKUP_JOBS, &fields, "backup_jobs", backup, at).unwrap(),
            Evidence::list_raw(RESTORE_JOBS, &fields, "restore_jobs", restore, at).unwrap(),
            Evidence::json(STATE, &state, at).unwrap(),
        ];
        // Streamed, with a budget that spills many runs and with one that spills none.
        for budget in [16 << 10, usize::MAX] {
            let mut spill = Spill::new(budget);
            for j in listed() {
                let (k, v) = j.encode();
                spill.push(k, v).unwrap();
            }
            let out = JobsOutput {
                account: "111122223333".into(),
                region: "us-east-1".into(),
                backup: Some(spill),
                // The copy listing failed: its state is carried over unchanged.
                copy: None,
                restore: Some(Spill::new(budget)),
                prev: prev.clone(),
            };
            let streamed = out.into_streamed(at).unwrap();
            assert_eq!(streamed.len(), expected.len());
            for (s, e) in streamed.iter().zip(&expected) {
                assert_eq!(s.evidence.name, e.name);
                let bytes = s.spool.read().unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&bytes),
                    String::from_utf8_lossy(&e.blob.to_bytes()),
                    "{} (budget {budget})",
                    e.name
                );
                assert_eq!(s.evidence.item().digest, e.blob.digest());
                assert_eq!(s.evidence.item().size, e.blob.size());
                assert!(s.evidence.blob.is_stored());
            }
        }
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
