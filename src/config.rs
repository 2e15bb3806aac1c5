//! Configuration: a TOML file (`deny_unknown_fields` everywhere) overlaid by environment
//! variables, overlaid by command-line flags. `config/evidenced.example.toml` documents
//! every key and is parsed by a test so it never rots.
//!
//! Environment overrides:
//! - `EVIDENCED_<SECTION>__<KEY>` sets a key of a section, e.g. `EVIDENCED_STORE__URL`;
//! - `EVIDENCED_COLLECTOR__<NAME>__<KEY>` sets a key of the `[[collector]]` named `<name>`
//!   (upper case, `-` written `_`), e.g. `EVIDENCED_COLLECTOR__DRILLS__URL`;
//! - list-valued keys ([`LIST_KEYS`]) take comma-separated values
//!   (`EVIDENCED_AWS__REGIONS=us-east-1,eu-west-1`; empty: an empty list);
//! - an empty value for any other key unsets it (the default applies), so a template can
//!   pass an optional parameter through as it is;
//! - `true`/`false` and integers are typed, except for keys that are always strings
//!   ([`STRING_KEYS`]).

use std::path::Path;

use serde::Deserialize;

use crate::store::StoreSettings;

mod collectors;
mod daemon;

pub use collectors::{
    AwsAccount, AwsConfig, BackupOptions, BackupPart, CloudwatchOptions, CollectorConfig,
    ConfigOptions, InboxOptions, S3Options,
};
pub use daemon::DaemonConfig;

/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "EVIDENCED_";

/// Keys whose value is a list, in any section or collector: an environment value is split
/// at commas. A test checks that every list-valued key of the example configuration is
/// here.
pub const LIST_KEYS: &[&str] = &[
    "regions",
    "accounts",
    "include",
    "resource_types",
    "buckets",
];

/// String keys whose environment value stays a string even when it reads as a number.
pub const STRING_KEYS: &[&str] = &["external_id", "role_name", "name", "id"];

/// A configuration problem, naming the file (or variable), the key and the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("{file}:{line}: [[collector]] {name:?}: key `{key}`: {message}")]
    Collector {
        file: String,
        line: usize,
        name: String,
        key: &'static str,
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub aws: AwsConfig,
    #[serde(default, rename = "collector")]
    pub collectors: Vec<CollectorConfig>,
    #[serde(default)]
    pub daemon: DaemonConfig,
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// Settings from the command line that have no configuration key.
    #[serde(skip)]
    pub cli: CliSettings,
}

/// Command-line settings that are not configuration keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CliSettings {
    /// Accept a location that holds no chain (`--allow-empty`).
    pub allow_empty: bool,
    /// Trust only these checkpoint public keys (`--public-key`).
    pub public_keys: Vec<std::path::PathBuf>,
    /// `-q`: no progress display, errors only.
    pub quiet: bool,
    /// Keep immutable objects read from the store in this directory (`--cache-dir`).
    pub cache_dir: Option<std::path::PathBuf>,
}

/// `[checkpoint]`: signing a checkpoint after each committed run.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// Ed25519 signing key (PKCS#8 PEM, from `evidenced keygen`). Unset: no checkpoints
    /// (unless `key_pem_env` is set).
    #[serde(default)]
    pub key_file: Option<std::path::PathBuf>,
    /// An asymmetric AWS KMS key (id, ARN or alias) that signs checkpoints instead of a key
    /// file: `ECC_NIST_P256` (ECDSA) or `ECC_NIST_EDWARDS25519`. The private key never
    /// leaves KMS.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// The name of an environment variable that holds the signing key's PEM text, instead
    /// of `key_file` (an ECS task gets a Secrets Manager secret that way, without a file).
    #[serde(default)]
    pub key_pem_env: Option<String>,
    /// A second location that receives a copy of each checkpoint: a directory or
    /// `s3://bucket/prefix` (ideally another account), so truncating the store is detectable
    /// even if its own checkpoints are removed too.
    #[serde(default)]
    pub witness: Option<String>,
    /// An RFC 3161 Time-Stamping Authority (`http://` or `https://`): each checkpoint gets a
    /// time-stamp token beside it (`<seq>.tst`). Unset: no tokens.
    #[serde(default)]
    pub tsa_url: Option<String>,
    /// PEM file(s) of the certificates trusted as the TSA's roots: one path or a list. Used
    /// by `verify` and `report` (and to refuse a token that does not chain to them).
    #[serde(default, deserialize_with = "crate::checkpoint::tsa::one_or_many")]
    pub tsa_roots: Vec<std::path::PathBuf>,
    /// Bound on one time-stamp request, connection included, in seconds (default 10).
    #[serde(default)]
    pub tsa_timeout_seconds: Option<u64>,
    /// Refuse to start without a signer (a production deployment: every committed run is
    /// signed, and a missing key is a configuration error rather than unsigned evidence).
    #[serde(default)]
    pub require_signer: bool,
}

