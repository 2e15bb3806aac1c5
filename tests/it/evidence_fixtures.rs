//! Evidence for requirements tests: records built with chosen recorded-at times (a fixed
//! clock), drill logs, and the backup collector's restore-jobs documents.

use evidenced::digest::Digest;
use evidenced::record::{Draft, Item, Provenance, Record, Scope, Status as RunStatus};
use evidenced::requirements::evidence::EvidenceRecord;
use evidenced::requirements::{Evaluation, Evidence, Outcome, Window};
use serde_json::json;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

pub const RESTORE_JOBS_MEDIA_TYPE: &str = "application/vnd.evidenced.aws.backup.restore-jobs+json";

fn ts(t: OffsetDateTime) -> String {
    evidenced::human::fmt_time(t)
}

/// Evidence built record by record with chosen recorded-at times.
#[derive(Default)]
pub struct Builder {
    pub ev: Evidence,
}

impl Builder {
    pub fn add(&mut self, draft: Draft, blobs: Vec<Vec<u8>>, recorded_at: OffsetDateTime) {
        let seq = self.ev.records.len() as u64 + 1;
        let prev = self.ev.records.last().map_or(Digest::ZERO, |r| r.hash);
        let record = Record {
            format: evidenced::record::FORMAT_VERSION,
            seq,
            prev,
            recorded_at,
            collector: draft.collector,
            kind: draft.kind,
            scope: draft.scope,
            status: draft.status,
            errors: draft.errors,
            items: draft.items,
            provenance: Provenance {
                program: "test".into(),
                writer_nonce: format!("{seq}"),
                caller_arn: None,
                api_calls: vec![],
            },
        };
        let hash = Digest::of_record(&record.to_bytes().unwrap());
        for b in blobs {
            self.ev.blobs.insert(Digest::of(&b), b);
        }
        self.ev.records.push(EvidenceRecord { seq, hash, record });
    }

    /// A human record given as TOML, recorded `delay` after its fact.
    pub fn human(&mut self, toml_text: &str, delay: Duration) {
        let probe = evidenced::human::parse(
            "r.toml",
            toml_text.as_bytes(),
            datetime!(2100-01-01 0:00 UTC),
        )
        .unwrap();
        let recorded_at = probe.observed_at + delay;
        let p = evidenced::submit::prepare(probe, "submit").unwrap();
        let blobs = p.blobs.iter().map(|b| b.to_bytes().to_vec()).collect();
        self.add(p.draft, blobs, recorded_at);
    }

    pub fn drill(&mut self, kind: &str, id: &str, ended: OffsetDateTime, outcome: &str) {
        self.human(&drill(kind, id, ended, outcome), Duration::hours(1));
    }

    pub fn restore_jobs(&mut self, jobs: serde_json::Value, recorded_at: OffsetDateTime) {
        let (draft, blob) = restore_jobs_draft(jobs, recorded_at);
        self.add(draft, vec![blob], recorded_at);
    }
}

/// A drill log as TOML.
pub fn drill(kind: &str, id: &str, ended: OffsetDateTime, outcome: &str) -> String {
    let started = ended - Duration::hours(1);
    let regions = if kind == "region-failover" {
        "source_region = \"us-east-1\"\ntarget_region = \"us-west-2\"\n"
    } else {
        ""
    };
    let scenario = if kind == "restore-test" {
        "checks = [\"row counts match the source\"]\nresource_types = [\"RDS\"]\n"
    } else {
        "scenario = \"test scenario\"\n"
    };
    format!(
        "kind = \"{kind}\"\nid = \"{id}\"\nstarted_at = \"{}\"\nended_at = \"{}\"\noutcome = \"{outcome}\"\nparticipants = [\"ops\"]\n{scenario}{regions}[targets]\nrto_minutes = 60\nrpo_minutes = 15\n[achieved]\nrto_minutes = 30\nrpo_minutes = 5\n",
        ts(started),
        ts(ended)
    )
}

/// The backup collector's restore-jobs item (the agreed contract).
pub fn restore_jobs_draft(
    jobs: serde_json::Value,
    observed_at: OffsetDateTime,
) -> (Draft, Vec<u8>) {
    let doc = json!({"account": "111122223333", "region": "us-east-1", "restore_jobs": jobs});
    let blob = evidenced::canonical::value_to_vec(&doc).unwrap();
    let draft = Draft {
        collector: "backup".into(),
        kind: "backup".into(),
        scope: Scope {
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
        },
        status: RunStatus::Complete,
        errors: vec![],
        items: vec![Item {
            name: "backup/restore-jobs.json".into(),
            digest: Digest::of(&blob),
            size: blob.len() as u64,
            media_type: RESTORE_JOBS_MEDIA_TYPE.into(),
            observed_at,
        }],
        caller_arn: None,
        api_calls: vec![],
    };
    (draft, blob)
}

