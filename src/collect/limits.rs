//! Requests in flight per AWS service, across every account and region of one collection,
//! and counts of the requests sent and of the throttling responses received.
//!
//! A hundred accounts in four regions are 400 scopes collected together; AWS throttles per
//! account and region, but a task that opens hundreds of requests at once mostly queues on
//! its own sockets and multiplies the throttling it meets. So the HTTP connector is wrapped:
//! each attempt (retries included) waits for a permit of its service, named by the signing
//! scope of its `Authorization` header (`…/us-east-1/backup/aws4_request`), and holds it
//! until the response's head arrives. Throttled attempts are retried by the SDK (standard
//! retry mode: exponential backoff with jitter, `[aws] max_attempts`); this layer counts
//! them, and a call that runs out of attempts fails and makes its run partial, naming it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use tokio::sync::Semaphore;

/// Error codes AWS uses for throttling (the SDK's own list, and S3's `SlowDown`).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Error bodies longer than this are not searched for a throttling code.
const ERROR_BODY_LIMIT: usize = 64 << 10;

/// Per-service permits and the counts of one collection.
#[derive(Debug)]
pub struct Limits {
    default: usize,
    per_service: BTreeMap<String, usize>,
    services: Mutex<HashMap<String, Arc<Service>>>,
}

#[derive(Debug)]
struct Service {
    permits: Arc<Semaphore>,
    limit: usize,
    requests: AtomicU64,
    throttled: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// What one service saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCounts {
    pub limit: usize,
    /// HTTP attempts sent (each retry is one more).
    pub requests: u64,
    /// Attempts answered with a throttling error (then retried, while attempts remain).
    pub throttled: u64,
    /// Most attempts in flight at once.
    pub max_in_flight: usize,
}

impl Limits {
    /// `default` permits for every service, except those named in `per_service` (by
    /// signing name: `backup`, `config`, `monitoring` for CloudWatch, `sts`, `s3`).
    pub fn new(default: usize, per_service: BTreeMap<String, usize>) -> Limits {
        Limits {
            default: default.max(1),
            per_service,
            services: Mutex::new(HashMap::new()),
        }
    }

    fn service(&self, name: &str) -> Arc<Service> {
        let mut services = match self.services.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        services
            .entry(name.to_string())
            .or_insert_with(|| {
                let limit = self
                    .per_service
                    .get(name)
                    .copied()
                    .unwrap_or(self.default)
                    .max(1);
                Arc::new(Service {
                    permits: Arc::new(Semaphore::new(limit)),
                    limit,
                    requests: AtomicU64::new(0),
                    throttled: AtomicU64::new(0),
                    in_flight: AtomicUsize::new(0),
                    max_in_flight: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    /// The counts of every service that was called, by signing name.
    pub fn counts(&self) -> BTreeMap<String, ServiceCounts> {
        let services = match self.services.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        services
            .iter()
            .map(|(name, s)| {
                let counts = ServiceCounts {
                    limit: s.limit,
                    requests: s.requests.load(Ordering::Relaxed),
                    throttled: s.throttled.load(Ordering::Relaxed),
                    max_in_flight: s.max_in_flight.load(Ordering::Relaxed),
                };
                (name.clone(), counts)
            })
            .collect()
    }

    /// Log the counts, one line per service.
    /// Log the counts of each service, as `what` (e.g. "AWS requests of this collection.").
    pub fn log(&self, what: &str) {
        for (service, c) in self.counts() {
            tracing::info!(
                service,
                requests = c.requests,
                throttled = c.throttled,
                max_in_flight = c.max_in_flight,
                limit = c.limit,
                "{what}"
            );
        }
    }
}

/// Wrap `inner` so that every attempt goes through `limits`.
pub fn wrap(inner: SharedHttpClient, limits: Arc<Limits>) -> SharedHttpClient {
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Limited {
            inner: inner.http_connector(settings, components),
            limits: limits.clone(),
        })
    })
}

#[derive(Debug)]
struct Limited {
    inner: SharedHttpConnector,
    limits: Arc<Limits>,
}

impl HttpConnector for Limited {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let service = self
            .limits
            .service(signing_service(&request).unwrap_or("unsigned"));
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            let _permit = service
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let now = service.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            service.max_in_flight.fetch_max(now, Ordering::SeqCst);
            service.requests.fetch_add(1, Ordering::Relaxed);
            let result = inner.call(request).await;
            service.in_flight.fetch_sub(1, Ordering::SeqCst);
            let mut resp = result?;
            if is_throttled(&mut resp).await? {
                service.throttled.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    status = resp.status().as_u16(),
                    "Throttled; the SDK retries with backoff."
                );
            }
            Ok(resp)
        })
    }
}

/// The service of a SigV4-signed request: the fourth part of its credential scope.
fn signing_service(request: &HttpRequest) -> Option<&str> {
    let auth = request.headers().get("authorization")?;
    let credential = auth.split("Credential=").nth(1)?;
    let scope = credential.split([',', ' ']).next()?;
    // <key id>/<date>/<region>/<service>/aws4_request
    scope.split('/').nth(3)
}

/// Whether a response is a throttling error: HTTP 429, or a 400 / 503 whose error type
/// header or (short) body names a throttling code. A body read to find out is put back.
async fn is_throttled(
    resp: &mut aws_smithy_runtime_api::http::Response,
) -> Result<bool, ConnectorError> {
    let status = resp.status().as_u16();
    if status == 429 {
        return Ok(true);
    }
    if status != 400 && status != 503 {
        return Ok(false);
    }
    if let Some(t) = resp.headers().get("x-amzn-errortype") {
        let code = t.split([':', '#']).next().unwrap_or(t);
        return Ok(THROTTLING_CODES.contains(&code));
    }
    let small = resp
        .headers()
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
        .is_some_and(|l| l <= ERROR_BODY_LIMIT);
    if !small {
        return Ok(false);
    }
    let body = resp.take_body();
    let bytes = aws_smithy_types::byte_stream::ByteStream::new(body)
        .collect()
        .await
        .map_err(|e| ConnectorError::io(e.into()))?
        .into_bytes();
    let text = String::from_utf8_lossy(&bytes);
    let throttled = THROTTLING_CODES.iter().any(|code| {
        text.contains(&format!("<Code>{code}</Code>"))
            || text.contains(&format!("\"{code}\""))
            || text.contains(&format!("#{code}\""))
    });
    *resp.body_mut() = SdkBody::from(bytes);
    Ok(throttled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_is_the_signing_scope_of_the_request() {
        let mut req = HttpRequest::empty();
        req.headers_mut().insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/backup/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc",
        );
        assert_eq!(signing_service(&req), Some("backup"));
        assert_eq!(signing_service(&HttpRequest::empty()), None);
    }

    #[test]
    fn limits_come_from_the_table_or_the_default() {
        let l = Limits::new(8, BTreeMap::from([("backup".to_string(), 2)]));
        assert_eq!(l.service("backup").limit, 2);
        assert_eq!(l.service("config").limit, 8);
        assert_eq!(l.service("backup").permits.available_permits(), 2);
    }
}
