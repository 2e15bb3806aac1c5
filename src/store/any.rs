//! Choosing a backend from a store URL: a path or `file://` URL, or `s3://bucket/prefix`.

use std::path::PathBuf;

use aws_config::meta::region::RegionProviderChain;
use aws_config::BehaviorVersion;

use super::stats::{count, Op};
use super::{LocalStore, ObjectStore, PutOutcome, S3Store, StoreError, TempFile};
use crate::digest::{Blob, Digest};

/// Where the store lives, parsed from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl StoreLocation {
    pub fn parse(url: &str) -> Result<StoreLocation, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid("missing bucket name (expected s3://bucket/prefix)"));
            }
            if let Err(why) = check_bucket_name(bucket) {
                return Err(invalid(&why));
            }
            return Ok(StoreLocation::S3 {
                bucket: bucket.to_string(),
                prefix: prefix.trim_matches('/').to_string(),
            });
        }
        if url.starts_with("file://") {
            let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
            let path = parsed
                .to_file_path()
                .map_err(|_| invalid("not a local file path"))?;
            return Ok(StoreLocation::Local(path));
        }
        if url.contains("://") {
            return Err(invalid(
                "unsupported scheme (use a path, file://, or s3://)",
            ));
        }
        if url.is_empty() {
            return Err(invalid("empty"));
        }
        Ok(StoreLocation::Local(PathBuf::from(url)))
    }
}

/// S3's bucket naming rules, checked before any request so that a typo is a usage error
/// naming the rule rather than a 400 or a DNS failure.
pub fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let bad = |rule: &str| {
        Err(format!(
            "{bucket:?} is not a valid S3 bucket name: {rule} (3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)"
        ))
    };
    if !(3..=63).contains(&bucket.len()) {
        return bad("wrong length");
    }
    if let Some(c) = bucket
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return bad(&format!("{c:?} is not allowed"));
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !edge(bucket.chars().next()) || !edge(bucket.chars().last()) {
        return bad("it must start and end with a letter or digit");
    }
    if bucket.contains("..") {
        return bad("two dots in a row");
    }
    if bucket.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("it is formatted as an IP address");
    }
    Ok(())
}

/// What is needed to open a store.
#[derive(Debug, Clone, Default)]
pub struct StoreSettings {
    pub url: String,
    /// S3-compatible endpoint or emulator, e.g. `http://127.0.0.1:5000`.
    pub endpoint_url: Option<String>,
    pub force_path_style: bool,
    pub region: Option<String>,
}

/// Any backend, chosen at run time.
#[derive(Debug, Clone)]
pub enum AnyStore {
    Local(LocalStore),
    S3(S3Store),
}

impl AnyStore {
    /// Open the store the settings name. For S3, `sdk` supplies credentials (the default
    /// provider chain only: environment, ECS task role, instance profile), timeouts,
    /// retries and the HTTP client; the store's endpoint, addressing and region override it.
    /// Without `sdk`, the SDK defaults are loaded.
    pub async fn open(
        settings: &StoreSettings,
        sdk: Option<&aws_types::SdkConfig>,
    ) -> Result<AnyStore, StoreError> {
        match StoreLocation::parse(&settings.url)? {
            StoreLocation::Local(path) => Ok(AnyStore::Local(LocalStore::new(path))),
            StoreLocation::S3 { bucket, prefix } => {
                let client = match sdk {
                    Some(sdk) => s3_client_from(sdk, settings),
                    None => s3_client(settings).await,
                };
                Ok(AnyStore::S3(S3Store::new(client, bucket, prefix)))
            }
        }
    }
}

/// Build an S3 client from the SDK defaults, with the endpoint and addressing overrides.
pub async fn s3_client(settings: &StoreSettings) -> aws_sdk_s3::Client {
    let region = RegionProviderChain::first_try(
        settings.region.clone().map(aws_sdk_s3::config::Region::new),
    )
    .or_default_provider()
    .or_else("us-east-1");
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(region)
        .load()
        .await;
    s3_client_from(&sdk, settings)
}

/// An S3 client from a loaded SDK configuration, with the store's overrides.
pub fn s3_client_from(sdk: &aws_types::SdkConfig, settings: &StoreSettings) -> aws_sdk_s3::Client {
    let mut conf = aws_sdk_s3::config::Builder::from(sdk);
    if let Some(region) = &settings.region {
        conf = conf.region(aws_sdk_s3::config::Region::new(region.clone()));
    }
    if let Some(ep) = &settings.endpoint_url {
        conf = conf.endpoint_url(ep);
    }
    conf = conf.force_path_style(settings.force_path_style);
    aws_sdk_s3::Client::from_conf(conf.build())
}

