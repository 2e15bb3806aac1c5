//! Where inbox files come from: a directory or an S3 prefix. Only the files directly in
//! the inbox are read (not `rejected/`, not hidden files such as partial uploads); every
//! other entry is listed with the reason it is left ([`Listing::skipped`]).

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;

use super::entry::{self, Entry, FileKind, Listing, Read, Skip};
use super::{local, REJECTED};
use crate::digest::Digest;

/// Errors reading or tidying the inbox, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("inbox {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("inbox s3://{bucket}/{key}: {op}: {message}")]
    S3 {
        op: &'static str,
        bucket: String,
        key: String,
        message: String,
    },
    #[error("inbox {url}: an s3:// inbox needs AWS settings ([aws])")]
    NoClient { url: String },
    /// A path or key the inbox will not use.
    #[error("inbox {path}: {message}")]
    Refused { path: String, message: String },
    #[error("inbox: {0}")]
    Other(String),
}

impl InboxError {
    /// The file is not there (any more).
    pub fn is_not_found(&self) -> bool {
        match self {
            InboxError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            InboxError::S3 { message, .. } => {
                message.contains("NoSuchKey") || message.contains("NotFound")
            }
            _ => false,
        }
    }
}

/// An inbox location.
#[derive(Debug, Clone)]
pub enum Source {
    Dir(PathBuf),
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        /// Empty, or ending in `/`.
        prefix: String,
    },
}

/// Run blocking file-system work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, InboxError> + Send + 'static,
) -> Result<T, InboxError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| InboxError::Other(format!("inbox task failed: {e}")))?
}

/// One object directly under the prefix.
fn s3_entry(listing: &mut Listing, name: &str) {
    if name.is_empty() {
        // The prefix's own "folder" object.
        return;
    }
    let (recorded, bad_name) = entry::recorded_name(name.as_bytes());
    let why = match name {
        "." | ".." => Some(Skip::UnsafeName("a '.' or '..' segment")),
        // Not listed with the delimiter; refused all the same should it be.
        _ if name.contains('/') => Some(Skip::UnsafeName("a '/' in the name")),
        _ if name.starts_with('.') => Some(Skip::DotFile),
        _ if name.ends_with(local::REASON) => Some(Skip::ReasonFile),
        _ if name.ends_with(local::READY) => Some(Skip::S3ReadyMarker),
        _ => None,
    };
    match why {
        Some(why) => listing.skip(recorded, why),
        None => listing.files.push(Entry {
            name: recorded,
            raw: name.into(),
            bad_name,
            listed: None,
            ready: false,
            settle: Duration::ZERO,
        }),
    }
}

/// One common prefix (a "folder") directly under the prefix: `rejected/` is the inbox's
/// own, any other is left and listed.
fn s3_folder(listing: &mut Listing, name: &str) {
    let segment = name.strip_suffix('/').unwrap_or(name);
    let why = match segment {
        REJECTED => return,
        "" => Skip::UnsafeName("an empty path segment"),
        "." | ".." => Skip::UnsafeName("a '.' or '..' segment"),
        _ => Skip::NotAFile {
            kind: FileKind::Directory,
            replaced: false,
        },
    };
    listing.skip(entry::recorded_name(name.as_bytes()).0, why);
}

/// The key of a file directly under the prefix; anything else is refused.
fn s3_key(prefix: &str, name: Option<&str>) -> Result<String, InboxError> {
    match name {
        Some(n) if local::is_plain(n.as_bytes()) => Ok(format!("{prefix}{n}")),
        _ => Err(InboxError::Refused {
            path: format!("{prefix}{}", name.unwrap_or("(not UTF-8)")),
            message: "not a name directly in the inbox".into(),
        }),
    }
}

fn refused(bucket: &str, key: &str, message: &str) -> InboxError {
    InboxError::Refused {
        path: format!("s3://{bucket}/{key}"),
        message: message.into(),
    }
}

