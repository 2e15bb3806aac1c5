//! Configuration: a TOML file (`deny_unknown_fields` everywhere) overlaid by environment
//! variables `EVIDENCED_<SECTION>__<KEY>` (e.g. `EVIDENCED_STORE__URL`), overlaid by
//! command-line flags. `config/evidenced.example.toml` documents every key and is parsed by
//! a test so it never rots.

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
}

/// `[checkpoint]`: signing a checkpoint after each committed run.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// Ed25519 signing key (PKCS#8 PEM, from `evidenced keygen`). Unset: no checkpoints.
    #[serde(default)]
    pub key_file: Option<std::path::PathBuf>,
    /// An asymmetric AWS KMS key (id, ARN or alias) that signs checkpoints instead of a key
    /// file: `ECC_NIST_P256` (ECDSA) or `ECC_NIST_EDWARDS25519`. The private key never
    /// leaves KMS.
    #[serde(default)]
    pub kms_key_id: Option<String>,
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
}

impl CheckpointConfig {
    /// True when checkpoints are signed (a key file or a KMS key is configured).
    pub fn signs(&self) -> bool {
        self.key_file.is_some() || self.kms_key_id.is_some()
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
        for (var, value) in env {
            let Some(rest) = var.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let Some((section, key)) = rest.split_once("__") else {
                continue;
            };
            if section.is_empty() || key.is_empty() || key.contains("__") {
                return Err(ConfigError::Env {
                    var,
                    message: "expected EVIDENCED_<SECTION>__<KEY>".into(),
                });
            }
            let section = section.to_ascii_lowercase();
            let key = key.to_ascii_lowercase();
            let entry = table
                .entry(section.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(t) = entry.as_table_mut() else {
                return Err(ConfigError::Env {
                    var,
                    message: format!("[{section}] is not a table in the configuration file"),
                });
            };
            t.insert(key, env_value(&value));
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
        collectors::validate(&mut config.collectors, &config.aws.regions, file, text)?;
        Ok(config)
    }
}

/// An environment value: a boolean or integer when it reads as one, else a string.
fn env_value(raw: &str) -> toml::Value {
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => match raw.parse::<i64>() {
            Ok(i) => toml::Value::Integer(i),
            Err(_) => toml::Value::String(raw.to_string()),
        },
    }
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
}