impl CheckpointConfig {
    /// True when checkpoints are signed (a key file, a key in a variable or a KMS key is
    /// configured).
    pub fn signs(&self) -> bool {
        self.key_file.is_some() || self.key_pem_env.is_some() || self.kms_key_id.is_some()
    }
}

/// `[store]`: where evidence is kept.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// A directory path, a `file://` URL or `s3://bucket/prefix`.
    #[serde(default = "default_store_url")]
    pub url: String,
    /// S3-compatible endpoint (emulators, other providers). Unset for AWS.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Path-style bucket addressing, needed by most emulators.
    #[serde(default)]
    pub force_path_style: bool,
    /// Region of the bucket; defaults to the SDK's region chain, then us-east-1.
    #[serde(default)]
    pub region: Option<String>,
}

fn default_store_url() -> String {
    "./evidence".to_string()
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            url: default_store_url(),
            endpoint_url: None,
            force_path_style: false,
            region: None,
        }
    }
}

impl StoreConfig {
    pub fn settings(&self) -> StoreSettings {
        StoreSettings {
            url: self.url.clone(),
            endpoint_url: self.endpoint_url.clone(),
            force_path_style: self.force_path_style,
            region: self.region.clone(),
        }
    }
}

impl Config {
    /// Load from an optional file, then apply `EVIDENCED_<SECTION>__<KEY>` overrides from
    /// `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let (name, text) = match file {
            Some(p) => {
                let name = p.display().to_string();
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    file: name.clone(),
                    source,
                })?;
                (name, text)
            }
            None => ("<defaults>".to_string(), String::new()),
        };
        Config::parse(&name, &text, env)
    }

    /// Parse `text` (named `file` in errors) and apply environment overrides.
    pub fn parse(
        file: &str,
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        // Deserialize from the text first so errors carry line and column.
        let _: Config = toml::from_str(text).map_err(|e| located(file, text, &e))?;
        let mut table: toml::Table = toml::from_str(text).map_err(|e| located(file, text, &e))?;
        let mut overridden = Vec::new();
        let mut env: Vec<(String, String)> = env
            .into_iter()
            .filter(|(var, _)| var.starts_with(ENV_PREFIX))
            .collect();
        env.sort();
        for (var, value) in env {
            let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let parts: Vec<&str> = rest.split("__").collect();
            let bad = |message: String| ConfigError::Env {
                var: var.clone(),
                message,
            };
            let (t, key) = match parts.as_slice() {
                [_] => continue,
                [section, key] if !section.is_empty() && !key.is_empty() => {
                    let section = section.to_ascii_lowercase();
                    if section == "collector" {
                        return Err(bad(
                            "expected EVIDENCED_COLLECTOR__<NAME>__<KEY>, e.g. EVIDENCED_COLLECTOR__DRILLS__URL".into(),
                        ));
                    }
                    let entry = table
                        .entry(section.clone())
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    let Some(t) = entry.as_table_mut() else {
                        return Err(bad(format!(
                            "[{section}] is not a table in the configuration file"
                        )));
                    };
                    (t, key.to_ascii_lowercase())
                }
                [section, name, key]
                    if section.eq_ignore_ascii_case("collector")
                        && !name.is_empty()
                        && !key.is_empty() =>
                {
                    let collectors = table
                        .get_mut("collector")
                        .and_then(toml::Value::as_array_mut);
                    let mut names = Vec::new();
                    let mut found = None;
                    for c in collectors.into_iter().flatten() {
                        let Some(t) = c.as_table_mut() else { continue };
                        let n = t.get("name").and_then(toml::Value::as_str).unwrap_or("");
                        names.push(n.to_string());
                        if env_name(n) == *name {
                            found = Some(t);
                        }
                    }
                    let Some(t) = found else {
                        return Err(bad(format!(
                            "no [[collector]] is named {:?} (written {name} here); the configured collectors are {}",
                            name.to_ascii_lowercase().replace('_', "-"),
                            if names.is_empty() { "none".to_string() } else { names.join(", ") }
                        )));
                    };
                    let key = key.to_ascii_lowercase();
                    if key == "name" || key == "type" {
                        return Err(bad(format!(
                            "`{key}` identifies the collector and cannot be overridden"
                        )));
                    }
                    (t, key)
                }
                _ => {
                    return Err(bad(
                        "expected EVIDENCED_<SECTION>__<KEY> or EVIDENCED_COLLECTOR__<NAME>__<KEY>"
                            .into(),
                    ))
                }
            };
            match env_value(&key, &value) {
                Some(v) => {
                    t.insert(key, v);
                }
                None => {
                    t.remove(&key);
                }
            }
            overridden.push(var);
        }
        let mut config: Config = if overridden.is_empty() {
            toml::from_str(text).map_err(|e| located(file, text, &e))?
        } else {
            Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Env {
                var: overridden.join(", "),
                message: e.message().to_string(),
            })?
        };
        let from_env = |key: &str| {
            overridden
                .iter()
                .filter(|v| v.starts_with("EVIDENCED_AWS__"))
                .find(|v| v.eq_ignore_ascii_case(&format!("EVIDENCED_AWS__{key}")))
                .cloned()
        };
        collectors::resolve_accounts(&mut config.aws).map_err(|message| {
            match from_env("ACCOUNTS").or_else(|| from_env("ROLE_NAME")) {
                Some(var) => ConfigError::Env { var, message },
                None => ConfigError::Invalid {
                    file: file.to_string(),
                    line: text
                        .lines()
                        .position(|l| l.trim_start().starts_with("accounts"))
                        .map_or(1, |i| i + 1),
                    column: 1,
                    message: format!("[aws] accounts: {message}"),
                },
            }
        })?;
        if config.checkpoint.key_file.is_some() && config.checkpoint.key_pem_env.is_some() {
            return Err(ConfigError::Invalid {
                file: file.to_string(),
                line: 1,
                column: 1,
                message: "[checkpoint]: set key_file or key_pem_env, not both".into(),
            });
        }
        if config.checkpoint.require_signer && !config.checkpoint.signs() {
            return Err(ConfigError::Invalid {
                file: file.to_string(),
                line: text
                    .lines()
                    .position(|l| l.trim_start().starts_with("require_signer"))
                    .map_or(1, |i| i + 1),
                column: 1,
                message: "[checkpoint] require_signer: no signer is configured; set one of key_file, key_pem_env (EVIDENCED_CHECKPOINT__KEY_PEM_ENV) or kms_key_id (EVIDENCED_CHECKPOINT__KMS_KEY_ID)".into(),
            });
        }
        collectors::validate(&mut config.collectors, &config.aws.regions, file, text)?;
        Ok(config)
    }
}

