//! Configuration snapshots of the in-scope resource types: list the discovered resources of
//! each type, then fetch their current configuration items 100 keys a call, retrying keys
//! AWS reports as unprocessed.

use aws_sdk_config::operation::batch_get_aggregate_resource_config::BatchGetAggregateResourceConfigOutput;
use aws_sdk_config::operation::batch_get_resource_config::BatchGetResourceConfigOutput;
use aws_sdk_config::types::{
    AggregateResourceIdentifier, BaseConfigurationItem, ResourceKey, ResourceType,
};
use std::future::Future;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;
use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::super::doc::ts_opt;
use super::super::pipeline::off_loop;
use super::super::{CallError, CallLog, Problems, Target};
use crate::collect::doc::SpoolError;
use crate::collect::pipeline::Prefetch;
use crate::collect::spill::{tuple_key, Spill};
use crate::config::ConfigOptions;

/// Keys per BatchGetResourceConfig call (the API maximum).
pub const BATCH: usize = 100;
/// Rounds of retrying unprocessed keys before the run is marked partial.
const UNPROCESSED_ROUNDS: usize = 5;
const OP_BATCH: &str = "config:BatchGetResourceConfig";
const OP_AGG_BATCH: &str = "config:BatchGetAggregateResourceConfig";

#[derive(Debug)]
pub struct ResourcesDoc {
    pub account: String,
    pub region: String,
    /// Set when items were read through a Config aggregator.
    pub aggregator: Option<String>,
    pub resource_types: Vec<String>,
    /// Canonical documents of [`ConfigItem`] keyed by type, id, account and region
    /// ([`sort_key`]), spilled to disk past a budget: 10,000 configurations are never held
    /// at once. Read sorted when the document is written.
    pub items: Spill,
}

#[derive(Debug, Serialize)]
pub struct ConfigItem {
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    pub arn: Option<String>,
    pub account_id: Option<String>,
    pub aws_region: Option<String>,
    pub availability_zone: Option<String>,
    pub status: Option<String>,
    pub configuration_state_id: Option<String>,
    pub capture_time: Option<String>,
    pub resource_creation_time: Option<String>,
    /// The configuration as AWS returned it, parsed when it is JSON.
    pub configuration: Option<serde_json::Value>,
    pub supplementary_configuration: std::collections::BTreeMap<String, serde_json::Value>,
}

fn json_or_string(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_string()))
}

/// Sort key and canonical bytes of one configuration item. A configuration whose numbers
/// cannot be represented exactly in canonical JSON is kept as the string AWS sent.
fn item(b: &BaseConfigurationItem) -> (Key, Vec<u8>) {
    let mut doc = to_doc(b);
    let key = (
        doc.resource_type.clone(),
        doc.resource_id.clone(),
        doc.account_id.clone(),
        doc.aws_region.clone(),
    );
    let bytes = match crate::canonical::to_vec(&doc) {
        Ok(bytes) => bytes,
        Err(_) => {
            doc.configuration = b
                .configuration()
                .map(|c| serde_json::Value::String(c.into()));
            doc.supplementary_configuration = Default::default();
            crate::canonical::to_vec(&doc).unwrap_or_default()
        }
    };
    (key, bytes)
}

type Key = (String, String, Option<String>, Option<String>);

/// A [`Key`] as bytes in the same order.
fn sort_key(k: &Key) -> Vec<u8> {
    tuple_key(&[Some(&k.0), Some(&k.1), k.2.as_deref(), k.3.as_deref()])
}

/// The items of every batch as they come back, into a [`Spill`]; `None` (with the failure
/// in `problems`) when the spill could not be written.
async fn gather(
    mut batches: impl futures::Stream<Item = Vec<(Key, Vec<u8>)>> + Unpin,
    problems: &Problems,
) -> Option<Spill> {
    let mut spill = Spill::default();
    while let Some(batch) = batches.next().await {
        for (k, bytes) in batch {
            if let Err(e) = spill.push(sort_key(&k), bytes) {
                problems.add(&SpoolError::from(e).to_call_error("config/resources.json"));
                return None;
            }
        }
    }
    Some(spill)
}

