//! `evidenced run`: the daemon (see [`crate::daemon`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tracing::Instrument as _;

use super::{open_store, UsageError, EXIT_OK};
use crate::chain::EvidenceStore;
use crate::collect;
use crate::config::Config;
use crate::daemon::{self, JobSpec, MetricsSink, RunOutcome, Runner, Settings, Stats};
use crate::record::Status;
use crate::requirements::loaded::Loaded;
use crate::requirements::{evaluate, Catalog, Status as ReqStatus};
use crate::store::AnyStore;

#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs one configured collector through [`collect::run_once_limited`], every run under
/// the same per-service limits: `[aws] service_concurrency` bounds the daemon's requests in
/// flight to a service, however many collectors run at once.
///
/// The run executes on a blocking-pool thread driving the runtime's handle: the collectors'
/// futures borrow across `.await` in ways the compiler cannot prove `Send` for every
/// lifetime, and a dedicated thread per run needs no such proof.
struct CollectRunner {
    store: Arc<EvidenceStore<AnyStore>>,
    config: Arc<Config>,
    limits: Arc<collect::limits::Limits>,
}

impl Runner for CollectRunner {
    fn run<'a>(
        &'a self,
        job: &'a str,
    ) -> Pin<Box<dyn std::future::Future<Output = RunOutcome> + Send + 'a>> {
        let store = Arc::clone(&self.store);
        let config = Arc::clone(&self.config);
        let limits = Arc::clone(&self.limits);
        let name = job.to_string();
        let handle = tokio::runtime::Handle::current();
        // The run's span (run id, version) follows it onto the blocking-pool thread.
        let span = tracing::Span::current();
        Box::pin(async move {
            let result = tokio::task::spawn_blocking(move || {
                handle.block_on(
                    async {
                        let result =
                            collect::run_once_limited(&store, &config, Some(&name), limits).await;
                        if result.is_ok() {
                            // Sign the new head; a failure here leaves the records committed.
                            if let Err(e) = super::checkpoint::after_commit(&config, &store).await
                            {
                                tracing::warn!(collector = %name, error = %format!("{e:#}"), "Checkpoint not written.");
                            }
                        }
                        result
                    }
                    .instrument(span),
                )
            })
            .await;
            let result = match result {
                Ok(r) => r,
                Err(e) => {
                    return RunOutcome {
                        error: Some(format!("run aborted: {e}")),
                        ..RunOutcome::default()
                    }
                }
            };
            match result {
                Ok(reports) => {
                    let degraded: Vec<&collect::RunReport> = reports
                        .iter()
                        .filter(|r| r.status != Status::Complete)
                        .collect();
                    RunOutcome {
                        records: reports.len() as u64,
                        failures: degraded.len() as u64,
                        bytes: reports.iter().map(|r| r.new_blob_bytes).sum(),
                        first_problem: degraded.first().map(|r| super::collect::problem_line(r)),
                        error: None,
                    }
                }
                Err(e) => {
                    tracing::error!(collector = job, error = %e, "Run could not be recorded.");
                    RunOutcome {
                        error: Some(e.to_string()),
                        ..RunOutcome::default()
                    }
                }
            }
        })
    }
}

/// Resolves on SIGTERM (ECS stopping the task) or SIGINT. The handlers are installed when
/// this is called, not when the future is first polled, so a signal that arrives during
/// start-up is not lost (nor fatal).
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "Signal received."),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "Signal received."),
        }
    })
}

/// Write the segments the store is missing, logging the outcome.
async fn backfill_segments(store: Arc<EvidenceStore<AnyStore>>) {
    match store.backfill_segments().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(written = n, "Missing segments written."),
        Err(e) => {
            tracing::warn!(error = %e, "Missing segments not written; `evidenced segments` writes them.")
        }
    }
}

/// Evaluate the requirements every `[daemon] requirements_interval_secs`: warn in the log
/// about each requirement that fails or falls due within its lead time, and publish the
/// per-requirement metrics. `loaded` is kept between evaluations: each reads only the
/// records committed since the one before.
async fn watch_requirements(
    store: Arc<EvidenceStore<AnyStore>>,
    config: Arc<Config>,
    catalog: Catalog,
    mut loaded: Loaded,
    cloudwatch: Option<Arc<daemon::metrics::CloudWatchMetrics>>,
) {
    let every = Duration::from_secs(config.daemon.requirements_interval_secs.max(60));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match loaded.refresh(&store).await {
            Ok(r) => tracing::debug!(
                records = r.records,
                reloaded = r.reloaded,
                "Evidence brought up to date."
            ),
            Err(e) => {
                tracing::warn!(error = %e, "Requirements not evaluated: the store could not be read.");
                continue;
            }
        };
        let window = match super::report::window(None, None, None, None) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "Requirements not evaluated.");
                continue;
            }
        };
        // What lies before the horizon is never read again: held memory stays that of
        // the horizon's records, whatever the chain's age.
        loaded.advance_horizon(window.horizon(&catalog));
        let evidence = loaded.evidence();
        let opts = super::report::options(&config, None);
        let evaluation = evaluate(&catalog, evidence, window, &opts);
        for r in &evaluation.requirements {
            match r.status {
                ReqStatus::Fail => {
                    tracing::warn!(requirement = %r.id, due = r.due.as_deref(), days_until_due = r.days_until_due, "Requirement failing.")
                }
                ReqStatus::DueSoon => {
                    tracing::warn!(requirement = %r.id, due = r.due.as_deref(), days_until_due = r.days_until_due, "Requirement due soon.")
                }
                _ => {}
            }
        }
        if let Some(cw) = &cloudwatch {
            cw.requirements(&crate::requirements::metrics(&evaluation))
                .await;
        }
    }
}

