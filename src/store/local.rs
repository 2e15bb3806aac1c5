//! The local-directory backend: the embedded default (`./evidence`).
//!
//! Objects are created by writing a temporary file in [`TMP_DIR`], `fsync`ing it, and
//! hard-linking it into place. `link(2)` fails when the target exists, which makes the link
//! the no-clobber commit point; the directory is `fsync`ed afterwards so the name survives a
//! power cut.
//!
//! A writer killed mid-write leaves its temporary file behind. The first put of each
//! `LocalStore` removes temporary files older than [`STALE_TEMP_AGE`] from [`TMP_DIR`]
//! (docs/FORMAT.md, "Layout"); younger ones may belong to a live writer. That directory
//! holds only writes in flight or interrupted, so the sweep costs nothing that grows with
//! the chain. `verify` walks every directory, so leftovers of earlier versions, which wrote
//! temporary files beside their targets, are still named.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime};

use super::{check_key, ObjectStore, PutOutcome, StoreError};
use crate::digest::{Blob, Digest, Hasher};

/// Prefix of temporary files; never listed, safe to delete when no writer runs.
pub const TMP_PREFIX: &str = ".tmp-";

/// The directory below the root that holds temporary files while they are written (its
/// name has [`TMP_PREFIX`], so listings skip it).
pub const TMP_DIR: &str = ".tmp-writes";

/// Age after which a temporary file cannot belong to a live writer: a write takes seconds
/// (a temporary file lives from its creation to the link, and each write refreshes its
/// modification time), so an hour-old one was left by a writer that was killed.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);

/// Directory levels below the root that hold objects: keys' parents are at most
/// `blobs/sha256/<h[0..2]>/`. Walks for temporary files go no deeper.
const MAX_OBJECT_DIR_DEPTH: usize = 3;

/// A temporary file found in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempFile {
    /// Path below the store root, `/`-separated, e.g. `chain/records/.tmp-0123456789abcdef`.
    pub key: String,
    /// Time since it was last modified (zero when its time lies in the future).
    pub age: Duration,
}

impl TempFile {
    /// Old enough that no live writer can own it (see [`STALE_TEMP_AGE`]).
    pub fn is_stale(&self) -> bool {
        self.age > STALE_TEMP_AGE
    }
}

/// A store rooted at a directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// Runs the sweep of stale temporary files once, before this store's first put.
    sweep: Arc<Once>,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore {
            root: root.into(),
            sweep: Arc::new(Once::new()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Before the first write: remove stale temporary files once per store.
    fn sweep_once(&self) -> impl FnOnce() + Send + 'static {
        let root = self.root.clone();
        let sweep = self.sweep.clone();
        move || sweep.call_once(|| remove_stale_temp_files(&root))
    }

    /// Where writes put their temporary files.
    fn tmp_dir(&self) -> PathBuf {
        self.root.join(TMP_DIR)
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

fn io_err<'a>(op: &'static str, key: &'a str) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        key: key.to_string(),
        source,
    }
}

fn read_sync(path: &Path, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", key)(e)),
    }
}

async fn blocking<T: Send + 'static>(
    op: &'static str,
    key: &str,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Io {
            op,
            key: key.to_string(),
            source: io::Error::other(e.to_string()),
        })?
}

/// Writes of a blob in many pieces are gathered into calls of this size.
const WRITE_BUFFER: usize = 1 << 20;

fn put_sync(
    tmp_dir: &Path,
    path: &Path,
    key: &str,
    pieces: &[&[u8]],
) -> Result<PutOutcome, StoreError> {
    if path.exists() {
        return Ok(PutOutcome::AlreadyExists);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("create directory for", key))?;
    create_via_temp(tmp_dir, path, dir, key, |f| {
        let mut w = io::BufWriter::with_capacity(WRITE_BUFFER, f);
        for piece in pieces {
            w.write_all(piece).map_err(io_err("write", key))?;
        }
        w.into_inner()
            .map_err(|e| io_err("write", key)(e.into_error()))
    })
}