/// The environment form of a collector name: upper case, `-` and `.` written `_`.
fn env_name(name: &str) -> String {
    name.to_ascii_uppercase().replace(['-', '.', ' '], "_")
}

/// An environment value for `key`: a comma-separated list for a list key; `None` (unset)
/// when empty; a boolean or integer when it reads as one (unless the key is always a
/// string); else a string.
fn env_value(key: &str, raw: &str) -> Option<toml::Value> {
    if LIST_KEYS.contains(&key) {
        let items = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| toml::Value::String(s.to_string()))
            .collect();
        return Some(toml::Value::Array(items));
    }
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    if STRING_KEYS.contains(&key) {
        return Some(toml::Value::String(raw.to_string()));
    }
    Some(match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => match raw.parse::<i64>() {
            Ok(i) => toml::Value::Integer(i),
            Err(_) => toml::Value::String(raw.to_string()),
        },
    })
}

fn located(file: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let (line, column) = match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            (line, column)
        }
        None => (1, 1),
    };
    ConfigError::Invalid {
        file: file.to_string(),
        line,
        column,
        message: e.message().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let text = "[store]\nurl = \"./x\"\nbogus_key = 1\n";
        let err = Config::parse("evidenced.toml", text, [])
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("evidenced.toml:3:1:"), "{err}");
        assert!(err.contains("bogus_key"), "{err}");
    }

    #[test]
    fn env_overrides_file_and_types_values() {
        let text = "[store]\nurl = \"./x\"\n";
        let env = [
            ("EVIDENCED_STORE__URL".to_string(), "s3://b/p".to_string()),
            (
                "EVIDENCED_STORE__FORCE_PATH_STYLE".to_string(),
                "true".to_string(),
            ),
            ("EVIDENCED_CONFIG".to_string(), "ignored".to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ];
        let c = Config::parse("f", text, env).unwrap();
        assert_eq!(c.store.url, "s3://b/p");
        assert!(c.store.force_path_style);
    }

    #[test]
    fn unknown_env_key_is_named() {
        let env = [("EVIDENCED_STORE__NOPE".to_string(), "1".to_string())];
        let err = Config::parse("f", "", env).unwrap_err().to_string();
        assert!(
            err.contains("EVIDENCED_STORE__NOPE") && err.contains("nope"),
            "{err}"
        );
    }

    #[test]
    fn defaults_to_local_evidence_directory() {
        assert_eq!(Config::parse("f", "", []).unwrap().store.url, "./evidence");
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_lists_are_comma_separated() {
        let c = Config::parse(
            "f",
            "",
            env(&[("EVIDENCED_AWS__REGIONS", "us-east-1, eu-west-1,,ap-south-1")]),
        )
        .unwrap();
        assert_eq!(c.aws.regions, ["us-east-1", "eu-west-1", "ap-south-1"]);
        let c = Config::parse("f", "", env(&[("EVIDENCED_AWS__ACCOUNTS", "")])).unwrap();
        assert!(c.aws.accounts.is_empty(), "empty: no member accounts");
    }

    #[test]
    fn env_accounts_take_the_role_name_and_external_id() {
        let c = Config::parse(
            "f",
            "[aws]\nregions = [\"eu-west-1\"]\n",
            env(&[
                ("EVIDENCED_AWS__ACCOUNTS", "111122223333,044455556666"),
                ("EVIDENCED_AWS__ROLE_NAME", "evidenced-member"),
                ("EVIDENCED_AWS__EXTERNAL_ID", "123456"),
            ]),
        )
        .unwrap();
        let arns: Vec<&str> = c.aws.accounts.iter().map(|a| a.role_arn.as_str()).collect();
        assert_eq!(
            arns,
            [
                "arn:aws:iam::111122223333:role/evidenced-member",
                "arn:aws:iam::044455556666:role/evidenced-member"
            ]
        );
        assert_eq!(c.aws.accounts[1].id.as_deref(), Some("044455556666"));
        // A numeric external id stays a string.
        assert!(c
            .aws
            .accounts
            .iter()
            .all(|a| a.external_id.as_deref() == Some("123456")));
        // Role ARNs are accepted as they are; the partition follows the first region.
        let c = Config::parse(
            "f",
            "",
            env(&[
                ("EVIDENCED_AWS__REGIONS", "cn-north-1"),
                (
                    "EVIDENCED_AWS__ACCOUNTS",
                    "arn:aws-cn:iam::111122223333:role/x,444455556666",
                ),
                ("EVIDENCED_AWS__ROLE_NAME", "reader"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.aws.accounts[0].role_arn,
            "arn:aws-cn:iam::111122223333:role/x"
        );
        assert_eq!(
            c.aws.accounts[1].role_arn,
            "arn:aws-cn:iam::444455556666:role/reader"
        );
        assert_eq!(c.aws.accounts[0].external_id, None);
    }

    #[test]
    fn env_account_errors_name_the_variable() {
        let err = Config::parse(
            "f",
            "",
            env(&[
                ("EVIDENCED_AWS__ACCOUNTS", "111122223333,12345"),
                ("EVIDENCED_AWS__ROLE_NAME", "r"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("EVIDENCED_AWS__ACCOUNTS") && err.contains("\"12345\" is not a 12-digit"),
            "{err}"
        );
        let err = Config::parse("f", "", env(&[("EVIDENCED_AWS__ACCOUNTS", "111122223333")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("EVIDENCED_AWS__ACCOUNTS") && err.contains("EVIDENCED_AWS__ROLE_NAME"),
            "{err}"
        );
        // In the file: the table form, an id with [aws] role_name, or an ARN.
        let text = "[aws]\nrole_name = \"m\"\nexternal_id = \"x\"\naccounts = [\"111122223333\", { id = \"444455556666\", role_arn = \"arn:aws:iam::444455556666:role/own\", external_id = \"y\" }]\n";
        let c = Config::parse("f", text, []).unwrap();
        assert_eq!(
            c.aws.accounts[0].role_arn,
            "arn:aws:iam::111122223333:role/m"
        );
        assert_eq!(c.aws.accounts[0].external_id.as_deref(), Some("x"));
        assert_eq!(c.aws.accounts[1].external_id.as_deref(), Some("y"));
        let err = Config::parse("f.toml", "[aws]\naccounts = [111122223333]\n", [])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("f.toml:2:") && err.contains("as strings"),
            "{err}"
        );
    }

    #[test]
    fn env_sets_collector_keys_by_name_and_empty_unsets() {
        let text = "[checkpoint]\nwitness = \"./w\"\n[[collector]]\ntype = \"inbox\"\nname = \"drop-box\"\nschedule = \"0 */5 * * * *\"\nurl = \"./inbox\"\n[[collector]]\ntype = \"s3\"\nname = \"posture\"\nschedule = \"0 0 * * * *\"\n";
        let c = Config::parse(
            "f",
            text,
            env(&[
                (
                    "EVIDENCED_COLLECTOR__DROP_BOX__URL",
                    "s3://inbox-bucket/inbox/",
                ),
                ("EVIDENCED_COLLECTOR__POSTURE__BUCKETS", "a,b"),
                ("EVIDENCED_CHECKPOINT__WITNESS", ""),
            ]),
        )
        .unwrap();
        match &c.collectors[0] {
            CollectorConfig::Inbox(i) => assert_eq!(i.url, "s3://inbox-bucket/inbox/"),
            other => panic!("{other:?}"),
        }
        match &c.collectors[1] {
            CollectorConfig::S3(o) => assert_eq!(o.buckets, ["a", "b"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.checkpoint.witness, None, "an empty value unsets the key");
        let err = Config::parse("f", text, env(&[("EVIDENCED_COLLECTOR__DRILLS__URL", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("EVIDENCED_COLLECTOR__DRILLS__URL")
                && err.contains("\"drills\"")
                && err.contains("drop-box, posture"),
            "{err}"
        );
        let err = Config::parse("f", text, env(&[("EVIDENCED_COLLECTOR__URL", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("EVIDENCED_COLLECTOR__<NAME>__<KEY>"), "{err}");
    }

    /// Every list-valued key of the example configuration splits at commas from the
    /// environment (the example documents every key).
    #[test]
    fn every_list_key_is_known() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/evidenced.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let mut lists = std::collections::BTreeSet::new();
        fn walk(t: &toml::Table, lists: &mut std::collections::BTreeSet<String>) {
            for (k, v) in t {
                match v {
                    toml::Value::Array(a)
                        if a.iter().all(|e| !e.is_table()) || k != "collector" =>
                    {
                        lists.insert(k.clone());
                    }
                    toml::Value::Array(a) => {
                        for e in a {
                            if let Some(t) = e.as_table() {
                                walk(t, lists);
                            }
                        }
                    }
                    toml::Value::Table(t) => walk(t, lists),
                    _ => {}
                }
            }
        }
        walk(&table, &mut lists);
        // `accounts` is commented out in the example (it needs real account ids).
        lists.insert("accounts".into());
        for k in &lists {
            assert!(
                LIST_KEYS.contains(&k.as_str()),
                "{k} is a list but not in LIST_KEYS"
            );
        }
        for k in LIST_KEYS {
            assert!(
                lists.contains(*k),
                "{k} in LIST_KEYS but not a list of the example"
            );
        }
    }
}
