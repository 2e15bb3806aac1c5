//! The inbox: human records (drill logs, restore-test records, objectives, access reviews)
//! dropped as files into a directory or an S3 prefix, validated exactly like `submit`.
//!
//! Nothing is lost on any path:
//! - accepted: stored as its own record (the same shape `submit` writes), then removed
//!   from the inbox, and only after that record committed. A crash in between leaves the
//!   file in the inbox; the next run finds identical content already stored and only
//!   removes it, so nothing is stored twice;
//! - identical to something already stored: removed, noted as a duplicate;
//! - rejected (invalid, an id already used by other content, too large, or a name that is
//!   not usable): its bytes and the reason are recorded, then the file is moved to
//!   `rejected/<name>` beside `<name>.reason` (never out of the inbox; a name that is not
//!   usable is escaped);
//! - left where it is (a link, FIFO, device, directory, dot-file, a file still changing):
//!   listed with the reason under `skipped`. Nothing is read through a link, nothing but
//!   a regular file is read, and never more than the size cap (see `local` for how).
//!
//! Each run also commits one record of its own (kind `inbox`, item `inbox/run.json`), so an
//! empty inbox is evidence that it was looked at. Removing and moving inbox files are the
//! only deletions this program ever makes, and only under the inbox prefix.

mod entry;
mod local;
mod source;

use std::time::Duration;

use serde::Serialize;

pub use entry::{Entry, FileKind, Listing, Read, Skipped};
pub use source::{InboxError, Source};

use super::{commit_run, CollectError, Evidence, RunReport};
use crate::chain::EvidenceStore;
use crate::config::InboxOptions;
use crate::digest::{Blob, Digest};
use crate::record::{now_millis, RunError, Scope};
use crate::store::ObjectStore;
use crate::submit::{self, Outcome, SubmitError};
use crate::{failpoint, human};

/// Folder of rejected files, inside the inbox.
pub const REJECTED: &str = "rejected";

/// The run document, `inbox/run.json`.
#[derive(Debug, Default, Serialize)]
pub struct RunDoc {
    pub inbox: String,
    pub accepted: Vec<Accepted>,
    pub duplicates: Vec<Accepted>,
    pub rejected: Vec<Rejected>,
    /// Entries not taken this run and why (links, FIFOs, devices, directories, dot-files,
    /// files still changing, content another writer is committing, …); files among them
    /// are looked at again next run.
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Serialize)]
pub struct Accepted {
    pub file: String,
    pub kind: String,
    pub id: String,
    /// The record holding it.
    pub seq: u64,
    pub digest: Digest,
}

#[derive(Debug, Serialize)]
pub struct Rejected {
    pub file: String,
    /// Digest of the file's bytes, stored as item `inbox/rejected/<file>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    pub reason: String,
}

