//! A mock AWS endpoint for collection at scale, on 127.0.0.1: STS (`AssumeRole`,
//! `GetCallerIdentity`) and the AWS Backup job listings (`ListBackupJobs` in pages,
//! `ListCopyJobs`, `ListRestoreJobs`), in the services' wire formats, for any number of
//! accounts and regions.
//!
//! The account of a request is read from its access key id (`AssumeRole` hands out
//! `ASIA<account>`), its region and service from the SigV4 credential scope. Every
//! `throttle_every`-th request to AWS Backup is answered `400 ThrottlingException`, as
//! AWS Backup answers a caller over its rate.
//! Requests are counted per service, with the most in flight at once: a request is in
//! flight from when it has been read until its response is ready (so a client that holds
//! a permit from before sending until the response's head arrives can never be seen to
//! exceed its limit here). Each response takes `latency` to prepare, as a service would.
//!
//! Shared with `examples/bench_accounts.rs` (included there by path).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the mock serves.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Backup jobs per scope (account and region), in pages of `page` jobs.
    pub jobs: usize,
    pub page: usize,
    /// Every n-th request to AWS Backup is throttled (0: none).
    pub throttle_every: u64,
    pub latency: Duration,
}

/// Counts of one service.
#[derive(Debug, Default)]
pub struct ServiceCounts {
    pub requests: AtomicU64,
    pub throttled: AtomicU64,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

#[derive(Debug, Default)]
pub struct Counts {
    services: Mutex<HashMap<String, Arc<ServiceCounts>>>,
    operations: Mutex<HashMap<String, u64>>,
    all: AtomicU64,
}

impl Counts {
    pub fn service(&self, name: &str) -> Arc<ServiceCounts> {
        self.services
            .lock()
            .expect("counts")
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    /// Requests per operation (`sts:AssumeRole`, `backup:GET /backup-jobs`, ...), sorted.
    pub fn operations(&self) -> Vec<(String, u64)> {
        let mut ops: Vec<(String, u64)> = self
            .operations
            .lock()
            .expect("counts")
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        ops.sort();
        ops
    }

    fn count_operation(&self, req: &Request, service: &str) {
        let path = req.target.split('?').next().unwrap_or("");
        let op = match service {
            "sts" => req.form("Action").unwrap_or_default(),
            _ => format!("{} {path}", req.method),
        };
        *self
            .operations
            .lock()
            .expect("counts")
            .entry(format!("{service}:{op}"))
            .or_default() += 1;
    }
}

pub struct ScaleMock {
    pub endpoint: String,
    pub counts: Arc<Counts>,
}

impl ScaleMock {
    pub async fn start(shape: Shape) -> ScaleMock {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let c = c.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, shape, c).await;
                });
            }
        });
        ScaleMock {
            endpoint: format!("http://127.0.0.1:{port}"),
            counts,
        }
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// (access key id, region, service) of the SigV4 credential scope.
    fn scope(&self) -> (String, String, String) {
        let scope = self
            .header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split([',', ' ']).next())
            .unwrap_or("");
        let parts: Vec<&str> = scope.split('/').collect();
        let part = |i: usize| parts.get(i).copied().unwrap_or("").to_string();
        (part(0), part(2), part(3))
    }

    fn query(&self, key: &str) -> Option<String> {
        let q = self.target.split_once('?')?.1;
        q.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| v.to_string())
        })
    }

    fn form(&self, key: &str) -> Option<String> {
        let body = String::from_utf8_lossy(&self.body);
        body.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| v.replace("%3A", ":").replace("%2F", "/"))
        })
    }
}

async fn read_request(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).await?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}

struct Response {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

async fn serve(sock: TcpStream, shape: Shape, counts: Arc<Counts>) -> std::io::Result<()> {
    let mut r = BufReader::new(sock);
    while let Some(req) = read_request(&mut r).await? {
        let (_, _, service) = req.scope();
        let svc = counts.service(&service);
        counts.count_operation(&req, &service);
        let now = svc.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        svc.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let nth = svc.requests.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(shape.latency).await;
        let n = counts.all.fetch_add(1, Ordering::SeqCst) + 1;
        let throttle =
            service == "backup" && shape.throttle_every > 0 && nth % shape.throttle_every == 0;
        let resp = if throttle {
            svc.throttled.fetch_add(1, Ordering::SeqCst);
            throttled(&service)
        } else {
            respond(&req, &shape)
        };
        svc.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\nx-amzn-requestid: mock-{n}\r\n",
            resp.status,
            resp.content_type,
            resp.body.len()
        );
        for (k, v) in &resp.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let sock = r.get_mut();
        sock.write_all(head.as_bytes()).await?;
        sock.write_all(resp.body.as_bytes()).await?;
    }
    Ok(())
}

