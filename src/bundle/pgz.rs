//! Gzip on every core, byte for byte reproducible: the stream is cut into fixed-size
//! blocks, each compressed on its own into one gzip member (RFC 1952 allows any number of
//! members in one file; `gzip -t`, `gzip -d` and GNU tar read them as one stream), and the
//! members are written in order. The same input always gives the same blocks, and each block
//! the same member, so the archive does not depend on the number of threads.

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;
use rayon::prelude::*;

/// Uncompressed bytes per gzip member. Large enough that the cost of starting each member
/// without the previous one's window is well under 1% of the output.
pub const BLOCK: usize = 1 << 20;

/// A writer that gzip-compresses what it is given, `batch` blocks at a time in parallel, on
/// a thread of its own: the caller goes on producing the next blocks while the previous ones
/// are compressed and written. At most two batches wait, so memory stays bounded.
pub struct ParallelGz<W: Write + Send + 'static> {
    batch: usize,
    /// Full blocks for the next batch, and the block being filled.
    blocks: Vec<Vec<u8>>,
    current: Vec<u8>,
    sent_any: bool,
    tx: Option<std::sync::mpsc::SyncSender<Vec<Vec<u8>>>>,
    worker: Option<std::thread::JoinHandle<io::Result<W>>>,
}

fn compress_batch<W: Write>(
    inner: &mut W,
    level: Compression,
    blocks: &[Vec<u8>],
) -> io::Result<()> {
    let members: Vec<io::Result<Vec<u8>>> = blocks
        .par_iter()
        .map(|b| {
            let mut gz = GzEncoder::new(Vec::with_capacity(b.len() / 2), level);
            gz.write_all(b)?;
            gz.finish()
        })
        .collect();
    for m in members {
        inner.write_all(&m?)?;
    }
    Ok(())
}

impl<W: Write + Send + 'static> ParallelGz<W> {
    pub fn new(inner: W, level: Compression) -> ParallelGz<W> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        ParallelGz::with_batch(inner, level, 2 * cores)
    }

    fn with_batch(mut inner: W, level: Compression, batch: usize) -> ParallelGz<W> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(1);
        let worker = std::thread::spawn(move || {
            for blocks in rx {
                compress_batch(&mut inner, level, &blocks)?;
            }
            inner.flush()?;
            Ok(inner)
        });
        ParallelGz {
            batch,
            blocks: Vec::new(),
            current: Vec::with_capacity(BLOCK),
            sent_any: false,
            tx: Some(tx),
            worker: Some(worker),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        let blocks = std::mem::take(&mut self.blocks);
        self.sent_any = true;
        match &self.tx {
            Some(tx) if tx.send(blocks).is_ok() => Ok(()),
            // The worker stopped on an error: `finish` returns it.
            _ => Err(io::Error::other("the compression thread stopped")),
        }
    }

    /// Compress what is left and return the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.current.is_empty() || (!self.sent_any && self.blocks.is_empty()) {
            // An empty input still gives one (empty) member: a valid gzip file.
            self.blocks.push(std::mem::take(&mut self.current));
        }
        let sent = match self.blocks.is_empty() {
            true => Ok(()),
            false => self.send(),
        };
        self.tx = None;
        let done = self
            .worker
            .take()
            .map(|w| w.join())
            .ok_or_else(|| io::Error::other("finished twice"))?
            .map_err(|_| io::Error::other("the compression thread panicked"))?;
        let inner = done?;
        sent?;
        Ok(inner)
    }
}

impl<W: Write + Send + 'static> Write for ParallelGz<W> {
    fn write(&mut self, mut buf: &[u8]) -> io::Result<usize> {
        let n = buf.len();
        while !buf.is_empty() {
            let room = BLOCK - self.current.len();
            let take = room.min(buf.len());
            self.current.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.current.len() == BLOCK {
                let full = std::mem::replace(&mut self.current, Vec::with_capacity(BLOCK));
                self.blocks.push(full);
                if self.blocks.len() == self.batch {
                    self.send()?;
                }
            }
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Blocks are compressed when full or at `finish`; flushing early would change the
        // member boundaries and so the bytes.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn compress(data: &[u8], batch: usize) -> Vec<u8> {
        let mut w = ParallelGz::with_batch(Vec::new(), Compression::default(), batch);
        for chunk in data.chunks(77_777) {
            w.write_all(chunk).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn members_decompress_to_the_input_and_do_not_depend_on_the_thread_count() {
        let mut data = Vec::new();
        let mut x = 1u64;
        while data.len() < 3 * BLOCK + 12_345 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            data.extend_from_slice(format!("line {} {}\n", x >> 40, x % 97).as_bytes());
        }
        let one = compress(&data, 1);
        let many = compress(&data, 8);
        assert_eq!(one, many, "the output depends on the batch size");
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&one[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        // Four members: three full blocks and the rest.
        let members = one.windows(3).filter(|w| w == &[0x1f, 0x8b, 0x08]).count();
        assert!(members >= 4, "{members} gzip headers");
        // An empty input is a valid, empty gzip file.
        let empty = compress(b"", 4);
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }
}
