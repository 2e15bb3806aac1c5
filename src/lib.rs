//! evidenced: continuously collected, tamper-evident evidence for AWS Foundational Technical
//! Review (FTR) and Competency validations.
//!
//! # Layout
//!
//! The data flow is one way: input → store → verification (and, later, requirements and
//! reports read only what the store holds).
//!
//! - [`canonical`]: RFC 8785 canonical JSON, the byte form of every document and record,
//!   written directly by a serde serializer of its own.
//! - [`digest`]: SHA-256 digests, the domain-tagged record hash, and blobs that carry their
//!   digest from the moment they are made (held in pieces when long).
//! - [`record`]: the record, the unit of the chain (the on-disk contract, docs/FORMAT.md).
//! - [`store`]: backends that only move bytes by key: [`store::LocalStore`] (the embedded
//!   default, `./evidence`) and [`store::S3Store`], chosen at run time by [`store::AnyStore`].
//!   [`store::ReadCache`] keeps immutable objects already read (in memory, and optionally in
//!   a `--cache-dir` checked by hash), so a command never reads one twice;
//!   [`store::stats`] counts requests (`EVIDENCED_STORE_STATS=1`) for benchmarks;
//!   `store/blob_writer.rs` writes a long blob to a spool file as it is made
//!   ([`store::SpoolWriter`]) and puts it from there (linked into a local store, one
//!   conditional upload to S3).
//! - [`chain`]: [`chain::EvidenceStore`], the chain semantics over any backend: blobs first,
//!   then the record at the next sequence number with a conditional create;
//!   `chain/segments.rs` writes and reads segments (format 3), copies of 1,000 records in
//!   one object that readers take only as far as they link to the chain.
//! - [`verify`]: walks records, blobs, id claims and segments and names each problem with
//!   its place.
//! - [`checkpoint`]: signed checkpoints of the chain head (a key file, or an AWS KMS key:
//!   Ed25519 or ECDSA P-256), written to the store and a witness, RFC 3161 time-stamp tokens
//!   for them, and their verification (truncated or rewritten tails, third-party time).
//! - [`bundle`]: auditor bundles (.tar.gz, compressed on every core) for a review period:
//!   writing, safe extraction, MANIFEST checks.
//! - [`human`]: parsing and validating drill logs, objectives and access reviews.
//! - [`submit`]: turning validated human records into records.
//! - [`ids`]: id claims, which make "one id, one record" part of the commit and answer
//!   "is this id stored?" with one read.
//! - [`requirements`]: the requirements catalog (config/requirements.toml) and its
//!   evaluation, a pure function of (catalog, evidence, time); [`requirements::metrics`]
//!   gives the per-requirement numbers the daemon publishes, and
//!   [`requirements::loaded`] the evidence the daemon keeps between evaluations, brought
//!   up to date by reading only the records committed since.
//! - [`report`]: rendering one evaluation as JSON, Markdown, self-contained HTML (the
//!   auditor's artefact, with its timeline), CSV ([`report::csv`]) and OSCAL assessment
//!   results ([`report::oscal`], which also generates the OSCAL catalog and plan shipped in
//!   config/oscal/); [`report::checklist`] places requirements in the FTR and Competency
//!   checklists (docs/REPORTS.md).
//! - [`collect`]: collectors of AWS state (Backup, Config, CloudWatch, S3 posture) and the
//!   drill inbox; one record per run and scope, partial and failed runs included. Each AWS
//!   call runs on a task of its own, long listings are read ahead, and pages are mapped to
//!   documents off the paging loop, so a collection uses every core. Long document lists
//!   are sorted on disk past a budget (`collect/spill.rs`) and written to spools as they
//!   are read, so memory does not grow with the account; requests go through per-service
//!   limits across every account and region, which count requests and throttles
//!   ([`collect::limits`]).
//! - [`daemon`]: `evidenced run`: cron scheduling without overlap, catch-up, graceful
//!   shutdown with a deadline, and the health state behind `evidenced healthcheck`.
//! - [`config`]: the TOML configuration with `EVIDENCED_<SECTION>__<KEY>` overrides.
//! - [`cli`]: the `evidenced` command line (the only place that uses `anyhow`).
//! - [`telemetry`]: `tracing` setup.
//! - `fuzzing` (hidden): entry points of the fuzz targets in `fuzz/`, replayed by tests.
//! - [`failpoint`]: named pause points that crash tests use to kill a writer at an exact step.
//!
//! # Error handling
//!
//! Each module has its own `thiserror` enum whose messages name the file, key, field or
//! sequence number at fault and, where there is one, the next step. Only [`cli`] turns them
//! into `anyhow` errors and exit codes.

pub mod bundle;
pub mod canonical;
pub mod chain;
pub mod checkpoint;
pub mod cli;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod digest;
pub mod failpoint;
#[doc(hidden)]
pub mod fuzzing;
pub mod human;
pub mod ids;
pub mod record;
pub mod report;
pub mod requirements;
pub mod store;
pub mod submit;
pub mod telemetry;
pub mod verify;
