#!/usr/bin/env bash
# The cost of the pinned CloudWatch client (docs/BENCHMARKS.md, "Dependencies"): builds, from
# scratch and one after the other, two small programs with the project's S3 and aws-config
# dependencies (same features, same Cargo.lock) and a CloudWatch client, once at the pinned
# version and once at the newest; prints CPU time (user + sys, which other load on the
# machine barely changes), wall time, crates compiled, duplicated crates and the stripped
# release binary's size.
#
#   scripts/bench-cloudwatch-client.sh [WORKDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
pinned=$(sed -n 's/^aws-sdk-cloudwatch = { version = "=\([0-9.]*\)".*/\1/p' "$root/Cargo.toml" | head -1)
for v in pinned current; do
  mkdir -p "$work/$v/src"
  req=$([ "$v" = pinned ] && echo "\"=$pinned\"" || echo '"1"')
  cat > "$work/$v/Cargo.toml" <<TOML
[package]
name = "cw-$v"
version = "0.1.0"
edition = "2021"

[dependencies]
tokio = { version = "1", features = ["rt-multi-thread", "macros"] }
aws-config = { version = "1", default-features = false, features = ["rt-tokio", "default-https-client", "behavior-version-latest", "sso", "credentials-process"] }
aws-sdk-s3 = { version = "1", default-features = false, features = ["rt-tokio", "default-https-client", "http-1x", "behavior-version-latest"] }
aws-sdk-cloudwatch = { version = $req, default-features = false, features = ["rt-tokio", "default-https-client", "behavior-version-latest"] }

[profile.release]
strip = true
lto = "thin"
codegen-units = 4
TOML
  cat > "$work/$v/src/main.rs" <<'RS'
#[tokio::main]
async fn main() {
    let sdk = aws_config::load_from_env().await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let cw = aws_sdk_cloudwatch::Client::new(&sdk);
    let _ = s3.list_buckets().send().await;
    let _ = cw.describe_alarms().send().await;
    let _ = cw.put_metric_data().namespace("x").send().await;
}
RS
  cp "$root/Cargo.lock" "$work/$v/"
  (cd "$work/$v" && if [ "$v" = current ]; then cargo update -q -p aws-sdk-cloudwatch; fi && cargo metadata -q --format-version 1 > /dev/null)
done
for v in pinned current; do
  rm -rf "$work/target-$v"
  (cd "$work/$v" && CARGO_TARGET_DIR="$work/target-$v" /usr/bin/time -f "$v: wall %e s, cpu user %U s + sys %S s" \
     cargo build --release -j2 2> "$work/$v.log") || { tail -20 "$work/$v.log"; exit 1; }
  tail -n 1 "$work/$v.log"
  echo "$v: aws-sdk-cloudwatch $(grep -A1 'name = "aws-sdk-cloudwatch"' "$work/$v/Cargo.lock" | sed -n 's/version = "\(.*\)"/\1/p'), $(grep -c Compiling "$work/$v.log") crates, $(cd "$work/$v" && cargo tree -d -e normal --depth 0 2>/dev/null | grep -c '^[a-z]') duplicated-crate lines, binary $(stat -c %s "$work/target-$v/release/cw-$v") B"
done