/// Process the inbox once. Returns the records committed: one per accepted file, then the
/// run's own record.
pub async fn run<S: ObjectStore>(
    store: &EvidenceStore<S>,
    opts: &InboxOptions,
    s3: Option<&aws_sdk_s3::Client>,
) -> Result<Vec<RunReport>, CollectError> {
    let mut reports = Vec::new();
    let source = match Source::open(&opts.url, s3) {
        Ok(s) => s,
        Err(e) => {
            return Ok(vec![
                record_failure(store, opts, "inbox:open", e.to_string()).await?,
            ])
        }
    };
    let listing = match source.list(Duration::from_secs(opts.settle_secs)).await {
        Ok(l) => l,
        Err(e) => {
            return Ok(vec![
                record_failure(store, opts, "inbox:list", e.to_string()).await?,
            ])
        }
    };
    failpoint::hit("inbox-after-list");
    let Listing {
        files,
        skipped,
        problems,
        can_reject,
    } = listing;
    let mut doc = RunDoc {
        inbox: opts.url.clone(),
        skipped,
        ..RunDoc::default()
    };
    let mut evidence = Vec::new();
    let mut errors: Vec<RunError> = problems
        .into_iter()
        .map(|message| RunError {
            operation: "inbox:rejected".into(),
            region: None,
            message,
        })
        .collect();
    let mut to_reject: Vec<(String, String)> = Vec::new();
    let mut to_remove: Vec<String> = Vec::new();
    for entry in &files {
        let file = entry.name.clone();
        let bytes = match source.read(entry, human::MAX_SIZE).await {
            Ok(Read::Bytes(b)) => b,
            Ok(Read::Skip(why)) => {
                tracing::info!(file, reason = %why, "Inbox file left for a later run.");
                doc.skipped.push(Skipped {
                    file,
                    reason: why.to_string(),
                });
                continue;
            }
            Ok(Read::TooLarge { size }) => {
                let max = human::MAX_SIZE;
                let reason = match size {
                    Some(size) => format!(
                        "{file}: larger than {max} bytes (it is {size} bytes); human records are limited to {max} bytes"
                    ),
                    None => format!(
                        "{file}: larger than {max} bytes (more was read than its size said); human records are limited to {max} bytes"
                    ),
                };
                reject(&mut doc, &mut errors, &file, None, &reason);
                to_reject.push((file, reason));
                continue;
            }
            Err(e) if e.is_not_found() => {
                // Listed, then gone: another collector on this inbox took it.
                tracing::debug!(
                    file,
                    "Inbox file gone before it was read; another writer took it."
                );
                continue;
            }
            Err(e) => {
                // Left in place for the next run; the error is recorded.
                errors.push(RunError {
                    operation: "inbox:read".into(),
                    region: None,
                    message: e.to_string(),
                });
                continue;
            }
        };
        if let Some(reason) = entry.name_rejection() {
            // Its bytes are evidence like any rejected file's; the name goes no further.
            reject_bytes(&mut doc, &mut errors, &mut evidence, &file, bytes, &reason);
            to_reject.push((file, reason));
            continue;
        }
        let now = time::OffsetDateTime::now_utc();
        let prepared = human::parse(&file, &bytes, now)
            .map_err(SubmitError::from)
            .and_then(|h| submit::prepare(h, &opts.name));
        let p = match prepared {
            Ok(p) => p,
            Err(e) if e.is_input() => {
                reject_bytes(
                    &mut doc,
                    &mut errors,
                    &mut evidence,
                    &file,
                    bytes,
                    &e.to_string(),
                );
                to_reject.push((file, e.to_string()));
                continue;
            }
            Err(e) => return Err(other(e)),
        };
        let (kind, id, digest) = (
            p.human.kind.clone(),
            p.human.id.clone(),
            p.draft.items[0].digest,
        );
        // The id's claim decides, atomically, between committing, "already stored" and
        // "held by other content", even with another writer on the same inbox.
        match submit::commit(store, p, &file).await {
            Ok(Outcome::Committed {
                seq,
                items,
                new_blob_bytes,
                ..
            }) => {
                reports.push(super::RunReport {
                    collector: opts.name.clone(),
                    kind: kind.clone(),
                    seq,
                    scope: Scope::default(),
                    status: crate::record::Status::Complete,
                    errors: Vec::new(),
                    items,
                    new_blob_bytes,
                });
                failpoint::hit("inbox-after-commit");
                remove(&source, &file).await?;
                doc.accepted.push(Accepted {
                    file,
                    kind,
                    id,
                    seq,
                    digest,
                });
            }
            Ok(Outcome::AlreadyStored { seq })
            | Err(SubmitError::IdReused {
                seq: Some(seq),
                same_original: true,
                ..
            }) => {
                // Stored already (by an earlier run, another writer, or as the same file
                // under another name): a duplicate, not a conflict.
                doc.duplicates.push(Accepted {
                    file: file.clone(),
                    kind,
                    id,
                    seq,
                    digest,
                });
                to_remove.push(file);
            }
            Err(SubmitError::IdReused {
                seq: None,
                same_original: true,
                ..
            }) => {
                // The same bytes under another file name, claimed and not yet committed:
                // whichever file is committed, the other is then a duplicate.
                doc.skipped.push(Skipped {
                    file,
                    reason: format!(
                        "{kind} {id:?}: the same bytes are being stored by another writer under another name; left for the next run"
                    ),
                });
            }
            Err(e) if e.is_input() => {
                reject_bytes(
                    &mut doc,
                    &mut errors,
                    &mut evidence,
                    &file,
                    bytes,
                    &e.to_string(),
                );
                to_reject.push((file, e.to_string()));
            }
            Err(e) => return Err(other(e)),
        }
    }
    evidence.insert(0, Evidence::json("inbox/run.json", &doc, now_millis())?);
    let report = commit_run(
        store,
        &opts.name,
        "inbox",
        Scope::default(),
        evidence,
        errors,
        None,
        Vec::new(),
    )
    .await?;
    // Only now that the run (with each rejection and its bytes) is committed do files
    // leave the inbox.
    for file in to_remove {
        remove(&source, &file).await?;
    }
    // A rejected file that cannot be moved aside stays in the inbox (and is recorded
    // again next run); the run is committed either way.
    let by_name: std::collections::HashMap<&str, &Entry> =
        files.iter().map(|e| (e.name.as_str(), e)).collect();
    for (file, reason) in to_reject {
        let Some(entry) = by_name.get(file.as_str()) else {
            continue;
        };
        if !can_reject {
            tracing::warn!(
                file,
                "Rejected inbox file left in place: inbox/rejected is not a directory."
            );
            continue;
        }
        if let Err(e) = source.reject(entry, &reason).await {
            tracing::warn!(file, error = %e, "Rejected inbox file not moved aside; it stays in the inbox.");
        }
    }
    reports.push(report);
    Ok(reports)
}

