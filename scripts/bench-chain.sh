#!/usr/bin/env bash
# Benchmark: the cost of each command against the chain's length. Builds local stores of
# SIZES records (scripts/gen-chain.py: a daemon's pace, 120 records a day) and S3 stores
# (moto) of S3_SIZES records, then measures, on each, `log`, `verify`, `report` and `bundle` of
# the last 91 days, one `submit` and one collector run (`collect --once`, an inbox
# holding one file): wall time (median of RUNS) and store requests (EVIDENCED_STORE_STATS=1,
# counted in the backend). Ratios are against a peer in the same run: each size against the
# smallest, and 100k against 10k where both were measured.
#
# usage: scripts/bench-chain.sh [WORK_DIR (default a temp dir; stores in it are reused)]
#   SIZES="1000 10000 100000 300000" S3_SIZES="1000 10000" RUNS=3
#   SEGMENTS=1 (default): write the stores' segments (`evidenced segments`, docs/FORMAT.md
#   section 7a) before measuring, as the daemon does at start; SEGMENTS=0 measures stores
#   as a format-2 writer left them (no segments; run it on a fresh WORK_DIR).
#   SIGNED=1 (default): `bundle` runs with a checkpoint signing key (`evidenced keygen`), as
#   a deployment does, so it seals the bundle and writes an excerpt (record 1 and the
#   records from the report's horizon; docs/FORMAT-checkpoints-bundles.md); SIGNED=0
#   bundles the whole chain.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-$(mktemp -d)}
SIZES=${SIZES-"1000 10000 100000 300000"}
S3_SIZES=${S3_SIZES-"1000 10000"}
RUNS=${RUNS:-3}
SEGMENTS=${SEGMENTS:-1}
SIGNED=${SIGNED:-1}
mkdir -p "$WORK"
if [ -z "${BIN:-}" ]; then   # BIN=... runs another build (to try the script quickly)
  cargo build --release --bin evidenced >&2
  BIN=$PWD/target/release/evidenced
fi
export EVIDENCED_STORE_STATS=1
unset EVIDENCED_CONFIG
BUNDLE_CONFIG=()
if [ "$SIGNED" = 1 ]; then
  [ -f "$WORK/signing.pem" ] || "$BIN" keygen "$WORK/signing.pem" > /dev/null
  printf '[checkpoint]\nkey_file = "%s"\n' "$WORK/signing.pem" > "$WORK/signed.toml"
  BUNDLE_CONFIG=(--config "$WORK/signed.toml")
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# run NAME STORE ARGS...: RUNS timed runs; prints "seconds requests gets" (the median time,
# the request counts of the last run).
run() {
  local name=$1 store=$2; shift 2
  local times=() s e err=$WORK/stderr
  for _ in $(seq 1 "$RUNS"); do
    s=$(date +%s.%N)
    "$BIN" --store "$store" "$@" > /dev/null 2> "$err" || { echo "$name failed:" >&2; cat "$err" >&2; exit 1; }
    e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc)")
  done
  local line; line=$(grep '^store requests:' "$err" | tail -n1)
  printf '%s %s %s\n' "$(printf '%s\n' "${times[@]}" | median)" \
    "$(sed 's/.*total=\([0-9]*\).*/\1/' <<< "$line")" "$(sed 's/.*get=\([0-9]*\).*/\1/' <<< "$line")"
}

