//! Collectors: read AWS state (and the drill inbox) and commit it as records.
//!
//! One run of a collector in one scope (account + region) is one record, whatever happens:
//! `complete` when every call succeeded, `partial` with the failed operations named when
//! some did (an access-denied region, a throttled call that ran out of retries), `failed`
//! when nothing could be read. A gap is evidence, so it is never skipped silently.
//!
//! Collectors map SDK outputs to our own serde types (docs/EVIDENCE.md), sorted by id and
//! free of fetch times, so unchanged account state serialises to the same canonical bytes
//! and costs no new blob; the fetch time goes into each item's `observed_at`.

pub mod aws;
pub mod backup;
pub mod calls;
pub mod cloudwatch;
pub mod configservice;
mod doc;
pub mod history;
pub mod inbox;
pub mod limits;
pub mod moto_compat;
mod pipeline;
pub mod s3posture;
mod spill;

use std::future::Future;

pub use aws::{Clients, Target, Unreachable};
pub use calls::{CallError, CallLog, Problems};
pub use doc::{media_type_for, ts, Evidence, Streamed};
pub use history::History;

use crate::chain::{ChainError, EvidenceStore};
use crate::config::{CollectorConfig, Config};
use crate::digest::Blob;
use crate::record::{now_millis, Draft, Item, RunError, Scope, Status};
use crate::store::{ObjectStore, PutOutcome, StoreLocation};

/// Errors that stop a run from being recorded at all (the store, not AWS: AWS failures are
/// recorded in the run's record).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Canonical(#[from] crate::canonical::CanonicalError),
    #[error(transparent)]
    Inbox(#[from] inbox::InboxError),
    #[error("no [[collector]] is named {0:?}")]
    NoSuchCollector(String),
}

/// What a collector read in one scope.
#[derive(Debug, Default)]
pub struct Collected {
    pub evidence: Vec<Evidence>,
    /// Long documents, written to spool files as they were made; recorded after
    /// `evidence`, in this order.
    pub streamed: Vec<Streamed>,
    pub errors: Vec<RunError>,
}

/// A collector of AWS state in one account and region. The config struct is the collector:
/// adding one is a `[[collector]]` variant plus one file here.
pub trait AwsCollector: Sync {
    /// Read the state of `target`. `history` holds what earlier runs of this collector
    /// stored (incremental collectors resume from it).
    fn collect(
        &self,
        target: &Target,
        history: &PrevState,
        log: &CallLog,
    ) -> impl Future<Output = Result<Collected, CollectError>> + Send;

    /// Items of the previous run this collector resumes from (loaded into [`PrevState`]).
    fn state_items(&self) -> &'static [&'static str] {
        &[]
    }
}

/// The bytes of the latest stored version of each state item of this collector and scope.
#[derive(Debug, Default, Clone)]
pub struct PrevState {
    pub items: std::collections::HashMap<String, Vec<u8>>,
}

impl PrevState {
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.items.get(name).map(|v| v.as_slice())
    }
}

/// Summary of one committed run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub collector: String,
    pub kind: String,
    pub seq: u64,
    pub scope: Scope,
    pub status: Status,
    pub errors: Vec<RunError>,
    pub items: usize,
    pub new_blob_bytes: u64,
}

/// Derive the status of a run from what it read and what failed.
pub fn status_of(items: usize, errors: &[RunError]) -> Status {
    match (errors.is_empty(), items) {
        (true, _) => Status::Complete,
        (false, 0) => Status::Failed,
        (false, _) => Status::Partial,
    }
}

/// Commit one run: blobs, then the record.
#[allow(clippy::too_many_arguments)]
pub async fn commit_run<S: ObjectStore>(
    store: &EvidenceStore<S>,
    collector: &str,
    kind: &str,
    scope: Scope,
    evidence: Vec<Evidence>,
    errors: Vec<RunError>,
    caller_arn: Option<String>,
    api_calls: Vec<crate::record::ApiCall>,
) -> Result<RunReport, CollectError> {
    let collected = Collected {
        evidence,
        streamed: Vec::new(),
        errors,
    };
    commit_collected(
        store, collector, kind, scope, collected, caller_arn, api_calls,
    )
    .await
}

