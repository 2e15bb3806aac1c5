//! Sorting documents that do not fit in memory: an external merge sort.
//!
//! A document list (50,000 backup jobs, 10,000 configuration items) is stored sorted by id,
//! but AWS lists it in another order. [`Spill`] keeps documents in memory up to a budget,
//! then writes them, sorted, as a run to an unnamed temporary file; [`Spill::sorted`] merges
//! the runs. Entries with equal keys come out in the order they were pushed (a stable
//! sort), so the result is exactly that of sorting the whole list in memory, and memory is
//! bounded by the budget plus one read buffer per run, whatever the list's length.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// Bytes of documents held before a run is written (per list being sorted).
pub const DEFAULT_BUDGET: usize = 8 << 20;

/// Per-entry bookkeeping counted against the budget besides key and document.
const ENTRY_OVERHEAD: usize = 64;

struct Entry {
    key: Vec<u8>,
    seq: u64,
    doc: Vec<u8>,
}

/// Documents pushed in any order, read back sorted by key.
pub struct Spill {
    budget: usize,
    mem: Vec<Entry>,
    mem_bytes: usize,
    runs: Vec<File>,
    pushed: u64,
}

impl std::fmt::Debug for Spill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spill")
            .field("pushed", &self.pushed)
            .field("runs", &self.runs.len())
            .finish()
    }
}

impl Default for Spill {
    fn default() -> Spill {
        Spill::new(DEFAULT_BUDGET)
    }
}

impl Spill {
    pub fn new(budget: usize) -> Spill {
        Spill {
            budget,
            mem: Vec::new(),
            mem_bytes: 0,
            runs: Vec::new(),
            pushed: 0,
        }
    }

    /// Entries pushed so far.
    pub fn len(&self) -> u64 {
        self.pushed
    }

    pub fn is_empty(&self) -> bool {
        self.pushed == 0
    }

    /// Runs written to disk so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    pub fn push(&mut self, key: Vec<u8>, doc: Vec<u8>) -> io::Result<()> {
        self.mem_bytes += key.len() + doc.len() + ENTRY_OVERHEAD;
        self.mem.push(Entry {
            key,
            seq: self.pushed,
            doc,
        });
        self.pushed += 1;
        if self.mem_bytes >= self.budget {
            self.write_run()?;
        }
        Ok(())
    }

    fn sort_mem(&mut self) {
        // Sequence numbers are unique, so the order is total and stable in push order.
        self.mem
            .sort_unstable_by(|a, b| (&a.key, a.seq).cmp(&(&b.key, b.seq)));
    }

    fn write_run(&mut self) -> io::Result<()> {
        self.sort_mem();
        let mut w = BufWriter::with_capacity(256 << 10, tempfile::tempfile()?);
        for e in self.mem.drain(..) {
            write_entry(&mut w, &e)?;
        }
        let mut f = w.into_inner().map_err(|e| e.into_error())?;
        f.rewind()?;
        self.runs.push(f);
        self.mem = Vec::new();
        self.mem_bytes = 0;
        Ok(())
    }

    /// Every entry, sorted by key (then push order).
    pub fn sorted(mut self) -> io::Result<Sorted> {
        if self.runs.is_empty() {
            self.sort_mem();
            return Ok(Sorted {
                mem: self.mem.into_iter(),
                readers: Vec::new(),
                heap: BinaryHeap::new(),
            });
        }
        if !self.mem.is_empty() {
            self.write_run()?;
        }
        let mut readers: Vec<BufReader<File>> = self
            .runs
            .into_iter()
            .map(|f| BufReader::with_capacity(64 << 10, f))
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(e) = read_entry(r)? {
                heap.push(Reverse(HeapEntry(e, i)));
            }
        }
        Ok(Sorted {
            mem: Vec::new().into_iter(),
            readers,
            heap,
        })
    }
}

fn write_entry(w: &mut impl Write, e: &Entry) -> io::Result<()> {
    let len = |n: usize| u32::try_from(n).map_err(|_| io::Error::other("entry over 4 GiB"));
    w.write_all(&len(e.key.len())?.to_le_bytes())?;
    w.write_all(&e.key)?;
    w.write_all(&e.seq.to_le_bytes())?;
    w.write_all(&len(e.doc.len())?.to_le_bytes())?;
    w.write_all(&e.doc)
}

fn read_entry(r: &mut impl Read) -> io::Result<Option<Entry>> {
    let mut n = [0u8; 4];
    match r.read_exact(&mut n) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut key = vec![0u8; u32::from_le_bytes(n) as usize];
    r.read_exact(&mut key)?;
    let mut seq = [0u8; 8];
    r.read_exact(&mut seq)?;
    r.read_exact(&mut n)?;
    let mut doc = vec![0u8; u32::from_le_bytes(n) as usize];
    r.read_exact(&mut doc)?;
    Ok(Some(Entry {
        key,
        seq: u64::from_le_bytes(seq),
        doc,
    }))
}

