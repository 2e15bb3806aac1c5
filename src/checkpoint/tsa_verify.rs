//! Checking an RFC 3161 time-stamp token offline: that it is a CMS SignedData over a
//! TSTInfo whose message imprint is the SHA-256 of the checkpoint's bytes, that the
//! signer's signature over the signed attributes verifies with the signer certificate's
//! key and those attributes cover the TSTInfo, and (given trust roots) that the signer
//! certificate is a time-stamping certificate chaining to one of the roots, every
//! certificate valid at the token's `genTime`.
//!
//! What a valid token proves: the Time-Stamping Authority saw exactly these checkpoint
//! bytes at or before `genTime` — the checkpoint (so the records it vouches for) existed by
//! then. What it does not: anything about revocation of the TSA's certificate (no CRL or
//! OCSP is consulted), that the TSA's clock or conduct is honest, or anything about records
//! after the checkpoint.
//!
//! The ASN.1 is RustCrypto's (`cms`, `x509-tsp`, `x509-cert`, `der`, `spki`); signatures are
//! checked with aws-lc-rs: ECDSA over P-256 or P-384 and RSA PKCS #1 v1.5 (2048 to 8192
//! bits), each with SHA-256, SHA-384 or SHA-512.

use std::time::Duration;

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use sha2::Digest as _;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use time::OffsetDateTime;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, SubjectKeyIdentifier};
use x509_cert::Certificate;
use x509_tsp::TstInfo;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
pub(crate) const ID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const ID_AT_COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// Longest certificate path followed from the TSA's certificate to a root.
const MAX_PATH: usize = 8;

/// Why a token does not hold, each with the problem name `verify` reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a DER TimeStampToken (CMS SignedData over a TSTInfo), or missing a required part.
    #[error("{0}")]
    Unreadable(String),
    /// The token time-stamps other bytes than the checkpoint's.
    #[error("the token time-stamps {actual}, not the checkpoint's SHA-256 {expected}")]
    ImprintMismatch { expected: String, actual: String },
    /// The signature, or the signed attributes' binding to the TSTInfo, does not hold.
    #[error("{0}")]
    BadSignature(String),
    /// The signer is not a time-stamping certificate chaining to a trust root.
    #[error("{0}")]
    Untrusted(String),
}

impl TokenError {
    /// The problem name `verify` reports for this error.
    pub fn check(&self) -> &'static str {
        match self {
            TokenError::Unreadable(_) => "unreadable-timestamp",
            TokenError::ImprintMismatch { .. } => "timestamp-imprint-mismatch",
            TokenError::BadSignature(_) => "bad-timestamp-signature",
            TokenError::Untrusted(_) => "untrusted-timestamp",
        }
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The TSA's `genTime`: the checkpoint existed by then.
    pub gen_time: OffsetDateTime,
    /// The signer certificate's subject common name (or whole subject when it has none).
    pub tsa: String,
    /// The TSTInfo's serial number, in hex.
    pub serial: String,
    /// Whether the signer's certificate was checked against trust roots.
    pub chain_checked: bool,
}

/// Trust roots from PEM text holding one or more certificates.
pub fn parse_roots(pem: &[u8]) -> Result<Vec<Certificate>, String> {
    let certs =
        Certificate::load_pem_chain(pem).map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("holds no certificate".into());
    }
    Ok(certs)
}

/// A GeneralizedTime that may carry fractional seconds, as RFC 3161 allows for `genTime`
/// (`der`'s GeneralizedTime follows RFC 5280, which forbids them). Kept as its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FractionalTime(Vec<u8>);

impl<'a> der::DecodeValue<'a> for FractionalTime {
    fn decode_value<R: der::Reader<'a>>(reader: &mut R, header: der::Header) -> der::Result<Self> {
        let bytes = reader.read_vec(header.length)?;
        match gen_time(&bytes) {
            Some(_) => Ok(FractionalTime(bytes)),
            None => Err(der::Tag::GeneralizedTime.value_error()),
        }
    }
}

impl der::EncodeValue for FractionalTime {
    fn value_len(&self) -> der::Result<der::Length> {
        der::Length::try_from(self.0.len())
    }
    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        writer.write(&self.0)
    }
}

impl der::FixedTag for FractionalTime {
    const TAG: der::Tag = der::Tag::GeneralizedTime;
}