fn to_doc(b: &BaseConfigurationItem) -> ConfigItem {
    ConfigItem {
        resource_type: b
            .resource_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        resource_id: b.resource_id().unwrap_or_default().to_string(),
        resource_name: b.resource_name().map(String::from),
        arn: b.arn().map(String::from),
        account_id: b.account_id().map(String::from),
        aws_region: b.aws_region().map(String::from),
        availability_zone: b.availability_zone().map(String::from),
        status: b
            .configuration_item_status()
            .map(|s| s.as_str().to_string()),
        configuration_state_id: b.configuration_state_id().map(String::from),
        capture_time: ts_opt(b.configuration_item_capture_time()),
        resource_creation_time: ts_opt(b.resource_creation_time()),
        configuration: b.configuration().map(json_or_string),
        supplementary_configuration: b
            .supplementary_configuration()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), json_or_string(v)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Fetch one batch of configuration items, retrying the keys AWS reports as unprocessed
/// up to [`UNPROCESSED_ROUNDS`] times; what could not be read is recorded in `problems`.
async fn fetch_batch<K, O, E, Fut>(
    log: &CallLog,
    problems: &Problems,
    operation: &'static str,
    mut batch: Vec<K>,
    send: impl Fn(Vec<K>) -> Fut,
    unprocessed: fn(&O) -> &[K],
    items: fn(&O) -> &[BaseConfigurationItem],
) -> Vec<(Key, Vec<u8>)>
where
    K: Clone,
    O: RequestId + Send + 'static,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    Fut: Future<Output = Result<O, SdkError<E, Response>>> + Send + 'static,
{
    let mut out = Vec::new();
    for _ in 0..UNPROCESSED_ROUNDS {
        match log.call(operation, send(batch.clone())).await {
            Ok(o) => {
                batch = unprocessed(&o).to_vec();
                if !take_items(operation, o, items, &mut out, problems).await || batch.is_empty() {
                    return out;
                }
            }
            Err(e) => {
                problems.add(&e);
                return out;
            }
        }
    }
    problems.add(&CallError {
        operation: operation.into(),
        code: None,
        message: format!(
            "{} resources still unprocessed after {UNPROCESSED_ROUNDS} attempts",
            batch.len()
        ),
    });
    out
}

/// Parse and canonicalise the configuration items of response `o` off the task that
/// drives the other batches' requests, into `out`; `false` when that failed (the failure is
/// in `problems`).
async fn take_items<O: Send + 'static>(
    operation: &'static str,
    o: O,
    items: fn(&O) -> &[BaseConfigurationItem],
    out: &mut Vec<(Key, Vec<u8>)>,
    problems: &Problems,
) -> bool {
    match off_loop(operation, o, move |o| {
        items(&o).iter().map(item).collect::<Vec<_>>()
    })
    .await
    {
        Ok(items) => {
            out.extend(items);
            true
        }
        Err(e) => {
            problems.add(&e);
            false
        }
    }
}

pub async fn collect(
    opts: &ConfigOptions,
    target: &Target,
    log: &CallLog,
    problems: &Problems,
) -> Option<ResourcesDoc> {
    let items = match &opts.aggregator {
        None => regional(opts, target, log, problems).await?,
        // The aggregator lives in one region; the other regions' records leave it alone.
        Some(_)
            if opts
                .aggregator_region
                .as_deref()
                .is_some_and(|r| r != target.region) =>
        {
            return None
        }
        Some(agg) => aggregated(agg, opts, target, log, problems).await?,
    };
    let mut types = opts.resource_types.clone();
    types.sort();
    Some(ResourcesDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        aggregator: opts.aggregator.clone(),
        resource_types: types,
        items,
    })
}