pub fn job(
    id: &str,
    status: &str,
    completed: OffsetDateTime,
    validation: Option<&str>,
) -> serde_json::Value {
    let mut j = json!({
        "restore_job_id": id,
        "status": status,
        "creation_date": ts(completed - Duration::minutes(40)),
        "completion_date": ts(completed),
        "resource_type": "RDS",
        "recovery_point_arn": "arn:aws:rds:us-east-1:111122223333:snapshot:awsbackup:job-1",
    });
    if let Some(v) = validation {
        j["validation_status"] = json!(v);
    }
    j
}

pub fn year_2025() -> Window {
    Window {
        at: datetime!(2026-01-10 0:00 UTC),
        from: datetime!(2025-01-01 0:00 UTC),
        to: datetime!(2025-12-31 23:59:59 UTC),
    }
}

pub fn req<'a>(e: &'a Evaluation, id: &str) -> &'a Outcome {
    e.requirements
        .iter()
        .find(|o| o.id == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

pub const PROTECTED_MEDIA_TYPE: &str =
    "application/vnd.evidenced.aws.backup.protected-resources+json";
pub const COPY_JOBS_MEDIA_TYPE: &str = "application/vnd.evidenced.aws.backup.copy-jobs+json";
pub const ALARMS_MEDIA_TYPE: &str = "application/vnd.evidenced.aws.cloudwatch.alarms+json";
pub const RESOURCES_MEDIA_TYPE: &str = "application/vnd.evidenced.aws.config.resources+json";
pub const BUCKETS_MEDIA_TYPE: &str = "application/vnd.evidenced.aws.s3.buckets+json";

impl Builder {
    /// One collector run in `account`/`region` storing `docs` (item name, media type,
    /// document), recorded at `at`.
    pub fn machine(
        &mut self,
        collector: &str,
        account: &str,
        region: &str,
        docs: &[(&str, &str, serde_json::Value)],
        at: OffsetDateTime,
    ) {
        let mut items = Vec::new();
        let mut blobs = Vec::new();
        for (name, media, doc) in docs {
            let blob = evidenced::canonical::value_to_vec(doc).unwrap();
            items.push(Item {
                name: (*name).into(),
                digest: Digest::of(&blob),
                size: blob.len() as u64,
                media_type: (*media).into(),
                observed_at: at,
            });
            blobs.push(blob);
        }
        let draft = run_draft(
            collector,
            account,
            region,
            RunStatus::Complete,
            vec![],
            items,
        );
        self.add(draft, blobs, at);
    }

    /// A failed run of `collector` in `account`/`region` (nothing read).
    pub fn failed_run(
        &mut self,
        collector: &str,
        account: &str,
        region: &str,
        at: OffsetDateTime,
        why: &str,
    ) {
        let errors = vec![evidenced::record::RunError {
            operation: "sts:AssumeRole".into(),
            region: Some(region.into()),
            message: why.into(),
        }];
        let draft = run_draft(
            collector,
            account,
            region,
            RunStatus::Failed,
            errors,
            vec![],
        );
        self.add(draft, vec![], at);
    }

    /// A human record given as TOML, recorded at `recorded_at`.
    pub fn human_at(&mut self, toml_text: &str, recorded_at: OffsetDateTime) {
        let probe = evidenced::human::parse(
            "r.toml",
            toml_text.as_bytes(),
            datetime!(2100-01-01 0:00 UTC),
        )
        .unwrap();
        let p = evidenced::submit::prepare(probe, "submit").unwrap();
        let blobs = p.blobs.iter().map(|b| b.to_bytes().to_vec()).collect();
        self.add(p.draft, blobs, recorded_at);
    }
}

impl Builder {
    /// The backup collector's inventory: one protected resource of each Backup type, in
    /// 111122223333/us-east-1, recorded at `at`.
    pub fn inventory(&mut self, types: &[&str], at: OffsetDateTime) {
        let resources: Vec<serde_json::Value> = types
            .iter()
            .map(|t| json!({"resource_arn": format!("arn:aws:test:us-east-1:111122223333:{t}"), "resource_type": t, "last_backup_time": ts(at)}))
            .collect();
        self.machine(
            "backup",
            "111122223333",
            "us-east-1",
            &[(
                "backup/protected-resources.json",
                PROTECTED_MEDIA_TYPE,
                json!({"account": "111122223333", "region": "us-east-1", "resources": resources}),
            )],
            at,
        );
    }
}

/// One collector run's draft in `account`/`region`.
fn run_draft(
    collector: &str,
    account: &str,
    region: &str,
    status: RunStatus,
    errors: Vec<evidenced::record::RunError>,
    items: Vec<Item>,
) -> Draft {
    Draft {
        collector: collector.into(),
        kind: collector.into(),
        scope: Scope {
            account: Some(account.into()),
            region: Some(region.into()),
        },
        status,
        errors,
        items,
        caller_arn: None,
        api_calls: vec![],
    }
}
