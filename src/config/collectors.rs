//! `[aws]` (where to collect) and `[[collector]]` (what to collect, and when).
//!
//! Each `[[collector]]` table is one variant of [`CollectorConfig`], chosen by its `type`
//! key, so adding a collector is one variant plus one file under `src/collect/`. Schedules
//! are 6-field cron expressions (seconds first, UTC), checked at load so a typo fails at
//! start-up, naming the collector, rather than silently never running.

use serde::Deserialize;

use super::ConfigError;

/// `[aws]`: the accounts and regions collected, and how the SDK talks to AWS.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Regions collected by the regional collectors (backup, config, cloudwatch).
    #[serde(default = "default_regions")]
    pub regions: Vec<String>,
    /// Accounts reached by assuming a role. Empty: the account of the default credentials.
    /// Each is a table `{ id, role_arn, external_id }`, an account id alone (the role is
    /// then `role_name` in that account) or a role ARN. From the environment:
    /// `EVIDENCED_AWS__ACCOUNTS=111122223333,444455556666`.
    #[serde(default)]
    pub accounts: Vec<AwsAccount>,
    /// The role assumed in each account given without a `role_arn` (the member role of
    /// deploy/member-role.yaml, `evidenced-member`).
    #[serde(default)]
    pub role_name: Option<String>,
    /// The external id passed to `sts:AssumeRole` for accounts that do not set their own.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The AWS profile (~/.aws/config) whose credentials the collectors and an S3 store
    /// use: static keys, SSO, `credential_process`, an assumed role. Unset: `AWS_PROFILE`,
    /// then the default chain (environment, ECS task role, instance profile).
    #[serde(default)]
    pub profile: Option<String>,
    /// Endpoint for every AWS service (emulators, tests). Unset: AWS, or the SDK's own
    /// `AWS_ENDPOINT_URL` when that is set.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Path-style S3 addressing, needed by most emulators.
    #[serde(default)]
    pub force_path_style: bool,
    /// Whole-operation timeout, retries included.
    #[serde(default = "default_operation_timeout")]
    pub operation_timeout_secs: u64,
    /// Timeout of one attempt.
    #[serde(default = "default_attempt_timeout")]
    pub attempt_timeout_secs: u64,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Idle pooled connections are closed after this long. Kept short: a daemon idle for
    /// hours otherwise tries its first request on a connection the network has dropped.
    #[serde(default = "default_pool_idle")]
    pub pool_idle_timeout_secs: u64,
    /// Attempts per operation (standard retry mode, exponential backoff with jitter).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Concurrent requests per service and scope.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Requests in flight per AWS service across every account and region of one
    /// `collect --once`, or of the whole daemon, whose runs all share them (each retry
    /// counts as a request); services named in `service_limits` take their own value.
    #[serde(default = "default_service_concurrency")]
    pub service_concurrency: usize,
    /// Per-service overrides of `service_concurrency`, by signing name (`backup`,
    /// `config`, `monitoring` for CloudWatch, `sts`, `s3`, `s3control`).
    #[serde(default)]
    pub service_limits: std::collections::BTreeMap<String, usize>,
    /// Base of the exponential backoff between attempts of a throttled or failed call
    /// (standard retry mode, with jitter, capped at 20 s).
    #[serde(default = "default_retry_initial_backoff_ms")]
    pub retry_initial_backoff_ms: u64,
    /// Rewrite known moto response defects (tests and the demo only; never against AWS).
    #[serde(default)]
    pub moto_compat: bool,
}

/// One account reached through `sts:AssumeRole`.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsAccount {
    /// The account id, for messages before the role is assumed; the caller identity
    /// returned by STS is what records carry.
    pub id: Option<String>,
    /// Empty until [`resolve_accounts`] fills it from `[aws] role_name` for an account given
    /// by id alone.
    pub role_arn: String,
    pub external_id: Option<String>,
}

/// The table form of an account.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountTable {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    role_arn: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
}