/// Create `path` (in `dir`, which exists) from a new temporary file in `tmp_dir` that
/// `fill` writes: the file is fsynced, hard-linked into place (a link never replaces an
/// existing file, so the first writer wins), and the directory fsynced; the temporary
/// name is removed whatever happens.
pub(super) fn create_via_temp(
    tmp_dir: &Path,
    path: &Path,
    dir: &Path,
    key: &str,
    fill: impl FnOnce(File) -> Result<File, StoreError>,
) -> Result<PutOutcome, StoreError> {
    fs::create_dir_all(tmp_dir).map_err(io_err("create the temporary directory for", key))?;
    let tmp = tmp_dir.join(format!("{TMP_PREFIX}{:016x}", rand::random::<u64>()));
    let result = (|| {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err("create temporary file for", key))?;
        let f = fill(f)?;
        f.sync_all().map_err(io_err("fsync", key))?;
        drop(f);
        match fs::hard_link(&tmp, path) {
            Ok(()) => {
                if let Ok(d) = File::open(dir) {
                    d.sync_all().map_err(io_err("fsync directory of", key))?;
                }
                Ok(PutOutcome::Created)
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(PutOutcome::AlreadyExists),
            Err(e) => Err(io_err("link", key)(e)),
        }
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// The keys under `prefix` that sort after `after` (all of them for `""`), sorted. A
/// file's key is built in one reused buffer and copied out only when it is kept, so a
/// listing that keeps few of a large directory's names costs the directory read.
fn list_sync(root: &Path, prefix: &str, after: &str) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    // Start from the deepest directory the prefix names, then filter by the full prefix.
    let dir_part = match prefix.rfind('/') {
        Some(i) => &prefix[..i],
        None => "",
    };
    let start = if dir_part.is_empty() {
        root.to_path_buf()
    } else {
        root.join(dir_part)
    };
    let mut key = String::new();
    let mut stack = vec![(start, dir_part.to_string())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("list", &rel)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err("list", &rel))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TMP_PREFIX) {
                continue;
            }
            key.clear();
            if !rel.is_empty() {
                key.push_str(&rel);
                key.push('/');
            }
            key.push_str(&name);
            let ft = entry.file_type().map_err(io_err("list", &key))?;
            if ft.is_dir() {
                stack.push((entry.path(), key.clone()));
            } else if key.starts_with(prefix) && key.as_str() > after {
                out.push(key.clone());
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn temp_files_sync(root: &Path) -> Result<Vec<TempFile>, StoreError> {
    let now = SystemTime::now();
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("list temporary files in", &rel)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err("list temporary files in", &rel))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            // Not followed: symbolic links (a store is plain directories and files).
            let ft = entry.file_type().map_err(io_err("stat", &key))?;
            if ft.is_dir() && (!name.starts_with(TMP_PREFIX) || key == TMP_DIR) {
                if depth < MAX_OBJECT_DIR_DEPTH {
                    stack.push((entry.path(), key, depth + 1));
                }
            } else if ft.is_file() && name.starts_with(TMP_PREFIX) {
                out.extend(temp_file(&entry, key, now)?);
            }
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// A temporary file with its age; `None` when its writer removed it meanwhile.
fn temp_file(
    entry: &fs::DirEntry,
    key: String,
    now: SystemTime,
) -> Result<Option<TempFile>, StoreError> {
    match entry.metadata().and_then(|m| m.modified()) {
        Ok(modified) => Ok(Some(TempFile {
            key,
            age: now.duration_since(modified).unwrap_or(Duration::ZERO),
        })),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("stat", &key)(e)),
    }
}

/// The temporary files directly in `root/rel` (one directory: no walk).
fn temp_files_in(root: &Path, rel: &str) -> Result<Vec<TempFile>, StoreError> {
    let now = SystemTime::now();
    let entries = match fs::read_dir(root.join(rel)) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("list temporary files in", rel)(e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("list temporary files in", rel))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let key = format!("{rel}/{name}");
        let ft = entry.file_type().map_err(io_err("stat", &key))?;
        if ft.is_file() && name.starts_with(TMP_PREFIX) {
            out.extend(temp_file(&entry, key, now)?);
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// Remove temporary files older than [`STALE_TEMP_AGE`], logging each. Best effort: a
/// failure is logged and the write goes ahead (a stale file wastes space, nothing more).
fn remove_stale_temp_files(root: &Path) {
    let found = match temp_files_in(root, TMP_DIR) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, root = %root.display(), "Could not look for stale temporary files; `evidenced verify` lists them.");
            return;
        }
    };
    let mut removed = 0usize;
    for tmp in found.iter().filter(|t| t.is_stale()) {
        match fs::remove_file(root.join(&tmp.key)) {
            Ok(()) => {
                removed += 1;
                tracing::info!(
                    file = %tmp.key,
                    age_secs = tmp.age.as_secs(),
                    "Removed a stale temporary file left by an interrupted write."
                );
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                file = %tmp.key,
                error = %e,
                "Could not remove a stale temporary file; remove it by hand."
            ),
        }
    }
    if removed > 0 {
        tracing::info!(removed, root = %root.display(), "Stale temporary files removed.");
    }
}

fn digest_sync(path: &Path, key: &str) -> Result<Option<(Digest, u64)>, StoreError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", key)(e)),
    };
    let mut hasher = Hasher::default();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io_err("read", key))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(Some((hasher.finish(), size)))
}