# measure KIND SIZE STORE: one row per command into $WORK/results.
measure() {
  local kind=$1 n=$2 store=$3 dir=$WORK/$1-$2
  local last from
  last=$("$BIN" --store "$store" log --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["recorded_at"])')
  from=$(python3 -c "import datetime,sys; t=datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')); print((t-datetime.timedelta(days=91)).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$last")
  echo "$kind $n log $(run log "$store" log)" >> "$WORK/results"
  echo "$kind $n verify $(run verify "$store" verify)" >> "$WORK/results"
  echo "$kind $n report $(run report "$store" report --format json --from "$from" --to "$last")" >> "$WORK/results"
  echo "$kind $n bundle $(run bundle "$store" "${BUNDLE_CONFIG[@]}" bundle --force --from "$from" --to "$last" -o "$dir.bundle.tar.gz")" >> "$WORK/results"
  # Writes: each run stores one new record.
  local i=0
  submit_one() {
    i=$((i + 1))
    local f=$WORK/drill-$kind-$n-$i-$RANDOM.toml
    printf 'kind = "tabletop"\nid = "bench-%s-%s-%s-%s"\nstarted_at = "2026-01-02T09:00:00Z"\nended_at = "2026-01-02T10:00:00Z"\nscenario = "Region loss"\noutcome = "pass"\nparticipants = ["ops"]\n' \
      "$kind" "$n" "$i" "$RANDOM" > "$f"
    echo "$f"
  }
  local times=() s e line
  for _ in $(seq 1 "$RUNS"); do
    local f; f=$(submit_one)
    s=$(date +%s.%N); "$BIN" --store "$store" submit "$f" > /dev/null 2> "$WORK/stderr"; e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc)")
  done
  line=$(grep '^store requests:' "$WORK/stderr" | tail -n1)
  echo "$kind $n submit $(printf '%s\n' "${times[@]}" | median) $(sed 's/.*total=\([0-9]*\).*/\1/' <<< "$line") $(sed 's/.*get=\([0-9]*\).*/\1/' <<< "$line")" >> "$WORK/results"
  mkdir -p "$dir.inbox"
  printf '[[collector]]\ntype = "inbox"\nname = "drills"\nschedule = "0 */5 * * * *"\nurl = "%s"\n' "$dir.inbox" > "$dir.toml"
  times=()
  for _ in $(seq 1 "$RUNS"); do
    cp "$(submit_one)" "$dir.inbox/"
    s=$(date +%s.%N); "$BIN" --config "$dir.toml" --store "$store" collect --once > /dev/null 2> "$WORK/stderr"; e=$(date +%s.%N)
    times+=("$(echo "$e - $s" | bc)")
  done
  line=$(grep '^store requests:' "$WORK/stderr" | tail -n1)
  echo "$kind $n collect $(printf '%s\n' "${times[@]}" | median) $(sed 's/.*total=\([0-9]*\).*/\1/' <<< "$line") $(sed 's/.*get=\([0-9]*\).*/\1/' <<< "$line")" >> "$WORK/results"
}

: > "$WORK/results"
for n in $SIZES; do
  store=$WORK/local-$n/store
  if [ ! -d "$store/chain" ]; then
    rm -rf "$WORK/local-$n"; mkdir -p "$store"
    python3 scripts/gen-chain.py "$store" "$n"
  fi
  [ "$SEGMENTS" = 0 ] || EVIDENCED_STORE_STATS=0 "$BIN" --store "$store" segments > /dev/null
  EVIDENCED_STORE_STATS=0 "$BIN" --store "$store" verify > /dev/null
  measure local "$n" "$store"
done

if [ -n "$S3_SIZES" ]; then
  # shellcheck source=scripts/moto.sh
  . scripts/moto.sh
  start_moto "$WORK/moto.port"
  export EVIDENCED_STORE__ENDPOINT_URL="$ENDPOINT" EVIDENCED_STORE__FORCE_PATH_STYLE=true
  for n in $S3_SIZES; do
    src=$WORK/s3src-$n
    if [ ! -d "$src/chain" ]; then
      rm -rf "$src"; mkdir -p "$src"; python3 scripts/gen-chain.py "$src" "$n"
    fi
    bucket=bench-chain-$n-$RANDOM
    .venv/bin/python scripts/upload_store.py "$ENDPOINT" "$bucket" "$src"
    store=s3://$bucket/ev
    [ "$SEGMENTS" = 0 ] || EVIDENCED_STORE_STATS=0 "$BIN" --store "$store" segments > /dev/null
    EVIDENCED_STORE_STATS=0 "$BIN" --store "$store" verify > /dev/null
    measure s3 "$n" "$store"
  done
fi

# The table, and each figure against its peer: the smallest size of its kind, and for
# local stores 100k against 10k.
python3 - "$WORK/results" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
res = {(k, int(n), c): (float(t), int(r), int(g)) for k, n, c, t, r, g in rows}
cmds = ["submit", "collect", "log", "verify", "report", "bundle"]
print("| store | records | command | time (s) | requests (GET) | time / smallest | requests / smallest |")
print("|---|---|---|---|---|---|---|")
for kind in ["local", "s3"]:
    sizes = sorted({n for k, n, _ in res if k == kind})
    for c in cmds:
        for n in sizes:
            t, r, g = res[(kind, n, c)]
            t0, r0, _ = res[(kind, sizes[0], c)]
            print(f"| {kind} | {n:,} | {c} | {t:.3f} | {r:,} ({g:,}) | {t / t0:.2f} | {r / max(r0, 1):.2f} |")
print()
for c in cmds:
    if ("local", 100000, c) in res and ("local", 10000, c) in res:
        t1, r1, _ = res[("local", 100000, c)]
        t0, r0, _ = res[("local", 10000, c)]
        print(f"{c}: 100k / 10k: time {t1 / t0:.2f}x, requests {r1 / max(r0, 1):.2f}x")
EOF
