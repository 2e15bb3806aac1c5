#!/usr/bin/env bash
# Benchmark: a cold `evidenced verify` of an S3 store against the peer "copy the prefix to a
# local directory with `aws s3 sync`, then `evidenced verify` that directory", on the same
# machine in the same run. The S3 store is moto on 127.0.0.1 (tests/support/moto_launcher.py),
# filled from a chain of SIZES records written by scripts/gen-chain.py (as bench-chain.sh
# does). Each run, alternating ours and the peer's: `evidenced --store s3://BUCKET/ev verify`
# with no cache directory (EVIDENCED_CACHE_DIR unset: nothing read before is reused), then
# `aws s3 sync` into an empty directory followed by `evidenced --store DIR verify`. Wall time
# of each step (median of RUNS), the peer's total, the ratio peer / ours (≥ 1 means we are at
# least as fast), and the GETs of our verify (EVIDENCED_STORE_STATS=1).
#
# awscli (v1, from PyPI) lives in its own venv, .venv-awscli, installed when missing (the
# .venv of scripts/setup.sh holds moto and compliance-trestle, pinned, and is left alone).
#
# usage: scripts/bench-s3-sync.sh [WORK_DIR (default a temp dir; generated chains are reused)]
#   SIZES="1000 10000" RUNS=3 BIN=path/to/evidenced (default: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d)}
SIZES=${SIZES-"1000 10000"}
RUNS=${RUNS:-3}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
if [ -z "${BIN:-}" ]; then   # BIN=... runs another build
  cargo build --release --bin evidenced >&2
  BIN=$PWD/target/release/evidenced
fi
unset EVIDENCED_CONFIG EVIDENCED_CACHE_DIR
export EVIDENCED_STORE_STATS=1

bash scripts/setup.sh > /dev/null
AWS=$PWD/.venv-awscli/bin/aws
if [ ! -x "$AWS" ]; then
  echo "bench-s3-sync: installing awscli into .venv-awscli" >&2
  python3 -m venv .venv-awscli
  .venv-awscli/bin/pip install --quiet --disable-pip-version-check awscli
fi
echo "awscli: $("$AWS" --version 2>&1)" >&2
echo "moto: $(.venv/bin/python -c 'import moto; print(moto.__version__)')" >&2
echo "load average at start: $(uptime | sed 's/.*load average: //')" >&2

# shellcheck source=scripts/moto.sh
. scripts/moto.sh
start_moto "$WORK/moto.port"
export AWS_DEFAULT_REGION=us-east-1
export EVIDENCED_STORE__ENDPOINT_URL="$ENDPOINT" EVIDENCED_STORE__FORCE_PATH_STYLE=true
# No profile or config file of the machine's user changes the peer's behaviour.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ERR=$WORK/stderr

: > "$WORK/results"
for n in $SIZES; do
  src=$WORK/src-$n
  if [ ! -d "$src/chain" ]; then
    rm -rf "$src"; mkdir -p "$src"; python3 scripts/gen-chain.py "$src" "$n"
  fi
  EVIDENCED_STORE_STATS=0 "$BIN" --store "$src" verify > /dev/null
  objects=$(find "$src" -type f | wc -l)
  bucket=bench-sync-$n-$RANDOM
  .venv/bin/python scripts/upload_store.py "$ENDPOINT" "$bucket" "$src"
  store=s3://$bucket/ev
  echo "bench-s3-sync: $n records, $objects objects in $store" >&2
  for r in $(seq 1 "$RUNS"); do
    # Ours: a cold verify straight from S3.
    s=$(now)
    "$BIN" --store "$store" verify > /dev/null 2> "$ERR" || { echo "verify of $store failed:" >&2; cat "$ERR" >&2; exit 1; }
    e=$(now)
    ours=$(echo "$e - $s" | bc)
    line=$(grep '^store requests:' "$ERR" | tail -n1)
    total=$(sed 's/.*total=\([0-9]*\).*/\1/' <<< "$line")
    gets=$(sed 's/.*get=\([0-9]*\).*/\1/' <<< "$line")
    # The peer: copy the prefix to an empty directory, then verify it there.
    dir=$WORK/sync-$n
    rm -rf "$dir"; mkdir -p "$dir"
    s=$(now)
    "$AWS" --endpoint-url "$ENDPOINT" s3 sync "$store" "$dir" --only-show-errors > /dev/null 2> "$ERR" \
      || { echo "aws s3 sync failed:" >&2; cat "$ERR" >&2; exit 1; }
    m=$(now)
    "$BIN" --store "$dir" verify > /dev/null 2> "$ERR" || { echo "verify of $dir failed:" >&2; cat "$ERR" >&2; exit 1; }
    e=$(now)
    synced=$(find "$dir" -type f | wc -l)
    [ "$synced" -eq "$objects" ] || { echo "aws s3 sync copied $synced objects of $objects" >&2; exit 1; }
    sync=$(echo "$m - $s" | bc); local_verify=$(echo "$e - $m" | bc)
    echo "$n $objects $r $ours $sync $local_verify $total $gets" >> "$WORK/results"
    echo "bench-s3-sync: $n run $r: ours ${ours}s; sync ${sync}s + local verify ${local_verify}s; GETs $gets; load $(uptime | sed 's/.*load average: //')" >&2
  done
  rm -rf "$WORK/sync-$n"
done
echo "load average at end: $(uptime | sed 's/.*load average: //')" >&2

python3 - "$WORK/results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
sizes = sorted({int(r[0]) for r in rows})
print("| records | objects | runs | evidenced verify (S3, cold) | aws s3 sync | verify (local) | peer total | ratio peer / ours | GETs of ours (requests) |")
print("|---|---|---|---|---|---|---|---|---|")
for n in sizes:
    rs = [r for r in rows if int(r[0]) == n]
    med = lambda xs: statistics.median_low(xs)
    ours = med([float(r[3]) for r in rs])
    sync = med([float(r[4]) for r in rs])
    loc = med([float(r[5]) for r in rs])
    peer = med([float(r[4]) + float(r[5]) for r in rs])
    total, gets = int(rs[-1][6]), int(rs[-1][7])
    print(f"| {n:,} | {int(rs[0][1]):,} | {len(rs)} | {ours:.3f} s | {sync:.3f} s | {loc:.3f} s | {peer:.3f} s | **{peer / ours:.2f}x** | {gets:,} ({total:,}) |")
EOF
