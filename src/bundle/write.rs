//! Writing a bundle: records 1 ..= the last recorded at or before `max(to, at)` (so every link
//! verifies from the start of the chain), or, when it is sealed by a signed checkpoint of its
//! last record, record 1 and the records from the first one its report reads; the blobs of the period's records and those the
//! report reads, the checkpoints up to the last record with their time-stamp tokens, public
//! keys, the report in three formats, the catalog, the docs, VERIFY.md and the MANIFEST.
//!
//! The archive is written to a temporary file beside the output and renamed into place, so
//! an interrupted run leaves no half bundle under the requested name. Member headers are
//! fixed (mode 0644, owner 0, mtime = the earlier of the end of the period and `at`) so the same inputs give the
//! same archive. It is compressed on every core in independent gzip members ([`super::pgz`]).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use flate2::Compression;
use futures::TryStreamExt as _;

use super::pgz::ParallelGz;
use super::{BundleError, BundleMeta, BUNDLE_FORMAT, CATALOG, MANIFEST, META, STORE_DIR};
use crate::chain::{blob_key, record_key, EvidenceStore};
use crate::checkpoint::tsa::parse_token_key;
use crate::checkpoint::{parse_checkpoint_key, CHECKPOINTS_PREFIX, KEYS_PREFIX};
use crate::digest::Digest;
use crate::human::fmt_time;
use crate::report::{self, ReportFormat};
use crate::requirements::loaded::Carried;
use crate::requirements::{evaluate, Catalog, Evaluation, Evidence, Options, Window};
use crate::store::ObjectStore;

/// The format documentation shipped in every bundle: records and blobs, then checkpoints,
/// bundles and the catalog.
const FORMAT_DOC: &str = include_str!("../../docs/FORMAT.md");
const FORMAT_CHECKPOINTS_DOC: &str = include_str!("../../docs/FORMAT-checkpoints-bundles.md");
/// The verification steps shipped in every bundle.
const VERIFY_DOC: &str = include_str!("../../docs/VERIFY.md");
/// What each requirement of the catalog means and does not prove.
const RULES_DOC: &str = include_str!("../../docs/RULES.md");

/// Blobs read ahead of the archive (each held until it is written).
const BLOBS_AHEAD: usize = 8;

/// What to put in a bundle.
pub struct BundleSpec<'a> {
    pub window: Window,
    pub catalog: &'a Catalog,
    /// The catalog's text, stored verbatim so `report --bundle` uses the same rules.
    pub catalog_text: &'a str,
    pub options: &'a Options,
    /// What the report stands on (the store verified when the bundle was made); its head
    /// is set to the bundle's last record.
    pub basis: crate::requirements::Basis,
    /// The evidence the report reads: records from the window's horizon
    /// ([`crate::requirements::Evidence::load_since`]).
    pub evidence: &'a Evidence,
    /// The records that reading read, as their stored bytes
    /// ([`crate::requirements::loaded::Loaded::carrying`]): a sealed bundle carries these,
    /// not a second reading of the store. Empty: the records are read from the store.
    pub carried: &'a [Carried],
    /// Signs a checkpoint of the bundle's last record (when a signing key is configured),
    /// so that the bundle's whole chain is vouched for.
    pub seal: Option<&'a dyn Seal>,
    /// Told how far the archive has got (a progress display on a terminal).
    pub progress: Option<ProgressFn<'a>>,
}

/// Makes sure a signed checkpoint of a record exists in the store.
pub trait Seal: Sync {
    fn seal(
        &self,
        seq: u64,
        hash: Digest,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>>;
}

/// Where the archive goes.
#[derive(Debug, Clone, Copy)]
pub enum Destination<'a> {
    /// A file, written through a temporary file beside it, fsynced and renamed into place.
    File(&'a Path),
    /// Standard output, as it is made (`-o -`).
    Stdout,
}

impl Destination<'_> {
    fn name(&self) -> String {
        match self {
            Destination::File(p) => p.display().to_string(),
            Destination::Stdout => "standard output".into(),
        }
    }
}