/// `YYYYMMDDhhmmss[.f+]Z` (DER: no trailing zero in the fraction) as time since the epoch.
fn gen_time(bytes: &[u8]) -> Option<Duration> {
    let text = std::str::from_utf8(bytes).ok()?.strip_suffix('Z')?;
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) if !f.is_empty() && !f.ends_with('0') && f.len() <= 9 => (w, f),
        Some(_) => return None,
        None => (text, ""),
    };
    if whole.len() != 14
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| whole[r].parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        i32::try_from(n(0..4)?).ok()?,
        time::Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?,
        u8::try_from(n(6..8)?).ok()?,
    )
    .ok()?;
    let nanos = format!("{fraction:0<9}").parse::<u32>().ok()?;
    let t = time::Time::from_hms_nano(
        u8::try_from(n(8..10)?).ok()?,
        u8::try_from(n(10..12)?).ok()?,
        u8::try_from(n(12..14)?).ok()?,
        nanos,
    )
    .ok()?;
    let at = time::PrimitiveDateTime::new(date, t).assume_utc() - OffsetDateTime::UNIX_EPOCH;
    Duration::try_from(at).ok()
}

/// RFC 3161's TSTInfo as x509-tsp declares it, but with a `genTime` that may carry
/// fractional seconds; read only when x509-tsp's own type refuses a token.
#[derive(Clone, Debug, PartialEq, Eq, der::Sequence)]
struct TstInfoFractional {
    version: x509_tsp::TspVersion,
    policy: ObjectIdentifier,
    message_imprint: x509_tsp::MessageImprint,
    serial_number: der::asn1::Int,
    gen_time: FractionalTime,
    #[asn1(optional = "true")]
    accuracy: Option<x509_tsp::Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<der::asn1::Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<x509_cert::ext::pkix::name::GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<x509_cert::ext::Extensions>,
}

/// What is used of a TSTInfo.
struct Tst {
    message_imprint: x509_tsp::MessageImprint,
    serial_number: der::asn1::Int,
    gen_time: Duration,
    nonce: Option<der::asn1::Int>,
}

fn tst_info(der_bytes: &[u8]) -> Result<Tst, String> {
    match TstInfo::from_der(der_bytes) {
        Ok(t) => Ok(Tst {
            gen_time: t.gen_time.to_unix_duration(),
            message_imprint: t.message_imprint,
            serial_number: t.serial_number,
            nonce: t.nonce,
        }),
        Err(e) => {
            let t = TstInfoFractional::from_der(der_bytes).map_err(|_| e.to_string())?;
            Ok(Tst {
                gen_time: gen_time(&t.gen_time.0).ok_or("genTime")?,
                message_imprint: t.message_imprint,
                serial_number: t.serial_number,
                nonce: t.nonce,
            })
        }
    }
}

/// The token's TSTInfo and SignedData, without checking anything but their form.
fn parse(token: &[u8]) -> Result<(SignedData, Vec<u8>, Tst), TokenError> {
    let bad = |m: String| TokenError::Unreadable(m);
    let ci = ContentInfo::from_der(token)
        .map_err(|e| bad(format!("not a DER TimeStampToken (CMS ContentInfo): {e}")))?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(bad(format!(
            "content type is {}, not SignedData",
            ci.content_type
        )));
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| bad(format!("not a CMS SignedData: {e}")))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(bad(format!(
            "signed content type is {}, not a TSTInfo",
            sd.encap_content_info.econtent_type
        )));
    }
    let econtent = sd
        .encap_content_info
        .econtent
        .as_ref()
        .ok_or_else(|| bad("the SignedData carries no TSTInfo".into()))?;
    let tst_der = econtent
        .decode_as::<OctetString>()
        .map_err(|e| bad(format!("the TSTInfo is not an OCTET STRING: {e}")))?
        .as_bytes()
        .to_vec();
    let tst = tst_info(&tst_der).map_err(|e| bad(format!("not a TSTInfo: {e}")))?;
    Ok((sd, tst_der, tst))
}

/// The digest of `data` under the hash algorithm `oid`.
fn digest(oid: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    Some(match *oid {
        ID_SHA256 => sha2::Sha256::digest(data).to_vec(),
        ID_SHA384 => sha2::Sha384::digest(data).to_vec(),
        ID_SHA512 => sha2::Sha512::digest(data).to_vec(),
        _ => return None,
    })
}

fn hash_name(oid: &ObjectIdentifier) -> &'static str {
    match *oid {
        ID_SHA256 => "SHA-256",
        ID_SHA384 => "SHA-384",
        ID_SHA512 => "SHA-512",
        _ => "an unsupported hash",
    }
}