pub async fn run(config: &Config, _args: &Args) -> anyhow::Result<u8> {
    let shutdown = shutdown_signal().context("installing the SIGTERM/SIGINT handlers")?;
    if config.collectors.is_empty() {
        return Err(UsageError(
            "no [[collector]] is configured; see config/evidenced.example.toml".into(),
        )
        .into());
    }
    let mut jobs = Vec::new();
    for c in &config.collectors {
        let interval = daemon::schedule::interval(c.schedule())
            .map_err(|e| UsageError(format!("[[collector]] {:?}: {e}", c.name())))?;
        jobs.push(JobSpec {
            name: c.name().to_string(),
            schedule: c.schedule().to_string(),
            interval,
        });
    }
    let store = open_store(config).await?;
    let d = &config.daemon;
    let catalog = match &d.catalog {
        Some(p) => Catalog::load(std::path::Path::new(p)),
        None => Catalog::default_catalog(),
    }
    .map_err(|e| UsageError(e.to_string()))?;
    // One read of the chain, back from the head to the evaluation's horizon, serves both
    // the catch-up times and the first evaluation (a collector last run before the horizon
    // is overdue anyway, and runs at once).
    let now = super::report::window(None, None, None, None)?;
    let mut loaded = Loaded::since(&catalog, now.horizon(&catalog));
    loaded
        .refresh(&store)
        .await
        .context("reading the chain to find each collector's last run")?;
    let mut last_commits = HashMap::new();
    for r in &loaded.evidence().records {
        let t = r.record.recorded_at;
        let e = last_commits.entry(r.record.collector.clone()).or_insert(t);
        if *e < t {
            *e = t;
        }
    }
    let cloudwatch = match &d.metrics_namespace {
        Some(ns) => {
            let sdk = collect::aws::sdk_config(&config.aws).await;
            let clients = collect::Clients::from_sdk(&sdk, config.aws.force_path_style);
            Some(Arc::new(daemon::metrics::CloudWatchMetrics::new(
                clients.cloudwatch,
                ns.clone(),
            )))
        }
        None => None,
    };
    let metrics: Option<Arc<dyn MetricsSink>> =
        cloudwatch.clone().map(|m| m as Arc<dyn MetricsSink>);
    let settings = Settings {
        shutdown_deadline: Duration::from_secs(d.shutdown_deadline_secs),
        jitter: Duration::from_secs(d.jitter_secs),
        health_file: Some(PathBuf::from(&d.health_file)),
        heartbeat: Duration::from_secs(d.heartbeat_secs.max(1)),
    };
    if let Some(port) = d.healthz_port {
        let bound = daemon::healthz::serve(port, PathBuf::from(&d.health_file))
            .await
            .with_context(|| format!("starting /healthz on port {port}"))?;
        tracing::info!(port = bound, "Health endpoint listening.");
    }
    tracing::info!(
        collectors = jobs.len(),
        store = %config.store.url,
        version = daemon::VERSION,
        "Daemon starting."
    );
    let store = Arc::new(store);
    let config = Arc::new(config.clone());
    let watcher = tokio::spawn(watch_requirements(
        Arc::clone(&store),
        Arc::clone(&config),
        catalog,
        loaded,
        cloudwatch,
    ));
    // A store written before format 3 (or by a writer that died before writing one) gets
    // its missing segments in the background; collection does not wait for them.
    let backfill = tokio::spawn(backfill_segments(Arc::clone(&store)));
    let limits = Arc::new(collect::aws::limits_of(&config.aws));
    let runner = Arc::new(CollectRunner {
        store,
        config,
        limits: Arc::clone(&limits),
    });
    let summary = daemon::run(
        jobs,
        last_commits,
        runner,
        metrics,
        settings,
        Arc::new(Stats::default()),
        shutdown,
    )
    .await?;
    watcher.abort();
    backfill.abort();
    limits.log("AWS requests since the daemon started.");
    tracing::info!(
        started = summary.started,
        finished = summary.finished,
        skipped = summary.skipped,
        abandoned = summary.abandoned,
        "Daemon stopped."
    );
    Ok(EXIT_OK)
}
