//! Third-party time for checkpoints: an RFC 3161 time-stamp token over the SHA-256 of each
//! checkpoint file's bytes, requested from a Time-Stamping Authority over HTTP(S)
//! (`application/timestamp-query`, with a nonce and certReq) and kept beside the checkpoint
//! as `chain/checkpoints/<seq>.tst`: the DER TimeStampToken (a CMS ContentInfo), the form
//! `openssl ts -verify -token_in` reads.
//!
//! A TSA that is down, slow or refusing never stops collection: [`stamp_pending`] is
//! called after each committed run and requests tokens for the newest few checkpoints that
//! lack one, stopping at the first failure, so a gap is filled by a later run. Tokens are
//! checked by [`super::tsa_verify`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

use super::tsa_verify::{self, ID_SHA256};
use super::{checkpoint_key, parse_checkpoint_key, CHECKPOINTS_PREFIX};
use crate::store::{ObjectStore, StoreError};

/// Suffix of a time-stamp token beside its checkpoint.
pub const TOKEN_SUFFIX: &str = ".tst";
/// Largest TSA response accepted.
const MAX_RESPONSE: usize = 1 << 20;
/// Checkpoints lacking a token that one committed run tries, newest first.
pub const PER_RUN: usize = 5;
/// Default bound on one request, connection included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Key of the token of checkpoint `seq`.
pub fn token_key(seq: u64) -> String {
    format!("{CHECKPOINTS_PREFIX}{seq:020}{TOKEN_SUFFIX}")
}

/// Sequence number from a token key.
pub fn parse_token_key(key: &str) -> Option<u64> {
    let n = key
        .strip_prefix(CHECKPOINTS_PREFIX)?
        .strip_suffix(TOKEN_SUFFIX)?;
    (n.len() == 20 && n.bytes().all(|b| b.is_ascii_digit())).then(|| n.parse().ok())?
}

/// The keys under `chain/checkpoints/` other than time-stamp tokens: the checkpoints (and
/// anything else misplaced there, which `verify` names).
pub async fn list_checkpoints<S: ObjectStore>(store: &S) -> Result<Vec<String>, StoreError> {
    let mut keys = store.list(CHECKPOINTS_PREFIX).await?;
    keys.retain(|k| parse_token_key(k).is_none());
    Ok(keys)
}

/// `[checkpoint] tsa_roots`: one path or a list of paths.
pub fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match serde::Deserialize::deserialize(d)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    })
}

/// Errors of requesting a token.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("[checkpoint] tsa_url {url:?}: {message}")]
    Url { url: String, message: String },
    #[error("time-stamp trust roots {file}: {message}")]
    Roots { file: String, message: String },
    #[error("time-stamp request to {url}: {message}")]
    Request { url: String, message: String },
    #[error("time-stamp request to {url}: no answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("the TSA at {url} refused the request: {message}")]
    Refused { url: String, message: String },
    #[error("the TSA at {url} answered with an unusable token: {message}")]
    BadToken { url: String, message: String },
}

/// Trust roots from PEM files, each holding one or more certificates.
pub fn load_roots(paths: &[PathBuf]) -> Result<Vec<Certificate>, TsaError> {
    let mut roots = Vec::new();
    for p in paths {
        let bad = |message: String| TsaError::Roots {
            file: p.display().to_string(),
            message,
        };
        let pem = std::fs::read(p).map_err(|e| bad(e.to_string()))?;
        roots.extend(tsa_verify::parse_roots(&pem).map_err(bad)?);
    }
    Ok(roots)
}

/// A DER TimeStampReq for the SHA-256 `hash`, with `nonce` and certReq.
pub fn request(hash: &[u8; 32], nonce: &[u8]) -> Result<Vec<u8>, der::Error> {
    TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: ID_SHA256,
                parameters: Some(der::Any::null()),
            },
            hashed_message: OctetString::new(hash.to_vec())?,
        },
        req_policy: None,
        nonce: Some(Int::new(nonce)?),
        cert_req: true,
        extensions: None,
    }
    .to_der()
}

