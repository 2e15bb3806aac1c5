//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the regression tests that
//! replay every saved input in CI. Each must return (never panic) on any input.

use time::macros::datetime;

/// The record reader and the canonical-form check, as `verify` uses them.
pub fn record_reader(data: &[u8]) {
    if let Ok(r) = crate::record::Record::from_bytes(data) {
        // A record that parses must serialize back, canonically.
        if let Ok(bytes) = r.to_bytes() {
            assert!(
                crate::canonical::is_canonical(&bytes),
                "re-serialized record is not canonical"
            );
        }
    }
    let _ = crate::canonical::is_canonical(data);
    // The direct canonical serializer agrees with the JSON-value route on any JSON.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let direct = crate::canonical::to_vec(&v).ok();
        let via_value = crate::canonical::value_to_vec(&v).ok();
        assert_eq!(direct, via_value, "canonical serializers disagree");
    }
}

/// The human-record parser under each of its syntaxes.
pub fn human_record(data: &[u8]) {
    let now = datetime!(2026-11-23 00:00 UTC);
    for name in ["f.md", "f.toml", "f.json", "f"] {
        if let Ok(h) = crate::human::parse(name, data, now) {
            // An accepted record has a canonical form.
            assert!(crate::canonical::value_to_vec(&h.canonical).is_ok());
        }
    }
}

/// The configuration loader, with and without environment overrides.
pub fn config_loader(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::config::Config::parse("fuzz.toml", text, std::iter::empty());
    let env = [("EVIDENCED_STORE__URL".to_string(), "s3://b/p".to_string())];
    let _ = crate::config::Config::parse("fuzz.toml", text, env);
}

/// The bundle reader: safe extraction and the MANIFEST check, with small caps so the fuzzer
/// explores the limits instead of the disk.
pub fn bundle_reader(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("fuzz.tar.gz");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let limits = crate::bundle::Limits {
        max_member: 1 << 20,
        max_total: 8 << 20,
        max_entries: 1000,
    };
    if let Ok(opened) = crate::bundle::open(&path, &limits) {
        let _ = crate::bundle::check_manifest(opened.root());
        // Extraction stays inside its own temporary directory.
        assert!(opened.root().starts_with(std::env::temp_dir()) || opened.root().is_relative());
    }
}
