//! `type = "cloudwatch"`: metric and composite alarms with their actions
//! (`cloudwatch/alarms.json`), and alarm state history, incrementally
//! (`cloudwatch/alarm-history.json` holds the entries new since the previous run;
//! `cloudwatch/alarm-history-cursor.json` is where the next run resumes).

use std::collections::BTreeSet;

use aws_sdk_cloudwatch::types::{AlarmType, HistoryItemType};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};

use super::doc::ts_opt;
use super::{ts, AwsCollector, CallLog, CollectError, Collected, Evidence, PrevState};
use super::{Problems, Target};
use crate::collect::pipeline::Prefetch;
use crate::config::CloudwatchOptions;

pub const ALARMS: &str = "cloudwatch/alarms.json";
pub const HISTORY: &str = "cloudwatch/alarm-history.json";
pub const CURSOR: &str = "cloudwatch/alarm-history-cursor.json";

/// History is re-read this far behind the newest entry seen, for entries AWS records late.
const OVERLAP_SECS: i64 = 3600;

#[derive(Debug, Serialize)]
pub struct AlarmsDoc {
    pub account: String,
    pub region: String,
    pub metric_alarms: Vec<MetricAlarm>,
    pub composite_alarms: Vec<CompositeAlarm>,
}

#[derive(Debug, Serialize)]
pub struct MetricAlarm {
    pub name: String,
    pub arn: Option<String>,
    pub description: Option<String>,
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub dimensions: Vec<Dimension>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub period: Option<i32>,
    pub evaluation_periods: Option<i32>,
    pub datapoints_to_alarm: Option<i32>,
    pub threshold: Option<f64>,
    pub comparison_operator: Option<String>,
    pub treat_missing_data: Option<String>,
    /// Ids of metric-math queries, when the alarm watches an expression.
    pub metric_queries: Vec<String>,
    pub actions_enabled: Option<bool>,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub state: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct CompositeAlarm {
    pub name: String,
    pub arn: Option<String>,
    pub description: Option<String>,
    pub alarm_rule: Option<String>,
    pub actions_enabled: Option<bool>,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    pub state: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct HistoryDoc {
    pub account: String,
    pub region: String,
    pub entries: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub alarm_name: String,
    pub alarm_type: Option<String>,
    pub timestamp: String,
    pub item_type: Option<String>,
    pub summary: Option<String>,
    pub data: Option<String>,
}

impl HistoryEntry {
    fn key(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.timestamp,
            self.alarm_name,
            self.item_type.as_deref().unwrap_or(""),
            self.summary.as_deref().unwrap_or("")
        )
    }
}

/// Where the next history read starts.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Cursor {
    /// Newest entry seen (RFC 3339).
    pub latest: Option<String>,
    /// Keys of the entries seen within the overlap window before `latest`.
    pub recent: BTreeSet<String>,
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

impl AwsCollector for CloudwatchOptions {
    fn state_items(&self) -> &'static [&'static str] {
        &[CURSOR]
    }

    async fn collect(
        &self,
        target: &Target,
        prev: &PrevState,
        log: &CallLog,
    ) -> Result<Collected, CollectError> {
        let problems = Problems::new(Some(target.region.clone()));
        let mut out = Collected::default();
        if let Some(doc) = alarms(target, log, &problems).await {
            out.evidence
                .push(Evidence::json(ALARMS, &doc, super::observed_now())?);
        }
        if self.history {
            let cursor: Cursor = prev
                .get(CURSOR)
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_default();
            if let Some((doc, next)) = history(self, target, log, &problems, cursor).await {
                let now = super::observed_now();
                out.evidence.push(Evidence::json(HISTORY, &doc, now)?);
                out.evidence.push(Evidence::json(CURSOR, &next, now)?);
            }
        }
        out.errors = problems.take();
        Ok(out)
    }
}

