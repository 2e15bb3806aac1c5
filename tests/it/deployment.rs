//! The shipped deployment: the image's configuration (deploy/evidenced.toml) with exactly the
//! container environment that deploy/service.yaml gives the task, read from the template,
//! against moto. `evidenced run` must commit a record of every collector, pass
//! `evidenced healthcheck`, and stop cleanly on SIGTERM within the task's stop timeout.
//!
//! The template is read with PyYAML from the test venv (CloudFormation's short-form tags
//! become `{"Ref": ..}` / `{"Fn::Sub": ..}`), and its intrinsic functions are evaluated here
//! with test values for the parameters and the bucket stack's exports. An intrinsic this
//! evaluator does not know fails the test rather than being skipped.
//!
//! What differs from ECS, on purpose, and nothing else: the configuration path (the image's
//! /etc/evidenced is the repository's deploy/), the task's writable volume
//! (/var/lib/evidenced is a temporary directory), the task role (moto's test credentials)
//! and the endpoints (moto).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support;

const MEMBER_ACCOUNT: &str = "111111111111";

/// deploy/service.yaml as JSON.
fn template() -> Value {
    let script = r#"
import json, sys, yaml
class Loader(yaml.SafeLoader):
    pass
def tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}
Loader.add_multi_constructor("!", tagged)
json.dump(yaml.load(open(sys.argv[1]), Loader=Loader), sys.stdout)
"#;
    let out = Command::new(support::python())
        .args(["-c", script])
        .arg(support::root().join("deploy/service.yaml"))
        .output()
        .expect("run the test venv's python (bash scripts/setup.sh installs it)");
    assert!(out.status.success(), "{}", support::stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Evaluates CloudFormation intrinsics with test values.
struct Cfn<'a> {
    template: &'a Value,
    params: HashMap<String, String>,
    imports: HashMap<String, String>,
}

impl Cfn<'_> {
    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Region" => "us-east-1".into(),
            "AWS::AccountId" => "123456789012".into(),
            "AWS::Partition" => "aws".into(),
            "AWS::StackName" => "evidenced".into(),
            // A resource's physical id: a stand-in (the tests compare parameters).
            _ if self.template["Resources"].get(name).is_some() => format!("<{name}>"),
            _ => self
                .params
                .get(name)
                .cloned()
                .unwrap_or_else(|| panic!("!Ref {name}: no test value for this parameter")),
        }
    }

    fn condition(&self, name: &str) -> bool {
        let c = &self.template["Conditions"][name];
        assert!(!c.is_null(), "condition {name} is not defined");
        self.truth(c)
    }

    fn truth(&self, v: &Value) -> bool {
        let Some((f, arg)) = v.as_object().and_then(|o| o.iter().next()) else {
            panic!("not a condition: {v}");
        };
        match f.as_str() {
            "Fn::Equals" => self.eval(&arg[0]) == self.eval(&arg[1]),
            "Fn::Not" => !self.truth(&arg[0]),
            "Fn::And" => arg.as_array().unwrap().iter().all(|c| self.truth(c)),
            "Fn::Or" => arg.as_array().unwrap().iter().any(|c| self.truth(c)),
            "Condition" => self.condition(arg.as_str().unwrap()),
            other => panic!("condition function {other} not supported by the test"),
        }
    }

    fn sub(&self, text: &str, vars: &serde_json::Map<String, Value>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find('}').expect("unclosed ${ in !Sub") + i;
            let name = &rest[i + 2..end];
            out.push_str(&match vars.get(name) {
                Some(v) => self.eval(v),
                None => self.reference(name),
            });
            rest = &rest[end + 1..];
        }
        out + rest
    }

    fn eval(&self, v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Object(o) if o.len() == 1 => {
                let (f, arg) = o.iter().next().unwrap();
                match f.as_str() {
                    "Ref" => self.reference(arg.as_str().unwrap()),
                    "Fn::Sub" => match arg {
                        Value::String(t) => self.sub(t, &serde_json::Map::new()),
                        Value::Array(a) => {
                            self.sub(a[0].as_str().unwrap(), a[1].as_object().unwrap())
                        }
                        _ => panic!("!Sub {arg}"),
                    },
                    "Fn::GetAtt" => format!("<{}.{}>", self.eval(&arg[0]), self.eval(&arg[1])),
                    "Fn::ImportValue" => {
                        let name = self.eval(arg);
                        self.imports
                            .get(&name)
                            .cloned()
                            .unwrap_or_else(|| panic!("!ImportValue {name}: no test export"))
                    }
                    "Fn::If" => {
                        let a = arg.as_array().unwrap();
                        if self.condition(a[0].as_str().unwrap()) {
                            self.eval(&a[1])
                        } else {
                            self.eval(&a[2])
                        }
                    }
                    "Fn::Join" => {
                        let a = arg.as_array().unwrap();
                        let items: Vec<String> = a[1]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|i| self.eval(i))
                            .collect();
                        items.join(a[0].as_str().unwrap())
                    }
                    other => panic!("intrinsic {other} not supported by the test: {v}"),
                }
            }
            other => panic!("cannot evaluate {other}"),
        }
    }
}

