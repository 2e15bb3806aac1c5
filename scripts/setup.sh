#!/usr/bin/env bash
# Install what the tests and the demo need, idempotently:
# - the moto server (pinned) in a Python venv at .venv, the AWS emulator the tests start;
# - compliance-trestle (pinned) in the same .venv, which validates the OSCAL exports in the
#   tests (its dependencies leave moto's as they are: `pip check` below says so);
# - from Debian's packages: jq (the shell-only verifier that docs/FORMAT.md documents, run
#   by a test), chromium (renders the HTML report in the tests, headless, no network),
#   groff (renders the generated man pages) and script (a terminal for the progress line).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
# 3.12.x is the last line on OSCAL 1.1 (1.1.3); 4.x and later speak OSCAL 1.2.
TRESTLE_VERSION="3.12.4"

if ! .venv/bin/python -c "import moto, sys; sys.exit(0 if moto.__version__ == '$MOTO_VERSION' else 1)" 2>/dev/null; then
  echo "setup: installing moto[server]==$MOTO_VERSION into .venv" >&2
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" boto3
fi

if ! .venv/bin/python -c "import importlib.metadata as m, sys; sys.exit(0 if m.version('compliance-trestle') == '$TRESTLE_VERSION' else 1)" 2>/dev/null; then
  echo "setup: installing compliance-trestle==$TRESTLE_VERSION into .venv" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "compliance-trestle==$TRESTLE_VERSION"
  .venv/bin/python -m pip check >&2
fi

# Debian packages, by the command the tests run.
missing=()
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
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
