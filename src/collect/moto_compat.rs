//! Compatibility with the moto emulator (5.2.x), for tests and the demo only: enabled by
//! `[aws] moto_compat = true`, never against AWS.
//!
//! The current SDK is strict about two response forms that moto gets wrong; this wraps the
//! HTTP connector and rewrites them before the SDK parses them:
//! - S3 GetBucketVersioning: moto's root element is `GetBucketVersioningResponse`; AWS
//!   (and the SDK) use `VersioningConfiguration`;
//! - AWS Config JSON timestamps: moto writes `2026-01-01 10:00:00.123+00:00` (a space
//!   instead of `T`), which is not RFC 3339.
//!
//! Operations moto does not implement are not papered over: they fail, and the run is
//! recorded as partial, naming them.

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

/// Wrap `inner` so that every response goes through [`rewrite`].
pub fn wrap(inner: SharedHttpClient) -> SharedHttpClient {
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Compat(inner.http_connector(settings, components)))
    })
}

#[derive(Debug)]
struct Compat(SharedHttpConnector);

impl HttpConnector for Compat {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let fut = self.0.call(request);
        HttpConnectorFuture::new(async move {
            let mut resp = fut.await?;
            let body = resp.take_body();
            let bytes = ByteStream::new(body)
                .collect()
                .await
                .map_err(|e| ConnectorError::io(e.into()))?
                .into_bytes();
            let fixed = rewrite(&bytes);
            resp.headers_mut().remove("content-length");
            resp.headers_mut()
                .insert("content-length", fixed.len().to_string());
            *resp.body_mut() = SdkBody::from(fixed);
            Ok(resp)
        })
    }
}

/// Apply both rewrites; other bodies are returned unchanged.
pub fn rewrite(body: &[u8]) -> Vec<u8> {
    const WRONG: &[u8] = b"GetBucketVersioningResponse";
    const RIGHT: &[u8] = b"VersioningConfiguration";
    if find(body, WRONG).is_some() && body.len() < 4096 {
        return replace_all(body, WRONG, RIGHT);
    }
    if body.first() == Some(&b'{') {
        return fix_json_timestamps(body);
    }
    body.to_vec()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// `"dddd-dd-dd dd:dd:dd` → `"dddd-dd-ddTdd:dd:dd` (only at the start of a JSON string).
fn fix_json_timestamps(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    let shape = b"\"0000-00-00 00:00:00";
    let mut i = 0;
    while i + shape.len() <= out.len() {
        let w = &out[i..i + shape.len()];
        let matches = w.iter().zip(shape).all(|(c, s)| match s {
            b'0' => c.is_ascii_digit(),
            _ => c == s,
        });
        if matches {
            out[i + 11] = b'T';
            i += shape.len();
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_versioning_root_and_config_timestamps() {
        let xml = b"<?xml version=\"1.0\"?><GetBucketVersioningResponse xmlns=\"x\"><Status>Enabled</Status></GetBucketVersioningResponse>";
        assert_eq!(
            rewrite(xml),
            b"<?xml version=\"1.0\"?><VersioningConfiguration xmlns=\"x\"><Status>Enabled</Status></VersioningConfiguration>".to_vec()
        );
        let json = br#"{"t": "2026-11-23 17:03:20.806122+00:00", "s": "a b"}"#;
        assert_eq!(
            rewrite(json),
            br#"{"t": "2026-11-23T17:03:20.806122+00:00", "s": "a b"}"#.to_vec()
        );
        assert_eq!(rewrite(b"<x/>"), b"<x/>".to_vec());
    }
}
