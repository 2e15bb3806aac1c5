#!/usr/bin/env bash
# Benchmark: what the commit that completes a segment costs (docs/FORMAT.md, section 7a).
# After committing record n x 1,000 the writer reads back the segment's record objects that
# it does not hold (those other processes committed) and writes the segment: the one write
# in a thousand that is not constant work.
#
# For each store kind (a local directory, and S3 on moto), a chain of N - 1 records is
# generated (scripts/gen-chain.py; N a multiple of 1,000, default 10,000) with its earlier
# segments written; then, RUNS times on a fresh copy of it, one `submit` commits record N
# (completing a segment) and a second `submit` commits record N + 1 (an ordinary commit, the
# peer in the same run). Wall time (median) and store requests of each
# (EVIDENCED_STORE_STATS=1, counted in the backend). The segment written is then checked:
# `evidenced verify` of the store after the runs.
#
# usage: scripts/bench-segment-write.sh [WORK_DIR]   N=10000 RUNS=5 KINDS="local s3"
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d)}
N=${N:-10000}
RUNS=${RUNS:-5}
KINDS=${KINDS:-"local s3"}
[ $((N % 1000)) = 0 ] || { echo "N must be a multiple of 1000" >&2; exit 2; }
mkdir -p "$WORK"
if [ -z "${BIN:-}" ]; then
  cargo build --release --bin evidenced >&2
  BIN=$PWD/target/release/evidenced
fi
unset EVIDENCED_CONFIG
src=$WORK/src-$((N - 1))
if [ ! -d "$src/chain" ]; then
  rm -rf "$src"; mkdir -p "$src"
  python3 scripts/gen-chain.py "$src" $((N - 1)) >&2
  "$BIN" --store "$src" segments > /dev/null
fi

drill() {
  local f=$WORK/drill-$1.toml
  printf 'kind = "tabletop"\nid = "segment-bench-%s"\nstarted_at = "2026-01-02T09:00:00Z"\nended_at = "2026-01-02T10:00:00Z"\nscenario = "Region loss"\noutcome = "pass"\nparticipants = ["ops"]\n' "$1" > "$f"
  echo "$f"
}
# submit STORE TAG: one submit; prints "seconds total gets puts".
submit() {
  local s e line f
  f=$(drill "$2")
  s=$(date +%s.%N)
  EVIDENCED_STORE_STATS=1 "$BIN" --store "$1" submit "$f" > /dev/null 2> "$WORK/stderr" || { cat "$WORK/stderr" >&2; exit 1; }
  e=$(date +%s.%N)
  line=$(grep '^store requests:' "$WORK/stderr" | tail -n1)
  printf '%s %s %s %s\n' "$(echo "$e - $s" | bc)" "$(sed 's/.*total=\([0-9]*\).*/\1/' <<< "$line")" \
    "$(sed 's/.*get=\([0-9]*\).*/\1/' <<< "$line")" "$(sed 's/.*put=\([0-9]*\).*/\1/' <<< "$line")"
}

ENDPOINT=
if [[ " $KINDS " == *" s3 "* ]]; then
  # shellcheck source=scripts/moto.sh
  . scripts/moto.sh
  start_moto "$WORK/moto.port"
fi

: > "$WORK/results"
for kind in $KINDS; do
  for i in $(seq 1 "$RUNS"); do
    if [ "$kind" = local ]; then
      store=$WORK/local-$i
      rm -rf "$store"; cp -a "$src" "$store"
    else
      bucket=bench-segment-$i-$RANDOM
      .venv/bin/python scripts/upload_store.py "$ENDPOINT" "$bucket" "$src"
      store=s3://$bucket/ev
      export EVIDENCED_STORE__ENDPOINT_URL="$ENDPOINT" EVIDENCED_STORE__FORCE_PATH_STYLE=true
    fi
    echo "$kind completing $(submit "$store" "$kind-$i-a")" >> "$WORK/results"
    echo "$kind ordinary $(submit "$store" "$kind-$i-b")" >> "$WORK/results"
    if [ "$i" = 1 ]; then
      # The segment the first commit wrote is there and verifies with the chain.
      "$BIN" --store "$store" log --format json 2>/dev/null | python3 -c "import json,sys; r=json.load(sys.stdin); assert r[-1]['seq'] == $N + 1, r[-1]['seq']"
      "$BIN" --store "$store" verify > "$WORK/verify-$kind.txt" || { cat "$WORK/verify-$kind.txt" >&2; exit 1; }
    fi
  done
  unset EVIDENCED_STORE__ENDPOINT_URL EVIDENCED_STORE__FORCE_PATH_STYLE
done

python3 - "$WORK/results" "$N" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
print(f"| store | commit | time (s, median) | requests (GET, PUT) |")
print("|---|---|---|---|")
med = {}
for kind in dict.fromkeys(r[0] for r in rows):
    for which in ["completing", "ordinary"]:
        rs = [r for r in rows if r[0] == kind and r[1] == which]
        t = statistics.median(float(r[2]) for r in rs)
        total, gets, puts = (int(x) for x in rs[-1][3:6])
        med[(kind, which)] = (t, total)
        label = f"record {n:,} (completes a segment)" if which == "completing" else f"record {n + 1:,}"
        print(f"| {kind} | {label} | {t:.3f} | {total:,} ({gets:,}, {puts:,}) |")
print()
for kind in dict.fromkeys(r[0] for r in rows):
    (tc, rc), (to, ro) = med[(kind, "completing")], med[(kind, "ordinary")]
    print(f"{kind}: completing / ordinary: time {tc / to:.2f}x, requests {rc / max(ro, 1):.2f}x; "
          f"over the segment's 1,000 commits: {(tc + 999 * to) / (1000 * to):.3f}x the time of "
          f"ordinary ones, {(rc + 999 * ro) / (1000 * ro):.3f}x the requests")
EOF
