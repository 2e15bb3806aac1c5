//! The SDK side: one shared configuration (region, endpoint, timeouts, retries, a short
//! idle timeout on pooled connections), the accounts reached with `sts:AssumeRole`, and the
//! caller identity of each, which every record carries as provenance.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::calls::CallLog;
use crate::config::AwsConfig;
use crate::record::{ApiCall, RunError, Scope};

/// The service clients of one account and region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub backup: aws_sdk_backup::Client,
    pub config: aws_sdk_config::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    /// Clients for the region of `sdk`.
    pub fn from_sdk(sdk: &SdkConfig, force_path_style: bool) -> Clients {
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(force_path_style)
            .build();
        Clients {
            backup: aws_sdk_backup::Client::new(sdk),
            config: aws_sdk_config::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
        }
    }
}

/// One account and region to collect, with who we are there.
#[derive(Debug, Clone)]
pub struct Target {
    pub account: String,
    pub region: String,
    /// ARN returned by `sts:GetCallerIdentity` for the credentials used.
    pub caller_arn: Option<String>,
    /// The STS calls that established the identity, copied into each record.
    pub identity_calls: Vec<ApiCall>,
    pub clients: Clients,
    /// Concurrent requests per service.
    pub concurrency: usize,
}

impl Target {
    pub fn scope(&self) -> Scope {
        Scope {
            account: Some(self.account.clone()),
            region: Some(self.region.clone()),
        }
    }
}

/// A scope whose identity could not be established: recorded as a failed run.
#[derive(Debug, Clone)]
pub struct Unreachable {
    pub scope: Scope,
    pub error: RunError,
    pub calls: Vec<ApiCall>,
}

/// Base SDK configuration from the default provider chain (environment, ECS task role,
/// instance profile) with our endpoint, timeouts and retries.
pub async fn sdk_config(aws: &AwsConfig) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .pool_idle_timeout(Duration::from_secs(aws.pool_idle_timeout_secs))
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    let http = match aws.moto_compat {
        true => super::moto_compat::wrap(http),
        false => http,
    };
    let timeouts = TimeoutConfig::builder()
        .operation_timeout(Duration::from_secs(aws.operation_timeout_secs))
        .operation_attempt_timeout(Duration::from_secs(aws.attempt_timeout_secs))
        .connect_timeout(Duration::from_secs(aws.connect_timeout_secs))
        .build();
    let region = aws
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| "us-east-1".to_string());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .http_client(http)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(aws.max_attempts.max(1)));
    if let Some(ep) = &aws.endpoint_url {
        loader = loader.endpoint_url(ep);
    }
    loader.load().await
}

/// Every (account, region) to collect. `regional = false` gives one target per account
/// (in the first region), for account-wide collectors such as S3 posture.
pub async fn targets(
    aws: &AwsConfig,
    base: &SdkConfig,
    regional: bool,
) -> Vec<Result<Target, Unreachable>> {
    let regions: Vec<String> = if regional {
        aws.regions.clone()
    } else {
        aws.regions.iter().take(1).cloned().collect()
    };
    let mut accounts: Vec<(Option<String>, SdkConfig)> = Vec::new();
    if aws.accounts.is_empty() {
        accounts.push((None, base.clone()));
    }
    for a in &aws.accounts {
        let mut role = AssumeRoleProvider::builder(&a.role_arn)
            .session_name("evidenced")
            .configure(base);
        if let Some(x) = &a.external_id {
            role = role.external_id(x);
        }
        let provider = role.build().await;
        let sdk = base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .build();
        accounts.push((a.id.clone(), sdk));
    }
    let mut out = Vec::new();
    for (configured_id, sdk) in accounts {
        let log = CallLog::new(sdk.region().map(|r| r.to_string()));
        let sts = aws_sdk_sts::Client::new(&sdk);
        let identity = log
            .call("sts:GetCallerIdentity", sts.get_caller_identity().send())
            .await;
        let calls = log.take();
        for region in &regions {
            match &identity {
                Ok(id) => {
                    let regional = sdk.to_builder().region(Region::new(region.clone())).build();
                    out.push(Ok(Target {
                        account: id
                            .account()
                            .map(String::from)
                            .or_else(|| configured_id.clone())
                            .unwrap_or_default(),
                        region: region.clone(),
                        caller_arn: id.arn().map(String::from),
                        identity_calls: calls.clone(),
                        clients: Clients::from_sdk(&regional, aws.force_path_style),
                        concurrency: aws.concurrency.max(1),
                    }))
                }
                Err(e) => out.push(Err(Unreachable {
                    scope: Scope {
                        account: configured_id.clone(),
                        region: Some(region.clone()),
                    },
                    error: e.to_run_error(Some(region)),
                    calls: calls.clone(),
                })),
            }
        }
    }
    out
}
