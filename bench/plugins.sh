#!/bin/sh
# Plugin host timings: cold load (compile), cached load (disk cache, new host) and
# warm auth call, for the built-in docker-config and acr plugins (acr against a
# loopback stand-in of ACR's token exchange). Targets: warm call <= 5 ms, cold load
# <= 1 s, cached load <= 50 ms.
#
#   CARGO_TARGET_DIR=/tmp/target-X bench/plugins.sh [ROUNDS [CALLS]]
#
# The compile cache lives in a temp dir; TMPDIR defaults to /dev/shm (tmpfs) here.
set -eu
cd "$(dirname "$0")/.."
export TMPDIR="${TMPDIR:-/dev/shm}"
cargo build --release -p hoist-plugin --example plugin_bench
exe="${CARGO_TARGET_DIR:-target}/release/examples/plugin_bench"
"$exe" "${1:-5}" "${2:-200}"