/// The verification algorithm for a key, a signature algorithm and (for CMS signer infos
/// that name only the key type) the digest algorithm.
fn algorithm(
    key: &SubjectPublicKeyInfoOwned,
    signature: &AlgorithmIdentifierOwned,
    digest_alg: Option<&ObjectIdentifier>,
) -> Result<&'static dyn VerificationAlgorithm, String> {
    let hash = match signature.oid {
        ECDSA_SHA256 | RSA_SHA256 => ID_SHA256,
        ECDSA_SHA384 | RSA_SHA384 => ID_SHA384,
        ECDSA_SHA512 | RSA_SHA512 => ID_SHA512,
        ID_EC_PUBLIC_KEY | RSA_ENCRYPTION => *digest_alg
            .ok_or_else(|| format!("signature algorithm {} names no hash", signature.oid))?,
        other => return Err(format!("unsupported signature algorithm {other}")),
    };
    let ecdsa = matches!(
        signature.oid,
        ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512 | ID_EC_PUBLIC_KEY
    );
    match key.algorithm.oid {
        ID_EC_PUBLIC_KEY if ecdsa => {
            let curve = key
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or("an EC key without a named curve")?;
            Ok(match (curve, hash) {
                (SECP256R1, ID_SHA256) => &sig::ECDSA_P256_SHA256_ASN1,
                (SECP256R1, ID_SHA384) => &sig::ECDSA_P256_SHA384_ASN1,
                (SECP256R1, ID_SHA512) => &sig::ECDSA_P256_SHA512_ASN1,
                (SECP384R1, ID_SHA256) => &sig::ECDSA_P384_SHA256_ASN1,
                (SECP384R1, ID_SHA384) => &sig::ECDSA_P384_SHA384_ASN1,
                (SECP384R1, ID_SHA512) => &sig::ECDSA_P384_SHA512_ASN1,
                (c, h) => {
                    return Err(format!(
                        "unsupported ECDSA curve {c} with {} (P-256 and P-384 are supported)",
                        hash_name(&h)
                    ))
                }
            })
        }
        RSA_ENCRYPTION if !ecdsa => Ok(match hash {
            ID_SHA256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            ID_SHA384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            ID_SHA512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            h => return Err(format!("unsupported hash {h} for RSA")),
        }),
        k => Err(format!(
            "key type {k} does not match signature algorithm {}",
            signature.oid
        )),
    }
}

/// Verify `signature` over `message` with `key`.
fn verify_signature(
    key: &SubjectPublicKeyInfoOwned,
    signature_alg: &AlgorithmIdentifierOwned,
    digest_alg: Option<&ObjectIdentifier>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let alg = algorithm(key, signature_alg, digest_alg)?;
    UnparsedPublicKey::new(alg, key.subject_public_key.raw_bytes())
        .verify(message, signature)
        .map_err(|_| "the signature does not verify".to_string())
}

/// Whether `issuer`'s key signed `cert`.
fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    cert.tbs_certificate.issuer == issuer.tbs_certificate.subject
        && cert.tbs_certificate.signature == cert.signature_algorithm
        && cert.tbs_certificate.to_der().is_ok_and(|tbs| {
            cert.signature.as_bytes().is_some_and(|s| {
                verify_signature(
                    &issuer.tbs_certificate.subject_public_key_info,
                    &cert.signature_algorithm,
                    None,
                    &tbs,
                    s,
                )
                .is_ok()
            })
        })
}

/// The certificate's subject common name, or its whole subject.
pub fn common_name(cert: &Certificate) -> String {
    let subject = &cert.tbs_certificate.subject;
    for rdn in subject.0.iter().rev() {
        for atv in rdn.0.iter() {
            if atv.oid == ID_AT_COMMON_NAME {
                let text = atv.to_string();
                return text
                    .split_once('=')
                    .map_or(text.clone(), |(_, v)| v.to_string());
            }
        }
    }
    subject.to_string()
}

fn valid_at(cert: &Certificate, at: Duration) -> Result<(), String> {
    let v = &cert.tbs_certificate.validity;
    if v.not_before.to_unix_duration() <= at && at <= v.not_after.to_unix_duration() {
        Ok(())
    } else {
        Err(format!(
            "certificate {:?} is valid from {} to {}, not at the token's time",
            common_name(cert),
            v.not_before,
            v.not_after
        ))
    }
}