impl Cfn<'_> {
    /// A property as CloudFormation would pass it on: `Fn::If` takes its branch,
    /// `AWS::NoValue` removes the item or key (None at the top), scalars are evaluated.
    fn resolve(&self, v: &Value) -> Option<Value> {
        match v {
            Value::Object(o) if o.len() == 1 => {
                let (f, arg) = o.iter().next().unwrap();
                match f.as_str() {
                    "Ref" if arg == "AWS::NoValue" => None,
                    "Fn::If" => {
                        let a = arg.as_array().unwrap();
                        let branch = if self.condition(a[0].as_str().unwrap()) {
                            &a[1]
                        } else {
                            &a[2]
                        };
                        self.resolve(branch)
                    }
                    f if f == "Ref" || f.starts_with("Fn::") => Some(Value::String(self.eval(v))),
                    _ => Some(Value::Object(
                        o.iter()
                            .filter_map(|(k, v)| self.resolve(v).map(|v| (k.clone(), v)))
                            .collect(),
                    )),
                }
            }
            Value::Object(o) => Some(Value::Object(
                o.iter()
                    .filter_map(|(k, v)| self.resolve(v).map(|v| (k.clone(), v)))
                    .collect(),
            )),
            Value::Array(a) => Some(Value::Array(
                a.iter().filter_map(|v| self.resolve(v)).collect(),
            )),
            other => Some(other.clone()),
        }
    }

    /// Whether every assertion of the template's Rules holds for these parameters.
    fn rules_hold(&self) -> bool {
        let Some(rules) = self.template["Rules"].as_object() else {
            return true;
        };
        rules.values().all(|r| {
            r["Assertions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| self.truth(&a["Assert"]))
        })
    }

    /// The container's environment, name to value.
    fn environment(&self, c: &Value) -> BTreeMap<String, String> {
        c["Environment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["Name"].as_str().unwrap().to_string(),
                    self.eval(&e["Value"]),
                )
            })
            .collect()
    }

    /// The Sids of a role's inline policy statements, as deployed.
    fn sids(&self, role: &str) -> Vec<String> {
        let policies = self
            .resolve(&self.template["Resources"][role]["Properties"]["Policies"])
            .unwrap();
        policies
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
            .filter_map(|s| s["Sid"].as_str().map(String::from))
            .collect()
    }
}

/// Parameter values: the template's defaults, then `set`.
fn parameters(t: &Value, set: &[(&str, &str)]) -> HashMap<String, String> {
    let mut params: HashMap<String, String> = HashMap::new();
    for (name, spec) in t["Parameters"].as_object().unwrap() {
        if let Some(d) = spec.get("Default") {
            params.insert(name.clone(), d.as_str().map_or(d.to_string(), String::from));
        }
    }
    for (k, v) in set {
        params.insert((*k).into(), (*v).into());
    }
    params
}

