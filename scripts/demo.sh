#!/usr/bin/env bash
# The collectors demo: start a moto server (from .venv), seed it with a small account
# (scripts/seed_moto.py), drop the example drill logs of config/examples/ into ./demo-inbox,
# run every collector once into ./evidence (config/demo.toml), then verify the store, show
# the chain, and stop moto.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --quiet
BIN=target/release/evidenced

PORTFILE=$(mktemp)
# The launcher serves until its standard input closes: fd 3 holds it open.
exec 3> >(exec .venv/bin/python tests/support/moto_launcher.py >"$PORTFILE" 2>/dev/null)
MOTO_PID=$!
stop_moto() { exec 3>&-; wait "$MOTO_PID" 2>/dev/null || true; rm -f "$PORTFILE"; }
trap stop_moto EXIT
for _ in $(seq 1 200); do [ -s "$PORTFILE" ] && break; sleep 0.05; done
PORT=$(head -n1 "$PORTFILE")
[ -n "$PORT" ] || { echo "moto did not start" >&2; exit 3; }
ENDPOINT="http://127.0.0.1:$PORT"
echo "== moto on $ENDPOINT"

echo "== seed"
.venv/bin/python scripts/seed_moto.py "$ENDPOINT"

echo "== drop config/examples/* into ./demo-inbox"
mkdir -p demo-inbox
cp config/examples/* demo-inbox/

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export EVIDENCED_AWS__ENDPOINT_URL="$ENDPOINT"
echo "== collect --once"
"$BIN" --config config/demo.toml collect --once
echo "== verify"
"$BIN" --config config/demo.toml verify
echo "== log"
"$BIN" --config config/demo.toml log
echo "== report (requirements over four whole quarters and the current one, from the store alone)"
"$BIN" --config config/demo.toml report --format md