/// Check that `signer` is a time-stamping certificate that chains, through the token's
/// certificates, to one of `roots`, every certificate on the path valid at `at`.
fn check_chain(
    signer: &Certificate,
    pool: &[Certificate],
    roots: &[Certificate],
    at: Duration,
) -> Result<(), String> {
    match signer.tbs_certificate.get::<ExtendedKeyUsage>() {
        Ok(Some((true, eku))) if eku.0.contains(&ID_KP_TIME_STAMPING) => {}
        Ok(Some((false, _))) => {
            return Err(format!(
                "certificate {:?}: its extendedKeyUsage is not critical (RFC 3161 requires a critical timeStamping usage)",
                common_name(signer)
            ))
        }
        _ => {
            return Err(format!(
                "certificate {:?} is not a time-stamping certificate (no extendedKeyUsage timeStamping)",
                common_name(signer)
            ))
        }
    }
    let mut cur = signer.clone();
    for _ in 0..MAX_PATH {
        valid_at(&cur, at)?;
        if roots.contains(&cur) {
            return Ok(());
        }
        if let Some(root) = roots.iter().find(|r| signed_by(&cur, r)) {
            return valid_at(root, at);
        }
        let Some(next) = pool
            .iter()
            .find(|c| **c != cur && signed_by(&cur, c))
            .cloned()
        else {
            return Err(format!(
                "the TSA's certificate {:?} does not chain to a trusted root (the path ends at {:?}, issued by {})",
                common_name(signer),
                common_name(&cur),
                cur.tbs_certificate.issuer
            ));
        };
        match next.tbs_certificate.get::<BasicConstraints>() {
            Ok(Some((_, bc))) if bc.ca => {}
            _ => {
                return Err(format!(
                    "certificate {:?} issued {:?} but is not a CA certificate",
                    common_name(&next),
                    common_name(&cur)
                ))
            }
        }
        cur = next;
    }
    Err(format!(
        "no trusted root within {MAX_PATH} certificates of the TSA's"
    ))
}

/// The signed attribute `oid`'s single value.
fn attribute<'a>(si: &'a SignerInfo, oid: &ObjectIdentifier) -> Option<&'a der::Any> {
    let attrs = si.signed_attrs.as_ref()?;
    let a = attrs.iter().find(|a| a.oid == *oid)?;
    match a.values.as_slice() {
        [v] => Some(v),
        _ => None,
    }
}

/// The signer's certificate among the token's.
fn signer_cert<'a>(si: &SignerInfo, certs: &'a [Certificate]) -> Option<&'a Certificate> {
    certs.iter().find(|c| match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => {
            c.tbs_certificate.issuer == ias.issuer
                && c.tbs_certificate.serial_number == ias.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => c
            .tbs_certificate
            .get::<SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, k)| k == *ski),
    })
}