/// An entry at the head of run `.1`, ordered by (key, push order).
struct HeapEntry(Entry, usize);

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.0.key, self.0.seq).cmp(&(&other.0.key, other.0.seq))
    }
}

/// The merged, sorted entries of a [`Spill`].
pub struct Sorted {
    mem: std::vec::IntoIter<Entry>,
    readers: Vec<BufReader<File>>,
    heap: BinaryHeap<Reverse<HeapEntry>>,
}

impl Sorted {
    /// The next `(key, document)`, or `None` after the last.
    pub fn next_entry(&mut self) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        if self.readers.is_empty() {
            return Ok(self.mem.next().map(|e| (e.key, e.doc)));
        }
        let Some(Reverse(HeapEntry(e, i))) = self.heap.pop() else {
            return Ok(None);
        };
        if let Some(next) = read_entry(&mut self.readers[i])? {
            self.heap.push(Reverse(HeapEntry(next, i)));
        }
        Ok(Some((e.key, e.doc)))
    }

    /// Like [`Sorted::next_entry`], keeping only the last pushed of entries with equal keys.
    pub fn next_last_of_key(
        &mut self,
        pending: &mut Option<(Vec<u8>, Vec<u8>)>,
    ) -> io::Result<Option<(Vec<u8>, Vec<u8>)>> {
        loop {
            match (self.next_entry()?, pending.take()) {
                (None, last) => return Ok(last),
                (Some(e), None) => *pending = Some(e),
                (Some(e), Some(p)) if e.0 == p.0 => *pending = Some(e),
                (Some(e), Some(p)) => {
                    *pending = Some(e);
                    return Ok(Some(p));
                }
            }
        }
    }
}

/// A sort key of several optional strings whose byte order is the order of the tuple
/// (`None` first, then the strings in byte order), for keys that are not one string.
pub fn tuple_key(parts: &[Option<&str>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        match p {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                for &b in s.as_bytes() {
                    out.push(b);
                    if b == 0 {
                        out.push(1);
                    }
                }
                out.extend_from_slice(&[0, 0]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(mut s: Sorted) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(e) = s.next_entry().unwrap() {
            out.push(e);
        }
        out
    }

    fn input() -> Vec<(Vec<u8>, Vec<u8>)> {
        // Keys repeat (stability matters), documents tell the pushes apart.
        (0..2000u32)
            .map(|i| {
                let k = (i * 7919) % 613;
                (format!("k{k}").into_bytes(), format!("doc{i}").into_bytes())
            })
            .collect()
    }

    #[test]
    fn spilled_runs_merge_to_the_stable_in_memory_sort() {
        let mut expected = input();
        expected.sort_by(|a, b| a.0.cmp(&b.0));
        for budget in [1, 500, 10_000, usize::MAX] {
            let mut s = Spill::new(budget);
            for (k, d) in input() {
                s.push(k, d).unwrap();
            }
            assert_eq!(s.len(), 2000);
            if budget == 500 {
                assert!(s.runs() > 10, "the small budget did not spill");
            }
            assert_eq!(drain(s.sorted().unwrap()), expected, "budget {budget}");
        }
    }

    #[test]
    fn last_of_key_keeps_the_last_push_of_each_key() {
        let mut s = Spill::new(300);
        for (k, d) in [("b", "1"), ("a", "1"), ("b", "2"), ("c", "1"), ("b", "3")] {
            s.push(k.into(), d.into()).unwrap();
        }
        let mut sorted = s.sorted().unwrap();
        let mut pending = None;
        let mut out = Vec::new();
        while let Some((k, d)) = sorted.next_last_of_key(&mut pending).unwrap() {
            out.push((String::from_utf8(k).unwrap(), String::from_utf8(d).unwrap()));
        }
        let want = [("a", "1"), ("b", "3"), ("c", "1")];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, d)| (k.to_string(), d.to_string()))
            .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn tuple_keys_sort_like_the_tuples() {
        let tuples: Vec<(String, Option<String>)> = vec![
            ("a".into(), None),
            ("a".into(), Some("".into())),
            ("a".into(), Some("\0".into())),
            ("a".into(), Some("\0x".into())),
            ("a".into(), Some("\u{1}".into())),
            ("a\0".into(), None),
            ("ab".into(), None),
            ("b".into(), Some("a".into())),
        ];
        let mut sorted = tuples.clone();
        sorted.sort();
        assert_eq!(sorted, tuples, "the fixture is in tuple order");
        let keys: Vec<Vec<u8>> = tuples
            .iter()
            .map(|(a, b)| tuple_key(&[Some(a), b.as_deref()]))
            .collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        assert_eq!(sorted_keys, keys);
    }
}
