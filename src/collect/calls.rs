//! Recording the AWS API calls of a run, with their request ids, for the record's
//! provenance: an auditor can match each stored document to the calls that produced it
//! (and AWS support can trace a request id).

use std::future::Future;
use std::sync::Mutex;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

use super::pipeline::Task;
use crate::record::{ApiCall, RunError};

/// A failed AWS call, with the service's error code when it sent one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct CallError {
    /// `service:Operation`, e.g. `backup:ListBackupJobs`.
    pub operation: String,
    pub code: Option<String>,
    pub message: String,
}

impl CallError {
    /// The caller lacks permission: the operation is skipped and the run is partial.
    pub fn is_access_denied(&self) -> bool {
        self.code.as_deref().is_some_and(|c| {
            c.contains("AccessDenied") || c == "UnauthorizedOperation" || c == "AuthorizationError"
        })
    }

    pub fn to_run_error(&self, region: Option<&str>) -> RunError {
        let message = match &self.code {
            Some(code) if !self.message.contains(code.as_str()) => {
                format!("{code}: {}", self.message)
            }
            _ => self.message.clone(),
        };
        let message = if self.is_access_denied() {
            format!(
                "{message} (access denied: the role needs {})",
                self.operation
            )
        } else {
            message
        };
        RunError {
            operation: self.operation.clone(),
            region: region.map(String::from),
            message: single_line(&message),
        }
    }

    /// Whether the credentials could not be found at all (no profile, no environment, no
    /// task role).
    pub fn is_no_credentials(&self) -> bool {
        self.message.starts_with(NO_CREDENTIALS)
    }
}

/// How a missing-credentials error starts, in records and on the terminal.
pub const NO_CREDENTIALS: &str = "no AWS credentials found";
/// How an error of a configured credential source (an SSO profile without a valid
/// session, a failing credential_process) starts.
pub const CREDENTIALS_UNUSABLE: &str = "AWS credentials could not be loaded";

/// Whether a recorded error message says that no usable credentials were found.
pub fn is_credentials_message(message: &str) -> bool {
    message.starts_with(NO_CREDENTIALS) || message.starts_with(CREDENTIALS_UNUSABLE)
}

/// The message for missing credentials, with the next step.
pub fn no_credentials_message() -> String {
    format!("{NO_CREDENTIALS}: set AWS_PROFILE or run `aws sso login`")
}

/// Collapse whitespace and newlines: record messages and log fields are one line.
fn single_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One line describing an error the service did not describe itself (no credentials, DNS,
/// connection, TLS, timeout, an emulator's HTML page), with the next step where the cause is
/// recognisable. Walks the source chain rather than printing the SDK's Debug output.
pub fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut credentials: Option<&CredentialsError> = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if credentials.is_none() {
            credentials = err.downcast_ref::<CredentialsError>();
        }
        let text = single_line(&err.to_string());
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    let chain = parts.join(": ");
    let lower = chain.to_ascii_lowercase();
    match credentials {
        Some(CredentialsError::CredentialsNotLoaded(_)) => return no_credentials_message(),
        Some(_) => {
            return format!(
                "{CREDENTIALS_UNUSABLE} ({chain}); check AWS_PROFILE (or --profile) and that profile in ~/.aws/config, or run `aws sso login`"
            )
        }
        None => {}
    }
    if lower.contains("no credentials")
        || lower.contains("credentials provider was not enabled")
        || lower.contains("noidentityresolver")
        || lower.contains("no providers in chain provided credentials")
    {
        return no_credentials_message();
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        return format!(
            "DNS lookup failed ({chain}); check the region and endpoint URL, and that this network resolves AWS endpoints (VPC DNS, NAT or VPC endpoints)"
        );
    }
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        return format!(
            "TLS failed ({chain}); check the endpoint URL (https or http) and, behind a TLS-inspecting proxy, its CA certificate (SSL_CERT_FILE)"
        );
    }
    if lower.contains("timeout") || lower.contains("timed out") {
        return format!(
            "timed out ({chain}); check network access to the AWS endpoint (security group, NAT or VPC endpoints) or raise [aws] operation_timeout_secs"
        );
    }
    if lower.contains("connect") || lower.contains("connection") || lower.contains("io error") {
        return format!(
            "connection failed ({chain}); check the endpoint URL and network access (security group, NAT or VPC endpoints)"
        );
    }
    chain
}

