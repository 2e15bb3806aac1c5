//! Evidence documents: canonical JSON bytes with an item name and media type.

use serde::Serialize;
use time::OffsetDateTime;

use crate::canonical::{self, CanonicalError};
use crate::collect::spill::Spill;
use crate::digest::{Blob, BlobWriter};
use crate::record::Item;
use crate::store::{SpoolWriter, SpooledBlob};

/// One document to store.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// `<service>/<thing>.json`.
    pub name: String,
    pub media_type: String,
    /// The canonical bytes (or, for a rejected inbox file, the file as received).
    pub blob: Blob,
    /// When AWS reported this state (the end of the reads that produced it).
    pub observed_at: OffsetDateTime,
}

impl Evidence {
    /// Canonical JSON of `doc`, with the media type derived from `name`.
    pub fn json<T: Serialize>(
        name: &str,
        doc: &T,
        observed_at: OffsetDateTime,
    ) -> Result<Evidence, CanonicalError> {
        Ok(Evidence {
            name: name.to_string(),
            media_type: media_type_for(name),
            blob: Blob::new(canonical::to_vec(doc)?),
            observed_at,
        })
    }

    /// Canonical JSON of an object made of small `fields` and one long list under
    /// `list_key`, written item by item: the same bytes as serializing the whole object,
    /// without building it as one JSON value first (a 50,000-job listing would otherwise
    /// be held twice in memory).
    pub fn list<T: Serialize>(
        name: &str,
        fields: &[(&str, serde_json::Value)],
        list_key: &str,
        items: &[T],
        observed_at: OffsetDateTime,
    ) -> Result<Evidence, CanonicalError> {
        let items = items
            .iter()
            .map(|i| canonical::to_vec(i))
            .collect::<Result<Vec<_>, _>>()?;
        Evidence::list_raw(name, fields, list_key, items, observed_at)
    }

    /// As [`Evidence::list`], with each item already in canonical form. The items become
    /// pieces of the blob as they are, so a long list is never held twice.
    pub fn list_raw(
        name: &str,
        fields: &[(&str, serde_json::Value)],
        list_key: &str,
        items: Vec<Vec<u8>>,
        observed_at: OffsetDateTime,
    ) -> Result<Evidence, CanonicalError> {
        let (prefix, suffix) = list_frame(fields, list_key)?;
        let mut out = BlobWriter::new();
        out.write(&prefix);
        for (j, item) in items.into_iter().enumerate() {
            if j > 0 {
                out.write(b",");
            }
            out.write_owned(item);
        }
        out.write(&suffix);
        Ok(Evidence {
            name: name.to_string(),
            media_type: media_type_for(name),
            blob: out.finish(),
            observed_at,
        })
    }

    pub fn item(&self) -> Item {
        Item {
            name: self.name.clone(),
            digest: self.blob.digest(),
            size: self.blob.size(),
            media_type: self.media_type.clone(),
            observed_at: self.observed_at,
        }
    }
}

/// The canonical bytes of an object of small `fields` and one list under `list_key` up to
/// the list's `[`, and from its `]` to the end: a list document is `prefix`, the canonical
/// items joined by `,`, then `suffix`.
pub fn list_frame(
    fields: &[(&str, serde_json::Value)],
    list_key: &str,
) -> Result<(Vec<u8>, Vec<u8>), CanonicalError> {
    let mut pieces = lists_frame(fields, &[list_key])?;
    let suffix = pieces.pop().unwrap_or_default();
    let prefix = pieces.pop().unwrap_or_default();
    Ok((prefix, suffix))
}