/// [`commit_run`] of what a collector read: the streamed documents' spools are put into
/// the store first (each linked or uploaded from its file), then the other blobs and the
/// record, as [`EvidenceStore::append`] does.
pub async fn commit_collected<S: ObjectStore>(
    store: &EvidenceStore<S>,
    collector: &str,
    kind: &str,
    scope: Scope,
    collected: Collected,
    caller_arn: Option<String>,
    api_calls: Vec<crate::record::ApiCall>,
) -> Result<RunReport, CollectError> {
    let Collected {
        mut evidence,
        streamed,
        errors,
    } = collected;
    let mut streamed_bytes = 0;
    for s in streamed {
        let key = crate::chain::blob_key(&s.spool.digest());
        let put = store.backend().put_spooled_if_absent(&key, &s.spool).await;
        if put.map_err(ChainError::from)? == PutOutcome::Created {
            streamed_bytes += s.spool.size();
        }
        evidence.push(s.evidence);
    }
    let status = status_of(evidence.len(), &errors);
    let items: Vec<Item> = evidence.iter().map(Evidence::item).collect();
    let blobs: Vec<Blob> = evidence.into_iter().map(|e| e.blob).collect();
    let draft = Draft {
        collector: collector.to_string(),
        kind: kind.to_string(),
        scope: scope.clone(),
        status,
        errors: errors.clone(),
        items,
        caller_arn,
        api_calls,
    };
    let n = draft.items.len();
    let c = store.append(draft, &blobs).await?;
    let new_blob_bytes = c.new_blob_bytes + streamed_bytes;
    tracing::info!(
        collector,
        kind,
        seq = c.seq,
        status = status.as_str(),
        items = n,
        new_blob_bytes,
        account = scope.account.as_deref(),
        region = scope.region.as_deref(),
        "Run recorded."
    );
    Ok(RunReport {
        collector: collector.to_string(),
        kind: kind.to_string(),
        seq: c.seq,
        scope,
        status,
        errors,
        items: n,
        new_blob_bytes,
    })
}

/// Run an AWS collector in one target and commit the record.
pub async fn run_target<S: ObjectStore, C: AwsCollector>(
    store: &EvidenceStore<S>,
    history: &History,
    name: &str,
    kind: &str,
    collector: &C,
    target: &Target,
) -> Result<RunReport, CollectError> {
    let scope = target.scope();
    let prev = history
        .load(store, name, &scope, collector.state_items())
        .await?;
    let log = CallLog::new(Some(target.region.clone()));
    for call in &target.identity_calls {
        log.push(call.clone());
    }
    let collected = collector.collect(target, &prev, &log).await?;
    commit_collected(
        store,
        name,
        kind,
        scope,
        collected,
        target.caller_arn.clone(),
        log.take(),
    )
    .await
}

/// Record a scope whose identity could not be established as a failed run.
pub async fn record_unreachable<S: ObjectStore>(
    store: &EvidenceStore<S>,
    name: &str,
    kind: &str,
    u: &Unreachable,
) -> Result<RunReport, CollectError> {
    commit_run(
        store,
        name,
        kind,
        u.scope.clone(),
        Vec::new(),
        vec![u.error.clone()],
        None,
        u.calls.clone(),
    )
    .await
}

/// Scopes (account and region) one collector collects at a time. Each holds at most a
/// few spill budgets of documents ([`spill::DEFAULT_BUDGET`]) and its parsed pages; the
/// requests of all of them share the per-service limits ([`limits`]).
const SCOPES_AT_ONCE: usize = 8;

