//! `type = "s3"`: the posture of the evidence bucket (and optionally every bucket): Object
//! Lock, versioning, default encryption, Block Public Access, policy status and object
//! ownership; and the account's Block Public Access. This is the evidence that the store
//! itself can be trusted (and S3-001).
//!
//! One record per account (scope region: the first configured region); item
//! `s3/buckets.json`.

use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::{AwsCollector, CallError, CallLog, CollectError, Collected, Evidence, PrevState};
use super::{Problems, Target};
use crate::config::S3Options;

/// The collector: its options plus the bucket of the configured store.
#[derive(Debug, Clone)]
pub struct S3Posture {
    pub options: S3Options,
    pub store_bucket: Option<String>,
}

/// `s3/buckets.json`.
#[derive(Debug, Serialize)]
pub struct BucketsDoc {
    pub account: String,
    /// The account's Block Public Access (S3 Control GetPublicAccessBlock); null when the
    /// account has none configured, or when it could not be read (then an error is
    /// recorded).
    pub account_public_access_block: Option<PublicAccessBlock>,
    pub buckets: Vec<BucketPosture>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct BucketPosture {
    pub name: String,
    /// `Enabled` when Object Lock is on; absent when the bucket has no lock configuration.
    pub object_lock: Option<ObjectLock>,
    /// `Enabled`, `Suspended`, or absent (never enabled).
    pub versioning: Option<String>,
    pub mfa_delete: Option<String>,
    pub encryption: Vec<EncryptionRule>,
    pub public_access_block: Option<PublicAccessBlock>,
    /// From GetBucketPolicyStatus; absent when the bucket has no policy.
    pub policy_is_public: Option<bool>,
    /// Object Ownership from GetBucketOwnershipControls (`BucketOwnerEnforced`,
    /// `BucketOwnerPreferred`, `ObjectWriter`); absent when the bucket has no ownership
    /// controls.
    pub ownership_controls: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ObjectLock {
    pub enabled: Option<String>,
    pub mode: Option<String>,
    pub days: Option<i32>,
    pub years: Option<i32>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct EncryptionRule {
    pub algorithm: String,
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: Option<bool>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct PublicAccessBlock {
    pub block_public_acls: bool,
    pub ignore_public_acls: bool,
    pub block_public_policy: bool,
    pub restrict_public_buckets: bool,
}

/// A bucket's posture. A read that fails leaves its field null and is recorded as an
/// error (the run is partial); the bucket is still listed.
///
/// Error codes that mean "not configured", which is itself the fact to record.
fn absent(e: &CallError, codes: &[&str]) -> bool {
    e.code.as_deref().is_some_and(|c| codes.contains(&c))
}

impl AwsCollector for S3Posture {
    async fn collect(
        &self,
        target: &Target,
        _prev: &PrevState,
        log: &CallLog,
    ) -> Result<Collected, CollectError> {
        let s3 = &target.clients.s3;
        let problems = Problems::new(Some(target.region.clone()));
        let mut names: Vec<String> = self.options.buckets.clone();
        if names.is_empty() && !self.options.all_buckets {
            names.extend(self.store_bucket.clone());
        }
        if self.options.all_buckets {
            let mut pages = s3.list_buckets().into_paginator().send();
            loop {
                let page = log.page("s3:ListBuckets", pages.next()).await;
                match page {
                    Ok(Some(p)) => names.extend(
                        p.buckets()
                            .iter()
                            .filter_map(|b| b.name().map(String::from)),
                    ),
                    Ok(None) => break,
                    Err(e) => {
                        problems.add(&e);
                        break;
                    }
                }
            }
        }
        names.sort();
        names.dedup();
        let account_block = account_public_access_block(target, log, &problems).await;
        let account_block_read = account_block.is_some();
        let buckets: Vec<Option<BucketPosture>> = stream::iter(names)
            .map(|name| bucket(target, log, &problems, name))
            .buffered(target.concurrency)
            .collect()
            .await;
        let doc = BucketsDoc {
            account: target.account.clone(),
            account_public_access_block: account_block.flatten(),
            buckets: buckets.into_iter().flatten().collect(),
        };
        let errors = problems.take();
        let mut out = Collected {
            errors,
            ..Collected::default()
        };
        if !doc.buckets.is_empty() || account_block_read || out.errors.is_empty() {
            out.evidence.push(Evidence::json(
                "s3/buckets.json",
                &doc,
                super::observed_now(),
            )?);
        }
        Ok(out)
    }
}

/// The account's Block Public Access: `Some(None)` when none is configured, `None` when it
/// could not be read (the error is recorded).
async fn account_public_access_block(
    target: &Target,
    log: &CallLog,
    problems: &Problems,
) -> Option<Option<PublicAccessBlock>> {
    let s3control = &target.clients.s3control;
    match log
        .call(
            "s3control:GetPublicAccessBlock",
            s3control
                .get_public_access_block()
                .account_id(&target.account)
                .send(),
        )
        .await
    {
        Ok(o) => Some(
            o.public_access_block_configuration()
                .map(|c| PublicAccessBlock {
                    block_public_acls: c.block_public_acls().unwrap_or(false),
                    ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                    block_public_policy: c.block_public_policy().unwrap_or(false),
                    restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
                }),
        ),
        Err(e) if absent(&e, &["NoSuchPublicAccessBlockConfiguration"]) => Some(None),
        Err(e) => {
            problems.add(&e);
            None
        }
    }
}

async fn bucket(
    target: &Target,
    log: &CallLog,
    problems: &Problems,
    name: String,
) -> Option<BucketPosture> {
    let s3 = &target.clients.s3;
    let lock = match log
        .call(
            "s3:GetObjectLockConfiguration",
            s3.get_object_lock_configuration().bucket(&name).send(),
        )
        .await
    {
        Ok(o) => o.object_lock_configuration().map(|c| {
            let rule = c.rule().and_then(|r| r.default_retention());
            ObjectLock {
                enabled: c.object_lock_enabled().map(|e| e.as_str().to_string()),
                mode: rule.and_then(|r| r.mode()).map(|m| m.as_str().to_string()),
                days: rule.and_then(|r| r.days()),
                years: rule.and_then(|r| r.years()),
            }
        }),
        Err(e) if absent(&e, &["ObjectLockConfigurationNotFoundError"]) => None,
        Err(e) => {
            problems.add(&e);
            None
        }
    };
    let versioning = match log
        .call(
            "s3:GetBucketVersioning",
            s3.get_bucket_versioning().bucket(&name).send(),
        )
        .await
    {
        Ok(v) => Some(v),
        Err(e) => {
            problems.add(&e);
            None
        }
    };
    let encryption = match log
        .call(
            "s3:GetBucketEncryption",
            s3.get_bucket_encryption().bucket(&name).send(),
        )
        .await
    {
        Ok(o) => {
            let mut rules: Vec<EncryptionRule> = o
                .server_side_encryption_configuration()
                .map(|c| c.rules())
                .unwrap_or_default()
                .iter()
                .filter_map(|r| {
                    let d = r.apply_server_side_encryption_by_default()?;
                    Some(EncryptionRule {
                        algorithm: d.sse_algorithm().as_str().to_string(),
                        kms_key_id: d.kms_master_key_id().map(String::from),
                        bucket_key_enabled: r.bucket_key_enabled(),
                    })
                })
                .collect();
            rules.sort_by(|a, b| a.algorithm.cmp(&b.algorithm));
            rules
        }
        Err(e) if absent(&e, &["ServerSideEncryptionConfigurationNotFoundError"]) => Vec::new(),
        Err(e) => {
            problems.add(&e);
            Vec::new()
        }
    };
    let public_access_block = match log
        .call(
            "s3:GetPublicAccessBlock",
            s3.get_public_access_block().bucket(&name).send(),
        )
        .await
    {
        Ok(o) => o
            .public_access_block_configuration()
            .map(|c| PublicAccessBlock {
                block_public_acls: c.block_public_acls().unwrap_or(false),
                ignore_public_acls: c.ignore_public_acls().unwrap_or(false),
                block_public_policy: c.block_public_policy().unwrap_or(false),
                restrict_public_buckets: c.restrict_public_buckets().unwrap_or(false),
            }),
        Err(e) if absent(&e, &["NoSuchPublicAccessBlockConfiguration"]) => None,
        Err(e) => {
            problems.add(&e);
            None
        }
    };
    let policy_is_public = match log
        .call(
            "s3:GetBucketPolicyStatus",
            s3.get_bucket_policy_status().bucket(&name).send(),
        )
        .await
    {
        Ok(o) => o.policy_status().and_then(|p| p.is_public()),
        Err(e) if absent(&e, &["NoSuchBucketPolicy"]) => None,
        Err(e) => {
            problems.add(&e);
            None
        }
    };
    let ownership_controls = match log
        .call(
            "s3:GetBucketOwnershipControls",
            s3.get_bucket_ownership_controls().bucket(&name).send(),
        )
        .await
    {
        Ok(o) => o
            .ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| r.object_ownership().as_str().to_string()),
        Err(e) if absent(&e, &["OwnershipControlsNotFoundError"]) => None,
        Err(e) => {
            problems.add(&e);
            None
        }
    };
    Some(BucketPosture {
        name,
        object_lock: lock,
        versioning: versioning
            .as_ref()
            .and_then(|v| v.status())
            .map(|s| s.as_str().to_string()),
        mfa_delete: versioning
            .as_ref()
            .and_then(|v| v.mfa_delete())
            .map(|s| s.as_str().to_string()),
        encryption,
        public_access_block,
        policy_is_public,
        ownership_controls,
    })
}