async fn alarms(target: &Target, log: &CallLog, problems: &Problems) -> Option<AlarmsDoc> {
    let mut pages = Prefetch::new(
        target
            .clients
            .cloudwatch
            .describe_alarms()
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .into_paginator()
            .send(),
    );
    let mut doc = AlarmsDoc {
        account: target.account.clone(),
        region: target.region.clone(),
        metric_alarms: Vec::new(),
        composite_alarms: Vec::new(),
    };
    loop {
        let page = match log.page("cloudwatch:DescribeAlarms", pages.next()).await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                problems.add(&e);
                return None;
            }
        };
        for a in page.metric_alarms() {
            let mut dimensions: Vec<Dimension> = a
                .dimensions()
                .iter()
                .map(|d| Dimension {
                    name: d.name().unwrap_or_default().to_string(),
                    value: d.value().unwrap_or_default().to_string(),
                })
                .collect();
            dimensions.sort();
            doc.metric_alarms.push(MetricAlarm {
                name: a.alarm_name().unwrap_or_default().to_string(),
                arn: a.alarm_arn().map(String::from),
                description: a.alarm_description().map(String::from),
                namespace: a.namespace().map(String::from),
                metric_name: a.metric_name().map(String::from),
                dimensions,
                statistic: a.statistic().map(|s| s.as_str().to_string()),
                extended_statistic: a.extended_statistic().map(String::from),
                period: a.period(),
                evaluation_periods: a.evaluation_periods(),
                datapoints_to_alarm: a.datapoints_to_alarm(),
                threshold: a.threshold(),
                comparison_operator: a.comparison_operator().map(|s| s.as_str().to_string()),
                treat_missing_data: a.treat_missing_data().map(String::from),
                metric_queries: a
                    .metrics()
                    .iter()
                    .map(|m| m.id().unwrap_or_default().to_string())
                    .collect(),
                actions_enabled: a.actions_enabled(),
                alarm_actions: sorted(a.alarm_actions()),
                ok_actions: sorted(a.ok_actions()),
                insufficient_data_actions: sorted(a.insufficient_data_actions()),
                state: a.state_value().map(|s| s.as_str().to_string()),
            });
        }
        for a in page.composite_alarms() {
            doc.composite_alarms.push(CompositeAlarm {
                name: a.alarm_name().unwrap_or_default().to_string(),
                arn: a.alarm_arn().map(String::from),
                description: a.alarm_description().map(String::from),
                alarm_rule: a.alarm_rule().map(String::from),
                actions_enabled: a.actions_enabled(),
                alarm_actions: sorted(a.alarm_actions()),
                ok_actions: sorted(a.ok_actions()),
                insufficient_data_actions: sorted(a.insufficient_data_actions()),
                state: a.state_value().map(|s| s.as_str().to_string()),
            });
        }
    }
    doc.metric_alarms.sort_by(|a, b| a.name.cmp(&b.name));
    doc.composite_alarms.sort_by(|a, b| a.name.cmp(&b.name));
    Some(doc)
}

fn parse_ts(s: &str) -> Option<DateTime> {
    DateTime::from_str(s, Format::DateTime).ok()
}

async fn history(
    opts: &CloudwatchOptions,
    target: &Target,
    log: &CallLog,
    problems: &Problems,
    cursor: Cursor,
) -> Option<(HistoryDoc, Cursor)> {
    let latest = cursor.latest.as_deref().and_then(parse_ts);
    let start = match latest {
        Some(t) => DateTime::from_secs(t.secs() - OVERLAP_SECS),
        None => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            DateTime::from_secs(now - i64::from(opts.lookback_days) * 86_400)
        }
    };
    let mut pages = Prefetch::new(
        target
            .clients
            .cloudwatch
            .describe_alarm_history()
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .start_date(start)
            .into_paginator()
            .send(),
    );
    let mut fresh = Vec::new();
    let mut all = Vec::new();
    loop {
        let page = match log
            .page("cloudwatch:DescribeAlarmHistory", pages.next())
            .await
        {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                problems.add(&e);
                return None;
            }
        };
        for h in page.alarm_history_items() {
            let Some(t) = h.timestamp() else { continue };
            let entry = HistoryEntry {
                alarm_name: h.alarm_name().unwrap_or_default().to_string(),
                alarm_type: h.alarm_type().map(|s| s.as_str().to_string()),
                timestamp: ts(t),
                item_type: h
                    .history_item_type()
                    .map(HistoryItemType::as_str)
                    .map(String::from),
                summary: h.history_summary().map(String::from),
                data: h.history_data().map(String::from),
            };
            let key = entry.key();
            if !cursor.recent.contains(&key) {
                fresh.push(entry.clone());
            }
            all.push((*t, key));
        }
    }
    fresh.sort_by_key(|e| e.key());
    let newest = all.iter().map(|(t, _)| *t).max().or(latest);
    let recent = match newest {
        Some(n) => all
            .iter()
            .filter(|(t, _)| t.secs() >= n.secs() - OVERLAP_SECS)
            .map(|(_, k)| k.clone())
            .chain(
                cursor
                    .recent
                    .iter()
                    .filter(|k| {
                        k.split('|')
                            .next()
                            .and_then(parse_ts)
                            .is_some_and(|t| t.secs() >= n.secs() - OVERLAP_SECS)
                    })
                    .cloned(),
            )
            .collect(),
        None => BTreeSet::new(),
    };
    let next = Cursor {
        latest: ts_opt(newest.as_ref()),
        recent,
    };
    Some((
        HistoryDoc {
            account: target.account.clone(),
            region: target.region.clone(),
            entries: fresh,
        },
        next,
    ))
}