/// [`list_frame`] for an object with several lists: `list_keys.len() + 1` pieces, the
/// lists between them in the byte order of their keys (RFC 8785's order for ASCII keys).
/// Piece 0 ends with the first list's `[`, the last starts with the last list's `]`.
pub fn lists_frame(
    fields: &[(&str, serde_json::Value)],
    list_keys: &[&str],
) -> Result<Vec<Vec<u8>>, CanonicalError> {
    // Keys are ASCII, so byte order is RFC 8785's UTF-16 order.
    let mut keys: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    keys.extend_from_slice(list_keys);
    keys.sort_unstable();
    let (mut pieces, mut out) = (Vec::new(), b"{".to_vec());
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend(canonical::value_to_vec(&serde_json::Value::String(
            key.to_string(),
        ))?);
        out.push(b':');
        match fields.iter().find(|(k, _)| k == key) {
            Some((_, v)) => out.extend(canonical::value_to_vec(v)?),
            None => {
                out.push(b'[');
                pieces.push(std::mem::replace(&mut out, b"]".to_vec()));
            }
        }
    }
    out.push(b'}');
    pieces.push(out);
    Ok(pieces)
}

/// A document written to a spool file as it was made instead of being held in memory;
/// its [`Evidence`] carries a [`Blob::stored`], and the spool is put into the store before
/// the record that names it.
#[derive(Debug)]
pub struct Streamed {
    pub evidence: Evidence,
    pub spool: SpooledBlob,
}

impl Streamed {
    pub fn new(name: &str, spool: SpooledBlob, observed_at: OffsetDateTime) -> Streamed {
        Streamed {
            evidence: Evidence {
                name: name.to_string(),
                media_type: media_type_for(name),
                blob: Blob::stored(spool.digest(), spool.size()),
                observed_at,
            },
            spool,
        }
    }
}

/// Writing a document to a spool failed: the run is recorded partial, without it.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("writing a document to a temporary file ($TMPDIR) failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
}

impl SpoolError {
    /// As a failed operation of the run, naming the document.
    pub fn to_call_error(&self, document: &str) -> crate::collect::CallError {
        crate::collect::CallError {
            operation: "evidenced:spool".into(),
            code: None,
            message: format!("{document}: {self}"),
        }
    }
}

/// Every entry of `spill`, in key order, separated by commas. Blocking (file I/O).
pub fn write_joined(out: &mut SpoolWriter, spill: Spill) -> Result<(), SpoolError> {
    let mut sorted = spill.sorted()?;
    let mut first = true;
    while let Some((_, entry)) = sorted.next_entry()? {
        if !first {
            out.write(b",")?;
        }
        first = false;
        out.write(&entry)?;
    }
    Ok(())
}

/// A list document (see [`list_frame`]) written to a spool item by item, and the
/// documents made from sorted spills.
pub struct ListSpool {
    out: SpoolWriter,
    suffix: Vec<u8>,
    items: u64,
}

impl ListSpool {
    pub fn new(
        fields: &[(&str, serde_json::Value)],
        list_key: &str,
    ) -> Result<ListSpool, SpoolError> {
        let (prefix, suffix) = list_frame(fields, list_key)?;
        let mut out = SpoolWriter::new()?;
        out.write(&prefix)?;
        Ok(ListSpool {
            out,
            suffix,
            items: 0,
        })
    }

    /// Append one item, already canonical.
    pub fn item(&mut self, bytes: &[u8]) -> Result<(), SpoolError> {
        if self.items > 0 {
            self.out.write(b",")?;
        }
        self.items += 1;
        Ok(self.out.write(bytes)?)
    }

    pub fn finish(mut self, name: &str, at: OffsetDateTime) -> Result<Streamed, SpoolError> {
        self.out.write(&self.suffix)?;
        Ok(Streamed::new(name, self.out.finish()?, at))
    }

    /// The list document of every entry of `spill`, in key order. Blocking (file I/O).
    pub fn sorted(
        name: &str,
        fields: &[(&str, serde_json::Value)],
        list_key: &str,
        spill: Spill,
        at: OffsetDateTime,
    ) -> Result<Streamed, SpoolError> {
        ListSpool::sorted_lists(name, fields, vec![(list_key, spill)], at)
    }

