#!/usr/bin/env bash
# Run every check and test: formatting, lints, unit and integration tests (the integration
# tests start a moto server on 127.0.0.1; nothing reaches real AWS).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
cargo test --locked
