//! Immutable objects already read, kept so that one process never reads one twice, and
//! optionally a directory on disk that keeps them across processes.
//!
//! Only keys that are written once and never changed are kept: records
//! (`chain/records/`), blobs (`blobs/sha256/`) and checkpoints (`chain/checkpoints/`).
//! Absence is never kept (a record may appear at any moment), and neither is anything else
//! (id claims and bindings are read through to the store).
//!
//! In memory, objects are kept until a byte budget is spent; later ones are read through
//! (and, with a directory, come from the disk). On disk, each entry is
//! `<64 hex digits of the SHA-256 of the bytes>\n<bytes>` at `<dir>/<key>`; an entry whose
//! bytes do not hash to its header (or, for a blob, to the digest in its key) is corrupt: it
//! is logged, removed and fetched again. The directory is the reader's own state, as
//! trusted as the program that reads it: it detects damage, not a forger who rewrites both
//! an entry and its header (verify an untrusted store without a cache directory).

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{ObjectStore, PutOutcome, StoreError, TempFile};
use crate::digest::{Blob, Digest};

/// Prefixes of the keys that are never rewritten.
const IMMUTABLE: [&str; 4] = [
    "chain/records/",
    "chain/segments/",
    "blobs/sha256/",
    "chain/checkpoints/",
];

/// Default memory budget of a cache: beyond it, objects are read through.
pub const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

/// Whether `key` names an object that is written once and never changed.
pub fn is_immutable(key: &str) -> bool {
    IMMUTABLE.iter().any(|p| key.starts_with(p))
}

/// The digest a blob key names, if `key` is a blob key.
fn blob_digest(key: &str) -> Option<Digest> {
    let hex = key.strip_prefix("blobs/sha256/")?.rsplit('/').next()?;
    format!("sha256:{hex}").parse().ok()
}

#[derive(Debug, Default)]
struct Memory {
    objects: HashMap<String, Vec<u8>>,
    bytes: usize,
}

/// The kept objects of one store.
#[derive(Debug)]
pub struct ReadCache {
    memory: Mutex<Memory>,
    budget: usize,
    dir: Option<PathBuf>,
}

impl ReadCache {
    /// A cache that keeps up to `budget` bytes in memory and, with `dir`, every object on
    /// disk under it (`dir` must be this store's own: record keys of two stores collide).
    pub fn new(budget: usize, dir: Option<PathBuf>) -> ReadCache {
        ReadCache {
            memory: Mutex::new(Memory::default()),
            budget,
            dir,
        }
    }

    /// The directory of one store in a cache directory shared by several: named by the
    /// SHA-256 of the store's URL.
    pub fn store_dir(cache_dir: &Path, store_url: &str) -> PathBuf {
        cache_dir.join(&Digest::of(store_url.as_bytes()).hex()[..32])
    }

    fn remembered(&self, key: &str) -> Option<Vec<u8>> {
        self.memory.lock().ok()?.objects.get(key).cloned()
    }

    fn remember(&self, key: &str, bytes: &[u8]) {
        if let Ok(mut m) = self.memory.lock() {
            if m.bytes + bytes.len() <= self.budget && !m.objects.contains_key(key) {
                m.bytes += bytes.len();
                m.objects.insert(key.to_string(), bytes.to_vec());
            }
        }
    }

