//! Where inbox files come from: a directory or an S3 prefix. Only the files directly in
//! the inbox are read (not `rejected/`, not hidden files such as partial uploads).

use std::path::{Path, PathBuf};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::REJECTED;
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
    #[error("inbox {file}: {size} bytes is too large")]
    TooLarge { file: String, size: u64 },
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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> InboxError + '_ {
    move |source| InboxError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Source {
    pub fn open(url: &str, s3: Option<&aws_sdk_s3::Client>) -> Result<Source, InboxError> {
        let Some(rest) = url.strip_prefix("s3://") else {
            let path = url.strip_prefix("file://").unwrap_or(url);
            return Ok(Source::Dir(PathBuf::from(path)));
        };
        let client = s3
            .cloned()
            .ok_or_else(|| InboxError::NoClient { url: url.into() })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
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

    /// File names directly in the inbox, sorted.
    pub async fn list(&self) -> Result<Vec<String>, InboxError> {
        let mut names = Vec::new();
        match self {
            Source::Dir(dir) => {
                let mut rd = tokio::fs::read_dir(dir).await.map_err(io(dir))?;
                while let Some(e) = rd.next_entry().await.map_err(io(dir))? {
                    let ft = e.file_type().await.map_err(io(&e.path()))?;
                    if ft.is_file() {
                        names.push(e.file_name().to_string_lossy().into_owned());
                    }
                }
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => {
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
                            if !name.is_empty() && !name.contains('/') {
                                names.push(name.to_string());
                            }
                        }
                    }
                }
            }
        }
        names.retain(|n| !n.starts_with('.') && !n.ends_with(".reason"));
        names.sort();
        Ok(names)
    }

    /// The bytes of `name`, refusing files larger than `max` without reading them.
    pub async fn read(&self, name: &str, max: usize) -> Result<Vec<u8>, InboxError> {
        match self {
            Source::Dir(dir) => {
                let p = dir.join(name);
                let size = tokio::fs::metadata(&p).await.map_err(io(&p))?.len();
                if size > max as u64 {
                    return Err(InboxError::TooLarge {
                        file: name.into(),
                        size,
                    });
                }
                tokio::fs::read(&p).await.map_err(io(&p))
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => {
                let key = format!("{prefix}{name}");
                let out = client
                    .get_object()
                    .bucket(bucket)
                    .key(&key)
                    .send()
                    .await
                    .map_err(|e| s3_err("GetObject", bucket, &key, e))?;
                let size = out.content_length().unwrap_or(0).max(0) as u64;
                if size > max as u64 {
                    return Err(InboxError::TooLarge {
                        file: name.into(),
                        size,
                    });
                }
                let body = out.body.collect().await.map_err(|e| InboxError::S3 {
                    op: "GetObject",
                    bucket: bucket.clone(),
                    key: key.clone(),
                    message: e.to_string(),
                })?;
                Ok(body.into_bytes().to_vec())
            }
        }
    }

    /// Remove an accepted file (its record is committed).
    pub async fn remove(&self, name: &str) -> Result<(), InboxError> {
        match self {
            Source::Dir(dir) => {
                let p = dir.join(name);
                tokio::fs::remove_file(&p).await.map_err(io(&p))
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => {
                let key = format!("{prefix}{name}");
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

    /// Move a rejected file to `rejected/` and write the reason beside it. An earlier
    /// rejection of the same name is kept: the new one gets a numbered name.
    pub async fn reject(&self, name: &str, reason: &str) -> Result<(), InboxError> {
        let reason = format!("{reason}\n");
        match self {
            Source::Dir(dir) => {
                let rejected = dir.join(REJECTED);
                tokio::fs::create_dir_all(&rejected)
                    .await
                    .map_err(io(&rejected))?;
                let mut target = name.to_string();
                let mut n = 1;
                while tokio::fs::try_exists(rejected.join(&target))
                    .await
                    .unwrap_or(false)
                    || tokio::fs::try_exists(rejected.join(format!("{target}.reason")))
                        .await
                        .unwrap_or(false)
                {
                    n += 1;
                    target = format!("{name}.{n}");
                }
                let reason_path = rejected.join(format!("{target}.reason"));
                tokio::fs::write(&reason_path, reason)
                    .await
                    .map_err(io(&reason_path))?;
                let from = dir.join(name);
                tokio::fs::rename(&from, rejected.join(&target))
                    .await
                    .map_err(io(&from))
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => {
                let key = format!("{prefix}{name}");
                let bytes = self.read(name, usize::MAX).await?;
                let mut target = format!("{prefix}{REJECTED}/{name}");
                let mut n = 1;
                while self.exists(&target).await? {
                    n += 1;
                    target = format!("{prefix}{REJECTED}/{name}.{n}");
                }
                self.put(&format!("{target}.reason"), reason.into_bytes())
                    .await?;
                self.put(&target, bytes).await?;
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
        message: DisplayErrorContext(&e).to_string(),
    }
}