const KMS_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_SECRET: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:evidenced-checkpoint-AbCdEf";

/// The stack takes exactly one checkpoint signer and wires it, with only its own
/// permissions; the image's configuration refuses to start with none.
#[test]
fn the_stack_takes_exactly_one_checkpoint_signer_and_the_image_refuses_to_start_without_one() {
    let t = template();
    let c = container(&t);
    let imports: HashMap<String, String> = [
        "BucketName",
        "EvidencePrefix",
        "InboxBucketName",
        "InboxPrefix",
        "BucketArn",
        "InboxBucketArn",
        "KeyArn",
        "TaskRoleName",
    ]
    .iter()
    .map(|k| {
        (
            format!("evidenced-bucket-{k}"),
            format!("test-{}", k.to_lowercase()),
        )
    })
    .collect();
    let cfn = |set: &[(&str, &str)]| Cfn {
        template: &t,
        params: parameters(&t, set),
        imports: imports.clone(),
    };
    let image_config = support::root().join("deploy/evidenced.toml");
    let load = |env: &BTreeMap<String, String>| {
        let mut env: Vec<(String, String)> = env.clone().into_iter().collect();
        env.push((
            "EVIDENCED_STORE__URL".into(),
            "s3://test-bucket/evidence".into(),
        ));
        evidenced::config::Config::load(Some(&image_config), env)
    };

    assert!(
        !cfn(&[]).rules_hold(),
        "a stack without a signer is refused"
    );
    assert!(
        !cfn(&[
            ("CheckpointKmsKeyArn", KMS_KEY),
            ("CheckpointKeySecretArn", KEY_SECRET)
        ])
        .rules_hold(),
        "a stack with two signers is refused"
    );

    // A KMS key: the daemon signs with it, with kms:Sign and kms:GetPublicKey on it alone,
    // and no secret is handed to the container.
    let kms = cfn(&[("CheckpointKmsKeyArn", KMS_KEY)]);
    assert!(kms.rules_hold());
    let env = kms.environment(c);
    assert_eq!(env["EVIDENCED_CHECKPOINT__KMS_KEY_ID"], KMS_KEY);
    assert_eq!(kms.resolve(&c["Secrets"]), None, "no secret with a KMS key");
    let config = load(&env).unwrap();
    assert_eq!(config.checkpoint.kms_key_id.as_deref(), Some(KMS_KEY));
    assert_eq!(config.checkpoint.key_pem_env, None);
    let task = kms.sids("TaskRole");
    assert!(task.contains(&"SignCheckpoints".to_string()), "{task:?}");
    assert!(
        task.contains(&"ReadCheckpointPublicKey".to_string()),
        "{task:?}"
    );
    assert!(!kms
        .sids("ExecutionRole")
        .contains(&"ReadCheckpointKeySecret".to_string()));
    let policies = kms
        .resolve(&t["Resources"]["TaskRole"]["Properties"]["Policies"])
        .unwrap();
    let sign = policies
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
        .find(|s| s["Sid"] == "SignCheckpoints")
        .unwrap();
    assert_eq!(sign["Action"], "kms:Sign");
    assert_eq!(sign["Resource"], KMS_KEY);
    assert_eq!(sign["Condition"]["StringEquals"]["kms:MessageType"], "RAW");

    // A key in Secrets Manager: handed over as a secret variable that the configuration
    // names; no KMS permission.
    let secret = cfn(&[("CheckpointKeySecretArn", KEY_SECRET)]);
    assert!(secret.rules_hold());
    let mut env = secret.environment(c);
    assert_eq!(env["EVIDENCED_CHECKPOINT__KMS_KEY_ID"], "");
    let secrets = secret.resolve(&c["Secrets"]).expect("the key secret");
    assert_eq!(secrets[0]["ValueFrom"], KEY_SECRET);
    let var = secrets[0]["Name"].as_str().unwrap();
    assert_eq!(env["EVIDENCED_CHECKPOINT__KEY_PEM_ENV"], var);
    env.insert(var.into(), "-----BEGIN PRIVATE KEY-----".into());
    let config = load(&env).unwrap();
    assert_eq!(config.checkpoint.key_pem_env.as_deref(), Some(var));
    assert_eq!(config.checkpoint.kms_key_id, None);
    assert!(secret
        .sids("ExecutionRole")
        .contains(&"ReadCheckpointKeySecret".to_string()));
    assert!(!secret
        .sids("TaskRole")
        .iter()
        .any(|s| s.contains("Checkpoint")));

    // The image without either (the stack's rule bypassed): a configuration error that
    // names the key, not a daemon writing unsigned evidence.
    let none = cfn(&[]);
    let err = load(&none.environment(c)).unwrap_err().to_string();
    assert!(err.contains("require_signer"), "{err}");
    assert!(err.contains("deploy/evidenced.toml"), "{err}");
}

