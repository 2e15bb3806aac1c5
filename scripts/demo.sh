#!/usr/bin/env bash
# The main job on the embedded default: submit the example drill logs shipped in
# config/examples/ into ./evidence, verify the store, and show the chain.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
BIN=target/release/evidenced
STORE="${EVIDENCED_STORE__URL:-./evidence}"
echo "== submit config/examples/* into $STORE"
"$BIN" --store "$STORE" submit config/examples/*
echo "== verify"
"$BIN" --store "$STORE" verify
echo "== log"
"$BIN" --store "$STORE" log
