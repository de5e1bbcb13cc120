# Shared by bench/push_pull.sh and bench/copy_registry.sh (sourced, not run): the
# hoist binary, throwaway docker-registry instances on tmpfs, timing and ratios.
# The caller sets $repo (the checkout) and $tmp (a tmpfs work dir) first.
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