    fn entry(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(key))
    }

    /// The bytes of a sound disk entry; a corrupt one is logged and removed.
    fn read_disk(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.entry(key)?;
        let raw = std::fs::read(&path).ok()?;
        match sound(key, &raw) {
            Some(bytes) => Some(bytes.to_vec()),
            None => {
                tracing::warn!(file = %path.display(), %key, "Cache entry corrupt (its bytes do not match its hash); fetching the object again.");
                if let Err(e) = std::fs::remove_file(&path) {
                    tracing::warn!(file = %path.display(), error = %e, "Could not remove the corrupt cache entry.");
                }
                None
            }
        }
    }

    /// Write a disk entry through a temporary file and a rename, so that a reader never
    /// sees half of one. A failure costs only a later read: it is logged.
    fn write_disk(&self, key: &str, bytes: &[u8]) {
        let Some(path) = self.entry(key) else { return };
        if blob_digest(key).is_some_and(|d| d != Digest::of(bytes)) {
            // A damaged blob in the store: verify names it; the cache never keeps it.
            return;
        }
        let write = || -> std::io::Result<()> {
            let parent = path.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(parent)?;
            let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
            tmp.write_all(Digest::of(bytes).hex().as_bytes())?;
            tmp.write_all(b"\n")?;
            tmp.write_all(bytes)?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::warn!(file = %path.display(), error = %e, "Could not write the cache entry.");
        }
    }

    /// The object at `key`: from memory, from the disk, or from `store` (then kept).
    pub async fn get<S: ObjectStore>(
        &self,
        store: &S,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if !is_immutable(key) {
            return store.get(key).await;
        }
        if let Some(bytes) = self.remembered(key) {
            return Ok(Some(bytes));
        }
        if let Some(bytes) = self.read_disk(key) {
            self.remember(key, &bytes);
            return Ok(Some(bytes));
        }
        let Some(bytes) = store.get(key).await? else {
            return Ok(None);
        };
        self.remember(key, &bytes);
        self.write_disk(key, &bytes);
        Ok(Some(bytes))
    }

    /// [`ReadCache::get`] of each of `keys`, in that order: what the cache holds from it,
    /// the rest from `store` in one [`ObjectStore::get_many`].
    pub async fn get_many<S: ObjectStore>(
        &self,
        store: &S,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let mut out: Vec<Option<Option<Vec<u8>>>> = keys
            .iter()
            .map(|k| {
                if !is_immutable(k) {
                    return None;
                }
                if let Some(bytes) = self.remembered(k) {
                    return Some(Some(bytes));
                }
                let bytes = self.read_disk(k)?;
                self.remember(k, &bytes);
                Some(Some(bytes))
            })
            .collect();
        let misses: Vec<String> = keys
            .iter()
            .zip(&out)
            .filter(|(_, o)| o.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        let mut fetched = store.get_many(&misses).await?.into_iter();
        for (k, o) in keys.iter().zip(out.iter_mut()) {
            if o.is_some() {
                continue;
            }
            let bytes = fetched.next().flatten();
            if let Some(b) = bytes.as_deref().filter(|_| is_immutable(k)) {
                self.remember(k, b);
                self.write_disk(k, b);
            }
            *o = Some(bytes);
        }
        Ok(out.into_iter().map(Option::flatten).collect())
    }

    /// Whether `key` can be answered without the store.
    fn holds(&self, key: &str) -> bool {
        is_immutable(key)
            && (self
                .memory
                .lock()
                .is_ok_and(|m| m.objects.contains_key(key))
                || self.entry(key).is_some_and(|p| p.exists()))
    }
}

/// The bytes of a disk entry, when they hash to its header (and a blob's to its key).
fn sound<'a>(key: &str, raw: &'a [u8]) -> Option<&'a [u8]> {
    let (header, bytes) = raw.split_at_checked(65)?;
    let hex = std::str::from_utf8(header.strip_suffix(b"\n")?).ok()?;
    let digest = Digest::of(bytes);
    if digest.hex() != hex {
        return None;
    }
    match blob_digest(key) {
        Some(named) if named != digest => None,
        _ => Some(bytes),
    }
}

/// A backend read through a [`ReadCache`]. Writes, listings and everything that is not an
/// immutable object go straight to the backend.
#[derive(Debug)]
pub struct Cached<'a, S> {
    pub store: &'a S,
    pub cache: Option<&'a ReadCache>,
}

