//! `type = "cloudwatch"`: metric and composite alarms with their actions
//! (`cloudwatch/alarms.json`), and alarm state history, incrementally
//! (`cloudwatch/alarm-history.json` holds the entries new since the previous run;
//! `cloudwatch/alarm-history-cursor.json` is where the next run resumes).

use std::collections::BTreeSet;

use aws_sdk_cloudwatch::types::{AlarmType, HistoryItemType};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::doc::{ts_opt, ListSpool, SpoolError};
use super::spill::{Spill, DEFAULT_BUDGET};
use super::{ts, AwsCollector, CallLog, CollectError, Collected, PrevState, Streamed};
use super::{Problems, Target};
use crate::canonical;
use crate::collect::pipeline::Prefetch;
use crate::config::CloudwatchOptions;

pub const ALARMS: &str = "cloudwatch/alarms.json";
pub const HISTORY: &str = "cloudwatch/alarm-history.json";
pub const CURSOR: &str = "cloudwatch/alarm-history-cursor.json";

/// History is re-read this far behind the newest entry seen, for entries AWS records late.
const OVERLAP_SECS: i64 = 3600;

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
        let listing = alarms(target, log, &problems)
            .await
            .map(|l| (l, super::observed_now()));
        let mut small = Vec::new();
        if self.history {
            let cursor: Cursor = prev
                .get(CURSOR)
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or_default();
            if let Some((doc, next)) = history(self, target, log, &problems, cursor).await {
                let now = super::observed_now();
                small.push((HISTORY, canonical::to_vec(&doc)?, now));
                small.push((CURSOR, canonical::to_vec(&next)?, now));
            }
        }
        // All three as spools, so that they are recorded in this order (file I/O, off the
        // runtime).
        let written = tokio::task::spawn_blocking(move || {
            let alarms = listing.map(|(l, at)| l.into_streamed(at));
            let small = small
                .into_iter()
                .map(|(name, bytes, at)| ListSpool::whole(name, &bytes, at).map_err(|e| (name, e)));
            alarms.into_iter().chain(small).collect::<Vec<_>>()
        })
        .await;
        match written {
            Ok(docs) => {
                for d in docs {
                    match d {
                        Ok(d) => out.streamed.push(d),
                        Err((name, e)) => problems.add(&e.to_call_error(name)),
                    }
                }
            }
            Err(e) => problems.add(&super::CallError {
                operation: "evidenced:spool".into(),
                code: None,
                message: format!("writing the cloudwatch documents failed: {e}"),
            }),
        }
        out.errors = problems.take();
        Ok(out)
    }
}

/// Every alarm listed, each one's canonical document spilled by name (so that the alarms of
/// a large account are never held whole).
pub struct AlarmsListing {
    pub account: String,
    pub region: String,
    pub metric: Spill,
    pub composite: Spill,
}

impl AlarmsListing {
    fn new(account: &str, region: &str, budget: usize) -> AlarmsListing {
        AlarmsListing {
            account: account.to_string(),
            region: region.to_string(),
            metric: Spill::new(budget),
            composite: Spill::new(budget),
        }
    }

    fn push_metric(&mut self, a: &MetricAlarm) -> Result<(), SpoolError> {
        Ok(self
            .metric
            .push(a.name.as_bytes().to_vec(), canonical::to_vec(a)?)?)
    }

    fn push_composite(&mut self, a: &CompositeAlarm) -> Result<(), SpoolError> {
        Ok(self
            .composite
            .push(a.name.as_bytes().to_vec(), canonical::to_vec(a)?)?)
    }

    /// `cloudwatch/alarms.json`: `{"account","composite_alarms","metric_alarms","region"}`,
    /// each list sorted by alarm name (alarms of equal names in listing order). Blocking.
    pub fn into_streamed(self, at: OffsetDateTime) -> Result<Streamed, (&'static str, SpoolError)> {
        let fields = [
            ("account", serde_json::Value::String(self.account)),
            ("region", serde_json::Value::String(self.region)),
        ];
        let lists = vec![
            ("metric_alarms", self.metric),
            ("composite_alarms", self.composite),
        ];
        ListSpool::sorted_lists(ALARMS, &fields, lists, at).map_err(|e| (ALARMS, e))
    }
}

fn metric_alarm(a: &aws_sdk_cloudwatch::types::MetricAlarm) -> MetricAlarm {
    let mut dimensions: Vec<Dimension> = a
        .dimensions()
        .iter()
        .map(|d| Dimension {
            name: d.name().unwrap_or_default().to_string(),
            value: d.value().unwrap_or_default().to_string(),
        })
        .collect();
    dimensions.sort();
    MetricAlarm {
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
    }
}

fn composite_alarm(a: &aws_sdk_cloudwatch::types::CompositeAlarm) -> CompositeAlarm {
    CompositeAlarm {
        name: a.alarm_name().unwrap_or_default().to_string(),
        arn: a.alarm_arn().map(String::from),
        description: a.alarm_description().map(String::from),
        alarm_rule: a.alarm_rule().map(String::from),
        actions_enabled: a.actions_enabled(),
        alarm_actions: sorted(a.alarm_actions()),
        ok_actions: sorted(a.ok_actions()),
        insufficient_data_actions: sorted(a.insufficient_data_actions()),
        state: a.state_value().map(|s| s.as_str().to_string()),
    }
}

