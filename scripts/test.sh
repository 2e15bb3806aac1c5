#!/usr/bin/env bash
# Run every check and test: formatting, lints, unit and integration tests (the integration
# tests start a moto server on 127.0.0.1; nothing reaches real AWS). Ends with one summary
# line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
status=0
cargo test --locked --lib --bins --tests 2>&1 | tee "$LOG" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$LOG"
exit "$status"
