//! Opening a bundle: safe extraction into a temporary directory, and the MANIFEST check.
//!
//! A bundle comes from outside, so extraction trusts nothing in it: only regular files and
//! directories are accepted; every path must be relative and made of plain names (no `..`,
//! no root, no prefix); links, devices and FIFOs are refused; no member may exceed
//! [`Limits::max_member`] and all together [`Limits::max_total`] bytes (counted on the
//! bytes actually read, so a lying header cannot get around it); files are created with
//! `create_new`, so a duplicate member cannot overwrite one seen earlier. Any violation
//! refuses the whole bundle and the temporary directory is removed.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{BundleError, BundleMeta, CATALOG, MANIFEST, META, STORE_DIR};
use crate::chain::EvidenceStore;
use crate::digest::{Digest, Hasher};
use crate::requirements::Catalog;
use crate::store::LocalStore;
use crate::verify::Problem;

/// Caps on what extraction accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest single member, in bytes (default 4 GiB).
    pub max_member: u64,
    /// All members together, in bytes (default 64 GiB).
    pub max_total: u64,
    /// Number of members (default 10 million).
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_member: 4 << 30,
            max_total: 64 << 30,
            max_entries: 10_000_000,
        }
    }
}

/// An extracted bundle; the directory is removed when this is dropped.
pub struct Opened {
    dir: tempfile::TempDir,
    pub meta: BundleMeta,
}

impl Opened {
    /// The extracted files.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The bundled store, as a local store.
    pub fn store(&self) -> EvidenceStore<LocalStore> {
        EvidenceStore::new(self.local_store())
    }

    pub fn local_store(&self) -> LocalStore {
        LocalStore::new(self.dir.path().join(STORE_DIR))
    }

    /// The catalog the bundle's report was made with.
    pub fn catalog(&self) -> Result<Catalog, BundleError> {
        Ok(Catalog::load(&self.dir.path().join(CATALOG))?)
    }
}

fn refuse(member: &str, reason: impl Into<String>) -> BundleError {
    BundleError::Unsafe {
        member: member.to_string(),
        reason: reason.into(),
    }
}

/// The member's path as plain relative names, or why it is refused.
fn safe_path(raw: &[u8]) -> Result<PathBuf, String> {
    let s = std::str::from_utf8(raw).map_err(|_| "path is not UTF-8".to_string())?;
    if s.is_empty() {
        return Err("empty path".into());
    }
    if s.starts_with('/') || s.starts_with('\\') {
        return Err("absolute path".into());
    }
    let mut out = PathBuf::new();
    for c in Path::new(s).components() {
        match c {
            Component::Normal(n) => {
                if n.to_string_lossy().contains('\\') {
                    return Err("backslash in path".into());
                }
                out.push(n);
            }
            Component::CurDir => {}
            Component::ParentDir => return Err("`..` in path".into()),
            Component::RootDir | Component::Prefix(_) => return Err("absolute path".into()),
        }
    }
    Ok(out)
}

/// Extract `path` into a new temporary directory under the system temp dir.
pub fn open(path: &Path, limits: &Limits) -> Result<Opened, BundleError> {
    let name = path.display().to_string();
    let file = fs::File::open(path).map_err(BundleError::io(&name))?;
    let dir = tempfile::Builder::new()
        .prefix("evidenced-bundle-")
        .tempdir()
        .map_err(BundleError::io("temporary directory"))?;
    extract(file, dir.path(), limits, &name)?;
    let meta_path = dir.path().join(META);
    let meta_bytes = fs::read(&meta_path).map_err(|e| BundleError::Malformed {
        file: META.into(),
        message: format!("cannot read: {e} (is this an evidenced bundle?)"),
    })?;
    let meta: BundleMeta =
        serde_json::from_slice(&meta_bytes).map_err(|e| BundleError::Malformed {
            file: META.into(),
            message: e.to_string(),
        })?;
    if !(1..=super::BUNDLE_FORMAT).contains(&meta.format) {
        return Err(BundleError::Malformed {
            file: META.into(),
            message: format!(
                "`format` is {}; this program reads bundle formats 1 to {}",
                meta.format,
                super::BUNDLE_FORMAT
            ),
        });
    }
    Ok(Opened { dir, meta })
}

