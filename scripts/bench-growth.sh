#!/usr/bin/env bash
# Benchmark: storage growth of an unchanged collection cycle. Seeds moto with the demo
# account (scripts/seed_moto.py), runs every collector of config/demo.toml twice into a
# fresh store, and reports the bytes the second cycle added per collector run (goal: under
# 4 KiB: unchanged state dedupes to existing blobs, so only records and small run documents
# are new). Peer: the first cycle's bytes per run, measured in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --quiet --bin evidenced
BIN=target/release/evidenced
WORK=$(mktemp -d)
PORTFILE="$WORK/port"
exec 3> >(exec .venv/bin/python tests/support/moto_launcher.py >"$PORTFILE" 2>/dev/null)
MOTO_PID=$!
trap 'exec 3>&-; wait "$MOTO_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do [ -s "$PORTFILE" ] && break; sleep 0.05; done
ENDPOINT="http://127.0.0.1:$(head -n1 "$PORTFILE")"
.venv/bin/python scripts/seed_moto.py "$ENDPOINT" > /dev/null
mkdir -p "$WORK/inbox"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export EVIDENCED_AWS__ENDPOINT_URL="$ENDPOINT" EVIDENCED_STORE__URL="$WORK/evidence"
sed "s|url = \"./demo-inbox\"|url = \"$WORK/inbox\"|" config/demo.toml > "$WORK/demo.toml"
bytes() { find "$WORK/evidence" -type f ! -name '.tmp-*' -printf '%s\n' | awk '{s+=$1} END {print s+0}'; }
records() { find "$WORK/evidence/chain/records" -name '*.json' | wc -l; }
"$BIN" --config "$WORK/demo.toml" collect --once > /dev/null
B1=$(bytes); R1=$(records)
"$BIN" --config "$WORK/demo.toml" collect --once > /dev/null
B2=$(bytes); R2=$(records)
"$BIN" --config "$WORK/demo.toml" verify > /dev/null
printf 'first cycle: %s runs, %s bytes (%.0f bytes per run)\n' "$R1" "$B1" "$(echo "$B1/$R1" | bc -l)"
printf 'unchanged second cycle: %s runs, %s new bytes (%.0f bytes per run)\n' "$((R2-R1))" "$((B2-B1))" "$(echo "($B2-$B1)/($R2-$R1)" | bc -l)"
printf 'ratio second/first per run: %.3f\n' "$(echo "(($B2-$B1)/($R2-$R1))/($B1/$R1)" | bc -l)"