/// The token (DER TimeStampToken) from a DER TimeStampResp answering a request for `hash`
/// with `nonce`. `Err` says what is wrong, in words.
pub fn token_from_response(
    response: &[u8],
    hash: &[u8; 32],
    nonce: &[u8],
) -> Result<Vec<u8>, String> {
    use cmpv2::status::PkiStatus;
    let resp =
        TimeStampResp::from_der(response).map_err(|e| format!("not a DER TimeStampResp: {e}"))?;
    if !matches!(
        resp.status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        let text = resp
            .status
            .status_string
            .as_ref()
            .map(|s| {
                s.iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        return Err(format!(
            "status {:?}{}{}",
            resp.status.status,
            if text.is_empty() { "" } else { ": " },
            text
        ));
    }
    let token = resp
        .time_stamp_token
        .ok_or("the response grants but carries no token")?
        .to_der()
        .map_err(|e| format!("re-encoding the token: {e}"))?;
    let (imprint, got_nonce) = tsa_verify::imprint_and_nonce(&token).map_err(|e| e.to_string())?;
    if imprint != hash {
        return Err("the token time-stamps other bytes than those sent".into());
    }
    let expected = Int::new(nonce).map_err(|e| e.to_string())?;
    if got_nonce.as_deref() != Some(expected.as_bytes()) {
        return Err("the token does not carry the request's nonce (a replayed answer?)".into());
    }
    Ok(token)
}

/// A client of one Time-Stamping Authority.
pub struct TsaClient {
    url: String,
    uri: http::Uri,
    timeout: Duration,
    roots: Option<Vec<Certificate>>,
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl TsaClient {
    /// A client for `url` (`http://` or `https://`; https uses the system's roots). With
    /// `roots`, a token is stored only when it chains to one of them.
    pub fn new(
        url: &str,
        timeout: Duration,
        roots: Option<Vec<Certificate>>,
    ) -> Result<TsaClient, TsaError> {
        let bad = |message: String| TsaError::Url {
            url: url.to_string(),
            message,
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| bad(e.to_string()))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad("expected an http:// or https:// URL".into())),
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = if https {
            builder
                .with_provider_and_native_roots(provider)
                .map_err(|e| bad(format!("the system's TLS roots: {e}")))?
        } else {
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| bad(e.to_string()))?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            builder.with_tls_config(config)
        };
        let connector = builder.https_or_http().enable_http1().build();
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        Ok(TsaClient {
            url: url.to_string(),
            uri,
            timeout,
            roots,
            client,
        })
    }

    /// The URL asked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A token over the SHA-256 of `data`, checked against the request (imprint, nonce)
    /// and, with trust roots, fully.
    pub async fn stamp(&self, data: &[u8]) -> Result<Vec<u8>, TsaError> {
        let hash: [u8; 32] = sha2::Sha256::digest(data).into();
        let mut nonce: [u8; 8] = rand::random();
        // A positive INTEGER in minimal form: the first byte in 1..=0x7f.
        nonce[0] = (nonce[0] & 0x7f).max(1);
        let req = request(&hash, &nonce).map_err(|e| TsaError::Request {
            url: self.url.clone(),
            message: format!("encoding the request: {e}"),
        })?;
        let answer = tokio::time::timeout(self.timeout, self.post(req)).await;
        let response = match answer {
            Ok(r) => r?,
            Err(_) => {
                return Err(TsaError::Timeout {
                    url: self.url.clone(),
                    secs: self.timeout.as_secs(),
                })
            }
        };
        let token =
            token_from_response(&response, &hash, &nonce).map_err(|message| TsaError::Refused {
                url: self.url.clone(),
                message,
            })?;
        if let Some(roots) = &self.roots {
            tsa_verify::check(&token, data, Some(roots)).map_err(|e| TsaError::BadToken {
                url: self.url.clone(),
                message: format!("{}: {e}", e.check()),
            })?;
        }
        Ok(token)
    }

    async fn post(&self, req: Vec<u8>) -> Result<Vec<u8>, TsaError> {
        let failed = |message: String| TsaError::Request {
            url: self.url.clone(),
            message,
        };
        let request = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/timestamp-query")
            .header(http::header::ACCEPT, "application/timestamp-reply")
            .body(Full::new(Bytes::from(req)))
            .map_err(|e| failed(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| failed(error_chain(&e)))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| failed(format!("reading the answer: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err(TsaError::Refused {
                url: self.url.clone(),
                message: format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body[..body.len().min(200)]).trim()
                ),
            });
        }
        Ok(body.to_vec())
    }
}