async fn alarms(target: &Target, log: &CallLog, problems: &Problems) -> Option<AlarmsListing> {
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
    let mut listing = AlarmsListing::new(&target.account, &target.region, DEFAULT_BUDGET);
    loop {
        let page = match log.page("cloudwatch:DescribeAlarms", pages.next()).await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                problems.add(&e);
                return None;
            }
        };
        let pushed = page
            .metric_alarms()
            .iter()
            .try_for_each(|a| listing.push_metric(&metric_alarm(a)))
            .and_then(|()| {
                page.composite_alarms()
                    .iter()
                    .try_for_each(|a| listing.push_composite(&composite_alarm(a)))
            });
        if let Err(e) = pushed {
            problems.add(&e.to_call_error(ALARMS));
            return None;
        }
    }
    Some(listing)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::Evidence;

    /// The document as it was built before it was streamed: whole, in memory.
    #[derive(Serialize)]
    struct AlarmsDoc<'a> {
        account: &'a str,
        region: &'a str,
        metric_alarms: Vec<&'a MetricAlarm>,
        composite_alarms: Vec<&'a CompositeAlarm>,
    }

    fn metric(name: &str, i: u32) -> MetricAlarm {
        MetricAlarm {
            name: name.to_string(),
            arn: Some(format!(
                "arn:aws:cloudwatch:us-east-1:111122223333:alarm:{name}"
            )),
            description: (i % 3 == 0).then(|| format!("alarm {i} \u{e9}\u{1F600}")),
            namespace: Some("AWS/EC2".into()),
            metric_name: Some("CPUUtilization".into()),
            dimensions: vec![Dimension {
                name: "InstanceId".into(),
                value: format!("i-{i:08x}"),
            }],
            statistic: Some("Average".into()),
            extended_statistic: None,
            period: Some(60),
            evaluation_periods: Some(3),
            datapoints_to_alarm: None,
            threshold: Some(f64::from(i) / 4.0 + 0.1),
            comparison_operator: Some("GreaterThanThreshold".into()),
            treat_missing_data: Some("missing".into()),
            metric_queries: Vec::new(),
            actions_enabled: Some(i % 2 == 0),
            alarm_actions: vec![format!("arn:aws:sns:us-east-1:111122223333:t{i}")],
            ok_actions: Vec::new(),
            insufficient_data_actions: Vec::new(),
            state: Some("OK".into()),
        }
    }

    fn composite(name: &str, i: u32) -> CompositeAlarm {
        CompositeAlarm {
            name: name.to_string(),
            arn: None,
            description: None,
            alarm_rule: Some(format!("ALARM(m{i})")),
            actions_enabled: Some(true),
            alarm_actions: Vec::new(),
            ok_actions: Vec::new(),
            insufficient_data_actions: Vec::new(),
            state: None,
        }
    }

    #[test]
    fn streamed_alarms_equal_the_document_built_in_memory() {
        let at = OffsetDateTime::UNIX_EPOCH;
        // Names out of order, some repeated (listed twice: the listing order is kept), some
        // whose UTF-8 and UTF-16 orders differ.
        let mut names: Vec<String> = (0..3000u32)
            .map(|i| format!("alarm-{:05}", (i * 7919) % 2801))
            .collect();
        names.extend(["alarm-\u{FFFD}".into(), "alarm-\u{1F600}".into()]);
        let metrics: Vec<MetricAlarm> = names.iter().zip(0..).map(|(n, i)| metric(n, i)).collect();
        let composites: Vec<CompositeAlarm> = names
            .iter()
            .step_by(7)
            .zip(0..)
            .map(|(n, i)| composite(n, i))
            .collect();
        let mut doc = AlarmsDoc {
            account: "111122223333",
            region: "us-east-1",
            metric_alarms: metrics.iter().collect(),
            composite_alarms: composites.iter().collect(),
        };
        doc.metric_alarms.sort_by(|a, b| a.name.cmp(&b.name));
        doc.composite_alarms.sort_by(|a, b| a.name.cmp(&b.name));
        let expected = Evidence::json(ALARMS, &doc, at).unwrap();
        // With a budget that spills many runs, and with one that spills none.
        for budget in [16 << 10, usize::MAX] {
            let mut listing = AlarmsListing::new("111122223333", "us-east-1", budget);
            for m in &metrics {
                listing.push_metric(m).unwrap();
            }
            for c in &composites {
                listing.push_composite(c).unwrap();
            }
            if budget < usize::MAX {
                assert!(listing.metric.runs() > 10, "the small budget did not spill");
            }
            let s = listing.into_streamed(at).unwrap();
            assert_eq!(s.evidence.name, ALARMS);
            assert_eq!(s.evidence.media_type, expected.media_type);
            assert_eq!(
                String::from_utf8_lossy(&s.spool.read().unwrap()),
                String::from_utf8_lossy(&expected.blob.to_bytes()),
                "budget {budget}"
            );
            assert_eq!(s.evidence.item().digest, expected.blob.digest());
            assert!(s.evidence.blob.is_stored());
        }
    }
}
