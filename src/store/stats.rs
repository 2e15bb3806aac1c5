//! Counts of the requests this process made to its stores, for benchmarks: with
//! `EVIDENCED_STORE_STATS=1`, the command prints them on stderr when it ends. A request is
//! one backend call (one `GetObject`, one page of `ListObjectsV2`, one file read); objects
//! answered by a [`super::ReadCache`] are not requests.

use std::sync::atomic::{AtomicU64, Ordering};

/// The kinds of request counted.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Get,
    Put,
    List,
    Head,
}

static COUNTS: [AtomicU64; 4] = [
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
    AtomicU64::new(0),
];

/// Count one request.
pub fn count(op: Op) {
    COUNTS[op as usize].fetch_add(1, Ordering::Relaxed);
}

/// The environment variable that asks for the counts.
pub const ENV: &str = "EVIDENCED_STORE_STATS";

/// `store requests: get=… put=… list=… head=… total=…`.
pub fn summary() -> String {
    let n = |op: Op| COUNTS[op as usize].load(Ordering::Relaxed);
    let (g, p, l, h) = (n(Op::Get), n(Op::Put), n(Op::List), n(Op::Head));
    format!(
        "store requests: get={g} put={p} list={l} head={h} total={}",
        g + p + l + h
    )
}

/// Print [`summary`] on stderr when [`ENV`] is set to `1`.
pub fn print_if_asked() {
    if std::env::var(ENV).is_ok_and(|v| v == "1") {
        eprintln!("{}", summary());
    }
}
