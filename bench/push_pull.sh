#!/usr/bin/env bash
# Benchmark: push a ~400 MB single-layer image to a local `docker-registry` (data on
# tmpfs) with hoist and with `skopeo copy oci:… docker://…`, in the same run; push
# again (every blob exists); pull into an empty store / layout.
# Each tool gets its own fresh registry so neither benefits from the other's blobs.
# Usage: bench/push_pull.sh [TOTAL_MB] [FILES]
#   HOIST_BIN=path/to/hoist  use that binary instead of building target/release/hoist
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
mb=${1:-400}
files=${2:-20000}
tmp=$(mktemp -d /dev/shm/hoist-push.XXXXXX)
# shellcheck source=bench/registry_lib.sh
source "$here/registry_lib.sh"

echo "generating ${mb} MB in ${files} files ..." >&2
python3 "$here/gen_context.py" "$tmp/ctx" "$mb" "$files"
export HOIST_ROOT="$tmp/store"
"$hoist" build -q -t bench:1 "$tmp/ctx" >/dev/null
du -sh "$HOIST_ROOT/blobs" >&2

a=$(start_registry reg-hoist)
b=$(start_registry reg-skopeo)
src="oci:$HOIST_ROOT:docker.io/library/bench:1"

measure hoist-push "$hoist" push -q bench:1 "$a/hoist/bench:1"
measure skopeo-push skopeo copy -q --dest-tls-verify=false "$src" "docker://$b/skopeo/bench:1"
measure hoist-push-again "$hoist" push -q bench:1 "$a/hoist/bench:1"
measure skopeo-push-again skopeo copy -q --dest-tls-verify=false "$src" "docker://$b/skopeo/bench:1"
HOIST_ROOT="$tmp/store2" measure hoist-pull "$hoist" pull -q "$a/hoist/bench:1"
measure skopeo-pull skopeo copy -q --src-tls-verify=false "docker://$b/skopeo/bench:1" "oci:$tmp/skopeo-layout:bench"

ratio hoist-push skopeo-push
ratio hoist-push-again skopeo-push-again
ratio hoist-pull skopeo-pull
