#!/usr/bin/env bash
# Compare two builds on the chain-length benchmark's local stores (scripts/bench-chain.sh
# makes them): `report` and `bundle` of the last 91 days of each, the two builds run in turn
# RUNS times each, so that both see the same machine load. Prints, per size, command and
# build, the median wall time and the store requests of the last run.
#
# usage: OLD_BIN=<old evidenced> BIN=<new evidenced> [RUNS=3] [SIZES="10000 100000 300000"] \
#          scripts/bench-ab-report.sh WORK
# (WORK as given to bench-chain.sh, holding local-<n>/store and signed.toml)
set -euo pipefail
WORK=${1:?usage: OLD_BIN=... BIN=... scripts/bench-ab-report.sh WORK}
: "${OLD_BIN:?set OLD_BIN}" "${BIN:?set BIN}"
RUNS=${RUNS:-3}
export EVIDENCED_STORE_STATS=1
unset EVIDENCED_CONFIG
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for n in ${SIZES:-10000 100000 300000}; do
  store=$WORK/local-$n/store
  last=$("$BIN" --store "$store" log --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["recorded_at"])')
  from=$(python3 -c "import datetime,sys; t=datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')); print((t-datetime.timedelta(days=91)).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$last")
  for cmd in report bundle; do
    if [ "$cmd" = report ]; then
      args=(--store "$store" report --format json --from "$from" --to "$last")
    else
      args=(--store "$store" --config "$WORK/signed.toml" bundle --force --from "$from" --to "$last" -o "$tmp/b.tar.gz")
    fi
    : > "$tmp/old.t"; : > "$tmp/new.t"
    for _ in $(seq 1 "$RUNS"); do
      for which in old new; do
        bin=$OLD_BIN; [ "$which" = new ] && bin=$BIN
        s=$(date +%s.%N)
        "$bin" "${args[@]}" > /dev/null 2> "$tmp/$which.err" || { cat "$tmp/$which.err" >&2; exit 1; }
        e=$(date +%s.%N)
        echo "$e - $s" | bc >> "$tmp/$which.t"
      done
    done
    for which in old new; do
      req=$(grep '^store requests:' "$tmp/$which.err" | tail -n1 | sed 's/.*total=\([0-9]*\).*/\1/')
      printf '%s %s %s %s s %s req\n' "$n" "$cmd" "$which" "$(median < "$tmp/$which.t")" "$req"
    done
  done
done
