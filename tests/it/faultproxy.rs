//! A fault-injecting HTTP proxy between evidenced and the moto server, on 127.0.0.1.
//!
//! One request per client connection (responses carry `Connection: close`). For each
//! request the proxy draws a fault from a seeded plan: pass it through, answer 500 or
//! 503 SlowDown, reset the connection, stall past the client's timeout, or forward it (so
//! the server applies the write) and then reset the connection instead of answering.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Pass,
    Status500,
    SlowDown503,
    Reset,
    Stall,
    DropAfterApply,
}

/// What the proxy did, for the test's report.
#[derive(Debug, Default)]
pub struct Counts {
    pub requests: AtomicU64,
    pub injected: AtomicU64,
    pub dropped_after_apply: AtomicU64,
}

pub struct FaultProxy {
    pub endpoint: String,
    pub counts: Arc<Counts>,
}

impl FaultProxy {
    /// Start on an OS-chosen port; `fault_rate` of requests get a fault, chosen evenly.
    pub async fn start(upstream: &str, seed: u64, fault_rate: f64, stall: Duration) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("upstream address");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let rng = Arc::new(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)));
        let counts = Arc::new(Counts::default());
        let c = Arc::clone(&counts);
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let fault = {
                    let mut r = rng.lock().unwrap();
                    if r.gen_bool(fault_rate) {
                        [
                            Fault::Status500,
                            Fault::SlowDown503,
                            Fault::Reset,
                            Fault::Stall,
                            Fault::DropAfterApply,
                        ][r.gen_range(0..5)]
                    } else {
                        Fault::Pass
                    }
                };
                let c = Arc::clone(&c);
                tokio::spawn(async move {
                    let _ = handle(sock, upstream, fault, stall, &c).await;
                });
            }
        });
        FaultProxy {
            endpoint: format!("http://127.0.0.1:{port}"),
            counts,
        }
    }
}

/// Read one request: head and body (Content-Length or chunked).
async fn read_request(sock: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    if head.contains("expect: 100-continue") {
        sock.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    if let Some(len) = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        while buf.len() < head_end + len {
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                return Ok(None);
            }
            buf.extend_from_slice(&tmp[..n]);
        }
    } else if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while find(&buf[head_end..], b"0\r\n\r\n").is_none() {
            let n = sock.read(&mut tmp).await?;
            if n == 0 {
                return Ok(None);
            }
            buf.extend_from_slice(&tmp[..n]);
        }
    }
    Ok(Some(buf))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Rewrite the request so the upstream closes after answering, and drop `Expect`.
fn close_after(request: &[u8]) -> Vec<u8> {
    let end = find(request, b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(request.len());
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("expect:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&request[end..]);
    bytes
}

async fn forward(upstream: SocketAddr, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(&close_after(request)).await?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).await?;
    Ok(resp)
}

fn error_response(status: &str, code: &str) -> Vec<u8> {
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message><RequestId>FAULT</RequestId></Error>");
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn handle(
    mut sock: TcpStream,
    upstream: SocketAddr,
    fault: Fault,
    stall: Duration,
    counts: &Counts,
) -> std::io::Result<()> {
    let Some(request) = read_request(&mut sock).await? else {
        return Ok(());
    };
    counts.requests.fetch_add(1, Ordering::SeqCst);
    if fault != Fault::Pass {
        counts.injected.fetch_add(1, Ordering::SeqCst);
    }
    match fault {
        Fault::Pass => {
            let resp = forward(upstream, &request).await?;
            sock.write_all(&resp).await?;
        }
        Fault::Status500 => {
            sock.write_all(&error_response(
                "500 Internal Server Error",
                "InternalError",
            ))
            .await?
        }
        Fault::SlowDown503 => {
            sock.write_all(&error_response("503 Slow Down", "SlowDown"))
                .await?
        }
        Fault::Reset => {
            sock.set_zero_linger()?;
        }
        Fault::Stall => {
            // Longer than the client's attempt timeout: the client gives up first.
            tokio::time::sleep(stall).await;
        }
        Fault::DropAfterApply => {
            let _ = forward(upstream, &request).await?;
            counts.dropped_after_apply.fetch_add(1, Ordering::SeqCst);
            sock.set_zero_linger()?;
        }
    }
    sock.shutdown().await.ok();
    Ok(())
}