/// The container definition of the task.
fn container(t: &Value) -> &Value {
    let defs = &t["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"];
    assert_eq!(defs.as_array().map(Vec::len), Some(1), "one container");
    &defs[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_deployment_collects_everything_stays_healthy_and_stops_cleanly() {
    let moto = support::moto();
    let t = template();
    let c = container(&t);

    // The stacks' resources, in moto.
    let s3 = support::s3_client().await;
    let evidence = support::lock_bucket("deploy-evidence").await;
    let inbox = format!("deploy-inbox-{:08x}", rand::random::<u32>());
    let witness = format!("deploy-witness-{:08x}", rand::random::<u32>());
    for b in [&inbox, &witness] {
        s3.create_bucket().bucket(b).send().await.unwrap();
    }
    let drill = crate::store_local::restore_test("deploy-drill-1");
    s3.put_object()
        .bucket(&inbox)
        .key("inbox/deploy-drill-1.toml")
        .body(drill.into_bytes().into())
        .send()
        .await
        .unwrap();

    // Test values for the parameters the environment refers to; defaults otherwise. The
    // signer is the key secret (moto has no KMS signing with the key's own algorithm here).
    let params = parameters(
        &t,
        &[
            ("Regions", "us-east-1,eu-west-2"),
            ("MemberAccountIds", MEMBER_ACCOUNT),
            ("MemberExternalId", "deploy-test-external-id"),
            ("WitnessBucket", witness.as_str()),
            ("CheckpointKeySecretArn", KEY_SECRET),
        ],
    );
    let stack = params["BucketStackName"].clone();
    let imports: HashMap<String, String> = [
        ("BucketName", evidence.as_str()),
        ("EvidencePrefix", "evidence"),
        ("InboxBucketName", inbox.as_str()),
        ("InboxPrefix", "inbox"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{stack}-{k}"), v.to_string()))
    .collect();
    let cfn = Cfn {
        template: &t,
        params,
        imports,
    };

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let state_s = state.to_str().unwrap();
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    for e in c["Environment"].as_array().unwrap() {
        let name = e["Name"].as_str().unwrap().to_string();
        let value = cfn.eval(&e["Value"]);
        env.insert(name, value.replace("/var/lib/evidenced", state_s));
    }
    assert_eq!(
        env.get("EVIDENCED_CONFIG").map(String::as_str),
        Some("/etc/evidenced/evidenced.toml"),
        "the Dockerfile copies deploy/evidenced.toml there"
    );
    env.insert(
        "EVIDENCED_CONFIG".into(),
        support::root()
            .join("deploy/evidenced.toml")
            .display()
            .to_string(),
    );
    // The secrets ECS injects, by the parameter they come from.
    let key_file = dir.path().join("checkpoint.pem");
    support::ok(support::run(&["keygen", key_file.to_str().unwrap()]));
    let pem = std::fs::read_to_string(&key_file).unwrap();
    let secrets = cfn.resolve(&c["Secrets"]).expect("the task has secrets");
    for s in secrets.as_array().unwrap() {
        assert_eq!(s["ValueFrom"], KEY_SECRET, "a secret from the parameter");
        env.insert(s["Name"].as_str().unwrap().into(), pem.clone());
    }
    // The harness: moto for AWS, the task's writable volume for the health file.
    let harness: Vec<(&str, String)> = vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("EVIDENCED_AWS__ENDPOINT_URL", moto.endpoint.clone()),
        ("EVIDENCED_AWS__FORCE_PATH_STYLE", "true".into()),
        ("EVIDENCED_AWS__MOTO_COMPAT", "true".into()),
        ("EVIDENCED_STORE__ENDPOINT_URL", moto.endpoint.clone()),
        ("EVIDENCED_STORE__FORCE_PATH_STYLE", "true".into()),
        (
            "EVIDENCED_DAEMON__HEALTH_FILE",
            state.join("health.json").display().to_string(),
        ),
    ];
    for (k, _) in &harness {
        assert!(
            !env.contains_key(*k),
            "the template sets {k}; the harness would hide it"
        );
    }
    let command = |args: &[&str]| {
        let mut cmd = Command::new(support::bin());
        cmd.args(args).env_clear();
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        cmd.envs(&env).envs(harness.iter().map(|(k, v)| (*k, v)));
        cmd
    };

    // The collectors of the image's configuration.
    let config: toml::Table = toml::from_str(
        &std::fs::read_to_string(support::root().join("deploy/evidenced.toml")).unwrap(),
    )
    .unwrap();
    let collectors: Vec<String> = config["collector"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let kinds: Vec<&str> = config["collector"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    for kind in ["backup", "config", "cloudwatch", "s3", "inbox"] {
        assert!(
            kinds.contains(&kind),
            "no {kind} collector in deploy/evidenced.toml"
        );
    }

    let mut child = command(&["run"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    // Wait (on the log, with a bounded deadline) until every collector has committed.
    let mut lines: Vec<String> = Vec::new();
    let mut done: BTreeMap<String, Value> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(180);
    let lines = tokio::task::spawn_blocking(move || {
        while done.len() < collectors.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "not every collector committed (done: {:?}); log:\n{}",
                    done.keys(),
                    lines.join("\n")
                )
            });
            lines.push(line.clone());
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                panic!("a log line that is not JSON: {line}");
            };
            if v["message"] == "Run finished." {
                let name = v["collector"].as_str().unwrap_or("").to_string();
                assert!(
                    v["records"].as_u64().unwrap_or(0) >= 1,
                    "{name} committed nothing: {line}"
                );
                done.insert(name, v);
            }
        }
        (lines, rx)
    })
    .await
    .unwrap();
    let (mut lines, rx) = lines;

    // Healthy, with the environment the container has.
    let hc = command(&["healthcheck"]).output().unwrap();
    assert_eq!(
        hc.status.code(),
        Some(0),
        "{}{}",
        support::stdout(&hc),
        support::stderr(&hc)
    );

    // SIGTERM: exit 0 within the task's stop timeout.
    let stop = Duration::from_secs(c["StopTimeout"].as_u64().expect("StopTimeout"));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (done_tx, done_rx) = channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait().unwrap());
    });
    let status = done_rx
        .recv_timeout(stop)
        .expect("the daemon did not stop within the task's StopTimeout");
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(2)) {
        lines.push(l);
    }
    assert_eq!(status.code(), Some(0), "{}", lines.join("\n"));
    assert!(lines.iter().any(|l| l.contains("Daemon stopped.")));

    check_logs(&lines, &pem);
    check_store(&evidence, &inbox, &witness).await;
    let _ = Path::new(state_s);
}

