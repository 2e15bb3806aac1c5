//! The S3 backend: production storage.
//!
//! Every create is a conditional `PutObject` with `If-None-Match: *` and an
//! `x-amz-checksum-sha256` computed here; the checksum S3 echoes back is cross-checked. A
//! 412 means the key exists (possibly because the SDK retried a put that had in fact
//! succeeded: the chain layer reads back to tell the two apart). A 409 (a concurrent
//! conditional write in flight) is retried here with backoff.

use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumAlgorithm;
use aws_sdk_s3::Client;

use super::{check_key, ObjectStore, PutOutcome, StoreError};
use crate::digest::{Blob, Digest};

/// A store under `s3://bucket/prefix`.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
}

/// Attempts for a conditional put answered with 409 ConditionalRequestConflict.
const CONFLICT_ATTEMPTS: u32 = 5;

fn remote<E: std::error::Error + Send + Sync + 'static + ProvideErrorMetadata>(
    op: &'static str,
    key: &str,
    err: &aws_sdk_s3::error::SdkError<E>,
) -> StoreError {
    let message = match err.as_service_error() {
        Some(svc) => format!(
            "{}: {}",
            svc.code().unwrap_or("error"),
            svc.message().unwrap_or("no message")
        ),
        None => crate::collect::calls::one_line(err),
    };
    StoreError::Remote {
        op,
        key: key.to_string(),
        message,
    }
}

fn status_of<E>(err: &aws_sdk_s3::error::SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

impl S3Store {
    /// A conditional create with the SHA-256 checksum S3 verifies on receipt; a 409
    /// (another conditional write in progress) is retried with backoff.
    async fn put(
        &self,
        key: &str,
        bytes: bytes::Bytes,
        digest: Digest,
    ) -> Result<PutOutcome, StoreError> {
        let full = self.full_key(key)?;
        let checksum = digest.base64();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let resp = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&full)
                .if_none_match("*")
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_sha256(&checksum)
                .body(ByteStream::from(bytes.clone()))
                .send()
                .await;
            match resp {
                Ok(out) => {
                    if let Some(echo) = out.checksum_sha256() {
                        // Full-object checksums come back as plain base64; anything else
                        // (a composite "...-N") is not comparable and is left to verify.
                        if !echo.contains('-') && echo != checksum {
                            return Err(StoreError::ChecksumMismatch {
                                key: full,
                                expected: checksum,
                                actual: echo.to_string(),
                            });
                        }
                    }
                    return Ok(PutOutcome::Created);
                }
                Err(e) if status_of(&e) == Some(412) || e.code() == Some("PreconditionFailed") => {
                    return Ok(PutOutcome::AlreadyExists)
                }
                Err(e)
                    if (status_of(&e) == Some(409)
                        || e.code() == Some("ConditionalRequestConflict"))
                        && attempt < CONFLICT_ATTEMPTS =>
                {
                    let backoff = Duration::from_millis(50 * (1 << attempt))
                        + Duration::from_millis(rand::random::<u64>() % 50);
                    tracing::debug!(key = %full, attempt, "Conditional write conflict; retrying.");
                    tokio::time::sleep(backoff).await;
                }
                Err(e) => return Err(remote("PutObject", &full, &e)),
            }
        }
    }

    pub fn new(client: Client, bucket: impl Into<String>, prefix: impl Into<String>) -> S3Store {
        let prefix = prefix.into().trim_matches('/').to_string();
        S3Store {
            client,
            bucket: bucket.into(),
            prefix,
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn full_key(&self, key: &str) -> Result<String, StoreError> {
        check_key(key)?;
        Ok(if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        })
    }

    fn strip(&self, full: &str) -> Option<String> {
        if self.prefix.is_empty() {
            Some(full.to_string())
        } else {
            full.strip_prefix(&self.prefix)
                .and_then(|k| k.strip_prefix('/'))
                .map(str::to_string)
        }
    }
}

impl S3Store {
    /// Every key under `prefix` (after `start_after`, when given), sorted, following
    /// pagination to the end.
    async fn list_from(
        &self,
        prefix: &str,
        start_after: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let full_prefix = if self.prefix.is_empty() {
            prefix.to_string()
        } else {
            format!("{}/{prefix}", self.prefix)
        };
        let start_after = match start_after {
            Some(k) => Some(self.full_key(k)?),
            None => None,
        };
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full_prefix)
            .set_start_after(start_after)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            super::stats::count(super::stats::Op::List);
            let page = page.map_err(|e| remote("ListObjectsV2", &full_prefix, &e))?;
            for obj in page.contents() {
                if let Some(k) = obj.key().and_then(|k| self.strip(k)) {
                    out.push(k);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

impl ObjectStore for S3Store {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let full = self.full_key(key)?;
        let resp = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await;
        match resp {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| StoreError::Remote {
                    op: "GetObject",
                    key: full.clone(),
                    message: e.to_string(),
                })?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(remote("GetObject", &full, &e)),
        }
    }

    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, StoreError> {
        self.put(key, bytes::Bytes::copy_from_slice(bytes), Digest::of(bytes))
            .await
    }

    async fn put_blob_if_absent(&self, key: &str, blob: &Blob) -> Result<PutOutcome, StoreError> {
        self.put(key, blob.to_bytes(), blob.digest()).await
    }

    async fn put_spooled_if_absent(
        &self,
        key: &str,
        blob: &super::SpooledBlob,
    ) -> Result<PutOutcome, StoreError> {
        let full = self.full_key(key)?;
        super::blob_writer::put_s3(&self.client, &self.bucket, &full, blob).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.list_from(prefix, None).await
    }

    async fn list_after(&self, prefix: &str, start_after: &str) -> Result<Vec<String>, StoreError> {
        self.list_from(prefix, Some(start_after)).await
    }

    async fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        let full = self.full_key(key)?;
        let resp = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await;
        match resp {
            Ok(out) => Ok(Some(out.content_length().unwrap_or(0).max(0) as u64)),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(remote("HeadObject", &full, &e)),
        }
    }

    async fn overwritten(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let full_prefix = if self.prefix.is_empty() {
            prefix.to_string()
        } else {
            format!("{}/{prefix}", self.prefix)
        };
        let mut counts: std::collections::BTreeMap<String, u32> = Default::default();
        let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            super::stats::count(super::stats::Op::List);
            let page = self
                .client
                .list_object_versions()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) if e.code() == Some("AccessDenied") || status_of(&e) == Some(403) => {
                    tracing::warn!(bucket = %self.bucket, "No s3:ListBucketVersions permission; overwritten records cannot be detected.");
                    return Ok(Vec::new());
                }
                Err(e) => return Err(remote("ListObjectVersions", &full_prefix, &e)),
            };
            for v in page.versions() {
                if let Some(k) = v.key().and_then(|k| self.strip(k)) {
                    *counts.entry(k).or_default() += 1;
                }
            }
            // A delete marker is a change too.
            for m in page.delete_markers() {
                if let Some(k) = m.key().and_then(|k| self.strip(k)) {
                    *counts.entry(k).or_default() += 1;
                }
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
            if key_marker.is_none() {
                break;
            }
        }
        Ok(counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, _)| k)
            .collect())
    }
}