/// How far a bundle has got, for a progress display.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub records: u64,
    pub records_total: u64,
    pub blobs: u64,
    pub blobs_total: u64,
    /// Uncompressed bytes archived so far.
    pub bytes: u64,
}

/// Receives [`Progress`] after each record and blob archived.
pub type ProgressFn<'a> = &'a (dyn Fn(&Progress) + Sync);

/// What was written.
#[derive(Debug)]
pub struct Written {
    pub meta: BundleMeta,
    pub evaluation: Evaluation,
    /// Size of the archive.
    pub bytes: u64,
    /// SHA-256 of the archive's bytes.
    pub sha256: Digest,
}

/// The archive's final writer: counts and hashes what passes through.
struct Sink {
    inner: Box<dyn Write + Send>,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest as _;
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

struct Tar<W: Write> {
    builder: tar::Builder<W>,
    manifest: Vec<(String, Digest)>,
    mtime: u64,
    out: String,
    done: Progress,
}

impl<W: Write> Tar<W> {
    fn add(&mut self, path: &str, bytes: &[u8]) -> Result<(), BundleError> {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(self.mtime);
        h.set_uid(0);
        h.set_gid(0);
        h.set_entry_type(tar::EntryType::Regular);
        self.builder
            .append_data(&mut h, path, bytes)
            .map_err(BundleError::io(&self.out))?;
        if path != MANIFEST {
            self.manifest.push((path.to_string(), Digest::of(bytes)));
        }
        self.done.bytes += bytes.len() as u64;
        Ok(())
    }
}

/// Write the bundle for `spec` to `out`.
pub async fn write<S: ObjectStore>(
    store: &EvidenceStore<S>,
    spec: &BundleSpec<'_>,
    out: Destination<'_>,
) -> Result<Written, BundleError> {
    let tell = |p: &Progress| {
        if let Some(f) = spec.progress {
            f(p)
        }
    };
    let w = spec.window;
    // A sealed bundle is an excerpt: record 1 (it names the chain) and the records from the
    // first one the report reads, anchored by the signed checkpoint of its last record. An
    // unsealed one carries the whole chain, so that every link verifies from record 1.
    let start = match (spec.seal, spec.evidence.records.first()) {
        (Some(_), Some(r)) if r.seq > 2 => r.seq,
        _ => 1,
    };
    // The excerpt is the records the evaluation read, as it read them, when they were
    // kept: nothing is read twice, and nothing committed since is carried unevaluated.
    let from_read = start > 1 && spec.carried.first().is_some_and(|c| c.seq <= start);
    let owned: Vec<Carried> = if from_read {
        let one = store.record(1).await?.ok_or_else(|| {
            BundleError::Input(format!(
                "{} is missing; run `evidenced verify` to locate the damage",
                record_key(1)
            ))
        })?;
        vec![Carried::from(one)]
    } else {
        store
            .records_from(start)
            .await?
            .into_iter()
            .map(Carried::from)
            .collect()
    };
    let read = spec.carried.iter().filter(|c| from_read && c.seq >= start);
    let records: Vec<&Carried> = owned.iter().chain(read).collect();
    // Everything the report may read: records up to the end of the period, or up to the
    // evaluation time when that is later.
    let end = w.to.max(w.at);
    let Some(last) = records
        .iter()
        .filter(|r| r.seq >= start && r.recorded_at <= end)
        .map(|r| r.seq)
        .max()
    else {
        return Err(BundleError::Input(format!(
            "the store has no record recorded at or before {}",
            fmt_time(end)
        )));
    };
    let first_seq = (start > 1).then_some(start);
    // Records are contiguous (from 1, or record 1 and from `start`); anything else is damage
    // that verify should name.
    let included: Vec<&Carried> = records.into_iter().filter(|r| r.seq <= last).collect();
    if let (Some(seal), Some(r)) = (spec.seal, included.last()) {
        seal.seal(r.seq, r.hash).await.map_err(|e| {
            BundleError::Input(format!("signing a checkpoint of record {}: {e}", r.seq))
        })?;
    }
    let first_period_seq = included
        .iter()
        .find(|r| r.recorded_at >= w.from)
        .map(|r| r.seq);

    // The report is what the bundle's own records give: records committed after `last`
    // (after the period and the evaluation time) are not carried, so they are not read
    // here either, and `report --bundle` re-makes the same report.
    let through;
    let evidence = match spec.evidence.records.last() {
        Some(r) if r.seq > last => {
            through = spec.evidence.through(last);
            &through
        }
        _ => spec.evidence,
    };
    let mut evaluation = evaluate(spec.catalog, evidence, w, spec.options);
    let horizon = w.horizon(spec.catalog);
    let mut basis = spec.basis.clone();
    if let (Some(head), Some(checked)) = (basis.head_seq, basis.checked.as_mut()) {
        if head > last {
            // What was checked was the store's, up to its head then; say where the bundle
            // ends, so that no reader takes the later records to be in it.
            checked.push_str(&format!(
                "; the store's head was record {head}, and this bundle carries the records to {last}, the last recorded by {}",
                fmt_time(end)
            ));
        }
    }
    basis.head_seq = Some(last);
    basis.head_hash = included.last().map(|r| r.hash.to_string());
    evaluation.basis = Some(basis);
    let wanted = Evidence::wanted(spec.catalog);
    let mut blobs: BTreeSet<Digest> = BTreeSet::new();
    for r in &included {
        let in_period = r.recorded_at >= w.from;
        // What the report reads: the wanted media types from its horizon on.
        let read = r.recorded_at >= horizon;
        for (media_type, digest) in &r.items {
            if in_period || (read && wanted.contains(media_type)) {
                blobs.insert(*digest);
            }
        }
    }

    let out_name = out.name();
    let (inner, tmp): (Box<dyn Write + Send>, _) = match out {
        Destination::File(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp =
                tempfile::NamedTempFile::new_in(dir).map_err(BundleError::io(dir.display()))?;
            let file = tmp
                .as_file()
                .try_clone()
                .map_err(BundleError::io(&out_name))?;
            (
                Box::new(std::io::BufWriter::with_capacity(1 << 20, file)),
                Some((tmp, path)),
            )
        }
        Destination::Stdout => (
            Box::new(std::io::BufWriter::with_capacity(
                1 << 20,
                std::io::stdout(),
            )),
            None,
        ),
    };
    let sink = Sink {
        inner,
        hasher: sha2::Digest::new(),
        bytes: 0,
    };
    let gz = ParallelGz::new(sink, Compression::default());
    let mut tar = Tar {
        builder: tar::Builder::new(gz),
        manifest: Vec::new(),
        mtime: u64::try_from(w.to.min(w.at).unix_timestamp()).unwrap_or(0),
        out: out_name.clone(),
        done: Progress {
            records_total: included.len() as u64,
            blobs_total: blobs.len() as u64,
            ..Progress::default()
        },
    };

    for r in &included {
        tar.add(&format!("{STORE_DIR}/{}", record_key(r.seq)), &r.bytes)?;
        tar.done.records += 1;
        if tar.done.records % 256 == 0 {
            tell(&tar.done);
        }
    }
    tell(&tar.done);
    let backend = store.backend();
    let mut checkpoint_seq = None;
    for key in backend.list(CHECKPOINTS_PREFIX).await? {
        // Checkpoints, and the RFC 3161 time-stamp tokens beside them.
        let (seq, token) = match (parse_checkpoint_key(&key), parse_token_key(&key)) {
            (Some(seq), _) => (seq, false),
            (None, Some(seq)) => (seq, true),
            (None, None) => continue,
        };
        // Only checkpoints of records the bundle carries.
        if seq > last || (seq > 1 && first_seq.is_some_and(|f| seq < f)) {
            continue;
        }
        if let Some(bytes) = backend.get(&key).await? {
            tar.add(&format!("{STORE_DIR}/{key}"), &bytes)?;
            if !token {
                checkpoint_seq = Some(checkpoint_seq.map_or(seq, |s: u64| s.max(seq)));
            }
        }
    }
    for key in backend.list(KEYS_PREFIX).await? {
        if let Some(bytes) = backend.get(&key).await? {
            tar.add(&format!("{STORE_DIR}/{key}"), &bytes)?;
        }
    }
    // In digest order (the archive's order): the blobs the evaluation read and checked as
    // it read them, the others read ahead from the store, several at a time.
    let held = &evidence.blobs;
    let unread: Vec<Digest> = blobs
        .iter()
        .filter(|d| !held.contains_key(d))
        .copied()
        .collect();
    let mut read = std::pin::pin!(store.blobs(unread, BLOBS_AHEAD));
    for d in &blobs {
        let bytes = match held.get(d) {
            Some(b) => std::borrow::Cow::Borrowed(b),
            None => match read.try_next().await? {
                Some((r, Some(b))) if r == *d => std::borrow::Cow::Owned(b),
                _ => {
                    return Err(BundleError::Input(format!(
                        "blob {d} is missing from the store; run `evidenced verify` to locate the damage"
                    )))
                }
            },
        };
        tar.add(&format!("{STORE_DIR}/{}", blob_key(d)), &bytes)?;
        tar.done.blobs += 1;
        tell(&tar.done);
    }

    let chain = included
        .first()
        .map(|r| r.hash.to_string())
        .unwrap_or_default();
    let meta = BundleMeta {
        format: BUNDLE_FORMAT,
        program: format!("evidenced {}", env!("CARGO_PKG_VERSION")),
        at: fmt_time(w.at),
        from: fmt_time(w.from),
        to: fmt_time(w.to),
        chain,
        last_seq: last,
        first_seq,
        first_period_seq,
        checkpoint_seq,
        records: included.len() as u64,
        blobs: blobs.len() as u64,
        lead_days: spec.options.lead_days,
        schedules: spec
            .options
            .schedules
            .iter()
            .map(|(k, v)| (k.clone(), u64::try_from(v.whole_seconds()).unwrap_or(0)))
            .collect(),
    };
    let meta_json =
        serde_json::to_vec_pretty(&meta).map_err(|e| BundleError::Input(format!("{META}: {e}")))?;
    tar.add(META, &meta_json)?;
    tar.add(CATALOG, spec.catalog_text.as_bytes())?;
    for (name, format) in [
        ("report/report.json", ReportFormat::Json),
        ("report/report.md", ReportFormat::Md),
        ("report/report.html", ReportFormat::Html),
    ] {
        tar.add(name, report::render(&evaluation, format).as_bytes())?;
    }
    tar.add("docs/FORMAT.md", FORMAT_DOC.as_bytes())?;
    tar.add(
        "docs/FORMAT-checkpoints-bundles.md",
        FORMAT_CHECKPOINTS_DOC.as_bytes(),
    )?;
    tar.add("docs/RULES.md", RULES_DOC.as_bytes())?;
    tar.add("VERIFY.md", VERIFY_DOC.as_bytes())?;
    let mut manifest = tar.manifest.clone();
    manifest.sort();
    let text: String = manifest
        .iter()
        .map(|(p, d)| format!("{}  {p}\n", d.hex()))
        .collect();
    tar.add(MANIFEST, text.as_bytes())?;

    let gz = tar
        .builder
        .into_inner()
        .map_err(BundleError::io(&out_name))?;
    let mut sink = gz.finish().map_err(BundleError::io(&out_name))?;
    sink.flush().map_err(BundleError::io(&out_name))?;
    let bytes = sink.bytes;
    let sha256 = Digest(sha2::Digest::finalize(sink.hasher).into());
    drop(sink.inner);
    if let Some((tmp, path)) = tmp {
        tmp.as_file()
            .sync_all()
            .map_err(BundleError::io(&out_name))?;
        tmp.persist(path).map_err(|e| BundleError::Io {
            path: out_name.clone(),
            source: e.error,
        })?;
    }
    tracing::debug!(
        records = meta.records,
        blobs = meta.blobs,
        bytes,
        "Bundle written."
    );
    Ok(Written {
        meta,
        evaluation,
        bytes,
        sha256,
    })
}
