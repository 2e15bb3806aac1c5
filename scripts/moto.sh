# Sourced by the S3 benchmarks (scripts/bench-chain.sh, scripts/bench-s3-sync.sh,
# scripts/bench-segment-write.sh):
# `start_moto PORTFILE` installs moto when missing (scripts/setup.sh), starts it on
# 127.0.0.1 (tests/support/moto_launcher.py, which serves until its standard input closes:
# fd 3 holds it open, and the EXIT trap closes it), sets ENDPOINT, and exports test
# credentials that reach nothing but the emulator.
start_moto() {
  local portfile=$1
  bash scripts/setup.sh > /dev/null
  : > "$portfile"
  exec 3> >(exec .venv/bin/python tests/support/moto_launcher.py > "$portfile" 2> /dev/null)
  MOTO_PID=$!
  trap 'exec 3>&-; wait "$MOTO_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 1 200); do [ -s "$portfile" ] && break; sleep 0.05; done
  [ -s "$portfile" ] || { echo "moto did not start" >&2; exit 1; }
  ENDPOINT="http://127.0.0.1:$(head -n1 "$portfile")"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
}
