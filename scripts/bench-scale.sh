#!/usr/bin/env bash
# How collection time grows with the account: the collection benchmark's account (backup
# jobs, configuration items and alarms in the proportions 50 : 10 : 2) at 1,000, 3,000,
# 10,000, 30,000 and 100,000 items in all, each collected by evidenced and by the serial
# boto3 peer (three alternating runs each), with the growth exponent of both sides
# (time ~ items^k; the goal is k = 1, linear). Needs ~500 MB in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cargo build --release --locked --quiet --example bench_collect
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 3000 10000 30000 100000)
.venv/bin/python scripts/bench_collect.py scale target/release/examples/bench_collect "$DIR" "${SIZES[@]}"