impl<S: ObjectStore> ObjectStore for Cached<'_, S> {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self.cache {
            Some(c) => c.get(self.store, key).await,
            None => self.store.get(key).await,
        }
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        match self.cache {
            Some(c) => c.get_many(self.store, keys).await,
            None => self.store.get_many(keys).await,
        }
    }
    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, StoreError> {
        self.store.put_if_absent(key, bytes).await
    }
    async fn put_blob_if_absent(&self, key: &str, blob: &Blob) -> Result<PutOutcome, StoreError> {
        self.store.put_blob_if_absent(key, blob).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.store.list(prefix).await
    }
    async fn list_after(&self, prefix: &str, start_after: &str) -> Result<Vec<String>, StoreError> {
        self.store.list_after(prefix, start_after).await
    }
    async fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.store.head(key).await
    }
    /// From the cache when it holds the object; else a backend that hashes as it reads
    /// (the local directory) hashes without keeping the bytes, and any other is read
    /// through the cache (so that a later read of the blob costs nothing).
    async fn digest(&self, key: &str) -> Result<Option<(Digest, u64)>, StoreError> {
        match self.cache {
            Some(c) if c.holds(key) || !self.store.streams_digest() => Ok(self
                .get(key)
                .await?
                .map(|b| (Digest::of(&b), b.len() as u64))),
            _ => self.store.digest(key).await,
        }
    }
    fn streams_digest(&self) -> bool {
        self.store.streams_digest()
    }
    async fn overwritten(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.store.overwritten(prefix).await
    }
    async fn temp_files(&self) -> Result<Vec<TempFile>, StoreError> {
        self.store.temp_files().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::chain::blob_key;
    use crate::store::counting::Counting;

    #[tokio::test]
    async fn an_immutable_object_is_read_once_and_absence_is_never_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Counting::new(dir.path());
        let cache = ReadCache::new(DEFAULT_MEMORY_BUDGET, None);
        let cached = Cached {
            store: &store,
            cache: Some(&cache),
        };
        let blob = b"evidence".to_vec();
        let key = blob_key(&Digest::of(&blob));
        assert_eq!(cached.get(&key).await.unwrap(), None);
        store.put_if_absent(&key, &blob).await.unwrap();
        for _ in 0..3 {
            assert_eq!(cached.get(&key).await.unwrap().as_deref(), Some(&blob[..]));
            assert_eq!(cached.digest(&key).await.unwrap().map(|d| d.1), Some(8));
        }
        // One miss before the put, one read after it.
        assert_eq!(store.blob_gets.load(Ordering::SeqCst), 2);
        // Claims are not immutable: read through every time.
        store
            .put_if_absent("ids/k/i/claim.json", b"{}")
            .await
            .unwrap();
        cached.get("ids/k/i/claim.json").await.unwrap();
        cached.get("ids/k/i/claim.json").await.unwrap();
        assert_eq!(store.other_gets.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_batch_is_answered_in_order_from_the_cache_and_then_one_read_of_the_misses() {
        let dir = tempfile::tempdir().unwrap();
        let store = Counting::new(dir.path());
        let cache = ReadCache::new(DEFAULT_MEMORY_BUDGET, None);
        let cached = Cached {
            store: &store,
            cache: Some(&cache),
        };
        let blobs: Vec<Vec<u8>> = (0..5).map(|i| format!("blob {i}").into_bytes()).collect();
        let keys: Vec<String> = blobs.iter().map(|b| blob_key(&Digest::of(b))).collect();
        // Blob 4 is never stored; blob 1 is read (and so held) before the batch.
        for (k, b) in keys.iter().zip(&blobs).take(4) {
            store.put_if_absent(k, b).await.unwrap();
        }
        cached.get(&keys[1]).await.unwrap();
        store.reset();
        let got = cached.get_many(&keys).await.unwrap();
        let want: Vec<Option<&[u8]>> = vec![
            Some(&blobs[0]),
            Some(&blobs[1]),
            Some(&blobs[2]),
            Some(&blobs[3]),
            None,
        ];
        assert_eq!(got.iter().map(|b| b.as_deref()).collect::<Vec<_>>(), want);
        // Four misses reach the store; the held one does not.
        assert_eq!(store.blob_gets.load(Ordering::SeqCst), 4);
        // The batch's reads are held; the absent one is not, and is asked for again.
        store.reset();
        let again = cached.get_many(&keys).await.unwrap();
        assert_eq!(again, got);
        assert_eq!(store.blob_gets.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_corrupt_disk_entry_is_detected_and_fetched_again() {
        let dir = tempfile::tempdir().unwrap();
        let cache_dir = tempfile::tempdir().unwrap();
        let store = Counting::new(dir.path());
        let blob = b"the bytes of a blob".to_vec();
        let key = blob_key(&Digest::of(&blob));
        store.put_if_absent(&key, &blob).await.unwrap();
        let read = || async {
            let cache = ReadCache::new(0, Some(cache_dir.path().to_path_buf()));
            let cached = Cached {
                store: &store,
                cache: Some(&cache),
            };
            cached.get(&key).await.unwrap()
        };
        assert_eq!(read().await.as_deref(), Some(&blob[..]));
        assert_eq!(read().await.as_deref(), Some(&blob[..]));
        assert_eq!(
            store.blob_gets.load(Ordering::SeqCst),
            1,
            "the second process did not use the disk"
        );
        // Flip one byte of the entry's content (its header still names the old hash).
        let entry = cache_dir.path().join(&key);
        let mut raw = std::fs::read(&entry).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        std::fs::write(&entry, &raw).unwrap();
        assert_eq!(read().await.as_deref(), Some(&blob[..]));
        assert_eq!(store.blob_gets.load(Ordering::SeqCst), 2, "not refetched");
        // Rewritten whole, header included, a blob entry still fails its key's digest.
        let forged = b"other bytes".to_vec();
        let mut raw = Digest::of(&forged).hex().into_bytes();
        raw.push(b'\n');
        raw.extend_from_slice(&forged);
        std::fs::write(&entry, &raw).unwrap();
        assert_eq!(read().await.as_deref(), Some(&blob[..]));
        assert_eq!(store.blob_gets.load(Ordering::SeqCst), 3, "not refetched");
        // And the entry was repaired.
        assert_eq!(
            sound(&key, &std::fs::read(&entry).unwrap()),
            Some(&blob[..])
        );
    }
}
