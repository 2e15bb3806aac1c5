//! The local-directory backend: the embedded default (`./evidence`).
//!
//! Objects are created by writing a temporary file beside the target, `fsync`ing it, and
//! hard-linking it into place. `link(2)` fails when the target exists, which makes the link
//! the no-clobber commit point; the directory is `fsync`ed afterwards so the name survives a
//! power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use super::{check_key, ObjectStore, PutOutcome, StoreError};
use crate::digest::{Blob, Digest, Hasher};

/// Prefix of temporary files; never listed, safe to delete when no writer runs.
const TMP_PREFIX: &str = ".tmp-";

/// A store rooted at a directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
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

fn put_sync(path: &Path, key: &str, pieces: &[&[u8]]) -> Result<PutOutcome, StoreError> {
    if path.exists() {
        return Ok(PutOutcome::AlreadyExists);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("create directory for", key))?;
    let tmp = dir.join(format!("{TMP_PREFIX}{:016x}", rand::random::<u64>()));
    let result = (|| {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err("create temporary file for", key))?;
        let mut w = io::BufWriter::with_capacity(WRITE_BUFFER, f);
        for piece in pieces {
            w.write_all(piece).map_err(io_err("write", key))?;
        }
        let f = w
            .into_inner()
            .map_err(|e| io_err("write", key)(e.into_error()))?;
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

fn list_sync(root: &Path, prefix: &str) -> Result<Vec<String>, StoreError> {
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
    let mut stack = vec![(start, dir_part.to_string())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err("list", &rel)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err("list", &rel))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(TMP_PREFIX) {
                continue;
            }
            let key = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = entry.file_type().map_err(io_err("list", &key))?;
            if ft.is_dir() {
                stack.push((entry.path(), key));
            } else if key.starts_with(prefix) {
                out.push(key);
            }
        }
    }
    out.sort();
    Ok(out)
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
        blocking("read", key, move || match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("read", &k)(e)),
        })
        .await
    }

    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        let bytes = bytes.to_vec();
        blocking("write", key, move || put_sync(&path, &k, &[&bytes])).await
    }

    async fn put_blob_if_absent(&self, key: &str, blob: &Blob) -> Result<PutOutcome, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        let pieces = blob.pieces().to_vec();
        blocking("write", key, move || {
            let pieces: Vec<&[u8]> = pieces.iter().map(|p| p.as_ref()).collect();
            put_sync(&path, &k, &pieces)
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let root = self.root.clone();
        let p = prefix.to_string();
        blocking("list", prefix, move || list_sync(&root, &p)).await
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

    async fn digest(&self, key: &str) -> Result<Option<(Digest, u64)>, StoreError> {
        let path = self.path(key)?;
        let k = key.to_string();
        blocking("read", key, move || digest_sync(&path, &k)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