/// Log lines a log system can query: JSON, typed, a run id and the version on run lines,
/// no Debug strings, no third-party noise, no secret.
fn check_logs(lines: &[String], pem: &str) {
    let secret_line = pem
        .lines()
        .find(|l| l.len() > 20 && !l.starts_with("-----"))
        .unwrap();
    let mut run_lines = 0;
    for l in lines {
        assert!(!l.contains(secret_line), "the signing key was logged: {l}");
        let v: Value = serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}"));
        for noise in ["Uninited", "Job creator created"] {
            assert!(!l.contains(noise), "scheduler noise: {l}");
        }
        let target = v["target"].as_str().unwrap_or("");
        if v["level"] == "INFO" {
            assert!(target.starts_with("evidenced"), "third-party info: {l}");
        }
        for (k, f) in v.as_object().unwrap() {
            if let Some(s) = f.as_str() {
                assert!(
                    !s.starts_with("Some(") && s != "None",
                    "field {k} holds a Debug string: {l}"
                );
            }
        }
        if v["message"] == "Run finished." {
            assert!(v["records"].is_u64() && v["duration_ms"].is_u64(), "{l}");
            assert!(v.get("error").is_none(), "absent error logged: {l}");
        }
        if let Some(span) = v.get("span").filter(|s| s["name"] == "run") {
            run_lines += 1;
            assert!(
                span["run_id"].as_str().is_some_and(|r| r.len() == 16),
                "{l}"
            );
            assert_eq!(span["version"], env!("CARGO_PKG_VERSION"), "{l}");
        }
        if v["message"] == "Run recorded." {
            assert!(v["seq"].is_u64() && v["items"].is_u64(), "{l}");
            assert!(
                v["span"]["run_id"].is_string(),
                "a run's line without its run id: {l}"
            );
        }
    }
    assert!(run_lines >= 5, "only {run_lines} lines in a run span");
}