impl ObjectStore for LocalStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        blocking("read", key, move || read_sync(&path, &k)).await
    }

    /// In two blocking tasks, one per half of `keys` (the reads of a cached directory are
    /// system calls: work for both cores), rather than one task per file.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut halves: Vec<Vec<(PathBuf, String)>> = Vec::new();
        for half in keys.chunks(keys.len().div_ceil(2).max(1)) {
            let paths = half
                .iter()
                .map(|k| Ok((self.path(k)?, k.clone())))
                .collect::<Result<Vec<_>, StoreError>>()?;
            halves.push(paths);
        }
        let first = keys.first().map_or("", String::as_str);
        let reads = halves.into_iter().map(|half| {
            blocking("read", first, move || {
                half.iter()
                    .map(|(path, key)| read_sync(path, key))
                    .collect()
            })
        });
        let read: Vec<Vec<Option<Vec<u8>>>> = futures::future::try_join_all(reads).await?;
        Ok(read.into_iter().flatten().collect())
    }

    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        let bytes = bytes.to_vec();
        let sweep = self.sweep_once();
        let tmp_dir = self.tmp_dir();
        blocking("write", key, move || {
            sweep();
            put_sync(&tmp_dir, &path, &k, &[&bytes])
        })
        .await
    }

    async fn put_blob_if_absent(&self, key: &str, blob: &Blob) -> Result<PutOutcome, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        let pieces = blob.pieces().to_vec();
        let sweep = self.sweep_once();
        let tmp_dir = self.tmp_dir();
        blocking("write", key, move || {
            sweep();
            let pieces: Vec<&[u8]> = pieces.iter().map(|p| p.as_ref()).collect();
            put_sync(&tmp_dir, &path, &k, &pieces)
        })
        .await
    }

    async fn put_spooled_if_absent(
        &self,
        key: &str,
        blob: &super::SpooledBlob,
    ) -> Result<PutOutcome, StoreError> {
        self.path(key)?;
        let (root, k, spool) = (
            self.root.clone(),
            key.to_string(),
            blob.path().to_path_buf(),
        );
        let sweep = self.sweep_once();
        blocking("write", key, move || {
            sweep();
            super::blob_writer::put_local(&root, &k, &spool)
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let root = self.root.clone();
        let p = prefix.to_string();
        blocking("list", prefix, move || list_sync(&root, &p, "")).await
    }

    async fn list_after(&self, prefix: &str, start_after: &str) -> Result<Vec<String>, StoreError> {
        let root = self.root.clone();
        let (p, a) = (prefix.to_string(), start_after.to_string());
        blocking("list", prefix, move || list_sync(&root, &p, &a)).await
    }

    async fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        blocking("stat", key, move || match fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("stat", &k)(e)),
        })
        .await
    }

    fn streams_digest(&self) -> bool {
        true
    }

    async fn digest(&self, key: &str) -> Result<Option<(Digest, u64)>, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        blocking("read", key, move || digest_sync(&path, &k)).await
    }

    /// Every temporary file in the store's directories (the root and up to three levels
    /// below it), sorted by path.
    async fn temp_files(&self) -> Result<Vec<TempFile>, StoreError> {
        let root = self.root.clone();
        blocking("list temporary files in", "", move || {
            temp_files_sync(&root)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_batch_read_returns_each_object_in_order_and_refuses_a_bad_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let keys: Vec<String> = (0..7).map(|i| format!("blobs/k{i}")).collect();
        for (i, k) in keys.iter().enumerate() {
            if i != 3 {
                store.put_if_absent(k, k.as_bytes()).await.unwrap();
            }
        }
        let got = store.get_many(&keys).await.unwrap();
        for (i, (k, b)) in keys.iter().zip(&got).enumerate() {
            let want = (i != 3).then(|| k.as_bytes().to_vec());
            assert_eq!(b, &want, "{k}");
        }
        assert_eq!(
            store.get_many(&[]).await.unwrap(),
            Vec::<Option<Vec<u8>>>::new()
        );
        let bad = vec![keys[0].clone(), "../outside".to_string()];
        assert!(store.get_many(&bad).await.is_err());
    }

    #[tokio::test]
    async fn put_if_absent_never_clobbers() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path());
        assert_eq!(
            s.put_if_absent("a/b", b"one").await.unwrap(),
            PutOutcome::Created
        );
        assert_eq!(
            s.put_if_absent("a/b", b"two").await.unwrap(),
            PutOutcome::AlreadyExists
        );
        assert_eq!(s.get("a/b").await.unwrap().unwrap(), b"one");
        assert_eq!(s.list("a/").await.unwrap(), vec!["a/b".to_string()]);
        assert_eq!(s.head("a/b").await.unwrap(), Some(3));
        assert_eq!(s.get("a/c").await.unwrap(), None);
        let leftovers: Vec<_> = fs::read_dir(dir.path().join("a")).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary files left behind");
    }

    #[tokio::test]
    async fn a_listing_after_a_key_keeps_only_the_keys_after_it_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path());
        for key in ["r/0003", "r/0001", "r/0004", "r/0002", "r/x/0001", "q/0009"] {
            s.put_if_absent(key, b"x").await.unwrap();
        }
        temp_file(dir.path(), &format!("r/{TMP_PREFIX}0005"), Duration::ZERO);
        assert_eq!(
            s.list_after("r/", "r/0002").await.unwrap(),
            ["r/0003", "r/0004", "r/x/0001"]
        );
        assert_eq!(s.list_after("r/", "r/0004").await.unwrap(), ["r/x/0001"]);
        assert!(s.list_after("r/", "r/y").await.unwrap().is_empty());
        assert_eq!(
            s.list_after("r/", "").await.unwrap(),
            s.list("r/").await.unwrap()
        );
        assert_eq!(s.list("r/").await.unwrap().len(), 5);
    }

    /// Create a temporary file at `rel` last modified `age` ago.
    fn temp_file(root: &Path, rel: &str, age: Duration) {
        let path = root.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let f = File::create(&path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    #[tokio::test]
    async fn first_put_removes_only_stale_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let hour = Duration::from_secs(3600);
        temp_file(root, ".tmp-writes/.tmp-old", 2 * hour);
        temp_file(root, ".tmp-writes/.tmp-older", 25 * hour);
        temp_file(root, ".tmp-writes/.tmp-live", Duration::from_secs(5));
        // Left beside its target by an earlier version: named by verify, not swept (the
        // sweep reads one small directory, never the chain's).
        temp_file(root, "chain/records/.tmp-legacy", 2 * hour);
        // Deeper than any object directory: not walked, not touched.
        temp_file(root, "a/b/c/d/.tmp-deep", 2 * hour);
        let s = LocalStore::new(root);
        let keys = |v: Vec<TempFile>| v.into_iter().map(|t| t.key).collect::<Vec<_>>();
        assert_eq!(
            keys(s.temp_files().await.unwrap()),
            vec![
                ".tmp-writes/.tmp-live",
                ".tmp-writes/.tmp-old",
                ".tmp-writes/.tmp-older",
                "chain/records/.tmp-legacy"
            ]
        );
        // Reading sweeps nothing.
        assert!(s.get("chain/records/x").await.unwrap().is_none());
        assert_eq!(s.temp_files().await.unwrap().len(), 4);

        assert_eq!(
            s.put_if_absent("chain/records/x", b"1").await.unwrap(),
            PutOutcome::Created
        );
        assert_eq!(
            keys(s.temp_files().await.unwrap()),
            vec![".tmp-writes/.tmp-live", "chain/records/.tmp-legacy"]
        );
        assert!(root.join("a/b/c/d/.tmp-deep").exists());
        // The write's own temporary file is gone, and listings never show the directory.
        assert_eq!(
            s.list("").await.unwrap(),
            vec!["chain/records/x".to_string()]
        );

        // Once per store: a file gone stale later waits for the next writer.
        temp_file(root, ".tmp-writes/.tmp-later", 2 * hour);
        s.put_if_absent("chain/records/y", b"2").await.unwrap();
        assert!(root.join(".tmp-writes/.tmp-later").exists());
        LocalStore::new(root)
            .put_if_absent("chain/records/z", b"3")
            .await
            .unwrap();
        assert!(!root.join(".tmp-writes/.tmp-later").exists());
    }
}
