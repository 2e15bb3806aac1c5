//! The SDK side: one shared configuration (region, endpoint, timeouts, retries, a short
//! idle timeout on pooled connections), the accounts reached with `sts:AssumeRole`, and the
//! caller identity of each, which every record carries as provenance.

use std::sync::Arc;
use std::time::Duration;

use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use super::calls::CallLog;
use super::limits::Limits;
use crate::config::AwsConfig;
use crate::record::{ApiCall, RunError, Scope};

/// The service clients of one account and region.
#[derive(Debug, Clone)]
pub struct Clients {
    pub backup: aws_sdk_backup::Client,
    pub config: aws_sdk_config::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub s3: aws_sdk_s3::Client,
    /// S3 Control, for the account's Block Public Access.
    pub s3control: aws_sdk_s3control::Client,
}

impl Clients {
    /// Clients for the region of `sdk`.
    pub fn from_sdk(sdk: &SdkConfig, force_path_style: bool) -> Clients {
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(force_path_style)
            .build();
        let mut s3control = aws_sdk_s3control::config::Builder::from(sdk);
        if sdk.endpoint_url().is_some_and(is_ip_literal) {
            s3control = s3control.endpoint_resolver(AccountInHeaderOnly::default());
        }
        Clients {
            backup: aws_sdk_backup::Client::new(sdk),
            config: aws_sdk_config::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            s3control: aws_sdk_s3control::Client::from_conf(s3control.build()),
        }
    }
}

/// Whether an endpoint URL names its host by IP address.
fn is_ip_literal(endpoint: &str) -> bool {
    matches!(
        url::Url::parse(endpoint).as_ref().map(url::Url::host),
        Ok(Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)))
    )
}

/// S3 Control puts the account id in front of the endpoint's host
/// (`https://<account>.s3-control.<region>.amazonaws.com`) as well as in the
/// `x-amz-account-id` header. A configured endpoint given by IP address (an emulator on
/// 127.0.0.1) cannot take a DNS label, so there the account travels in the header only:
/// the default resolution with the `<account>.` label removed again.
#[derive(Debug, Default)]
struct AccountInHeaderOnly(aws_sdk_s3control::config::endpoint::DefaultResolver);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for AccountInHeaderOnly {
    fn resolve_endpoint<'a>(
        &'a self,
        params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        use aws_sdk_s3control::config::endpoint::{Endpoint, EndpointFuture};
        EndpointFuture::new(async move {
            let ep = self.0.resolve_endpoint(params).await?;
            let (Some(configured), Some(account)) = (params.endpoint(), params.account_id()) else {
                return Ok(ep);
            };
            let Some((scheme, rest)) = ep.url().split_once("://") else {
                return Ok(ep);
            };
            let Some(host) = rest.strip_prefix(account).and_then(|r| r.strip_prefix('.')) else {
                return Ok(ep);
            };
            if !is_ip_literal(configured) {
                return Ok(ep);
            }
            let mut b = Endpoint::builder().url(format!("{scheme}://{host}"));
            for (name, values) in ep.headers() {
                for v in values {
                    b = b.header(name.to_string(), v.to_string());
                }
            }
            for (k, v) in ep.properties() {
                b = b.property(k.clone(), v.clone());
            }
            Ok(b.build())
        })
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
/// instance profile) with our endpoint, timeouts and retries, and per-service limits of
/// its own.
pub async fn sdk_config(aws: &AwsConfig) -> SdkConfig {
    sdk_config_limited(aws, Arc::new(limits_of(aws))).await
}

/// The per-service limits `[aws]` configures.
pub fn limits_of(aws: &AwsConfig) -> Limits {
    Limits::new(aws.service_concurrency, aws.service_limits.clone())
}

/// [`sdk_config`] whose requests all go through `limits` (shared by every client made
/// from it, so by every account and region of a collection).
pub async fn sdk_config_limited(aws: &AwsConfig, limits: Arc<Limits>) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .pool_idle_timeout(Duration::from_secs(aws.pool_idle_timeout_secs))
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    let http = match aws.moto_compat {
        true => super::moto_compat::wrap(http),
        false => http,
    };
    let http = super::limits::wrap(http, limits);
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
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(aws.max_attempts.max(1))
                .with_initial_backoff(Duration::from_millis(aws.retry_initial_backoff_ms.max(1))),
        );
    if let Some(ep) = &aws.endpoint_url {
        loader = loader.endpoint_url(ep);
    }
    if let Some(p) = &aws.profile {
        loader = loader.profile_name(p);
    }
    loader.load().await
}

/// Accounts whose caller identity is looked up at once.
const IDENTITY_CONCURRENCY: usize = 8;

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
        // Each account caches its credentials on its own, shared by its regions. The
        // cache the base configuration carries holds 64 providers, and would evict and
        // assume the role again, over and over, in a collection of more accounts.
        let sdk = base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .identity_cache(IdentityCache::lazy().build())
            .build();
        accounts.push((a.id.clone(), sdk));
    }
    // The identities are established a few accounts at a time, in the configured order.
    use futures::stream::{self, StreamExt};
    let identities: Vec<_> = stream::iter(accounts)
        .map(|(configured_id, sdk)| async move {
            let log = CallLog::new(sdk.region().map(|r| r.to_string()));
            let sts = aws_sdk_sts::Client::new(&sdk);
            let identity = log
                .call("sts:GetCallerIdentity", sts.get_caller_identity().send())
                .await;
            (configured_id, sdk, identity, log.take())
        })
        .buffered(IDENTITY_CONCURRENCY)
        .collect()
        .await;
    let mut out = Vec::new();
    for (configured_id, sdk, identity, calls) in identities {
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3control::config::endpoint::{Params, ResolveEndpoint};

    async fn resolved(endpoint: &str) -> String {
        let params = Params::builder()
            .region("us-east-1")
            .use_fips(false)
            .use_dual_stack(false)
            .requires_account_id(true)
            .account_id("123456789012")
            .endpoint(endpoint)
            .build()
            .expect("params");
        let ep = AccountInHeaderOnly::default()
            .resolve_endpoint(&params)
            .await
            .expect("resolved");
        ep.url().to_string()
    }

    #[tokio::test]
    async fn s3control_account_label_only_dropped_for_an_ip_endpoint() {
        assert!(is_ip_literal("http://127.0.0.1:5000"));
        assert!(is_ip_literal("http://[::1]:5000/"));
        assert!(!is_ip_literal("https://s3-control.us-east-1.amazonaws.com"));
        assert!(!is_ip_literal("not a url"));
        assert_eq!(
            resolved("http://127.0.0.1:5000").await,
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            resolved("https://control.example.com").await,
            "https://123456789012.control.example.com"
        );
    }
}