/// Every collector committed, in both regions and in the member account; the inbox file
/// was taken; each commit was checkpointed, in the store and at the witness.
async fn check_store(evidence: &str, inbox: &str, witness: &str) {
    let s3 = support::s3_client().await;
    let store = evidenced::chain::EvidenceStore::new(evidenced::store::S3Store::new(
        s3.clone(),
        evidence,
        "evidence",
    ));
    let records = store.records().await.unwrap();
    let mut by: BTreeMap<&str, Vec<&evidenced::record::Record>> = BTreeMap::new();
    for r in &records {
        by.entry(r.record.collector.as_str())
            .or_default()
            .push(&r.record);
    }
    for name in ["backup", "config", "alarms", "evidence-bucket", "drills"] {
        assert!(
            by.contains_key(name),
            "no record of {name}: {:?}",
            by.keys()
        );
    }
    let regions: std::collections::BTreeSet<&str> = by["backup"]
        .iter()
        .filter_map(|r| r.scope.region.as_deref())
        .collect();
    assert_eq!(
        regions.into_iter().collect::<Vec<_>>(),
        ["eu-west-2", "us-east-1"],
        "EVIDENCED_AWS__REGIONS"
    );
    for r in &by["backup"] {
        assert_eq!(
            r.scope.account.as_deref(),
            Some(MEMBER_ACCOUNT),
            "EVIDENCED_AWS__ACCOUNTS: {:?}",
            r.scope
        );
    }
    let drilled = records.iter().any(|r| {
        r.record
            .items
            .iter()
            .any(|i| i.name == "record/restore-test/deploy-drill-1.json")
    });
    assert!(drilled, "the inbox file was not committed");
    let left = s3
        .list_objects_v2()
        .bucket(inbox)
        .prefix("inbox/")
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count(), Some(0), "{left:?}");
    for (bucket, prefix) in [
        (evidence, "evidence/chain/checkpoints/"),
        (witness, "witness/"),
    ] {
        let listed = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        assert!(
            listed.key_count().unwrap_or(0) >= 1,
            "no checkpoint under s3://{bucket}/{prefix}"
        );
    }
}