    /// A document of small `fields` and several lists, each the entries of its spill in key
    /// order (see [`lists_frame`]). Blocking (file I/O).
    pub fn sorted_lists(
        name: &str,
        fields: &[(&str, serde_json::Value)],
        mut lists: Vec<(&str, Spill)>,
        at: OffsetDateTime,
    ) -> Result<Streamed, SpoolError> {
        lists.sort_by(|a, b| a.0.cmp(b.0));
        let keys: Vec<&str> = lists.iter().map(|(k, _)| *k).collect();
        let mut pieces = lists_frame(fields, &keys)?.into_iter();
        let mut out = SpoolWriter::new()?;
        for (_, spill) in lists {
            out.write(&pieces.next().unwrap_or_default())?;
            write_joined(&mut out, spill)?;
        }
        for rest in pieces {
            out.write(&rest)?;
        }
        Ok(Streamed::new(name, out.finish()?, at))
    }

    /// A small document, already canonical, as a spool (so that it keeps its place among
    /// streamed documents).
    pub fn whole(name: &str, bytes: &[u8], at: OffsetDateTime) -> Result<Streamed, SpoolError> {
        let mut out = SpoolWriter::new()?;
        out.write(bytes)?;
        Ok(Streamed::new(name, out.finish()?, at))
    }
}

/// `backup/restore-jobs.json` → `application/vnd.evidenced.aws.backup.restore-jobs+json`.
pub fn media_type_for(name: &str) -> String {
    let stem = name.strip_suffix(".json").unwrap_or(name).replace('/', ".");
    match stem.starts_with("inbox.") {
        // The inbox is ours, not an AWS service.
        true => format!("application/vnd.evidenced.{stem}+json"),
        false => format!("application/vnd.evidenced.aws.{stem}+json"),
    }
}

/// An AWS timestamp as RFC 3339 (UTC, `Z`), the form every document uses.
pub fn ts(t: &aws_smithy_types::DateTime) -> String {
    t.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| t.secs().to_string())
}

/// Optional timestamp.
pub fn ts_opt(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.map(ts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_follows_the_item_name() {
        assert_eq!(
            media_type_for("backup/restore-jobs.json"),
            "application/vnd.evidenced.aws.backup.restore-jobs+json"
        );
    }

    #[test]
    fn list_documents_equal_whole_serialization() {
        let items = vec![
            serde_json::json!({"b": 1, "a": [2.5, "x"]}),
            serde_json::json!(null),
        ];
        let fields = [
            ("region", serde_json::json!("us-east-1")),
            ("account", serde_json::json!("1")),
            ("z", serde_json::json!({"k": true})),
        ];
        let at = OffsetDateTime::UNIX_EPOCH;
        let e = Evidence::list("a/b.json", &fields, "jobs", &items, at).unwrap();
        let whole = serde_json::json!({"region": "us-east-1", "account": "1", "z": {"k": true}, "jobs": items});
        assert_eq!(
            &e.blob.to_bytes()[..],
            canonical::value_to_vec(&whole).unwrap()
        );
    }

    #[test]
    fn documents_of_several_lists_equal_whole_serialization() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let fields = [
            ("region", serde_json::json!("us-east-1")),
            ("account", serde_json::json!("1")),
        ];
        let items = |n: u32| -> Vec<serde_json::Value> {
            (0..n).map(|i| serde_json::json!({"n": i})).collect()
        };
        for (zs, bs) in [(3, 2), (0, 4), (0, 0)] {
            let spill = |v: &[serde_json::Value]| {
                let mut s = Spill::new(16);
                for (i, d) in v.iter().enumerate().rev() {
                    s.push(vec![i as u8], canonical::to_vec(d).unwrap())
                        .unwrap();
                }
                s
            };
            let (z, b) = (items(zs), items(bs));
            // Given out of key order: the document orders them.
            let lists = vec![("zeta", spill(&z)), ("beta", spill(&b))];
            let doc = ListSpool::sorted_lists("a/b.json", &fields, lists, at).unwrap();
            let whole =
                serde_json::json!({"region": "us-east-1", "account": "1", "zeta": z, "beta": b});
            let bytes = doc.spool.read().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&bytes),
                String::from_utf8_lossy(&canonical::value_to_vec(&whole).unwrap())
            );
            assert_eq!(doc.evidence.item().digest, Blob::new(bytes).digest());
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = aws_smithy_types::DateTime::from_secs(1_767_225_600);
        assert_eq!(ts(&t), "2026-01-01T00:00:00Z");
    }
}
