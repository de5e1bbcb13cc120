#!/usr/bin/env bash
# Benchmark: `hoist copy --all` of a two-platform image (≈200 MB per platform, distinct
# layers) between two local `docker-registry` instances (data on tmpfs), against
# `skopeo copy --all` in the same run (each tool copies into its own fresh destination
# registry); then a same-registry copy into another repository (blob mounts only).
# Usage: bench/copy_registry.sh [MB_PER_PLATFORM] [FILES]
#   HOIST_BIN=path/to/hoist  use that binary instead of building target/release/hoist
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
mb=${1:-200}
files=${2:-10000}
tmp=$(mktemp -d /dev/shm/hoist-copy.XXXXXX)
# shellcheck source=bench/registry_lib.sh
source "$here/registry_lib.sh"

echo "generating 2 x ${mb} MB in ${files} files ..." >&2
python3 "$here/gen_context.py" "$tmp/ctx-amd64" "$mb" "$files"
cp -a "$tmp/ctx-amd64" "$tmp/ctx-arm64"
# Different bytes per platform, so the two layers are distinct blobs.
head -c $((4 << 20)) /dev/urandom > "$tmp/ctx-arm64/arm64.bin"
export HOIST_ROOT="$tmp/store"
"$hoist" build -q --platform linux/amd64 -t bench:amd64 "$tmp/ctx-amd64" >/dev/null
"$hoist" build -q --platform linux/arm64 -t bench:arm64 "$tmp/ctx-arm64" >/dev/null
"$hoist" manifest create bench:multi bench:amd64 bench:arm64 >/dev/null 2>&1
du -sh "$HOIST_ROOT/blobs" >&2

src=$(start_registry src)
dst_h=$(start_registry dst-hoist)
dst_s=$(start_registry dst-skopeo)
"$hoist" push -q bench:multi "$src/bench/app:1" >/dev/null

measure hoist-copy-all "$hoist" copy -q --all "$src/bench/app:1" "$dst_h/bench/app:1"
measure skopeo-copy-all skopeo copy -q --all --preserve-digests --src-tls-verify=false \
  --dest-tls-verify=false "docker://$src/bench/app:1" "docker://$dst_s/bench/app:1"
measure hoist-copy-again "$hoist" copy -q --all "$src/bench/app:1" "$dst_h/bench/app:1"
measure skopeo-copy-again skopeo copy -q --all --preserve-digests --src-tls-verify=false \
  --dest-tls-verify=false "docker://$src/bench/app:1" "docker://$dst_s/bench/app:1"
measure hoist-same-registry "$hoist" copy -q --all "$src/bench/app:1" "$src/mirror/app:1"
measure skopeo-same-registry skopeo copy -q --all --preserve-digests --src-tls-verify=false \
  --dest-tls-verify=false "docker://$src/bench/app:1" "docker://$src/skopeo-mirror/app:1"

d1=$(skopeo inspect --raw --tls-verify=false "docker://$dst_h/bench/app:1" | sha256sum | cut -c1-16)
d2=$(skopeo inspect --raw --tls-verify=false "docker://$dst_s/bench/app:1" | sha256sum | cut -c1-16)
echo "index digest via hoist: $d1  via skopeo: $d2" >&2
[ "$d1" = "$d2" ] || { echo "digests differ" >&2; exit 1; }

ratio hoist-copy-all skopeo-copy-all
ratio hoist-copy-again skopeo-copy-again
ratio hoist-same-registry skopeo-same-registry
