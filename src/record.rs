//! The record: one per collector run or submission, the unit of the hash chain.
//!
//! The serde shape here *is* the on-disk contract described in docs/FORMAT.md; change it only
//! together with [`FORMAT_VERSION`] and a migration note there.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::canonical::{self, CanonicalError};
use crate::digest::Digest;

/// Version of the record format written by this program (docs/FORMAT.md, section 10).
/// Format 2 is format 1 plus id claims: a format-2 human record has its id claimed under
/// `ids/`. Format 3 adds segments, derived copies of 1,000 records that verifiers compare
/// with the chain; the records themselves are unchanged.
pub const FORMAT_VERSION: u32 = 3;

/// Record formats this program reads and verifies.
pub const SUPPORTED_FORMATS: [u32; 3] = [1, 2, 3];

/// Outcome of the run a record describes. A failed or partial run is recorded too: a gap is
/// evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Complete,
    Partial,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Complete => "complete",
            Status::Partial => "partial",
            Status::Failed => "failed",
        }
    }
}

/// Where the evidence comes from: an AWS account and region, or a human submission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// One error met during a run, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunError {
    /// What failed: an API operation (`backup:ListBackupJobs`), a file, a step.
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub message: String,
}

/// One evidence document the record vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Name within the record, e.g. `backup/jobs.json` or `original/dr-2026-03.md`.
    pub name: String,
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    /// The time the fact refers to (when the drill happened, when AWS reported the state).
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
}

/// One AWS API call made during a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiCall {
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Who wrote the record and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// `evidenced <version>`.
    pub program: String,
    /// Random per append attempt; lets a writer recognise its own record after an ambiguous
    /// conditional-create failure.
    pub writer_nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_calls: Vec<ApiCall>,
}

/// A record as stored at `chain/records/<seq>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub format: u32,
    pub seq: u64,
    /// Hash of the record at `seq - 1`, or [`Digest::ZERO`] for the first record.
    pub prev: Digest,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
    /// Name of the collector instance or `submit`.
    pub collector: String,
    /// What kind of evidence: the collector type, or the human record kind.
    pub kind: String,
    pub scope: Scope,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RunError>,
    pub items: Vec<Item>,
    pub provenance: Provenance,
}

impl Record {
    /// Canonical bytes, exactly as stored.
    pub fn to_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonical::to_vec(self)
    }

    /// Parse stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Record, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// What a writer wants recorded; the store fills in `seq`, `prev`, `recorded_at` and the nonce.
#[derive(Debug, Clone)]
pub struct Draft {
    pub collector: String,
    pub kind: String,
    pub scope: Scope,
    pub status: Status,
    pub errors: Vec<RunError>,
    pub items: Vec<Item>,
    pub caller_arn: Option<String>,
    pub api_calls: Vec<ApiCall>,
}

impl Draft {
    /// A run of `collector` (of `kind`) that holds nothing: no scope, item, error or AWS
    /// call; `status` says how it went.
    pub fn empty(collector: impl Into<String>, kind: impl Into<String>, status: Status) -> Draft {
        Draft {
            collector: collector.into(),
            kind: kind.into(),
            scope: Scope::default(),
            status,
            errors: Vec::new(),
            items: Vec::new(),
            caller_arn: None,
            api_calls: Vec::new(),
        }
    }
}

/// Truncate to whole milliseconds: records carry RFC 3339 times with at most millisecond
/// precision so every verifier formats them the same way.
pub fn now_millis() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    let ms = now.millisecond();
    now.replace_millisecond(ms).unwrap_or(now)
}