/// Reject a file whose bytes were read: they are stored as item `inbox/rejected/<file>`.
fn reject_bytes(
    doc: &mut RunDoc,
    errors: &mut Vec<RunError>,
    evidence: &mut Vec<Evidence>,
    file: &str,
    bytes: Vec<u8>,
    reason: &str,
) {
    let blob = Blob::new(bytes);
    reject(doc, errors, file, Some(blob.digest()), reason);
    evidence.push(Evidence {
        name: format!("inbox/rejected/{file}"),
        media_type: "application/octet-stream".into(),
        blob,
        observed_at: now_millis(),
    });
}

fn reject(
    doc: &mut RunDoc,
    errors: &mut Vec<RunError>,
    file: &str,
    digest: Option<Digest>,
    reason: &str,
) {
    tracing::warn!(file, reason, "Inbox file rejected.");
    doc.rejected.push(Rejected {
        file: file.to_string(),
        digest,
        reason: reason.to_string(),
    });
    errors.push(RunError {
        operation: "inbox:validate".into(),
        region: None,
        message: reason.to_string(),
    });
}

/// Remove a file whose content is stored; one already gone was removed by another
/// collector on the same inbox.
async fn remove(source: &Source, file: &str) -> Result<(), CollectError> {
    match source.remove(file).await {
        Err(e) if e.is_not_found() => Ok(()),
        other => other.map_err(CollectError::Inbox),
    }
}

fn other(e: SubmitError) -> CollectError {
    match e {
        SubmitError::Chain(c) => CollectError::Chain(c),
        SubmitError::Canonical(c) => CollectError::Canonical(c),
        e => CollectError::Inbox(InboxError::Other(e.to_string())),
    }
}

async fn record_failure<S: ObjectStore>(
    store: &EvidenceStore<S>,
    opts: &InboxOptions,
    operation: &str,
    message: String,
) -> Result<RunReport, CollectError> {
    commit_run(
        store,
        &opts.name,
        "inbox",
        Scope::default(),
        Vec::new(),
        vec![RunError {
            operation: operation.into(),
            region: None,
            message,
        }],
        None,
        Vec::new(),
    )
    .await
}

#[cfg(test)]
mod scan_tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::store::counting::Counting;

    #[tokio::test]
    async fn an_inbox_run_reads_no_earlier_record_with_or_without_files() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        let store = EvidenceStore::new(Counting::new(&dir.path().join("evidence")));
        let opts = InboxOptions {
            name: "drills".into(),
            schedule: "0 * * * * *".into(),
            url: inbox.display().to_string(),
            settle_secs: 0,
        };
        for _ in 0..10 {
            run(&store, &opts, None).await.unwrap();
        }
        // One more empty run: at most the head record is read (to link the new record).
        let gets = || store.backend().record_gets.load(Ordering::SeqCst);
        let before = gets();
        run(&store, &opts, None).await.unwrap();
        assert!(gets() - before <= 1, "{} records read", gets() - before);
        // A file to check: its id is looked up through its claim, not the chain, so the
        // records read (the head probes of the drill's commit and the run's) are the same
        // on a chain three times as long.
        let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/examples");
        let mut read_for_one_file = Vec::new();
        for (file, empty_runs_before) in [
            ("az-failover-2026-06.md", 0),
            ("region-failover-2026-03.md", 20),
        ] {
            for _ in 0..empty_runs_before {
                run(&store, &opts, None).await.unwrap();
            }
            std::fs::copy(examples.join(file), inbox.join(file)).unwrap();
            let before = gets();
            let reports = run(&store, &opts, None).await.unwrap();
            assert_eq!(reports.len(), 2, "the drill's record and the run's");
            read_for_one_file.push(gets() - before);
        }
        assert_eq!(
            read_for_one_file[0], read_for_one_file[1],
            "records read grew with the chain"
        );
        assert!(
            read_for_one_file[1] <= 3,
            "{read_for_one_file:?} records read"
        );
    }
}
