#!/usr/bin/env bash
# Benchmark: `evidenced verify` against two peers over the same blob files: single-process
# `sha256sum`, and two `openssl dgst -sha256` processes in parallel, each over half of the
# files (the two-core limit of SHA-256 with the CPU's SHA extensions).
# Usage: scripts/bench-verify.sh [TOTAL_MIB=1024] [RUNS=5]
# All read from the page cache after a warm-up run; the figures are medians of RUNS
# alternating runs, and each ratio is peer time / verify time (higher is better).
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
awk 'NR % 2 == 1' "$WORK/files" > "$WORK/files.a"
awk 'NR % 2 == 0' "$WORK/files" > "$WORK/files.b"
openssl2() {
  xargs -a "$WORK/files.a" openssl dgst -sha256 > /dev/null &
  local a=$!
  xargs -a "$WORK/files.b" openssl dgst -sha256 > /dev/null
  wait "$a"
}

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Warm-up: both read everything once.
xargs -a "$WORK/files" sha256sum > /dev/null
target/release/evidenced --store "$STORE" verify > /dev/null

: > "$WORK/t_verify"; : > "$WORK/t_sha"; : > "$WORK/t_ossl"
openssl2
for _ in $(seq "$RUNS"); do
  t0=$(now); target/release/evidenced --store "$STORE" verify > /dev/null; t1=$(now)
  echo "$t1 - $t0" | bc -l >> "$WORK/t_verify"
  t0=$(now); xargs -a "$WORK/files" sha256sum > /dev/null; t1=$(now)
  echo "$t1 - $t0" | bc -l >> "$WORK/t_sha"
  t0=$(now); openssl2; t1=$(now)
  echo "$t1 - $t0" | bc -l >> "$WORK/t_ossl"
done
TV=$(median < "$WORK/t_verify"); TS=$(median < "$WORK/t_sha"); TO=$(median < "$WORK/t_ossl")
MIB=$(echo "$BYTES / 1048576" | bc -l)
printf 'machine: %s, %s cores\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)"
printf 'data: %.0f MiB in %s blobs\n' "$MIB" "$(wc -l < "$WORK/files")"
printf 'evidenced verify: median %.3f s (%.0f MiB/s)\n' "$TV" "$(echo "$MIB / $TV" | bc -l)"
printf 'sha256sum:        median %.3f s (%.0f MiB/s)\n' "$TS" "$(echo "$MIB / $TS" | bc -l)"
printf '2 x openssl dgst: median %.3f s (%.0f MiB/s)\n' "$TO" "$(echo "$MIB / $TO" | bc -l)"
printf 'ratio (verify throughput / sha256sum throughput): %.2fx\n' "$(echo "$TS / $TV" | bc -l)"
printf 'ratio (verify throughput / 2 x openssl throughput): %.2fx\n' "$(echo "$TO / $TV" | bc -l)"
[ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"