/// Check `token` (a DER TimeStampToken) against the checkpoint bytes it should time-stamp.
/// With `roots`, the signer must also chain to one of them; without, only the imprint and
/// the signature (with the certificate the token carries) are checked.
pub fn check(
    token: &[u8],
    checkpoint: &[u8],
    roots: Option<&[Certificate]>,
) -> Result<Stamp, TokenError> {
    let (sd, tst_der, tst) = parse(token)?;

    // 1. The imprint: SHA-256 of the checkpoint's bytes.
    let expected = hex::encode(sha2::Sha256::digest(checkpoint));
    let mi = &tst.message_imprint;
    let actual = hex::encode(mi.hashed_message.as_bytes());
    if mi.hash_algorithm.oid != ID_SHA256 || actual != expected {
        return Err(TokenError::ImprintMismatch {
            expected: format!("sha256:{expected}"),
            actual: format!(
                "{}:{actual}",
                match mi.hash_algorithm.oid {
                    ID_SHA256 => "sha256".to_string(),
                    o => o.to_string(),
                }
            ),
        });
    }

    // 2. The signer and its signed attributes.
    let unreadable = |m: &str| TokenError::Unreadable(m.to_string());
    let si = match sd.signer_infos.0.as_slice() {
        [si] => si,
        _ => return Err(unreadable("a time-stamp token has exactly one signer")),
    };
    let certs: Vec<Certificate> = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c.clone()),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let signer = signer_cert(si, &certs)
        .or_else(|| roots.and_then(|r| signer_cert(si, r)))
        .ok_or_else(|| {
            TokenError::Untrusted(
                "the token does not carry the TSA's certificate (it was requested with certReq)"
                    .into(),
            )
        })?;
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or_else(|| unreadable("the signer has no signed attributes"))?;
    let bad = |m: String| TokenError::BadSignature(m);
    match attribute(si, &ID_CONTENT_TYPE).map(|v| v.decode_as::<ObjectIdentifier>()) {
        Some(Ok(ID_CT_TST_INFO)) => {}
        _ => {
            return Err(bad(
                "the signed content-type attribute is not TSTInfo".into()
            ))
        }
    }
    let md = attribute(si, &ID_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or_else(|| unreadable("the signer has no messageDigest attribute"))?;
    let want = digest(&si.digest_alg.oid, &tst_der).ok_or_else(|| {
        bad(format!(
            "unsupported digest algorithm {} (SHA-256, SHA-384 and SHA-512 are supported)",
            si.digest_alg.oid
        ))
    })?;
    if md.as_bytes() != want.as_slice() {
        return Err(bad(
            "the signed messageDigest is not the digest of the TSTInfo: the TSTInfo (time, imprint or serial) was altered".into(),
        ));
    }

    // 3. The signature over the DER SET OF the signed attributes.
    let signed = attrs
        .to_der()
        .map_err(|e| unreadable(&format!("re-encoding the signed attributes: {e}")))?;
    verify_signature(
        &signer.tbs_certificate.subject_public_key_info,
        &si.signature_algorithm,
        Some(&si.digest_alg.oid),
        &signed,
        si.signature.as_bytes(),
    )
    .map_err(|e| {
        bad(format!(
            "with the key of certificate {:?}: {e}",
            common_name(signer)
        ))
    })?;

    // 4. The certificate path, at genTime.
    let at = tst.gen_time;
    if let Some(roots) = roots {
        check_chain(signer, &certs, roots, at).map_err(TokenError::Untrusted)?;
    }
    let gen_time = OffsetDateTime::UNIX_EPOCH
        .checked_add(
            time::Duration::try_from(at).map_err(|e| unreadable(&format!("genTime: {e}")))?,
        )
        .ok_or_else(|| unreadable("genTime is out of range"))?;
    Ok(Stamp {
        gen_time,
        tsa: common_name(signer),
        serial: hex::encode(tst.serial_number.as_bytes()),
        chain_checked: roots.is_some(),
    })
}

/// The imprint and nonce a token answers, for checking a fresh response against its
/// request without trust roots.
pub(crate) fn imprint_and_nonce(token: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>), TokenError> {
    let (_, _, tst) = parse(token)?;
    Ok((
        tst.message_imprint.hashed_message.as_bytes().to_vec(),
        tst.nonce.map(|n| n.as_bytes().to_vec()),
    ))
}

/// What `verify` knows about time-stamping: the trust roots (`[checkpoint] tsa_roots` or
/// `--tsa-roots`) and whether tokens are expected (a TSA is configured or roots given), in
/// which case the checkpoints without one are listed.
#[derive(Debug, Clone, Default)]
pub struct TsaCheck {
    pub roots: Option<Vec<Certificate>>,
    pub expected: bool,
}

/// The newest checkpoint with a valid token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LatestStamp {
    /// The checkpoint's sequence number: record `seq` existed by `gen_time`.
    pub seq: u64,
    /// The TSA's time, RFC 3339.
    pub gen_time: String,
    /// The TSA certificate's common name.
    pub tsa: String,
    /// The time the checkpoint itself states (the signer's clock), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
}

/// The outcome of checking time-stamp tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TimestampReport {
    /// Tokens read (store and witness).
    pub checked: usize,
    /// The store's checkpoints, and how many of them carry a valid token.
    pub checkpoints: usize,
    pub stamped: usize,
    /// The store's checkpoints without a token (not a problem: reported until filled).
    pub missing: Vec<u64>,
    /// Whether the TSA's certificate chain was checked against trust roots.
    pub chain_checked: bool,
    /// Whether tokens are expected (a TSA is configured, or roots were given).
    pub expected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<LatestStamp>,
}

/// Missing checkpoints named in the text before "and N more".
const MISSING_SHOWN: usize = 10;

impl TimestampReport {
    /// Worth showing: some token exists, or tokens are expected.
    pub fn summary(&self) -> Option<TimestampReport> {
        (self.checked > 0 || self.expected).then(|| self.clone())
    }