fn extract(file: fs::File, root: &Path, limits: &Limits, name: &str) -> Result<(), BundleError> {
    let mut archive = tar::Archive::new(MultiGzDecoder::new(std::io::BufReader::new(file)));
    let mut total = 0u64;
    let mut count = 0u64;
    let entries = archive.entries().map_err(BundleError::io(name))?;
    for entry in entries {
        let mut entry = entry.map_err(BundleError::io(name))?;
        count += 1;
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        if count > limits.max_entries {
            return Err(refuse(
                &shown,
                format!("more than {} members", limits.max_entries),
            ));
        }
        let rel = safe_path(&raw).map_err(|r| refuse(&shown, r))?;
        let kind = entry.header().entry_type();
        if rel.as_os_str().is_empty() {
            // `.` or `./`: the root of a repack such as `tar -C dir -czf b.tar.gz .`.
            if kind == tar::EntryType::Directory {
                continue;
            }
            return Err(refuse(&shown, "empty path"));
        }
        let target = root.join(&rel);
        match kind {
            tar::EntryType::Directory => {
                fs::create_dir_all(&target).map_err(BundleError::io(&shown))?;
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            other => {
                return Err(refuse(
                    &shown,
                    format!(
                        "member type {other:?} is not allowed (only regular files and directories)"
                    ),
                ))
            }
        }
        if entry.link_name_bytes().is_some_and(|l| !l.is_empty()) {
            return Err(refuse(&shown, "regular file with a link name"));
        }
        let declared = entry.header().size().map_err(BundleError::io(&shown))?;
        if declared > limits.max_member {
            return Err(refuse(
                &shown,
                format!(
                    "{declared} bytes exceeds the member cap of {} bytes",
                    limits.max_member
                ),
            ));
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(BundleError::io(&shown))?;
        }
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| refuse(&shown, format!("cannot create: {e} (duplicate member?)")))?;
        let mut buf = vec![0u8; 1 << 16];
        let mut written = 0u64;
        loop {
            let n = entry.read(&mut buf).map_err(BundleError::io(&shown))?;
            if n == 0 {
                break;
            }
            written += n as u64;
            total += n as u64;
            if written > limits.max_member {
                return Err(refuse(
                    &shown,
                    format!("exceeds the member cap of {} bytes", limits.max_member),
                ));
            }
            if total > limits.max_total {
                return Err(refuse(
                    &shown,
                    format!(
                        "the bundle exceeds the total cap of {} bytes",
                        limits.max_total
                    ),
                ));
            }
            out.write_all(&buf[..n]).map_err(BundleError::io(&shown))?;
        }
    }
    Ok(())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            walk(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

fn file_digest(p: &Path) -> std::io::Result<Digest> {
    let mut f = fs::File::open(p)?;
    let mut h = Hasher::default();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finish());
        }
        h.update(&buf[..n]);
    }
}

fn mp(
    check: &'static str,
    key: &str,
    expected: Option<String>,
    actual: Option<String>,
    message: String,
) -> Problem {
    Problem {
        check,
        seq: crate::chain::parse_record_key(key.strip_prefix("store/").unwrap_or(key)),
        key: key.to_string(),
        expected,
        actual,
        message,
    }
}

/// Check every file of an extracted bundle against its MANIFEST: each listed file exists
/// and has the listed SHA-256, and no file is unlisted.
pub fn check_manifest(root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let text = match fs::read_to_string(root.join(MANIFEST)) {
        Ok(t) => t,
        Err(e) => {
            problems.push(mp(
                "manifest-missing",
                MANIFEST,
                None,
                None,
                format!("{MANIFEST} cannot be read: {e}"),
            ));
            return problems;
        }
    };
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    let mut previous: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let path = line.split_once("  ").map(|(_, p)| p);
        if let (Some(prev), Some(path)) = (previous, path) {
            if path.as_bytes() <= prev.as_bytes() {
                problems.push(mp(
                    "manifest-unsorted",
                    MANIFEST,
                    Some(format!("a path after {prev:?}")),
                    Some(path.to_string()),
                    format!(
                        "{MANIFEST} line {}: {path:?} is not after {prev:?}; the lines are sorted by path, byte for byte, without repeats",
                        i + 1
                    ),
                ));
            }
        }
        previous = path.or(previous);
        let parsed = line.split_once("  ").filter(|(h, p)| {
            h.len() == 64
                && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                && safe_path(p.as_bytes()).is_ok()
        });
        match parsed {
            Some((h, p)) => {
                listed.insert(p.to_string(), h.to_string());
            }
            None => problems.push(mp(
                "manifest-malformed",
                MANIFEST,
                None,
                None,
                format!(
                    "{MANIFEST} line {}: expected `<64 hex>  <relative path>`",
                    i + 1
                ),
            )),
        }
    }
    let mut present = Vec::new();
    if let Err(e) = walk(root, root, &mut present) {
        problems.push(mp(
            "manifest-missing",
            ".",
            None,
            None,
            format!("cannot list the bundle: {e}"),
        ));
    }
    for (path, want) in &listed {
        match file_digest(&root.join(path)) {
            Err(_) => problems.push(mp(
                "manifest-file-missing",
                path,
                Some(want.clone()),
                None,
                format!("{path} is listed in {MANIFEST} but absent from the bundle"),
            )),
            Ok(d) if d.hex() != *want => problems.push(mp(
                "manifest-mismatch",
                path,
                Some(want.clone()),
                Some(d.hex()),
                format!("{path} does not have the SHA-256 listed in {MANIFEST}: it was changed"),
            )),
            Ok(_) => {}
        }
    }
    for p in present {
        if p != MANIFEST && !listed.contains_key(&p) {
            problems.push(mp(
                "manifest-unlisted",
                &p,
                None,
                None,
                format!("{p} is in the bundle but not listed in {MANIFEST}"),
            ));
        }
    }
    problems
}

/// Digests (as `sha256:<hex>`) referenced only by records recorded before the bundle's
/// period: a bundle need not carry them.
pub async fn excused_blobs(
    opened: &Opened,
) -> Result<std::collections::BTreeSet<String>, BundleError> {
    use crate::store::ObjectStore as _;
    let from = opened
        .meta
        .window()
        .map_err(|e| BundleError::Malformed {
            file: META.into(),
            message: e.to_string(),
        })?
        .from;
    let store = opened.local_store();
    let mut before = std::collections::BTreeSet::new();
    let mut during = std::collections::BTreeSet::new();
    for key in store.list(crate::chain::RECORDS_PREFIX).await? {
        let Some(bytes) = store.get(&key).await? else {
            continue;
        };
        let Ok(r) = crate::record::Record::from_bytes(&bytes) else {
            continue;
        };
        let set = if r.recorded_at < from {
            &mut before
        } else {
            &mut during
        };
        set.extend(r.items.iter().map(|i| i.digest.to_string()));
    }
    Ok(before.difference(&during).cloned().collect())
}