impl AwsAccount {
    /// An account given as one string: a 12-digit account id or an IAM role ARN.
    pub fn from_entry(entry: &str) -> Result<AwsAccount, String> {
        let entry = entry.trim();
        if entry.starts_with("arn:") {
            // arn:<partition>:iam::<account>:role/<name>
            let fields: Vec<&str> = entry.splitn(6, ':').collect();
            return match fields.as_slice() {
                [_, _, "iam", "", account, res]
                    if is_account_id(account) && res.starts_with("role/") =>
                {
                    Ok(AwsAccount {
                        id: Some(account.to_string()),
                        role_arn: entry.to_string(),
                        external_id: None,
                    })
                }
                _ => Err(format!(
                    "{entry:?} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"
                )),
            };
        }
        if !is_account_id(entry) {
            return Err(format!(
                "{entry:?} is not a 12-digit account id or an IAM role ARN"
            ));
        }
        Ok(AwsAccount {
            id: Some(entry.to_string()),
            role_arn: String::new(),
            external_id: None,
        })
    }
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl<'de> Deserialize<'de> for AwsAccount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AwsAccount, D::Error> {
        use serde::de;
        struct Entry;
        impl<'de> de::Visitor<'de> for Entry {
            type Value = AwsAccount;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a 12-digit account id, an IAM role ARN, or a table { id, role_arn, external_id }")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<AwsAccount, E> {
                AwsAccount::from_entry(s).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<AwsAccount, E> {
                Err(E::custom(format!(
                    "account {n}: write account ids as strings (\"{n:012}\"), a leading 0 is part of the id"
                )))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<AwsAccount, E> {
                self.visit_i64(n as i64)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<AwsAccount, A::Error> {
                let t = AccountTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(AwsAccount {
                    id: t.id,
                    role_arn: t.role_arn.unwrap_or_default(),
                    external_id: t.external_id,
                })
            }
        }
        d.deserialize_any(Entry)
    }
}

/// Give every account a role ARN (from `[aws] role_name` for accounts given by id) and an
/// external id (from `[aws] external_id` unless it has its own).
pub(super) fn resolve_accounts(aws: &mut AwsConfig) -> Result<(), String> {
    let partition = match aws.regions.first().map(String::as_str) {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    };
    for a in &mut aws.accounts {
        if a.role_arn.is_empty() {
            let id =
                a.id.clone()
                    .ok_or("an account has neither `id` nor `role_arn`")?;
            if !is_account_id(&id) {
                return Err(format!("account {id:?} is not a 12-digit account id"));
            }
            let role = aws.role_name.as_deref().ok_or_else(|| {
                format!("account {id} has no `role_arn` and [aws] role_name is not set (EVIDENCED_AWS__ROLE_NAME)")
            })?;
            a.role_arn = format!("arn:{partition}:iam::{id}:role/{role}");
        }
        if a.external_id.is_none() {
            a.external_id = aws.external_id.clone();
        }
    }
    Ok(())
}

fn default_regions() -> Vec<String> {
    vec!["us-east-1".to_string()]
}
fn default_operation_timeout() -> u64 {
    120
}
fn default_attempt_timeout() -> u64 {
    30
}
fn default_connect_timeout() -> u64 {
    5
}
fn default_pool_idle() -> u64 {
    15
}
fn default_max_attempts() -> u32 {
    5
}
fn default_concurrency() -> usize {
    8
}
fn default_service_concurrency() -> usize {
    16
}
fn default_retry_initial_backoff_ms() -> u64 {
    1000
}

impl Default for AwsConfig {
    fn default() -> AwsConfig {
        AwsConfig {
            regions: default_regions(),
            accounts: Vec::new(),
            role_name: None,
            external_id: None,
            profile: None,
            endpoint_url: None,
            force_path_style: false,
            operation_timeout_secs: default_operation_timeout(),
            attempt_timeout_secs: default_attempt_timeout(),
            connect_timeout_secs: default_connect_timeout(),
            pool_idle_timeout_secs: default_pool_idle(),
            max_attempts: default_max_attempts(),
            concurrency: default_concurrency(),
            service_concurrency: default_service_concurrency(),
            service_limits: Default::default(),
            retry_initial_backoff_ms: default_retry_initial_backoff_ms(),
            moto_compat: false,
        }
    }
}

/// One `[[collector]]` table.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum CollectorConfig {
    Backup(BackupOptions),
    Config(ConfigOptions),
    Cloudwatch(CloudwatchOptions),
    S3(S3Options),
    Inbox(InboxOptions),
}

/// `type = "backup"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupOptions {
    pub name: String,
    pub schedule: String,
    /// How far back the first run lists jobs (AWS keeps job listings for 30 days).
    #[serde(default = "default_lookback_days")]
    pub lookback_days: u32,
    /// Overlap of each incremental listing with the previous one, so jobs created while
    /// the previous run was listing are not missed.
    #[serde(default = "default_overlap_hours")]
    pub overlap_hours: u32,
    /// What to read; default: everything. Leave out parts the role may not read (or an
    /// emulator does not implement) rather than record every run as partial.
    #[serde(default = "BackupPart::all")]
    pub include: Vec<BackupPart>,
}

