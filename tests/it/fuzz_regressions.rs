//! Replays every saved fuzz input (the seed corpus and each crash ever found) through the
//! same entry points the fuzz targets use: none may panic.

use crate::support::root;

fn replay(target: &str, f: fn(&[u8])) {
    let dir = root().join("fuzz/regressions").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let result = std::panic::catch_unwind(|| f(&data));
        assert!(result.is_ok(), "{target}: {} panics", path.display());
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}

#[test]
fn record_reader_inputs_never_panic() {
    replay("record_reader", evidenced::fuzzing::record_reader);
}

#[test]
fn human_record_inputs_never_panic() {
    replay("human_record", evidenced::fuzzing::human_record);
}

#[test]
fn config_loader_inputs_never_panic() {
    replay("config_loader", evidenced::fuzzing::config_loader);
}

#[test]
fn bundle_reader_inputs_never_panic() {
    replay("bundle_reader", evidenced::fuzzing::bundle_reader);
}