impl ObjectStore for AnyStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        count(Op::Get);
        match self {
            AnyStore::Local(s) => s.get(key).await,
            AnyStore::S3(s) => s.get(key).await,
        }
    }
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        for _ in keys {
            count(Op::Get);
        }
        match self {
            AnyStore::Local(s) => s.get_many(keys).await,
            AnyStore::S3(s) => s.get_many(keys).await,
        }
    }
    async fn put_if_absent(&self, key: &str, bytes: &[u8]) -> Result<PutOutcome, StoreError> {
        count(Op::Put);
        match self {
            AnyStore::Local(s) => s.put_if_absent(key, bytes).await,
            AnyStore::S3(s) => s.put_if_absent(key, bytes).await,
        }
    }
    async fn put_blob_if_absent(&self, key: &str, blob: &Blob) -> Result<PutOutcome, StoreError> {
        count(Op::Put);
        match self {
            AnyStore::Local(s) => s.put_blob_if_absent(key, blob).await,
            AnyStore::S3(s) => s.put_blob_if_absent(key, blob).await,
        }
    }
    async fn put_spooled_if_absent(
        &self,
        key: &str,
        blob: &super::SpooledBlob,
    ) -> Result<PutOutcome, StoreError> {
        match self {
            AnyStore::Local(s) => s.put_spooled_if_absent(key, blob).await,
            AnyStore::S3(s) => s.put_spooled_if_absent(key, blob).await,
        }
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self {
            // S3 counts each page it reads.
            AnyStore::Local(s) => {
                count(Op::List);
                s.list(prefix).await
            }
            AnyStore::S3(s) => s.list(prefix).await,
        }
    }
    async fn list_after(&self, prefix: &str, start_after: &str) -> Result<Vec<String>, StoreError> {
        match self {
            AnyStore::Local(s) => {
                count(Op::List);
                s.list_after(prefix, start_after).await
            }
            AnyStore::S3(s) => s.list_after(prefix, start_after).await,
        }
    }
    async fn head(&self, key: &str) -> Result<Option<u64>, StoreError> {
        count(Op::Head);
        match self {
            AnyStore::Local(s) => s.head(key).await,
            AnyStore::S3(s) => s.head(key).await,
        }
    }
    fn streams_digest(&self) -> bool {
        match self {
            AnyStore::Local(s) => s.streams_digest(),
            AnyStore::S3(s) => s.streams_digest(),
        }
    }
    async fn digest(&self, key: &str) -> Result<Option<(Digest, u64)>, StoreError> {
        count(Op::Get);
        match self {
            AnyStore::Local(s) => s.digest(key).await,
            AnyStore::S3(s) => s.digest(key).await,
        }
    }
    async fn overwritten(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self {
            AnyStore::Local(s) => s.overwritten(prefix).await,
            AnyStore::S3(s) => s.overwritten(prefix).await,
        }
    }
    async fn temp_files(&self) -> Result<Vec<TempFile>, StoreError> {
        match self {
            AnyStore::Local(s) => s.temp_files().await,
            AnyStore::S3(s) => s.temp_files().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_checked_before_any_request() {
        for ok in ["abc", "evidenced-evidence-123456789012-eu-west-1", "a.b-c"] {
            assert!(
                StoreLocation::parse(&format!("s3://{ok}/p")).is_ok(),
                "{ok}"
            );
        }
        for (bad, why) in [
            ("evidenced-evidence-ACCOUNT_ID-REGION", "'A' is not allowed"),
            ("ab", "wrong length"),
            ("my_bucket", "'_' is not allowed"),
            ("-abc", "start and end"),
            ("a..b", "two dots"),
            ("192.168.1.1", "IP address"),
        ] {
            let err = StoreLocation::parse(&format!("s3://{bad}/p"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(why) && err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn parses_store_urls() {
        assert_eq!(
            StoreLocation::parse("./evidence").unwrap(),
            StoreLocation::Local("./evidence".into())
        );
        assert_eq!(
            StoreLocation::parse("file:///var/lib/ev").unwrap(),
            StoreLocation::Local("/var/lib/ev".into())
        );
        assert_eq!(
            StoreLocation::parse("s3://bkt/a/b/").unwrap(),
            StoreLocation::S3 {
                bucket: "bkt".into(),
                prefix: "a/b".into()
            }
        );
        assert!(StoreLocation::parse("s3:///x").is_err());
        assert!(StoreLocation::parse("gs://x").is_err());
    }
}