/// A part of the backup collection.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BackupPart {
    Plans,
    Selections,
    Vaults,
    VaultPolicies,
    ProtectedResources,
    Jobs,
    RestoreTesting,
    ReportPlans,
}

impl BackupPart {
    pub fn all() -> Vec<BackupPart> {
        use BackupPart::*;
        vec![
            Plans,
            Selections,
            Vaults,
            VaultPolicies,
            ProtectedResources,
            Jobs,
            RestoreTesting,
            ReportPlans,
        ]
    }
}

fn default_lookback_days() -> u32 {
    30
}
fn default_overlap_hours() -> u32 {
    24
}

/// `type = "config"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigOptions {
    pub name: String,
    pub schedule: String,
    /// Resource types snapshotted. Default: the stores and controls the requirements read.
    #[serde(default = "default_resource_types")]
    pub resource_types: Vec<String>,
    /// Read configuration items through this aggregator instead of per region.
    #[serde(default)]
    pub aggregator: Option<String>,
    /// The region the aggregator lives in: only that region's record reads it (across all
    /// the accounts and regions it aggregates); the other regions' records store no
    /// `config/resources.json`. Set at load to the first of `[aws] regions` when left
    /// out; when still unset (options built in code), every region's record reads it.
    #[serde(default)]
    pub aggregator_region: Option<String>,
    /// Collect rule and conformance-pack compliance.
    #[serde(default = "yes")]
    pub compliance: bool,
}

/// The default in-scope resource types.
pub fn default_resource_types() -> Vec<String> {
    [
        "AWS::S3::Bucket",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::DynamoDB::Table",
        "AWS::EFS::FileSystem",
        "AWS::EC2::Volume",
        "AWS::CloudTrail::Trail",
        "AWS::KMS::Key",
        "AWS::Backup::BackupVault",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

fn yes() -> bool {
    true
}

/// `type = "cloudwatch"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CloudwatchOptions {
    pub name: String,
    pub schedule: String,
    /// Collect alarm state history (incrementally).
    #[serde(default = "yes")]
    pub history: bool,
    /// How far back the first run reads alarm history.
    #[serde(default = "default_lookback_days")]
    pub lookback_days: u32,
}

/// `type = "s3"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct S3Options {
    pub name: String,
    pub schedule: String,
    /// Buckets whose posture is recorded. Empty: the bucket of an `s3://` store.
    #[serde(default)]
    pub buckets: Vec<String>,
    /// Record the posture of every bucket of the account.
    #[serde(default)]
    pub all_buckets: bool,
}

/// `type = "inbox"`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InboxOptions {
    pub name: String,
    pub schedule: String,
    /// `s3://bucket/prefix/` or a directory.
    pub url: String,
    /// Directory inbox: a file is taken once unmodified for this long (or at once with a
    /// `<name>.ready` marker beside it); a run waits once, at most this long, for files
    /// modified just before it looked. 0: no settle interval. S3 objects appear whole and
    /// need none.
    #[serde(default = "default_settle_secs")]
    pub settle_secs: u64,
}

fn default_settle_secs() -> u64 {
    5
}

impl CollectorConfig {
    pub fn name(&self) -> &str {
        match self {
            CollectorConfig::Backup(o) => &o.name,
            CollectorConfig::Config(o) => &o.name,
            CollectorConfig::Cloudwatch(o) => &o.name,
            CollectorConfig::S3(o) => &o.name,
            CollectorConfig::Inbox(o) => &o.name,
        }
    }

    pub fn schedule(&self) -> &str {
        match self {
            CollectorConfig::Backup(o) => &o.schedule,
            CollectorConfig::Config(o) => &o.schedule,
            CollectorConfig::Cloudwatch(o) => &o.schedule,
            CollectorConfig::S3(o) => &o.schedule,
            CollectorConfig::Inbox(o) => &o.schedule,
        }
    }

    /// The collector type, as written in `type =` and in each record's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            CollectorConfig::Backup(_) => "backup",
            CollectorConfig::Config(_) => "config",
            CollectorConfig::Cloudwatch(_) => "cloudwatch",
            CollectorConfig::S3(_) => "s3",
            CollectorConfig::Inbox(_) => "inbox",
        }
    }
}

