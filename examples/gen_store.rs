//! Build a local evidence store of a given size for benchmarks:
//! `cargo run --release --example gen_store -- DIR TOTAL_MIB [BLOB_KIB] [ITEMS_PER_RECORD]`.
//!
//! Blobs are pseudo-random bytes (so they do not deduplicate), committed through the real
//! chain code in records of several items each.

use anyhow::{bail, Context};
use evidenced::chain::EvidenceStore;
use evidenced::digest::Blob;
use evidenced::record::{now_millis, Draft, Item, Scope, Status};
use evidenced::store::LocalStore;
use rand::{RngCore, SeedableRng};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        bail!("usage: gen_store DIR TOTAL_MIB [BLOB_KIB=4096] [ITEMS_PER_RECORD=8]");
    }
    let dir = &args[0];
    let total_mib: u64 = args[1].parse().context("TOTAL_MIB")?;
    let blob_kib: u64 = args
        .get(2)
        .map_or(Ok(4096), |s| s.parse())
        .context("BLOB_KIB")?;
    let per_record: usize = args
        .get(3)
        .map_or(Ok(8), |s| s.parse())
        .context("ITEMS_PER_RECORD")?;
    let blobs = (total_mib * 1024).div_ceil(blob_kib);
    let store = EvidenceStore::new(LocalStore::new(dir));
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let mut made = 0u64;
    while made < blobs {
        let n = per_record.min((blobs - made) as usize);
        let mut items = Vec::with_capacity(n);
        let mut bytes = Vec::with_capacity(n);
        for i in 0..n {
            let mut b = vec![0u8; (blob_kib * 1024) as usize];
            rng.fill_bytes(&mut b);
            let b = Blob::new(b);
            items.push(Item {
                name: format!("bench/blob-{}.bin", made + i as u64),
                digest: b.digest(),
                size: b.size(),
                media_type: "application/octet-stream".into(),
                observed_at: now_millis(),
            });
            bytes.push(b);
        }
        let draft = Draft {
            collector: "bench".into(),
            kind: "bench".into(),
            scope: Scope::default(),
            status: Status::Complete,
            errors: vec![],
            items,
            caller_arn: None,
            api_calls: vec![],
        };
        store.append(draft, &bytes).await?;
        made += n as u64;
    }
    println!("{blobs} blobs of {blob_kib} KiB in {dir}");
    Ok(())
}
