//! `type = "config"`: AWS Config recorder and delivery-channel status
//! (`config/recorders.json`), rules with their compliance (`config/rules.json`),
//! conformance-pack compliance (`config/conformance-packs.json`), and configuration
//! snapshots of the in-scope resource types (`config/resources.json`), read with
//! ListDiscoveredResources + BatchGetResourceConfig (100 keys a call, unprocessed keys
//! retried), or through an aggregator when one is configured: then only the record of the
//! aggregator's region (`aggregator_region`) reads it, across all its accounts and regions,
//! and the other regions store no resources document.

mod resources;

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use serde::Serialize;

use super::doc::ts_opt;
use super::{AwsCollector, CallLog, CollectError, Collected, Evidence, PrevState};
use super::{Problems, Target};
use crate::config::ConfigOptions;

pub use resources::{ConfigItem, ResourcesDoc};

#[derive(Debug, Serialize)]
pub struct RecordersDoc {
    pub account: String,
    pub region: String,
    pub recorders: Vec<Recorder>,
    pub delivery_channels: Vec<DeliveryChannel>,
}

#[derive(Debug, Serialize)]
pub struct Recorder {
    pub name: String,
    pub role_arn: Option<String>,
    pub all_supported: Option<bool>,
    pub include_global_resource_types: Option<bool>,
    pub resource_types: Vec<String>,
    /// From DescribeConfigurationRecorderStatus.
    pub recording: Option<bool>,
    pub last_status: Option<String>,
    pub last_start_time: Option<String>,
    pub last_stop_time: Option<String>,
    pub last_error_code: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DeliveryChannel {
    pub name: String,
    pub s3_bucket_name: Option<String>,
    pub s3_key_prefix: Option<String>,
    pub s3_kms_key_arn: Option<String>,
    pub sns_topic_arn: Option<String>,
    pub delivery_frequency: Option<String>,
    /// Status of the last snapshot and history deliveries (times are left out: they
    /// change with every delivery and are not the fact being recorded).
    pub last_snapshot_status: Option<String>,
    pub last_history_status: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RulesDoc {
    pub account: String,
    pub region: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Serialize)]
pub struct Rule {
    pub name: String,
    pub arn: Option<String>,
    pub id: Option<String>,
    pub description: Option<String>,
    pub source_owner: Option<String>,
    pub source_identifier: Option<String>,
    pub state: Option<String>,
    pub scope_resource_types: Vec<String>,
    pub input_parameters: Option<String>,
    /// `COMPLIANT`, `NON_COMPLIANT`, `NOT_APPLICABLE`, `INSUFFICIENT_DATA`; absent when
    /// compliance is not collected.
    pub compliance: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PacksDoc {
    pub account: String,
    pub region: String,
    pub conformance_packs: Vec<Pack>,
}

#[derive(Debug, Serialize)]
pub struct Pack {
    pub name: String,
    pub arn: String,
    pub rules: Vec<PackRule>,
}

#[derive(Debug, Serialize)]
pub struct PackRule {
    pub rule_name: String,
    pub compliance: Option<String>,
}

impl AwsCollector for ConfigOptions {
    async fn collect(
        &self,
        target: &Target,
        _prev: &PrevState,
        log: &CallLog,
    ) -> Result<Collected, CollectError> {
        let problems = Problems::new(Some(target.region.clone()));
        let (rec, rules, packs, res) = futures::join!(
            recorders(target, log, &problems),
            rules(self, target, log, &problems),
            async {
                match self.compliance {
                    true => packs(target, log, &problems).await,
                    false => None,
                }
            },
            resources::collect(self, target, log, &problems),
        );
        let now = super::observed_now();
        let mut out = Collected::default();
        if let Some(d) = rec {
            out.evidence
                .push(Evidence::json("config/recorders.json", &d, now)?);
        }
        if let Some(d) = rules {
            out.evidence
                .push(Evidence::json("config/rules.json", &d, now)?);
        }
        if let Some(d) = packs {
            out.evidence
                .push(Evidence::json("config/conformance-packs.json", &d, now)?);
        }
        if let Some(d) = res {
            let fields = [
                ("account", serde_json::json!(d.account)),
                ("region", serde_json::json!(d.region)),
                ("aggregator", serde_json::json!(d.aggregator)),
                ("resource_types", serde_json::json!(d.resource_types)),
            ];
            // Written to a spool as the sorted items are read (file I/O, off the runtime).
            let name = "config/resources.json";
            let items = d.items;
            let written = tokio::task::spawn_blocking(move || {
                super::doc::ListSpool::sorted(name, &fields, "items", items, now)
            })
            .await;
            match written {
                Ok(Ok(doc)) => out.streamed.push(doc),
                Ok(Err(e)) => problems.add(&e.to_call_error(name)),
                Err(e) => problems.add(&super::CallError {
                    operation: "evidenced:spool".into(),
                    code: None,
                    message: format!("writing {name} failed: {e}"),
                }),
            }
        }
        out.errors = problems.take();
        Ok(out)
    }
}

async fn recorders(target: &Target, log: &CallLog, problems: &Problems) -> Option<RecordersDoc> {
    let c = &target.clients.config;
    let (recs, stats, chans, chan_stats) = futures::join!(
        log.call(
            "config:DescribeConfigurationRecorders",
            c.describe_configuration_recorders().send()
        ),
        log.call(
            "config:DescribeConfigurationRecorderStatus",
            c.describe_configuration_recorder_status().send()
        ),
        log.call(
            "config:DescribeDeliveryChannels",
            c.describe_delivery_channels().send()
        ),
        log.call(
            "config:DescribeDeliveryChannelStatus",
            c.describe_delivery_channel_status().send()
        ),
    );
    // Without the status calls the configuration is still recorded (status fields null).
    let (recs, stats, chans, chan_stats) = (
        problems.ok(recs)?,
        problems.ok(stats),
        problems.ok(chans)?,
        problems.ok(chan_stats),
    );
    let status: BTreeMap<&str, _> = stats
        .as_ref()
        .map(|s| s.configuration_recorders_status())
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Some((s.name()?, s)))
        .collect();
    let mut recorders: Vec<Recorder> = recs
        .configuration_recorders()
        .iter()
        .map(|r| {
            let name = r.name().unwrap_or_default().to_string();
            let s = status.get(name.as_str());
            let group = r.recording_group();
            let mut types: Vec<String> = group
                .map(|g| {
                    g.resource_types()
                        .iter()
                        .map(|t| t.as_str().to_string())
                        .collect()
                })
                .unwrap_or_default();
            types.sort();
            Recorder {
                role_arn: r.role_arn().map(String::from),
                all_supported: group.map(|g| g.all_supported()),
                include_global_resource_types: group.map(|g| g.include_global_resource_types()),
                resource_types: types,
                recording: s.map(|s| s.recording()),
                last_status: s
                    .and_then(|s| s.last_status())
                    .map(|x| x.as_str().to_string()),
                last_start_time: ts_opt(s.and_then(|s| s.last_start_time())),
                last_stop_time: ts_opt(s.and_then(|s| s.last_stop_time())),
                last_error_code: s.and_then(|s| s.last_error_code()).map(String::from),
                name,
            }
        })
        .collect();
    recorders.sort_by(|a, b| a.name.cmp(&b.name));
    let cstatus: BTreeMap<&str, _> = chan_stats
        .as_ref()
        .map(|s| s.delivery_channels_status())
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Some((s.name()?, s)))
        .collect();
    let mut delivery_channels: Vec<DeliveryChannel> = chans
        .delivery_channels()
        .iter()
        .map(|d| {
            let name = d.name().unwrap_or_default().to_string();
            let s = cstatus.get(name.as_str());
            DeliveryChannel {
                s3_bucket_name: d.s3_bucket_name().map(String::from),
                s3_key_prefix: d.s3_key_prefix().map(String::from),
                s3_kms_key_arn: d.s3_kms_key_arn().map(String::from),
                sns_topic_arn: d.sns_topic_arn().map(String::from),
                delivery_frequency: d
                    .config_snapshot_delivery_properties()
                    .and_then(|p| p.delivery_frequency())
                    .map(|f| f.as_str().to_string()),
                last_snapshot_status: s
                    .and_then(|s| s.config_snapshot_delivery_info())
                    .and_then(|i| i.last_status())
                    .map(|x| x.as_str().to_string()),
                last_history_status: s
                    .and_then(|s| s.config_history_delivery_info())
                    .and_then(|i| i.last_status())
                    .map(|x| x.as_str().to_string()),
                name,
            }
        })
        .collect();
    delivery_channels.sort_by(|a, b| a.name.cmp(&b.name));
    Some(RecordersDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        recorders,
        delivery_channels,
    })
}