/// A key as `CopyObject`'s `x-amz-copy-source` takes it: URL-encoded, `/` kept.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Source {
    pub fn open(url: &str, s3: Option<&aws_sdk_s3::Client>) -> Result<Source, InboxError> {
        let Some(rest) = url.strip_prefix("s3://") else {
            let path = url.strip_prefix("file://").unwrap_or(url);
            return Ok(Source::Dir(PathBuf::from(path)));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        crate::store::check_bucket_name(bucket).map_err(|message| InboxError::Refused {
            path: url.to_string(),
            message,
        })?;
        let client = s3
            .cloned()
            .ok_or_else(|| InboxError::NoClient { url: url.into() })?;
        let prefix = prefix.trim_matches('/');
        Ok(Source::S3 {
            client,
            bucket: bucket.to_string(),
            prefix: match prefix.is_empty() {
                true => String::new(),
                false => format!("{prefix}/"),
            },
        })
    }

    /// What is directly in the inbox: the files to read (sorted), and every other entry
    /// with the reason it is left. A directory inbox waits here, once and for at most
    /// `settle`, for files modified just before the listing to settle.
    pub async fn list(&self, settle: Duration) -> Result<Listing, InboxError> {
        match self {
            Source::Dir(dir) => {
                let d = dir.clone();
                let (listing, wait) = blocking(move || local::list(&d, settle)).await?;
                if !wait.is_zero() {
                    tracing::debug!(inbox = %dir.display(), wait_ms = wait.as_millis() as u64, "Waiting for recent inbox files to settle.");
                    tokio::time::sleep(wait).await;
                }
                Ok(listing)
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => {
                let mut listing = Listing {
                    can_reject: true,
                    ..Listing::default()
                };
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix.as_str())
                    .delimiter("/")
                    .into_paginator()
                    .send();
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| s3_err("ListObjectsV2", bucket, prefix, e))?;
                    for o in page.contents() {
                        if let Some(name) = o.key().and_then(|k| k.strip_prefix(prefix.as_str())) {
                            s3_entry(&mut listing, name);
                        }
                    }
                    for p in page.common_prefixes() {
                        if let Some(name) = p.prefix().and_then(|k| k.strip_prefix(prefix.as_str()))
                        {
                            s3_folder(&mut listing, name);
                        }
                    }
                }
                listing.files.sort_by(|a, b| a.name.cmp(&b.name));
                listing.skipped.sort_by(|a, b| a.file.cmp(&b.file));
                Ok(listing)
            }
        }
    }

    /// Read a listed file: at most `max` bytes are accepted, and at most `max + 1` read,
    /// whatever size the listing or the file reports.
    pub async fn read(&self, entry: &Entry, max: usize) -> Result<Read, InboxError> {
        match self {
            Source::Dir(dir) => {
                let (d, e) = (dir.clone(), entry.clone());
                blocking(move || local::read(&d, &e, max)).await
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => {
                let key = s3_key(prefix, entry.raw.to_str())?;
                let out = match client.get_object().bucket(bucket).key(&key).send().await {
                    Ok(out) => out,
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                        return Ok(Read::Skip(Skip::Gone))
                    }
                    Err(e) => return Err(s3_err("GetObject", bucket, &key, e)),
                };
                let size = out.content_length().map(|n| n.max(0) as u64);
                if size.is_some_and(|n| n > max as u64) {
                    return Ok(Read::TooLarge { size });
                }
                // The body is read only up to the cap, whatever the length said.
                let mut body = out.body;
                let mut bytes = Vec::new();
                while let Some(chunk) = body.try_next().await.map_err(|e| InboxError::S3 {
                    op: "GetObject",
                    bucket: bucket.clone(),
                    key: key.clone(),
                    message: e.to_string(),
                })? {
                    if bytes.len() + chunk.len() > max {
                        return Ok(Read::TooLarge { size: None });
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(Read::Bytes(bytes))
            }
        }
    }

    /// Remove an accepted file (its record is committed), and its ready marker.
    pub async fn remove(&self, name: &str) -> Result<(), InboxError> {
        match self {
            Source::Dir(dir) => {
                let (d, n) = (dir.clone(), name.to_string());
                blocking(move || local::remove(&d, &n)).await
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => {
                let key = s3_key(prefix, Some(name))?;
                client
                    .delete_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| s3_err("DeleteObject", bucket, &key, e))?;
                Ok(())
            }
        }
    }

    /// Move a rejected file to `rejected/` under its recorded name and write the reason
    /// beside it. An earlier rejection of the same name is kept: the new one gets a
    /// numbered name. The file never leaves the inbox: a directory inbox renames it into
    /// a real `rejected/` directory (never through a link), an S3 inbox copies it within
    /// the prefix (get and put, or `CopyObject` for an object over the size cap) and then
    /// deletes it.
    pub async fn reject(&self, entry: &Entry, reason: &str) -> Result<(), InboxError> {
        match self {
            Source::Dir(dir) => {
                let (d, e, r) = (dir.clone(), entry.clone(), reason.to_string());
                let target = blocking(move || local::reject(&d, &e, &r)).await?;
                tracing::info!(file = %entry.name, to = %format!("{REJECTED}/{target}"), "Inbox file moved aside.");
                Ok(())
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => {
                let key = s3_key(prefix, entry.raw.to_str())?;
                // The recorded name is a plain, usable name (escaped when need be).
                let base = entry::rejected_base(&entry.name);
                if !local::is_plain(base.as_bytes()) {
                    return Err(refused(bucket, &key, "no usable name for rejected/"));
                }
                // Read again (bounded) to be written back; an object too large to read is
                // copied by S3 itself.
                let bytes = match self.read(entry, crate::human::MAX_SIZE).await? {
                    Read::Bytes(bytes) => Some(bytes),
                    Read::TooLarge { .. } => None,
                    Read::Skip(why) => {
                        return Err(refused(bucket, &key, &format!("not moved aside: {why}")))
                    }
                };
                let mut target = format!("{prefix}{REJECTED}/{base}");
                let mut n = 1;
                while self.exists(&target).await?
                    || self.exists(&format!("{target}{}", local::REASON)).await?
                {
                    n += 1;
                    target = format!("{prefix}{REJECTED}/{base}.{n}");
                }
                self.put(
                    &format!("{target}{}", local::REASON),
                    format!("{reason}\n").into_bytes(),
                )
                .await?;
                match bytes {
                    Some(bytes) => self.put(&target, bytes).await?,
                    None => {
                        client
                            .copy_object()
                            .bucket(bucket)
                            .copy_source(format!("{bucket}/{}", encode_key(&key)))
                            .key(&target)
                            .checksum_algorithm(ChecksumAlgorithm::Sha256)
                            .send()
                            .await
                            .map_err(|e| s3_err("CopyObject", bucket, &key, e))?;
                    }
                }
                client
                    .delete_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| s3_err("DeleteObject", bucket, &key, e))?;
                Ok(())
            }
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, InboxError> {
        let Source::S3 { client, bucket, .. } = self else {
            return Ok(false);
        };
        match client.head_object().bucket(bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
            Err(e) => Err(s3_err("HeadObject", bucket, key, e)),
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), InboxError> {
        let Source::S3 { client, bucket, .. } = self else {
            return Ok(());
        };
        // A lock-enabled bucket needs a checksum on every put.
        let digest = Digest::of(&bytes);
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(digest.base64())
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| s3_err("PutObject", bucket, key, e))?;
        Ok(())
    }
}

fn s3_err<E: std::error::Error + 'static>(
    op: &'static str,
    bucket: &str,
    key: &str,
    e: E,
) -> InboxError {
    InboxError::S3 {
        op,
        bucket: bucket.to_string(),
        key: key.to_string(),
        message: crate::collect::calls::one_line(&e),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::operation::get_object::GetObjectOutput;
    use aws_smithy_mocks::{create_mock_http_client, mock, MockResponseInterceptor, RuleMode};

    use super::*;

    fn s3_with(rule: &aws_smithy_mocks::Rule) -> aws_sdk_s3::Client {
        let interceptor = MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(rule);
        let creds = aws_sdk_s3::config::Credentials::new("k", "s", None, None, "test");
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .credentials_provider(creds)
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        )
    }

    fn entry(name: &str) -> Entry {
        Entry {
            name: name.into(),
            raw: name.into(),
            bad_name: None,
            listed: None,
            ready: false,
            settle: Duration::ZERO,
        }
    }

    fn source(client: aws_sdk_s3::Client) -> Source {
        Source::S3 {
            client,
            bucket: "b".into(),
            prefix: "drops/".into(),
        }
    }

    #[tokio::test]
    async fn an_s3_body_is_read_only_up_to_the_cap_whatever_its_length_says() {
        const MAX: usize = 1024;
        // The object claims 10 bytes and sends four times the cap.
        let lying = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .content_length(10)
                .body(ByteStream::from(vec![b'x'; 4 * MAX]))
                .build()
        });
        let got = source(s3_with(&lying))
            .read(&entry("a.md"), MAX)
            .await
            .unwrap();
        assert!(matches!(got, Read::TooLarge { size: None }), "{got:?}");
        // A length over the cap is refused before the body is read.
        let large = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .content_length(MAX as i64 + 1)
                .body(ByteStream::from(vec![b'x'; 8]))
                .build()
        });
        let got = source(s3_with(&large))
            .read(&entry("a.md"), MAX)
            .await
            .unwrap();
        assert!(
            matches!(got, Read::TooLarge { size: Some(s) } if s == MAX as u64 + 1),
            "{got:?}"
        );
        let fits = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from(vec![b'x'; MAX]))
                .build()
        });
        let got = source(s3_with(&fits))
            .read(&entry("a.md"), MAX)
            .await
            .unwrap();
        assert!(matches!(&got, Read::Bytes(b) if b.len() == MAX), "{got:?}");
    }

    #[tokio::test]
    async fn s3_names_that_are_not_plain_never_become_keys() {
        let unused = mock!(aws_sdk_s3::Client::get_object).then_output(|| {
            GetObjectOutput::builder()
                .body(ByteStream::from(b"must not be read".to_vec()))
                .build()
        });
        let s = source(s3_with(&unused));
        for bad in ["..", ".", "", "a/b", "../x"] {
            assert!(
                matches!(
                    s.read(&entry(bad), 10).await,
                    Err(InboxError::Refused { .. })
                ),
                "{bad:?}"
            );
            assert!(s.remove(bad).await.is_err(), "{bad:?}");
        }
        let mut listing = Listing::default();
        for name in ["..", ".", ".x", "a.reason", "a.ready", "a/../b", "ok.md"] {
            s3_entry(&mut listing, name);
        }
        for name in ["rejected/", "sub/", "/", "../"] {
            s3_folder(&mut listing, name);
        }
        let files: Vec<&str> = listing.files.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(files, ["ok.md"]);
        let skipped: Vec<&str> = listing.skipped.iter().map(|s| s.file.as_str()).collect();
        assert_eq!(
            skipped,
            ["..", ".", ".x", "a.reason", "a.ready", "a/../b", "sub/", "/", "../"]
        );
        assert_eq!(encode_key("drops/a b\\é.md"), "drops/a%20b%5C%C3%A9.md");
    }
}
