#!/usr/bin/env bash
# Install what the tests and the demo need, idempotently:
# - the moto server (pinned) in a Python venv at .venv, the AWS emulator the tests start;
# - jq, groff and script from Debian's packages (below).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"

if ! .venv/bin/python -c "import moto, sys; sys.exit(0 if moto.__version__ == '$MOTO_VERSION' else 1)" 2>/dev/null; then
  echo "setup: installing moto[server]==$MOTO_VERSION into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" boto3
fi

# Debian packages by the command the tests run: jq (the shell-only verifier), groff (the
# generated man pages are rendered), script (a terminal for the progress display).
missing=()
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v groff >/dev/null 2>&1 || missing+=(groff-base)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: ${missing[*]} missing and apt-get is unavailable; install them" >&2
    exit 1
  fi
fi
