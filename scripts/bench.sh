#!/usr/bin/env bash
# Every benchmark, each against its peer in the same run (docs/BENCHMARKS.md):
#   verify vs sha256sum; collection vs a serial boto3 script; bundle vs tar czf;
#   idle RSS and binary size; storage growth; collection time from 1,000 to 100,000 items.
#   Takes about 25 minutes on 2 cores; needs ~4 GiB in $TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "### verify vs sha256sum";  bash scripts/bench-verify.sh 1024 5
echo "### collection vs boto3";  bash scripts/bench-collect.sh
echo "### bundle vs tar czf";    bash scripts/bench-bundle.sh 1100 "$(mktemp -d)"
echo "### idle memory";          bash scripts/bench-idle.sh 10
echo "### storage growth";      bash scripts/bench-growth.sh
echo "### collection time growth"; bash scripts/bench-scale.sh