fn throttled(service: &str) -> Response {
    match service {
        "sts" => Response {
            status: 400,
            content_type: "text/xml",
            headers: Vec::new(),
            body: "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>".into(),
        },
        _ => Response {
            status: 400,
            content_type: "application/json",
            headers: vec![("x-amzn-errortype", "ThrottlingException".into())],
            body: r#"{"message":"Rate exceeded"}"#.into(),
        },
    }
}

fn xml(body: String) -> Response {
    Response {
        status: 200,
        content_type: "text/xml",
        headers: Vec::new(),
        body,
    }
}

fn json(body: serde_json::Value) -> Response {
    Response {
        status: 200,
        content_type: "application/json",
        headers: Vec::new(),
        body: body.to_string(),
    }
}

/// The account an access key id stands for: `ASIA<account>` as handed out by
/// `AssumeRole`; the base credentials are account 000000000000.
fn account_of(key: &str) -> String {
    key.strip_prefix("ASIA")
        .filter(|a| a.len() == 12)
        .unwrap_or("000000000000")
        .to_string()
}

fn respond(req: &Request, shape: &Shape) -> Response {
    let (key, region, service) = req.scope();
    let account = account_of(&key);
    let path = req
        .target
        .split('?')
        .next()
        .unwrap_or("")
        .trim_end_matches('/');
    match (service.as_str(), req.method.as_str(), path) {
        ("sts", _, _) => match req.form("Action").as_deref() {
            Some("AssumeRole") => {
                let role = req.form("RoleArn").unwrap_or_default();
                let acct = role.split(':').nth(4).unwrap_or("000000000000").to_string();
                xml(format!(
                    "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>ASIA{acct}</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAMOCK:evidenced</AssumedRoleId><Arn>arn:aws:sts::{acct}:assumed-role/evidenced-member/evidenced</Arn></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"
                ))
            }
            _ => xml(format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:sts::{account}:assumed-role/evidenced-member/evidenced</Arn><UserId>AROAMOCK:evidenced</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            )),
        },
        ("backup", "GET", "/backup-jobs") => {
            let page: usize = req
                .query("nextToken")
                .and_then(|t| t.strip_prefix('p').and_then(|n| n.parse().ok()))
                .unwrap_or(0);
            let first = page * shape.page;
            let last = (first + shape.page).min(shape.jobs);
            let jobs: Vec<serde_json::Value> = (first..last)
                .map(|n| backup_job(&account, &region, n))
                .collect();
            let mut body = serde_json::json!({ "BackupJobs": jobs });
            if last < shape.jobs {
                body["NextToken"] = serde_json::json!(format!("p{}", page + 1));
            }
            json(body)
        }
        ("backup", "GET", "/copy-jobs") => json(serde_json::json!({ "CopyJobs": [] })),
        ("backup", "GET", "/restore-jobs") => json(serde_json::json!({ "RestoreJobs": [] })),
        _ => Response {
            status: 404,
            content_type: "application/json",
            headers: vec![("x-amzn-errortype", "UnknownOperationException".into())],
            body: format!(r#"{{"message":"mock: no {} {path}"}}"#, req.method),
        },
    }
}

/// A backup job as ListBackupJobs returns it (the AWS API reference shape).
fn backup_job(account: &str, region: &str, n: usize) -> serde_json::Value {
    let t0 = 1_786_000_000 + n as i64 * 30;
    serde_json::json!({
        "BackupJobId": format!("{n:08X}-1A2B-4C3D-8E9F-{account}"),
        "AccountId": account,
        "BackupVaultName": "primary",
        "BackupVaultArn": format!("arn:aws:backup:{region}:{account}:backup-vault:primary"),
        "RecoveryPointArn": format!("arn:aws:ec2:{region}::snapshot/snap-{n:017x}"),
        "ResourceArn": format!("arn:aws:ec2:{region}:{account}:volume/vol-{n:017x}"),
        "CreationDate": t0,
        "CompletionDate": t0 + 900,
        "State": "COMPLETED",
        "PercentDone": "100.0",
        "BackupSizeInBytes": 8_589_934_592u64,
        "IamRoleArn": format!("arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole"),
        "CreatedBy": {"BackupPlanId": "8d2e6f1a-1111-2222-3333-444455556666", "BackupRuleId": "7f6e5d4c-aaaa-bbbb-cccc-ddddeeeeffff"},
        "ResourceType": "EBS",
        "IsParent": false,
        "ResourceName": format!("data-{n}"),
    })
}