    /// One line for the text output.
    pub fn describe(&self) -> String {
        let mut out = format!(
            "time-stamps (RFC 3161): {} of {} checkpoints time-stamped",
            self.stamped, self.checkpoints
        );
        if let Some(l) = &self.latest {
            out.push_str(&format!(
                "; record {} existed by {} (TSA {})",
                l.seq, l.gen_time, l.tsa
            ));
        }
        if !self.chain_checked && self.checked > 0 {
            out.push_str(
                "; the TSA's certificate was not checked against trust roots (give --tsa-roots)",
            );
        }
        if !self.missing.is_empty() {
            out.push_str(&format!("; {} without a token", self.missing.len()));
            if self.expected {
                let mut shown: Vec<String> = self
                    .missing
                    .iter()
                    .take(MISSING_SHOWN)
                    .map(|s| s.to_string())
                    .collect();
                if self.missing.len() > MISSING_SHOWN {
                    shown.push(format!("and {} more", self.missing.len() - MISSING_SHOWN));
                }
                out.push_str(&format!(
                    " (checkpoints {}; requested again after the next committed run)",
                    shown.join(", ")
                ));
            }
        }
        out
    }

    /// "record N existed by T (RFC 3161, TSA X)", for a report's basis, when the newest
    /// valid token was checked against trust roots.
    pub fn existed_by(&self) -> Option<String> {
        let l = self.latest.as_ref().filter(|_| self.chain_checked)?;
        let own = l.signed_at.as_ref().map_or(String::new(), |t| {
            format!("; the checkpoint's own clock says {t}")
        });
        Some(format!(
            "record {} existed by {} (RFC 3161, TSA {}{own})",
            l.seq, l.gen_time, l.tsa
        ))
    }
}