/// Parse a 6-field cron expression (`sec min hour day-of-month month day-of-week`, UTC).
pub fn parse_schedule(expr: &str) -> Result<croner::Cron, String> {
    let fields = expr.split_whitespace().count();
    if fields != 6 {
        return Err(format!(
            "{expr:?} has {fields} fields; expected 6 (sec min hour day-of-month month day-of-week), e.g. \"0 */15 * * * *\""
        ));
    }
    // The daemon's own parser, so that what is validated is what fires.
    crate::daemon::schedule::parse(expr)
        .map_err(|e| format!("{expr:?} is not a valid cron expression: {}", e.reason))
}

/// Check names (present, unique, usable in messages) and schedules, and settle each
/// config collector's `aggregator_region` (default: the first of `regions`).
pub(super) fn validate(
    collectors: &mut [CollectorConfig],
    regions: &[String],
    file: &str,
    text: &str,
) -> Result<(), ConfigError> {
    for c in collectors.iter_mut() {
        if let CollectorConfig::Config(o) = c {
            let err = |message: String| ConfigError::Collector {
                file: file.to_string(),
                line: line_of(text, &o.name, "aggregator_region"),
                name: o.name.clone(),
                key: "aggregator_region",
                message,
            };
            match (&o.aggregator, &o.aggregator_region) {
                (None, Some(_)) => return Err(err("has no effect without `aggregator`".into())),
                (Some(_), None) => o.aggregator_region = regions.first().cloned(),
                (Some(_), Some(r)) if !regions.contains(r) => {
                    return Err(err(format!(
                        "{r:?} is not one of [aws] regions {regions:?}, so the aggregator would never be read"
                    )))
                }
                _ => {}
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for c in collectors.iter() {
        let err = |key: &'static str, message: String| ConfigError::Collector {
            file: file.to_string(),
            line: line_of(text, c.name(), key),
            name: c.name().to_string(),
            key,
            message,
        };
        if c.name().trim().is_empty() {
            return Err(err("name", "must not be empty".into()));
        }
        if !seen.insert(c.name()) {
            return Err(err(
                "name",
                "is used by another [[collector]]; names identify runs in the store".into(),
            ));
        }
        parse_schedule(c.schedule()).map_err(|m| err("schedule", m))?;
    }
    Ok(())
}

/// Best-effort line of `key` in the `[[collector]]` table named `name` (1 when unknown).
fn line_of(text: &str, name: &str, key: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let needle = format!("{name:?}");
    let Some(at) = lines
        .iter()
        .position(|l| l.trim_start().starts_with("name") && l.contains(&needle))
    else {
        return 1;
    };
    let start = lines[..at]
        .iter()
        .rposition(|l| l.trim_start().starts_with("[[collector]]"))
        .unwrap_or(at);
    lines[start..]
        .iter()
        .enumerate()
        .skip(1)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|(i, _)| start + i + 1)
        .unwrap_or(at + 1)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn collectors_parse_with_defaults() {
        let text = r#"
[aws]
regions = ["us-east-1", "eu-west-1"]
accounts = [{ id = "111122223333", role_arn = "arn:aws:iam::111122223333:role/r", external_id = "x" }]

[[collector]]
type = "backup"
name = "backup"
schedule = "0 0 * * * *"

[[collector]]
type = "inbox"
name = "drills"
schedule = "0 */5 * * * *"
url = "./inbox"
"#;
        let c = Config::parse("f.toml", text, []).unwrap();
        assert_eq!(c.aws.regions, ["us-east-1", "eu-west-1"]);
        assert_eq!(c.aws.accounts[0].external_id.as_deref(), Some("x"));
        assert_eq!(c.collectors.len(), 2);
        assert_eq!(c.collectors[0].kind(), "backup");
        match &c.collectors[0] {
            super::CollectorConfig::Backup(b) => assert_eq!(b.lookback_days, 30),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.collectors[1].name(), "drills");
        match &c.collectors[1] {
            super::CollectorConfig::Inbox(i) => assert_eq!(i.settle_secs, 5),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_schedule_names_collector_key_and_line() {
        let text = "[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"0 * * * *\"\n";
        let err = Config::parse("f.toml", text, []).unwrap_err().to_string();
        assert!(err.starts_with("f.toml:4:"), "{err}");
        assert!(
            err.contains("\"posture\"") && err.contains("`schedule`") && err.contains("6"),
            "{err}"
        );
        let text = "[[collector]]\ntype = \"s3\"\nname = \"p\"\nschedule = \"0 61 * * * *\"\n";
        let err = Config::parse("f.toml", text, []).unwrap_err().to_string();
        assert!(err.contains("not a valid cron"), "{err}");
    }

    #[test]
    fn unknown_collector_key_and_type_are_refused() {
        let text =
            "[[collector]]\ntype = \"s3\"\nname = \"p\"\nschedule = \"0 0 * * * *\"\nbukets = []\n";
        let err = Config::parse("f.toml", text, []).unwrap_err().to_string();
        assert!(err.contains("bukets"), "{err}");
        let text = "[[collector]]\ntype = \"s4\"\nname = \"p\"\nschedule = \"0 0 * * * *\"\n";
        let err = Config::parse("f.toml", text, []).unwrap_err().to_string();
        assert!(err.contains("s4"), "{err}");
    }

    #[test]
    fn aggregator_region_defaults_to_the_first_region_and_must_be_collected() {
        let config = |extra: &str| {
            format!(
                "[aws]\nregions = [\"eu-west-1\", \"us-east-1\"]\n[[collector]]\ntype = \"config\"\nname = \"cfg\"\nschedule = \"0 0 * * * *\"\n{extra}"
            )
        };
        let region = |text: &str| match &Config::parse("f.toml", text, []).unwrap().collectors[0] {
            super::CollectorConfig::Config(o) => o.aggregator_region.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(region(&config("")), None);
        assert_eq!(
            region(&config("aggregator = \"org\"\n")).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region(&config(
                "aggregator = \"org\"\naggregator_region = \"us-east-1\"\n"
            ))
            .as_deref(),
            Some("us-east-1")
        );
        let err = Config::parse(
            "f.toml",
            &config("aggregator = \"org\"\naggregator_region = \"ap-south-1\"\n"),
            [],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("f.toml:8:")
                && err.contains("`aggregator_region`")
                && err.contains("ap-south-1"),
            "{err}"
        );
        let err = Config::parse("f.toml", &config("aggregator_region = \"us-east-1\"\n"), [])
            .unwrap_err()
            .to_string();
        assert!(err.contains("without `aggregator`"), "{err}");
    }

    #[test]
    fn duplicate_names_are_refused() {
        let text = "[[collector]]\ntype = \"s3\"\nname = \"p\"\nschedule = \"0 0 * * * *\"\n[[collector]]\ntype = \"s3\"\nname = \"p\"\nschedule = \"0 0 * * * *\"\n";
        let err = Config::parse("f.toml", text, []).unwrap_err().to_string();
        assert!(err.contains("another"), "{err}");
    }

    #[test]
    fn example_documents_every_aws_and_collector_key() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/evidenced.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        for key in [
            "regions",
            "accounts",
            "role_name",
            "external_id",
            "profile",
            "endpoint_url",
            "force_path_style",
            "operation_timeout_secs",
            "attempt_timeout_secs",
            "connect_timeout_secs",
            "pool_idle_timeout_secs",
            "max_attempts",
            "concurrency",
            "service_concurrency",
            "service_limits",
            "retry_initial_backoff_ms",
            "moto_compat",
            "lookback_days",
            "overlap_hours",
            "include",
            "resource_types",
            "aggregator",
            "aggregator_region",
            "compliance",
            "history",
            "buckets",
            "all_buckets",
            "url",
            "settle_secs",
        ] {
            assert!(text.contains(&format!("{key} =")), "{key} undocumented");
        }
        for kind in ["backup", "config", "cloudwatch", "s3", "inbox"] {
            assert!(
                text.contains(&format!("type = \"{kind}\"")),
                "{kind} undocumented"
            );
        }
    }

    #[test]
    fn aws_endpoint_comes_from_the_environment() {
        let env = [
            (
                "EVIDENCED_AWS__ENDPOINT_URL".to_string(),
                "http://127.0.0.1:5000".to_string(),
            ),
            (
                "EVIDENCED_AWS__FORCE_PATH_STYLE".to_string(),
                "true".to_string(),
            ),
        ];
        let c = Config::parse("f", "", env).unwrap();
        assert_eq!(c.aws.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert!(c.aws.force_path_style);
    }
}