/// Run one collector in every target.
pub async fn run_aws<S: ObjectStore, C: AwsCollector>(
    store: &EvidenceStore<S>,
    history: &History,
    name: &str,
    kind: &str,
    collector: &C,
    targets: &[Result<Target, Unreachable>],
) -> Result<Vec<RunReport>, CollectError> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(targets)
        .map(|t| async move {
            match t {
                Ok(target) => run_target(store, history, name, kind, collector, target).await,
                Err(u) => record_unreachable(store, name, kind, u).await,
            }
        })
        .buffered(SCOPES_AT_ONCE)
        .try_collect()
        .await
}

/// Run the configured collectors once (all, or the one named `only`).
pub async fn run_once<S: ObjectStore>(
    store: &EvidenceStore<S>,
    config: &Config,
    only: Option<&str>,
) -> Result<Vec<RunReport>, CollectError> {
    let limits = std::sync::Arc::new(aws::limits_of(&config.aws));
    let reports = run_once_limited(store, config, only, limits.clone()).await;
    limits.log("AWS requests of this collection.");
    reports
}

/// [`run_once`] with every AWS request through `limits`, whose counts (requests,
/// throttling responses, most in flight) the caller can read afterwards.
pub async fn run_once_limited<S: ObjectStore>(
    store: &EvidenceStore<S>,
    config: &Config,
    only: Option<&str>,
    limits: std::sync::Arc<limits::Limits>,
) -> Result<Vec<RunReport>, CollectError> {
    let selected: Vec<&CollectorConfig> = config
        .collectors
        .iter()
        .filter(|c| only.is_none_or(|n| c.name() == n))
        .collect();
    if let Some(n) = only {
        if selected.is_empty() {
            return Err(CollectError::NoSuchCollector(n.to_string()));
        }
    }
    let needs_aws = selected
        .iter()
        .any(|c| !matches!(c, CollectorConfig::Inbox(i) if !i.url.starts_with("s3://")));
    let sdk = match needs_aws {
        true => Some(aws::sdk_config_limited(&config.aws, limits).await),
        false => None,
    };
    let history = History::read(store).await?;
    let (history, sdk) = (&history, sdk.as_ref());
    // The collectors are independent: they run together, and their records are committed
    // in whatever order they finish (the chain serialises the commits). Every collector
    // runs to the end even when another fails, so no finished collection goes unrecorded.
    let runs = selected.into_iter().map(|c| async move {
        let (name, kind) = (c.name(), c.kind());
        let regional = !matches!(c, CollectorConfig::S3(_) | CollectorConfig::Inbox(_));
        if let CollectorConfig::Inbox(o) = c {
            let s3 = sdk.map(|sdk| Clients::from_sdk(sdk, config.aws.force_path_style).s3);
            return inbox::run(store, o, s3.as_ref()).await;
        }
        let Some(sdk) = sdk else {
            return Ok(Vec::new());
        };
        let targets = aws::targets(&config.aws, sdk, regional).await;
        match c {
            CollectorConfig::Backup(o) => run_aws(store, history, name, kind, o, &targets).await,
            CollectorConfig::Config(o) => run_aws(store, history, name, kind, o, &targets).await,
            CollectorConfig::Cloudwatch(o) => {
                run_aws(store, history, name, kind, o, &targets).await
            }
            CollectorConfig::S3(o) => {
                let store_bucket = match StoreLocation::parse(&config.store.url) {
                    Ok(StoreLocation::S3 { bucket, .. }) => Some(bucket),
                    _ => None,
                };
                let collector = s3posture::S3Posture {
                    options: o.clone(),
                    store_bucket,
                };
                run_aws(store, history, name, kind, &collector, &targets).await
            }
            CollectorConfig::Inbox(_) => Ok(Vec::new()),
        }
    });
    let mut reports = Vec::new();
    for r in futures::future::join_all(runs).await {
        reports.extend(r?);
    }
    Ok(reports)
}

/// The time now, as recorded in `observed_at`.
pub fn observed_now() -> time::OffsetDateTime {
    now_millis()
}
