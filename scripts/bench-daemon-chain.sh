#!/usr/bin/env bash
# Benchmark: peak resident memory of `evidenced run` against the chain's length. The daemon
# reads the whole chain at start (for catch-up and the first evaluation) and keeps the
# evidence between evaluations (src/requirements/loaded.rs), so its memory follows the
# number of records. For each local store of SIZES records (the stores of
# scripts/bench-chain.sh, generated when missing), the daemon starts on a hard-linked copy
# with one inbox collector, commits its catch-up run and evaluates the default catalog once;
# then its peak RSS (VmHWM) is read. Peer in the same run: the bytes of the records it holds,
# as stored (`chain/records/`), and, with OLD_BIN, another build on the same stores.
#
# usage: scripts/bench-daemon-chain.sh [WORK_DIR (default a temp dir; stores are reused)]
#   SIZES="10000 100000 300000" BIN=path/to/evidenced OLD_BIN=path/to/other/evidenced
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d)}
SIZES=${SIZES-"10000 100000 300000"}
mkdir -p "$WORK"
if [ -z "${BIN:-}" ]; then
  cargo build --release --bin evidenced >&2
  BIN=$PWD/target/release/evidenced
fi
unset EVIDENCED_CONFIG EVIDENCED_CACHE_DIR

# peak BIN STORE: "seconds-to-first-evaluation peak-KiB"
peak() {
  local bin=$1 src=$2 w
  w=$(mktemp -d)
  cp -al "$src" "$w/store"
  mkdir -p "$w/inbox"
  cat > "$w/evidenced.toml" <<TOML
[store]
url = "$w/store"
[daemon]
jitter_secs = 0
health_file = "$w/health.json"
requirements_interval_secs = 3600
[[collector]]
type = "inbox"
name = "bench-daemon"
schedule = "0 0 0 1 1 *"
url = "$w/inbox"
TOML
  local s e pid
  s=$(date +%s.%N)
  RUST_LOG=evidenced=debug "$bin" --config "$w/evidenced.toml" run > "$w/log" 2>&1 &
  pid=$!
  # The first evaluation logs "Evidence brought up to date." (debug) before it runs; the
  # catch-up run logs "Run finished.". Wait for both, then for the evaluation to end.
  for _ in $(seq 3000); do
    grep -q 'Evidence brought up to date' "$w/log" && grep -q '"Run finished."' "$w/log" && break
    sleep 0.1
  done
  grep -q 'Evidence brought up to date' "$w/log" || { echo "no evaluation:" >&2; tail -5 "$w/log" >&2; kill "$pid"; exit 1; }
  e=$(date +%s.%N)
  local last=0 now
  for _ in $(seq 50); do   # until the peak stops moving (the evaluation is done)
    now=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    [ "$now" = "$last" ] && break
    last=$now; sleep 0.2
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$w"
  echo "$(echo "$e - $s" | bc) $last"
}

printf '| records | record bytes | peak RSS | RSS / record bytes | per record | start to first evaluation |%s\n' "${OLD_BIN:+ peak RSS (OLD_BIN) | OLD / new |}"
printf '|---|---|---|---|---|---|%s\n' "${OLD_BIN:+---|---|}"
for n in $SIZES; do
  store=$WORK/local-$n/store
  if [ ! -d "$store/chain" ]; then
    rm -rf "$WORK/local-$n"; mkdir -p "$store"
    python3 scripts/gen-chain.py "$store" "$n"
    "$BIN" --store "$store" segments > /dev/null
  fi
  bytes=$(du -sb "$store/chain/records" | cut -f1)
  read -r t kib < <(peak "$BIN" "$store")
  row=$(printf '| %s | %.1f MiB | %.1f MiB | %.2fx | %.2f KiB | %.2f s |' "$n" \
    "$(echo "$bytes/1048576" | bc -l)" "$(echo "$kib/1024" | bc -l)" \
    "$(echo "$kib*1024/$bytes" | bc -l)" "$(echo "$kib/$n" | bc -l)" "$t")
  if [ -n "${OLD_BIN:-}" ]; then
    read -r _ old < <(peak "$OLD_BIN" "$store")
    row+=$(printf ' %.1f MiB | %.2fx |' "$(echo "$old/1024" | bc -l)" "$(echo "$old/$kib" | bc -l)")
  fi
  echo "$row"
done
