#!/usr/bin/env bash
# Benchmark: `evidenced verify` against single-process `sha256sum` over the same blob files.
# Usage: scripts/bench-verify.sh [TOTAL_MIB=1024] [RUNS=5]
# Both read from the page cache after a warm-up run; the figure is the median of RUNS
# alternating runs, and the ratio is sha256sum time / verify time (higher is better).
set -euo pipefail
cd "$(dirname "$0")/.."
TOTAL_MIB="${1:-1024}"
RUNS="${2:-5}"
WORK="${BENCH_DIR:-$(mktemp -d)}"
STORE="$WORK/store"

cargo build --release --locked --quiet --bin evidenced --example gen_store
if [ ! -d "$STORE/chain" ]; then
  target/release/examples/gen_store "$STORE" "$TOTAL_MIB" >&2
fi
BYTES=$(find "$STORE/blobs" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
find "$STORE/blobs" -type f | sort > "$WORK/files"

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Warm-up: both read everything once.
xargs -a "$WORK/files" sha256sum > /dev/null
target/release/evidenced --store "$STORE" verify > /dev/null

: > "$WORK/t_verify"; : > "$WORK/t_sha"
for _ in $(seq "$RUNS"); do
  t0=$(now); target/release/evidenced --store "$STORE" verify > /dev/null; t1=$(now)
  echo "$t1 - $t0" | bc -l >> "$WORK/t_verify"
  t0=$(now); xargs -a "$WORK/files" sha256sum > /dev/null; t1=$(now)
  echo "$t1 - $t0" | bc -l >> "$WORK/t_sha"
done
TV=$(median < "$WORK/t_verify"); TS=$(median < "$WORK/t_sha")
MIB=$(echo "$BYTES / 1048576" | bc -l)
printf 'machine: %s, %s cores\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)"
printf 'data: %.0f MiB in %s blobs\n' "$MIB" "$(wc -l < "$WORK/files")"
printf 'evidenced verify: median %.3f s (%.0f MiB/s)\n' "$TV" "$(echo "$MIB / $TV" | bc -l)"
printf 'sha256sum:        median %.3f s (%.0f MiB/s)\n' "$TS" "$(echo "$MIB / $TS" | bc -l)"
printf 'ratio (verify throughput / sha256sum throughput): %.2fx\n' "$(echo "$TS / $TV" | bc -l)"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"
