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
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

if [ -n "${HOIST_BIN:-}" ]; then
  hoist=$HOIST_BIN
else
  (cd "$repo" && cargo build --release -q -p hoist-cli)
  hoist="${CARGO_TARGET_DIR:-$repo/target}/release/hoist"
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
