#!/usr/bin/env bash
# Benchmark: FROM scratch + COPY . /app of a ~400 MB / ~20,000-file context.
# hoist (gzip, zstd) vs `buildah bud --isolation chroot --storage-driver overlay`, same run,
# everything on tmpfs (this disk drifts under create/delete-heavy runs).
# Usage: bench/copy_build.sh [TOTAL_MB] [FILES]     (needs root for buildah overlay)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
mb=${1:-400}
files=${2:-20000}
tmp=$(mktemp -d /dev/shm/hoist-bench.XXXXXX)
trap 'buildah --root "$tmp/buildah" --runroot "$tmp/run" --storage-driver overlay rmi -af >/dev/null 2>&1 || true; umount -R "$tmp/buildah/overlay" 2>/dev/null || true; rm -rf "$tmp"' EXIT

(cd "$repo" && cargo build --release -q -p hoist-cli)
hoist=${CARGO_TARGET_DIR:-$repo/target}/release/hoist
echo "generating ${mb} MB in ${files} files under $tmp/ctx ..." >&2
python3 "$here/gen_context.py" "$tmp/ctx" "$mb" "$files"
du -sh "$tmp/ctx" >&2

measure() { # name, command...: prints "name seconds peak_rss_kb"
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
  read -r secs rss < "$tmp/time"
  printf '%-28s %8.2f s  %8d KB peak RSS\n' "$name" "$secs" "$rss"
  echo "$secs" > "$tmp/$name.secs"
}

export HOIST_ROOT="$tmp/hoist"
measure hoist-gzip "$hoist" build -q -t bench:gzip "$tmp/ctx"
rm -rf "$HOIST_ROOT"
measure hoist-zstd "$hoist" build -q --compression zstd -t bench:zstd "$tmp/ctx"
rm -rf "$HOIST_ROOT"
if command -v buildah >/dev/null; then
  measure buildah-overlay buildah --root "$tmp/buildah" --runroot "$tmp/run" --storage-driver overlay \
    bud --isolation chroot -q -t bench:buildah "$tmp/ctx"
  b=$(cat "$tmp/buildah-overlay.secs")
  for n in hoist-gzip hoist-zstd; do
    awk -v h="$(cat "$tmp/$n.secs")" -v b="$b" -v n="$n" 'BEGIN { printf "%s / buildah-overlay = %.3f\n", n, h / b }'
  done
else
  echo "buildah not installed: no ratio" >&2
fi
