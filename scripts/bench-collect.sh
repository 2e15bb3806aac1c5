#!/usr/bin/env bash
# Collection benchmark: one collection of a large account (50,000 backup jobs over 50 pages,
# 10,000 configuration items over 100 list pages and 100 batches, 2,000 alarms over 20
# pages) by evidenced (backup, config and cloudwatch collectors, concurrently, into a local
# store), against a plain boto3 script paging through the same response bytes serially.
# Both sides parse identical wire-format responses served in-process (aws-smithy-mocks /
# botocore's before-send hook), so no network or emulator is in the measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
.venv/bin/python scripts/bench_collect.py gen "$DIR"
cargo build --release --locked --quiet --example bench_collect
for run in 1 2 3; do
  echo "== run $run"
  target/release/examples/bench_collect "$DIR"
  .venv/bin/python scripts/bench_collect.py peer "$DIR"
done