/// An error and its sources in one line (hyper's own message is only "client error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// What one pass of [`stamp_pending`] did.
#[derive(Debug, Default)]
pub struct Pending {
    /// Checkpoints that got their token, newest first.
    pub stamped: Vec<u64>,
    /// The checkpoint whose request failed (the pass stopped there), and why.
    pub failed: Option<(u64, TsaError)>,
    /// Checkpoints still without a token after the pass.
    pub remaining: Vec<u64>,
}

/// Request tokens for up to `max` of the newest checkpoints in `store` that lack one,
/// newest first, stopping at the first failure; each token is created (if absent) beside
/// its checkpoint in the store and then in the witness. Only store errors are `Err`.
pub async fn stamp_pending<S: ObjectStore, W: ObjectStore>(
    store: &S,
    witness: Option<&W>,
    client: &TsaClient,
    max: usize,
) -> Result<Pending, StoreError> {
    let keys = store.list(CHECKPOINTS_PREFIX).await?;
    let have: BTreeSet<u64> = keys.iter().filter_map(|k| parse_token_key(k)).collect();
    let lacking: Vec<u64> = keys
        .iter()
        .filter_map(|k| parse_checkpoint_key(k))
        .filter(|s| !have.contains(s))
        .collect();
    let mut pending = Pending::default();
    for &seq in lacking.iter().rev().take(max) {
        let Some(bytes) = store.get(&checkpoint_key(seq)).await? else {
            continue;
        };
        match client.stamp(&bytes).await {
            Ok(token) => {
                let key = token_key(seq);
                store.put_if_absent(&key, &token).await?;
                if let Some(w) = witness {
                    // The witness gets the store's copy when one already existed.
                    let stored = store.get(&key).await?.unwrap_or(token);
                    if let Err(e) = w.put_if_absent(&key, &stored).await {
                        tracing::warn!(seq, error = %e, "The time-stamp token was stored but not copied to the witness.");
                    }
                }
                tracing::debug!(seq, tsa = client.url(), "Checkpoint time-stamped.");
                pending.stamped.push(seq);
            }
            Err(e) => {
                pending.failed = Some((seq, e));
                break;
            }
        }
    }
    pending.remaining = lacking
        .into_iter()
        .filter(|s| !pending.stamped.contains(s))
        .collect();
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_keys_round_trip_and_differ_from_checkpoint_keys() {
        assert_eq!(token_key(42), "chain/checkpoints/00000000000000000042.tst");
        assert_eq!(parse_token_key(&token_key(42)), Some(42));
        assert_eq!(parse_token_key(&checkpoint_key(42)), None);
        assert_eq!(parse_checkpoint_key(&token_key(42)), None);
    }

    #[test]
    fn request_is_a_sha256_query_with_nonce_and_cert_req() {
        let hash = [7u8; 32];
        let der = request(&hash, &[0x12, 0x34]).unwrap();
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.message_imprint.hash_algorithm.oid, ID_SHA256);
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), hash);
        assert_eq!(req.nonce.unwrap().as_bytes(), [0x12, 0x34]);
        assert!(req.cert_req);
    }

    #[test]
    fn tsa_roots_is_one_path_or_a_list() {
        let parse = |t: &str| crate::config::Config::parse("f", t, []).map(|c| c.checkpoint);
        let one = parse("[checkpoint]\ntsa_roots = \"r.pem\"\n").unwrap();
        assert_eq!(one.tsa_roots, [PathBuf::from("r.pem")]);
        let two = parse("[checkpoint]\ntsa_roots = [\"a.pem\", \"b.pem\"]\n").unwrap();
        assert_eq!(two.tsa_roots.len(), 2);
        assert!(parse("[checkpoint]\n").unwrap().tsa_roots.is_empty());
        assert!(parse("[checkpoint]\ntsa_roots = 3\n").is_err());
    }

    #[test]
    fn a_refusal_or_garbage_is_named() {
        // TimeStampResp { status: { rejection(2) } }
        let rejected = [0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02];
        let err = token_from_response(&rejected, &[0; 32], &[1]).unwrap_err();
        assert!(err.contains("Rejection"), "{err}");
        let err = token_from_response(b"<html>", &[0; 32], &[1]).unwrap_err();
        assert!(err.contains("not a DER TimeStampResp"), "{err}");
    }
}
