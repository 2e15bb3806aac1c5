//! What a report stands on: which store, which chain and head, whether that store verified
//! (records, blobs, checkpoints), and which program made it. A report on evidence that
//! does not verify says so at the top, and `report` exits 1.

use serde::{Deserialize, Serialize};

use crate::checkpoint::verify::CheckpointReport;
use crate::digest::Digest;
use crate::verify::{Problem, Report};

/// Problems named in the header before "and N more".
const SHOWN: usize = 10;

/// The report header's facts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Basis {
    /// The store location as given (path or `s3://` URL), or the bundle file.
    pub store: String,
    /// Hash of record 1, which names the chain.
    pub chain_id: Option<String>,
    pub head_seq: Option<u64>,
    pub head_hash: Option<String>,
    /// Every record link and hash, every referenced blob and every checkpoint checked out.
    pub verified: bool,
    /// Checkpoints checked and the highest sequence a valid one vouches for.
    pub checkpoints: usize,
    pub vouched_seq: Option<u64>,
    /// The verification problems, in words (the first few, then a count).
    pub problems: Vec<String>,
    /// The program that evaluated, `evidenced <version>`.
    pub program: String,
    /// Writers' clocks disagreeing within the tolerance, in words ([`crate::verify::ClockSkew`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew: Option<String>,
    /// What was checked, when not the whole store: the records from the evaluation's
    /// horizon to the head and the blobs evaluation read (`report` without
    /// `--verify-all`). Absent: every record, blob and checkpoint of the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked: Option<String>,
    /// Third-party time: "record N existed by T (RFC 3161, TSA X)" for the newest valid
    /// checkpoint whose time-stamp token verified against the trust roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamped: Option<String>,
}

impl Basis {
    /// The basis of a store (or bundle) that `report` and `cps` verified.
    pub fn new(
        store: String,
        chain_id: Option<Digest>,
        report: &Report,
        cps: &CheckpointReport,
        extra: &[Problem],
    ) -> Basis {
        let all: Vec<&Problem> = report
            .problems
            .iter()
            .chain(cps.problems.iter())
            .chain(extra.iter())
            .collect();
        let mut problems: Vec<String> = all
            .iter()
            .take(SHOWN)
            .map(|p| format!("{} at {}: {}", p.check, p.key, p.message))
            .collect();
        if all.len() > SHOWN {
            problems.push(format!("and {} more", all.len() - SHOWN));
        }
        Basis {
            store,
            chain_id: chain_id.map(|d| d.to_string()),
            head_seq: report.head_seq,
            head_hash: report.head_hash.map(|d| d.to_string()),
            verified: all.is_empty() && report.head_seq.is_some(),
            checkpoints: cps.checked,
            vouched_seq: cps.covered_seq,
            problems,
            program: program(),
            clock_skew: report.clock_skew.as_ref().map(|c| c.describe()),
            checked: None,
            timestamped: cps.timestamps.existed_by(),
        }
    }
}

/// `evidenced <version>`.
pub fn program() -> String {
    format!("evidenced {}", env!("CARGO_PKG_VERSION"))
}