/// A one-line description of an error the service did not describe (an emulator's HTML
/// page, a timeout, no credentials): the kind and HTTP status, or the cause with a hint,
/// not the raw response.
fn short<E: std::error::Error + Send + Sync + 'static>(e: &SdkError<E, Response>) -> String {
    let kind = match e {
        SdkError::ConstructionFailure(_) => "request could not be built",
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "connection failed",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ServiceError(_) => "service error without a code",
        _ => "failed",
    };
    match e.raw_response().map(|r| r.status().as_u16()) {
        Some(status) => format!("{kind} (HTTP {status})"),
        None => one_line(e),
    }
}

/// The calls of one run in one scope, in the order they completed.
#[derive(Debug, Default)]
pub struct CallLog {
    region: Option<String>,
    calls: Mutex<Vec<ApiCall>>,
}

impl CallLog {
    pub fn new(region: Option<String>) -> CallLog {
        CallLog {
            region,
            calls: Mutex::new(Vec::new()),
        }
    }

    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Add a call made elsewhere (e.g. the caller-identity lookup shared by every scope).
    pub fn push(&self, call: ApiCall) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }

    /// Await an SDK call, recording its operation and request id whether it succeeds or
    /// fails, and turn its error into a [`CallError`]. The call runs as a task of its own,
    /// so its response is parsed on whichever worker thread is free rather than on the
    /// collector's.
    pub async fn call<T, E>(
        &self,
        operation: &str,
        fut: impl Future<Output = Result<T, SdkError<E, Response>>> + Send + 'static,
    ) -> Result<T, CallError>
    where
        T: RequestId + Send + 'static,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match Task::spawn(fut).join().await {
            Ok(result) => self.record(operation, result),
            Err(e) => Err(CallError {
                operation: operation.to_string(),
                code: None,
                message: format!("the call's task failed: {e}"),
            }),
        }
    }

    /// Like [`CallLog::call`] for one step of a paginator: `Ok(None)` after the last page.
    pub async fn page<T, E>(
        &self,
        operation: &str,
        fut: impl Future<Output = Option<Result<T, SdkError<E, Response>>>>,
    ) -> Result<Option<T>, CallError>
    where
        T: RequestId,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match fut.await {
            None => Ok(None),
            Some(r) => self.record(operation, r).map(Some),
        }
    }

    /// Record a finished call.
    pub fn record<T, E>(
        &self,
        operation: &str,
        result: Result<T, SdkError<E, Response>>,
    ) -> Result<T, CallError>
    where
        T: RequestId,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let request_id = match &result {
            Ok(out) => out.request_id().map(String::from),
            Err(e) => e.request_id().map(String::from),
        };
        self.push(ApiCall {
            operation: operation.to_string(),
            region: self.region.clone(),
            request_id,
        });
        result.map_err(|e| {
            let code = e.code().map(String::from);
            let message = match e.message() {
                Some(m) => single_line(m),
                None => short(&e),
            };
            tracing::debug!(operation, code = code.as_deref(), %message, "AWS call failed.");
            CallError {
                operation: operation.to_string(),
                code,
                message,
            }
        })
    }

    /// The calls recorded so far.
    pub fn take(&self) -> Vec<ApiCall> {
        self.calls
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }
}

/// Errors met by a collector that carries on: each becomes a [`RunError`] in the record
/// and makes the run partial.
#[derive(Debug, Default)]
pub struct Problems {
    region: Option<String>,
    errors: Mutex<Vec<RunError>>,
}

impl Problems {
    pub fn new(region: Option<String>) -> Problems {
        Problems {
            region,
            errors: Mutex::new(Vec::new()),
        }
    }

    pub fn add(&self, e: &CallError) {
        tracing::warn!(operation = %e.operation, region = self.region.as_deref(), code = e.code.as_deref(), error = %e.message, "Collection incomplete.");
        if let Ok(mut errors) = self.errors.lock() {
            errors.push(e.to_run_error(self.region.as_deref()));
        }
    }

    /// Keep the value, or note the error and carry on with `None`.
    pub fn ok<T>(&self, r: Result<T, CallError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(&e);
                None
            }
        }
    }

    pub fn take(&self) -> Vec<RunError> {
        self.errors
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }
}