async fn rules(
    opts: &ConfigOptions,
    target: &Target,
    log: &CallLog,
    problems: &Problems,
) -> Option<RulesDoc> {
    let c = &target.clients.config;
    let mut rules = Vec::new();
    let mut pages = c.describe_config_rules().into_paginator().send();
    loop {
        match log.page("config:DescribeConfigRules", pages.next()).await {
            Ok(Some(p)) => rules.extend(p.config_rules().iter().cloned()),
            Ok(None) => break,
            Err(e) => {
                problems.add(&e);
                return None;
            }
        }
    }
    let mut compliance: BTreeMap<String, String> = BTreeMap::new();
    if opts.compliance {
        let mut pages = c
            .describe_compliance_by_config_rule()
            .into_paginator()
            .send();
        loop {
            match log
                .page("config:DescribeComplianceByConfigRule", pages.next())
                .await
            {
                Ok(Some(p)) => {
                    for r in p.compliance_by_config_rules() {
                        if let (Some(n), Some(t)) = (
                            r.config_rule_name(),
                            r.compliance().and_then(|c| c.compliance_type()),
                        ) {
                            compliance.insert(n.to_string(), t.as_str().to_string());
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    problems.add(&e);
                    break;
                }
            }
        }
    }
    let mut out: Vec<Rule> = rules
        .iter()
        .map(|r| {
            let name = r.config_rule_name().unwrap_or_default().to_string();
            let mut types: Vec<String> = r
                .scope()
                .map(|s| s.compliance_resource_types().to_vec())
                .unwrap_or_default();
            types.sort();
            Rule {
                arn: r.config_rule_arn().map(String::from),
                id: r.config_rule_id().map(String::from),
                description: r.description().map(String::from),
                source_owner: r.source().map(|s| s.owner().as_str().to_string()),
                source_identifier: r
                    .source()
                    .and_then(|s| s.source_identifier())
                    .map(String::from),
                state: r.config_rule_state().map(|s| s.as_str().to_string()),
                scope_resource_types: types,
                input_parameters: r.input_parameters().map(String::from),
                compliance: compliance.get(&name).cloned(),
                name,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Some(RulesDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        rules: out,
    })
}

async fn packs(target: &Target, log: &CallLog, problems: &Problems) -> Option<PacksDoc> {
    let c = &target.clients.config;
    let mut details = Vec::new();
    let mut pages = c.describe_conformance_packs().into_paginator().send();
    loop {
        match log
            .page("config:DescribeConformancePacks", pages.next())
            .await
        {
            Ok(Some(p)) => details.extend(p.conformance_pack_details().iter().map(|d| {
                (
                    d.conformance_pack_name().to_string(),
                    d.conformance_pack_arn().to_string(),
                )
            })),
            Ok(None) => break,
            Err(e) => {
                problems.add(&e);
                return None;
            }
        }
    }
    let packs: Vec<Option<Pack>> = stream::iter(details)
        .map(|(name, arn)| async move {
            let mut rules = Vec::new();
            let mut pages = c
                .describe_conformance_pack_compliance()
                .conformance_pack_name(&name)
                .into_paginator()
                .send();
            loop {
                match log
                    .page("config:DescribeConformancePackCompliance", pages.next())
                    .await
                {
                    Ok(Some(p)) => {
                        rules.extend(p.conformance_pack_rule_compliance_list().iter().map(|r| {
                            PackRule {
                                rule_name: r.config_rule_name().unwrap_or_default().to_string(),
                                compliance: r.compliance_type().map(|t| t.as_str().to_string()),
                            }
                        }))
                    }
                    Ok(None) => break,
                    Err(e) => {
                        problems.add(&e);
                        return None;
                    }
                }
            }
            rules.sort_by(|a, b| a.rule_name.cmp(&b.rule_name));
            Some(Pack { name, arn, rules })
        })
        .buffered(target.concurrency)
        .collect()
        .await;
    let mut conformance_packs: Vec<Pack> = packs.into_iter().flatten().collect();
    conformance_packs.sort_by(|a, b| a.name.cmp(&b.name));
    Some(PacksDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        conformance_packs,
    })
}
