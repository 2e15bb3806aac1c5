//! Auditor bundles: one `.tar.gz` per review period that verifies and reports offline.
//!
//! Layout (docs/FORMAT-checkpoints-bundles.md, "Bundles"):
//!
//! ```text
//! bundle.json                 period, evaluation time, chain id, last sequence, counts
//! MANIFEST                    "<sha256 hex>  <path>" for every other file (sha256sum -c)
//! VERIFY.md                   shell-only verification steps
//! docs/FORMAT.md              the record format, for independent verifiers
//! docs/FORMAT-checkpoints-bundles.md   checkpoints, this layout, the catalog
//! docs/RULES.md               the catalog's rule language and each requirement's meaning
//! catalog/requirements.toml   the catalog the report was made with
//! report/report.{json,md,html}
//! store/...                   a store directory: chain/records (1 .. last), chain/checkpoints
//!                             (<= last), chain/keys, and blobs/sha256 (the blobs the period's
//!                             records reference, and those the report reads)
//! ```
//!
//! [`write`] builds one from any store; [`read::open`] extracts one safely into a temporary
//! directory, refusing anything that could write elsewhere.

mod pgz;
pub mod read;
mod report_check;
pub mod write;

use serde::{Deserialize, Serialize};

pub use read::{check_manifest, open, Limits, Opened};
pub use report_check::check_report;
pub use write::{write, BundleSpec, Destination, Progress, Seal, Written};

use crate::requirements::Window;

/// Version of the bundle layout. 2: the report reads from its horizon, and the blobs it
/// reads are carried from there on (docs/FORMAT-checkpoints-bundles.md).
pub const BUNDLE_FORMAT: u32 = 2;
/// Name of the manifest file.
pub const MANIFEST: &str = "MANIFEST";
/// Name of the metadata file.
pub const META: &str = "bundle.json";
/// Directory of the store inside a bundle.
pub const STORE_DIR: &str = "store";
/// The catalog inside a bundle.
pub const CATALOG: &str = "catalog/requirements.toml";

/// Errors while writing or opening a bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle member {member:?} refused: {reason}")]
    Unsafe { member: String, reason: String },
    #[error("bundle {file}: {message}")]
    Malformed { file: String, message: String },
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Catalog(#[from] crate::requirements::CatalogError),
}

impl BundleError {
    pub(crate) fn io(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BundleError {
        let path = path.to_string();
        move |source| BundleError::Io { path, source }
    }
}

/// `bundle.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleMeta {
    pub format: u32,
    pub program: String,
    pub at: String,
    pub from: String,
    pub to: String,
    /// Hash of record 1.
    pub chain: String,
    /// Last record included (the last recorded at or before `max(to, at)`).
    pub last_seq: u64,
    /// An excerpt: the records are record 1 and `first_seq ..= last_seq` (absent: every
    /// record from 1). Format 2 only, and only with a signed checkpoint in the excerpt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seq: Option<u64>,
    /// First record recorded at or after `from`; blobs of earlier records are included
    /// only when the report reads them.
    pub first_period_seq: Option<u64>,
    /// Highest checkpoint included, if any.
    pub checkpoint_seq: Option<u64>,
    pub records: u64,
    pub blobs: u64,
    /// The due-soon lead time the report was made with, when it overrode the catalog's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_days: Option<u32>,
    /// Collector schedule intervals (seconds) the `fresh` rules used, from the operator's
    /// configuration, so the report can be re-made without it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub schedules: std::collections::BTreeMap<String, u64>,
}

impl BundleMeta {
    /// The evaluation options the bundled report was made with.
    pub fn options(&self) -> crate::requirements::Options {
        crate::requirements::Options {
            lead_days: self.lead_days,
            // Format 1 was evaluated over the whole chain, with no horizon.
            whole_chain: self.format < 2,
            schedules: self
                .schedules
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        time::Duration::seconds(i64::try_from(*v).unwrap_or(i64::MAX)),
                    )
                })
                .collect(),
        }
    }
}

impl BundleMeta {
    /// The evaluation window the bundle was made for.
    pub fn window(&self) -> Result<Window, BundleError> {
        let p = |name: &str, s: &str| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).map_err(
                |e| BundleError::Malformed {
                    file: META.into(),
                    message: format!("`{name}`: {e}"),
                },
            )
        };
        Ok(Window {
            at: p("at", &self.at)?,
            from: p("from", &self.from)?,
            to: p("to", &self.to)?,
        })
    }
}
