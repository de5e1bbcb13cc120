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
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

if [ -n "${HOIST_BIN:-}" ]; then
  hoist=$HOIST_BIN
else
  (cd "$repo" && cargo build --release -q -p hoist-cli)
  hoist="$repo/target/release/hoist"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_registry() { # name -> prints host:port
  local name=$1 port
  port=$(free_port)
  mkdir -p "$tmp/$name"
  cat > "$tmp/$name/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $tmp/$name/data
http:
  addr: 127.0.0.1:$port
  secret: bench
YML
  /usr/bin/docker-registry serve "$tmp/$name/config.yml" >"$tmp/$name/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  echo "127.0.0.1:$port"
}

measure() { # name, command...: prints "name seconds peak_rss_kb"
  local name=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
  read -r secs rss < "$tmp/time"
  printf '%-22s %8.2f s  %8d KB peak RSS\n' "$name" "$secs" "$rss"
  echo "$secs" > "$tmp/$name.secs"
}
ratio() { awk -v h="$(cat "$tmp/$1.secs")" -v s="$(cat "$tmp/$2.secs")" -v a="$1" -v b="$2" \
  'BEGIN { printf "%s / %s = %.3f\n", a, b, h / s }'; }

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