async fn regional(
    opts: &ConfigOptions,
    target: &Target,
    log: &CallLog,
    problems: &Problems,
) -> Option<Spill> {
    let c = &target.clients.config;
    // Listing: one paginator per type, types in parallel.
    let listed: Vec<Result<Vec<ResourceKey>, CallError>> =
        stream::iter(opts.resource_types.clone())
            .map(|t| async move {
                let mut keys = Vec::new();
                let mut pages = Prefetch::new(
                    c.list_discovered_resources()
                        .resource_type(ResourceType::from(t.as_str()))
                        .into_paginator()
                        .send(),
                );
                while let Some(p) = log
                    .page("config:ListDiscoveredResources", pages.next())
                    .await?
                {
                    for r in p.resource_identifiers() {
                        if let (Some(rt), Some(id)) = (r.resource_type(), r.resource_id()) {
                            if let Ok(k) = ResourceKey::builder()
                                .resource_type(rt.clone())
                                .resource_id(id)
                                .build()
                            {
                                keys.push(k);
                            }
                        }
                    }
                }
                Ok(keys)
            })
            .buffer_unordered(target.concurrency)
            .collect()
            .await;
    let mut keys = Vec::new();
    for r in listed {
        match r {
            Ok(k) => keys.extend(k),
            Err(e) => problems.add(&e),
        }
    }
    let batches: Vec<Vec<ResourceKey>> = keys.chunks(BATCH).map(|c| c.to_vec()).collect();
    let fetched = stream::iter(batches)
        .map(|batch| {
            fetch_batch(
                log,
                problems,
                OP_BATCH,
                batch,
                |keys| {
                    c.batch_get_resource_config()
                        .set_resource_keys(Some(keys))
                        .send()
                },
                BatchGetResourceConfigOutput::unprocessed_resource_keys,
                BatchGetResourceConfigOutput::base_configuration_items,
            )
        })
        .buffer_unordered(target.concurrency);
    gather(Box::pin(fetched), problems).await
}

async fn aggregated(
    aggregator: &str,
    opts: &ConfigOptions,
    target: &Target,
    log: &CallLog,
    problems: &Problems,
) -> Option<Spill> {
    let c = &target.clients.config;
    // No region filter: one record holds every account and region the aggregator covers.
    let listed: Vec<Result<Vec<AggregateResourceIdentifier>, CallError>> =
        stream::iter(opts.resource_types.clone())
            .map(|t| async move {
                let mut ids = Vec::new();
                let mut pages = Prefetch::new(
                    c.list_aggregate_discovered_resources()
                        .configuration_aggregator_name(aggregator)
                        .resource_type(ResourceType::from(t.as_str()))
                        .into_paginator()
                        .send(),
                );
                while let Some(p) = log
                    .page("config:ListAggregateDiscoveredResources", pages.next())
                    .await?
                {
                    ids.extend(p.resource_identifiers().iter().cloned());
                }
                Ok(ids)
            })
            .buffer_unordered(target.concurrency)
            .collect()
            .await;
    let mut ids = Vec::new();
    for r in listed {
        match r {
            Ok(k) => ids.extend(k),
            Err(e) => problems.add(&e),
        }
    }
    let batches: Vec<Vec<AggregateResourceIdentifier>> =
        ids.chunks(BATCH).map(|c| c.to_vec()).collect();
    let fetched = stream::iter(batches)
        .map(|batch| {
            fetch_batch(
                log,
                problems,
                OP_AGG_BATCH,
                batch,
                |ids| {
                    c.batch_get_aggregate_resource_config()
                        .configuration_aggregator_name(aggregator)
                        .set_resource_identifiers(Some(ids))
                        .send()
                },
                BatchGetAggregateResourceConfigOutput::unprocessed_resource_identifiers,
                BatchGetAggregateResourceConfigOutput::base_configuration_items,
            )
        })
        .buffer_unordered(target.concurrency);
    gather(Box::pin(fetched), problems).await
}
