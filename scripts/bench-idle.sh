#!/usr/bin/env bash
# Benchmark: resident memory of `evidenced run` idle between schedules, and the size of the
# stripped release binary. Peer: an idle Python interpreter that has imported boto3 (the
# floor of a boto3-based collector daemon), measured in the same run.
# Usage: scripts/bench-idle.sh [SAMPLES=10]
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES="${1:-10}"
bash scripts/setup.sh
cargo build --release --locked --quiet --bin evidenced
WORK="$(mktemp -d)"; trap 'kill $PID $PEER 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/inbox"
cp config/examples/*.toml "$WORK/inbox/"
cat > "$WORK/evidenced.toml" <<TOML
[store]
url = "$WORK/evidence"
[daemon]
jitter_secs = 0
health_file = "$WORK/health.json"
[[collector]]
type = "inbox"
name = "drills"
schedule = "0 0 * * * *"
url = "$WORK/inbox"
TOML
target/release/evidenced --config "$WORK/evidenced.toml" run > "$WORK/log" 2>&1 &
PID=$!
.venv/bin/python -c "import boto3, time; boto3.client('s3', region_name='us-east-1'); time.sleep(3600)" > /dev/null 2>&1 &
PEER=$!
# Wait until the catch-up run has committed, then sample while idle.
for _ in $(seq 100); do grep -q '"Run finished."' "$WORK/log" && break; sleep 0.1; done
grep -q '"Run finished."' "$WORK/log" || { cat "$WORK/log"; exit 1; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
: > "$WORK/r"; : > "$WORK/p"
for _ in $(seq "$SAMPLES"); do rss $PID >> "$WORK/r"; rss $PEER >> "$WORK/p"; sleep 1; done
R=$(median < "$WORK/r"); P=$(median < "$WORK/p")
SIZE=$(stat -c %s target/release/evidenced)
printf 'evidenced run idle RSS: median %.1f MiB over %s samples\n' "$(echo "$R/1024" | bc -l)" "$SAMPLES"
printf 'peer (python + boto3 client) idle RSS: median %.1f MiB\n' "$(echo "$P/1024" | bc -l)"
printf 'ratio evidenced / peer: %.2f\n' "$(echo "$R/$P" | bc -l)"
printf 'stripped release binary: %.1f MiB\n' "$(echo "$SIZE/1048576" | bc -l)"
