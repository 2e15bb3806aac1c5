//! The daemon's own metrics in CloudWatch (namespace configurable, `evidenced` in deploy/),
//! dimension `Collector`. The alarms in deploy/service.yaml read them:
//! - after each run: `Runs`, `RunsFailed` (failed or partial), `RecordsCommitted`,
//!   `BytesWritten`, `RunDurationSeconds`;
//! - every minute: `ScheduledRunsSinceLastCommit` and `SecondsSinceLastCommit` (gauges whose
//!   absence the staleness alarm treats as a dead daemon);
//! - after each requirements evaluation, per requirement (dimension `Requirement`):
//!   `DaysUntilDue` (negative when overdue; absent when the rule has no due date) and
//!   `RequirementFailing` (0/1), so an alarm can page before a requirement lapses.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

use super::{MetricsSink, RunOutcome};

/// Publishes to CloudWatch with `PutMetricData`. Failures are logged, never fatal: metrics
/// must not stop evidence collection.
pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
    namespace: String,
}

impl CloudWatchMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client, namespace: impl Into<String>) -> Self {
        CloudWatchMetrics {
            client,
            namespace: namespace.into(),
        }
    }

    async fn put(&self, job: &str, data: Vec<(&str, f64, StandardUnit)>) {
        let dim = Dimension::builder().name("Collector").value(job).build();
        let data: Vec<MetricDatum> = data
            .into_iter()
            .map(|(name, value, unit)| {
                MetricDatum::builder()
                    .metric_name(name)
                    .dimensions(dim.clone())
                    .value(value)
                    .unit(unit)
                    .build()
            })
            .collect();
        let result = self
            .client
            .put_metric_data()
            .namespace(&self.namespace)
            .set_metric_data(Some(data))
            .send()
            .await;
        if let Err(e) = result {
            tracing::warn!(collector = job, error = %crate::collect::calls::one_line(&e), "Could not publish metrics.");
        }
    }
}

impl CloudWatchMetrics {
    /// Publish the per-requirement figures of one evaluation.
    pub async fn requirements(&self, metrics: &[crate::requirements::Metric]) {
        let mut data = Vec::new();
        for m in metrics {
            let dim = Dimension::builder()
                .name("Requirement")
                .value(&m.requirement)
                .build();
            if let Some(days) = m.days_until_due {
                data.push(
                    MetricDatum::builder()
                        .metric_name("DaysUntilDue")
                        .dimensions(dim.clone())
                        .value(days)
                        .unit(StandardUnit::Count)
                        .build(),
                );
            }
            data.push(
                MetricDatum::builder()
                    .metric_name("RequirementFailing")
                    .dimensions(dim)
                    .value(m.failing)
                    .unit(StandardUnit::Count)
                    .build(),
            );
        }
        for chunk in data.chunks(500) {
            let result = self
                .client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %crate::collect::calls::one_line(&e), "Could not publish requirement metrics.");
            }
        }
    }
}

impl MetricsSink for CloudWatchMetrics {
    fn run_finished<'a>(
        &'a self,
        job: &'a str,
        outcome: &'a RunOutcome,
        duration: Duration,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let failed = if outcome.failures > 0 || outcome.error.is_some() {
                1.0
            } else {
                0.0
            };
            self.put(
                job,
                vec![
                    ("Runs", 1.0, StandardUnit::Count),
                    ("RunsFailed", failed, StandardUnit::Count),
                    (
                        "RecordsCommitted",
                        outcome.records as f64,
                        StandardUnit::Count,
                    ),
                    ("BytesWritten", outcome.bytes as f64, StandardUnit::Bytes),
                    (
                        "RunDurationSeconds",
                        duration.as_secs_f64(),
                        StandardUnit::Seconds,
                    ),
                ],
            )
            .await
        })
    }

    fn gauges<'a>(
        &'a self,
        job: &'a str,
        seconds_since_commit: f64,
        runs_since_commit: u64,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.put(
                job,
                vec![
                    (
                        "SecondsSinceLastCommit",
                        seconds_since_commit,
                        StandardUnit::Seconds,
                    ),
                    (
                        "ScheduledRunsSinceLastCommit",
                        runs_since_commit as f64,
                        StandardUnit::Count,
                    ),
                ],
            )
            .await
        })
    }
}
