#!/usr/bin/env bash
# A hundred accounts in one task: one `evidenced collect --once` (release build) of N
# accounts × 4 regions of AWS Backup jobs (1,000 jobs per scope in pages of 250, every
# 10th Backup request throttled, 20 ms per request) against the scale mock of the test
# suite, for N = 25, 50 and 100 (or the N given): wall time, peak RSS, requests and
# throttles, and the growth of wall time with the number of scopes (1.0 is linear).
# Needs GNU time (/usr/bin/time) and about 600 MB in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cargo build --release --locked --quiet --bin evidenced --example bench_accounts
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(25 50 100)
target/release/examples/bench_accounts target/release/evidenced "$DIR" "${SIZES[@]}"