/// Check every token in `store` (and `witness`) against the checkpoint beside it; problems
/// are added to `problems`. `valid` are the sequence numbers of checkpoints that verified:
/// only those count for [`TimestampReport::latest`].
pub async fn verify_store<S: crate::store::ObjectStore, W: crate::store::ObjectStore>(
    store: &S,
    witness: Option<&W>,
    tsa: &TsaCheck,
    valid: &std::collections::BTreeSet<u64>,
    problems: &mut Vec<crate::verify::Problem>,
) -> Result<TimestampReport, crate::store::StoreError> {
    use super::tsa::{parse_token_key, token_key};
    use super::{checkpoint_key, parse_checkpoint_key, CHECKPOINTS_PREFIX};
    use crate::verify::problem;

    let mut report = TimestampReport {
        chain_checked: tsa.roots.is_some(),
        expected: tsa.expected,
        ..TimestampReport::default()
    };
    let roots = tsa.roots.as_deref();
    let store_keys = store.list(CHECKPOINTS_PREFIX).await?;
    let witness_keys = match witness {
        Some(w) => Some(w.list(CHECKPOINTS_PREFIX).await?),
        None => None,
    };
    let mut stamped = std::collections::BTreeSet::new();
    let mut latest: Option<(u64, Stamp, Option<String>)> = None;
    for (origin, keys) in [
        ("store", Some(&store_keys)),
        ("witness", witness_keys.as_ref()),
    ] {
        let Some(keys) = keys else { continue };
        for seq in keys.iter().filter_map(|k| parse_token_key(k)) {
            let key = token_key(seq);
            let (token, cp) = match (origin, witness) {
                ("witness", Some(w)) => (w.get(&key).await?, w.get(&checkpoint_key(seq)).await?),
                _ => (
                    store.get(&key).await?,
                    store.get(&checkpoint_key(seq)).await?,
                ),
            };
            let Some(token) = token else { continue };
            report.checked += 1;
            let Some(cp) = cp else {
                problems.push(problem(
                    "timestamp-orphaned",
                    Some(seq),
                    &key,
                    Some(checkpoint_key(seq)),
                    None,
                    format!("{origin}: a time-stamp token for checkpoint {seq} is stored but the checkpoint is not: the checkpoint was removed"),
                ));
                continue;
            };
            match check(&token, &cp, roots) {
                Ok(stamp) => {
                    if origin == "store" {
                        stamped.insert(seq);
                        if valid.contains(&seq) && latest.as_ref().is_none_or(|(s, ..)| seq > *s) {
                            let signed_at = super::Signed::parse(&key, &cp)
                                .ok()
                                .map(|s| crate::human::fmt_time(s.checkpoint.time));
                            latest = Some((seq, stamp, signed_at));
                        }
                    }
                }
                Err(e) => {
                    let (expected, actual) = match &e {
                        TokenError::ImprintMismatch { expected, actual } => {
                            (Some(expected.clone()), Some(actual.clone()))
                        }
                        _ => (None, None),
                    };
                    let what = match &e {
                        TokenError::Unreadable(_) => "cannot be read",
                        TokenError::ImprintMismatch { .. } => "is not the token of this checkpoint (it was replaced or the checkpoint altered)",
                        TokenError::BadSignature(_) => "does not verify (it was altered)",
                        TokenError::Untrusted(_) => "is not from a trusted Time-Stamping Authority",
                    };
                    problems.push(problem(
                        e.check(),
                        Some(seq),
                        &key,
                        expected,
                        actual,
                        format!("{origin}: the time-stamp token of checkpoint {seq} {what}: {e}"),
                    ));
                }
            }
        }
    }
    let checkpoints: Vec<u64> = store_keys
        .iter()
        .filter_map(|k| parse_checkpoint_key(k))
        .collect();
    let tokens: std::collections::BTreeSet<u64> = store_keys
        .iter()
        .filter_map(|k| parse_token_key(k))
        .collect();
    report.checkpoints = checkpoints.len();
    report.stamped = checkpoints.iter().filter(|s| stamped.contains(s)).count();
    report.missing = checkpoints
        .into_iter()
        .filter(|s| !tokens.contains(s))
        .collect();
    report.latest = latest.map(|(seq, s, signed_at)| LatestStamp {
        seq,
        gen_time: crate::human::fmt_time(s.gen_time),
        tsa: s.tsa,
        signed_at,
    });
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::Command;

    /// A throwaway TSA made by tests/support/tsa_pki.sh, signing with `digest`.
    fn pki(kind: &str, name: &str, digest: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/tsa_pki.sh");
        let out = Command::new("bash")
            .arg(script)
            .args([dir.path().to_str().unwrap(), kind, name])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let cnf = dir.path().join("tsa.cnf");
        let text = std::fs::read_to_string(&cnf).unwrap();
        std::fs::write(
            &cnf,
            text.replace(
                "signer_digest = sha256",
                &format!("signer_digest = {digest}"),
            ),
        )
        .unwrap();
        dir
    }

    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    }

    /// A DER TimeStampToken over the SHA-256 of `data` from the TSA in `dir`.
    fn token(dir: &Path, data: &[u8]) -> Vec<u8> {
        std::fs::write(dir.join("data"), data).unwrap();
        openssl(
            dir,
            &[
                "ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "q.tsq",
            ],
        );
        openssl(
            dir,
            &[
                "ts",
                "-reply",
                "-queryfile",
                "q.tsq",
                "-signer",
                "tsa.pem",
                "-inkey",
                "tsa.key",
                "-chain",
                "root.pem",
                "-config",
                "tsa.cnf",
                "-out",
                "r.tsr",
            ],
        );
        openssl(
            dir,
            &[
                "ts",
                "-reply",
                "-in",
                "r.tsr",
                "-token_out",
                "-out",
                "t.tst",
            ],
        );
        std::fs::read(dir.join("t.tst")).unwrap()
    }

    fn roots(dir: &Path) -> Vec<Certificate> {
        parse_roots(&std::fs::read(dir.join("root.pem")).unwrap()).unwrap()
    }

    const CHECKPOINT: &[u8] = b"evidenced checkpoint v1\nseq 1\n";

    #[test]
    fn tokens_of_ecdsa_and_rsa_tsas_verify_against_their_root() {
        for (kind, digest) in [
            ("ec256", "sha256"),
            ("ec384", "sha384"),
            ("ec256", "sha512"),
            ("rsa", "sha256"),
            ("rsa", "sha512"),
        ] {
            let dir = pki(kind, "Unit", digest);
            let t = token(dir.path(), CHECKPOINT);
            let before = OffsetDateTime::now_utc() - time::Duration::minutes(5);
            let stamp = check(&t, CHECKPOINT, Some(&roots(dir.path())))
                .unwrap_or_else(|e| panic!("{kind} {digest}: {e}"));
            assert_eq!(stamp.tsa, "Unit TSA");
            assert!(stamp.chain_checked);
            assert!(stamp.gen_time > before, "{:?}", stamp.gen_time);
            // Without roots the signature is still checked, the chain is not.
            assert!(!check(&t, CHECKPOINT, None).unwrap().chain_checked);
        }
    }

    #[test]
    fn another_checkpoint_another_root_and_altered_bytes_are_each_named() {
        let dir = pki("ec256", "Unit", "sha256");
        let other = pki("ec256", "Other", "sha256");
        let roots = roots(dir.path());
        let t = token(dir.path(), CHECKPOINT);

        let e = check(&t, b"another checkpoint\n", Some(&roots)).unwrap_err();
        assert_eq!(e.check(), "timestamp-imprint-mismatch", "{e}");

        let foreign = token(other.path(), CHECKPOINT);
        let e = check(&foreign, CHECKPOINT, Some(&roots)).unwrap_err();
        assert_eq!(e.check(), "untrusted-timestamp", "{e}");
        assert!(e.to_string().contains("Other TSA"), "{e}");

        // A digit of genTime (inside the signed TSTInfo) changed.
        let at = t
            .windows(2)
            .position(|w| w == [0x18, 0x0f])
            .expect("a GeneralizedTime in the token")
            + 2;
        let mut forged = t.clone();
        forged[at + 3] = if forged[at + 3] == b'9' { b'8' } else { b'9' };
        let e = check(&forged, CHECKPOINT, Some(&roots)).unwrap_err();
        assert_eq!(e.check(), "bad-timestamp-signature", "{e}");

        // The signature itself changed (its last byte ends the token).
        let mut forged = t.clone();
        let last = forged.len() - 1;
        forged[last] ^= 0x01;
        let e = check(&forged, CHECKPOINT, Some(&roots)).unwrap_err();
        assert_eq!(e.check(), "bad-timestamp-signature", "{e}");

        let e = check(b"not a token", CHECKPOINT, Some(&roots)).unwrap_err();
        assert_eq!(e.check(), "unreadable-timestamp", "{e}");
        let e = check(&t[..t.len() / 2], CHECKPOINT, Some(&roots)).unwrap_err();
        assert_eq!(e.check(), "unreadable-timestamp", "{e}");
    }

    #[test]
    fn gen_time_with_fractional_seconds_is_read() {
        assert_eq!(
            gen_time(b"20261201123456.25Z"),
            Some(Duration::new(1_796_128_496, 250_000_000))
        );
        assert_eq!(
            gen_time(b"20261201123456Z"),
            Some(Duration::from_secs(1_796_128_496))
        );
        for bad in [
            &b"20261201123456.250Z"[..],
            b"20261201123456.Z",
            b"20261201123456",
            b"20261301123456Z",
        ] {
            assert_eq!(gen_time(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        let dir = pki("ec256", "Unit", "sha256");
        let cnf = dir.path().join("tsa.cnf");
        let text = std::fs::read_to_string(&cnf).unwrap();
        std::fs::write(
            &cnf,
            text.replace("clock_precision_digits = 0", "clock_precision_digits = 3"),
        )
        .unwrap();
        // A whole second (no fraction written) is a 1-in-1000 chance: try again then.
        let t = (0..3)
            .map(|_| token(dir.path(), CHECKPOINT))
            .find(|t| {
                let (_, tst_der, _) = parse(t).unwrap();
                x509_tsp::TstInfo::from_der(&tst_der).is_err()
            })
            .expect("a token whose genTime has fractional seconds, which x509-tsp refuses");
        let stamp = check(&t, CHECKPOINT, Some(&roots(dir.path()))).unwrap();
        assert!(stamp.gen_time > OffsetDateTime::now_utc() - time::Duration::minutes(5));
    }

    #[test]
    fn a_fresh_response_is_checked_against_its_request() {
        let dir = pki("ec256", "Unit", "sha256");
        let hash: [u8; 32] = sha2::Sha256::digest(CHECKPOINT).into();
        let nonce = [0x11, 0x22, 0x33];
        let req = super::super::tsa::request(&hash, &nonce).unwrap();
        std::fs::write(dir.path().join("q.tsq"), &req).unwrap();
        openssl(
            dir.path(),
            &[
                "ts",
                "-reply",
                "-queryfile",
                "q.tsq",
                "-signer",
                "tsa.pem",
                "-inkey",
                "tsa.key",
                "-config",
                "tsa.cnf",
                "-out",
                "r.tsr",
            ],
        );
        let resp = std::fs::read(dir.path().join("r.tsr")).unwrap();
        let t = super::super::tsa::token_from_response(&resp, &hash, &nonce).unwrap();
        check(&t, CHECKPOINT, Some(&roots(dir.path()))).unwrap();
        let err =
            super::super::tsa::token_from_response(&resp, &hash, &[0x11, 0x22, 0x34]).unwrap_err();
        assert!(err.contains("nonce"), "{err}");
        let err = super::super::tsa::token_from_response(&resp, &[0; 32], &nonce).unwrap_err();
        assert!(err.contains("other bytes"), "{err}");
    }
}
