//! Blobs written as they are produced: a long document goes to a spool file piece by piece,
//! hashed as it grows, instead of being held in memory until the commit.
//!
//! A [`SpoolWriter`] writes to an anonymous-named temporary file (in `$TMPDIR`, deleted
//! when the [`SpooledBlob`] is dropped) and yields its digest and size; the bytes are
//! exactly those written, so a streamed document is the same blob as the one built in
//! memory. [`super::ObjectStore::put_spooled_if_absent`] then creates the object:
//!
//! - local directory: the spool file, `fsync`ed, is hard-linked into place (the same
//!   no-clobber commit point as every other local write), the directory `fsync`ed; when the
//!   spool lies on another file system it is first copied into the store's temporary
//!   directory (`.tmp-writes/`) and linked from there, as any other write;
//! - S3: one conditional `PutObject` (`If-None-Match: *`) streamed from the file, with the
//!   digest as `x-amz-checksum-sha256`, as every other put. (A multipart upload would need
//!   no spool, but S3 takes `If-None-Match` only on completing it and Object Lock buckets
//!   need a checksum per part; the spool keeps one code path and the ephemeral disk of a
//!   Fargate task holds it.)

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::local::TMP_DIR;
use super::{PutOutcome, StoreError};
use crate::digest::{Digest, Hasher};

/// Writes are gathered into calls of this size.
const BUFFER: usize = 256 << 10;

/// A blob being written to a spool file.
pub struct SpoolWriter {
    out: BufWriter<tempfile::NamedTempFile>,
    hasher: Hasher,
    size: u64,
}

/// A finished spool file with the digest and size of its bytes.
#[derive(Debug)]
pub struct SpooledBlob {
    file: tempfile::NamedTempFile,
    digest: Digest,
    size: u64,
}

impl SpoolWriter {
    /// A new spool file in the system's temporary directory (`$TMPDIR`).
    pub fn new() -> io::Result<SpoolWriter> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".evidenced-spool-");
        // Linked into a local store as it is: give it the mode of the store's other files.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o644));
        }
        let file = builder.tempfile()?;
        Ok(SpoolWriter {
            out: BufWriter::with_capacity(BUFFER, file),
            hasher: Hasher::default(),
            size: 0,
        })
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    /// Flush and `fsync` the file: from here on its bytes are those of the digest.
    pub fn finish(self) -> io::Result<SpooledBlob> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.as_file().sync_all()?;
        Ok(SpooledBlob {
            file,
            digest: self.hasher.finish(),
            size: self.size,
        })
    }
}

impl SpooledBlob {
    pub fn digest(&self) -> Digest {
        self.digest
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The whole blob in memory (backends without a streaming put; tests).
    pub fn read(&self) -> io::Result<Vec<u8>> {
        fs::read(self.path())
    }
}

fn io_err<'a>(op: &'static str, key: &'a str) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        key: key.to_string(),
        source,
    }
}

/// Create `root/key` from the spool file unless it exists (see the module doc).
pub(super) fn put_local(root: &Path, key: &str, spool: &Path) -> Result<PutOutcome, StoreError> {
    let path = root.join(key);
    if path.exists() {
        return Ok(PutOutcome::AlreadyExists);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_err("create directory for", key))?;
    let outcome = match fs::hard_link(spool, &path) {
        Ok(()) => PutOutcome::Created,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(PutOutcome::AlreadyExists),
        // Another file system (or no hard links there): copy into the store first.
        Err(_) => return put_local_copy(root, &path, dir, key, spool),
    };
    if let Ok(d) = File::open(dir) {
        d.sync_all().map_err(io_err("fsync directory of", key))?;
    }
    Ok(outcome)
}

fn put_local_copy(
    root: &Path,
    path: &Path,
    dir: &Path,
    key: &str,
    spool: &Path,
) -> Result<PutOutcome, StoreError> {
    super::local::create_via_temp(&root.join(TMP_DIR), path, dir, key, |mut f| {
        let mut src = File::open(spool).map_err(io_err("read the spool of", key))?;
        io::copy(&mut src, &mut f).map_err(io_err("write", key))?;
        Ok(f)
    })
}

/// One conditional `PutObject` of the spool file at `full_key` (the S3 backend's rules:
/// `If-None-Match: *`, SHA-256 checksum sent and its echo compared; 412 is "exists").
pub(super) async fn put_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    full_key: &str,
    blob: &SpooledBlob,
) -> Result<PutOutcome, StoreError> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::ChecksumAlgorithm;
    let checksum = blob.digest.base64();
    let body = ByteStream::from_path(blob.path())
        .await
        .map_err(|e| StoreError::Io {
            op: "read the spool of",
            key: full_key.to_string(),
            source: io::Error::other(e.to_string()),
        })?;
    let resp = client
        .put_object()
        .bucket(bucket)
        .key(full_key)
        .if_none_match("*")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .checksum_sha256(&checksum)
        .body(body)
        .send()
        .await;
    match resp {
        Ok(out) => match out.checksum_sha256() {
            Some(echo) if !echo.contains('-') && echo != checksum => {
                Err(StoreError::ChecksumMismatch {
                    key: full_key.to_string(),
                    expected: checksum,
                    actual: echo.to_string(),
                })
            }
            _ => Ok(PutOutcome::Created),
        },
        Err(e)
            if e.raw_response().map(|r| r.status().as_u16()) == Some(412)
                || e.code() == Some("PreconditionFailed") =>
        {
            Ok(PutOutcome::AlreadyExists)
        }
        Err(e) => Err(StoreError::Remote {
            op: "PutObject",
            key: full_key.to_string(),
            message: match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                _ => crate::collect::calls::one_line(&e),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spooled(bytes: &[u8]) -> SpooledBlob {
        let mut w = SpoolWriter::new().unwrap();
        for chunk in bytes.chunks(7) {
            w.write(chunk).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn a_spooled_blob_has_the_digest_and_bytes_written() {
        let bytes: Vec<u8> = (0..1000u32).flat_map(|i| i.to_le_bytes()).collect();
        let b = spooled(&bytes);
        assert_eq!(b.digest(), Digest::of(&bytes));
        assert_eq!(b.size(), bytes.len() as u64);
        assert_eq!(b.read().unwrap(), bytes);
    }

    #[test]
    fn a_local_put_creates_once_and_never_clobbers() {
        let root = tempfile::tempdir().unwrap();
        let key = "blobs/sha256/ab/abcd";
        let first = spooled(b"first");
        assert_eq!(
            put_local(root.path(), key, first.path()).unwrap(),
            PutOutcome::Created
        );
        let other = spooled(b"other");
        assert_eq!(
            put_local(root.path(), key, other.path()).unwrap(),
            PutOutcome::AlreadyExists
        );
        assert_eq!(fs::read(root.path().join(key)).unwrap(), b"first");
        // Through the copy path too (as when the spool is on another file system).
        let key2 = "blobs/sha256/cd/cdef";
        let path = root.path().join(key2);
        let dir = path.parent().unwrap().to_path_buf();
        fs::create_dir_all(&dir).unwrap();
        assert_eq!(
            put_local_copy(root.path(), &path, &dir, key2, other.path()).unwrap(),
            PutOutcome::Created
        );
        assert_eq!(fs::read(&path).unwrap(), b"other");
        let left: Vec<_> = fs::read_dir(root.path().join(TMP_DIR)).unwrap().collect();
        assert!(left.is_empty(), "temporary file left behind");
    }
}
