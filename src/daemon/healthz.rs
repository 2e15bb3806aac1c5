//! Optional `GET /healthz` over plain HTTP/1.1, for load balancers and sidecars. The
//! answer is the same verdict as `evidenced healthcheck`: 200 when healthy, 503 otherwise.

use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::health::HealthState;

/// Bind `0.0.0.0:port` and answer health requests in the background.
pub async fn serve(port: u16, health_file: PathBuf) -> std::io::Result<u16> {
    let listener = TcpListener::bind(("0.0.0.0", port)).await?;
    let bound = listener.local_addr()?.port();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            let file = health_file.clone();
            tokio::spawn(async move {
                // Read the request head (a request line split across reads is common
                // under load); 4 KiB is plenty for a health probe.
                let mut buf = Vec::with_capacity(1024);
                let mut chunk = [0u8; 1024];
                while buf.len() < 4096 && !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let req = String::from_utf8_lossy(&buf);
                let (status, body) = if req.starts_with("GET /healthz ") {
                    match HealthState::read(&file)
                        .map_err(|e| e.to_string())
                        .and_then(|s| s.judge(time::OffsetDateTime::now_utc()))
                    {
                        Ok(m) => ("200 OK", m),
                        Err(m) => ("503 Service Unavailable", m),
                    }
                } else {
                    ("404 Not Found", "not found".to_string())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    Ok(bound)
}
