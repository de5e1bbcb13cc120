#!/usr/bin/env bash
# RUN-heavy builds: hoist vs buildah (overlay, chroot isolation), both on tmpfs.
#
#   bench/run_build.sh                      # as the caller (root: buildah's rootful overlay)
#   bench/run_build.sh --rootless hoisttest # both tools as that unprivileged user
#   HOIST=/path/to/hoist RUNS=5 bench/run_build.sh
#
# hoist is $HOIST, else $CARGO_TARGET_DIR/release/hoist, else target/release/hoist.
# 1. busybox base + 5 RUN steps creating ~50 MB of random data (incompressible:
#    hoist stores such blocks instead of deflating them), modifying and deleting
#    some of it.
# 2. snapshot cost: a one-file RUN on a base image with ~20,000 files.
# 3. `hoist run` of that base vs buildah from + run + rm.
# Needs: busybox-static, buildah, hyperfine; for --rootless, a user with
# /etc/subuid and /etc/subgid ranges and newuidmap (package uidmap).
set -euo pipefail

if [[ ${1:-} == --rootless ]]; then
  user=${2:?usage: $0 --rootless USER}
  [[ $(id -u) == 0 ]] || { echo "--rootless: start as root, it switches to $user" >&2; exit 1; }
  here=$(cd "$(dirname "$0")/.." && pwd)
  hoist=${HOIST:-}
  [[ -n $hoist ]] || hoist=${CARGO_TARGET_DIR:-$here/target}/release/hoist
  home=$(mktemp -d -p /dev/shm hoist-run-bench-user.XXXXXX)
  trap 'rm -rf "$home"' EXIT
  install -m 0755 "$hoist" "$home/hoist"
  install -m 0755 "$0" "$home/run_build.sh"
  chown "$user" "$home"
  runuser -u "$user" -- env HOME="$home" XDG_RUNTIME_DIR="$home/xdg" TMPDIR=/dev/shm \
    HOIST="$home/hoist" RUNS="${RUNS:-3}" bash -c "mkdir -p \$XDG_RUNTIME_DIR && cd /tmp && $home/run_build.sh"
  exit
fi

here=$(cd "$(dirname "$0")/.." && pwd)
HOIST=${HOIST:-}
if [[ -z $HOIST ]]; then
  for c in "${CARGO_TARGET_DIR:-$here/target}/release/hoist" "$here/target/release/hoist"; do
    [[ -x $c ]] && HOIST=$c && break
  done
fi
[[ -x $HOIST ]] || { echo "build hoist first (cargo build --release -p hoist-cli)" >&2; exit 1; }
RUNS=${RUNS:-3}
W=$(mktemp -d -p /dev/shm hoist-run-bench.XXXXXX)
# Rootless buildah leaves files owned by subordinate ids: remove them from its namespace.
trap 'buildah unshare rm -rf "$W" 2>/dev/null || rm -rf "$W"' EXIT
echo "hoist: $HOIST; work dir (tmpfs): $W; runs: $RUNS; user: $(id -un)"

ctx=$W/ctx
mkdir -p "$ctx"
cp /bin/busybox "$ctx/busybox"
cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /w && head -c 10485760 /dev/urandom > /w/a && head -c 10485760 /dev/urandom > /w/b
RUN head -c 10485760 /dev/urandom > /w/c && rm /w/a
RUN head -c 10485760 /dev/urandom > /w/d && head -c 1048576 /dev/urandom >> /w/b
RUN head -c 5242880 /dev/urandom > /w/e && rm /w/c
RUN head -c 5242880 /dev/urandom > /w/f && mkdir -p /w/g && echo done > /w/g/x
EOF

export HOIST_ROOT=$W/hoist-store
B="buildah --root $W/buildah-root --runroot $W/buildah-run --storage-driver overlay"

echo "== 1. five RUN steps, ~50 MB =="
hyperfine -w 1 -r "$RUNS" \
  --prepare "rm -rf $HOIST_ROOT" \
  -n hoist "$HOIST build -q -t bench:run $ctx" \
  --prepare "$B rmi -a -f >/dev/null 2>&1 || true" \
  -n buildah-overlay-chroot "$B bud -q --layers=false --isolation chroot -t bench:run $ctx"

echo "== 2. one-file RUN on a base with ~20,000 files =="
base=$W/base
mkdir -p "$base"
cp /bin/busybox "$base/busybox"
cat >"$base/Dockerfile" <<'EOF'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN for d in $(seq 1 200); do mkdir -p /many/$d; for f in $(seq 1 100); do echo $d$f > /many/$d/$f; done; done
EOF
child=$W/child
mkdir -p "$child"
printf 'FROM localhost/bench-base:1\nRUN echo changed > /many/7/7\n' >"$child/Dockerfile"
rm -rf "$HOIST_ROOT"
"$HOIST" build -q -t localhost/bench-base:1 "$base" >/dev/null
$B bud -q --layers=false --isolation chroot -t localhost/bench-base:1 "$base" >/dev/null
# hoist-copied-rootfs: the fallback without overlayfs (chroot isolation, or a
# filesystem without user xattrs): unpack the base, snapshot, diff.
hyperfine -w 1 -r "$RUNS" \
  -n hoist "$HOIST build -q -t bench:child $child" \
  -n hoist-copied-rootfs "HOIST_OVERLAY=0 $HOIST build -q -t bench:child $child" \
  -n buildah-overlay-chroot "$B bud -q --layers=false --isolation chroot -t bench:child $child"

echo "== 2b. hoist's snapshot + diff of that one-file RUN (from its debug log) =="
echo "(overlay: the diff is a walk of the step's upper directory, there is no snapshot)"
for mode in 1 0; do
  for i in $(seq 1 "$RUNS"); do
    HOIST_OVERLAY=$mode HOIST_LOG=hoist_build=debug "$HOIST" build -q -t bench:child "$child" 2>&1 >/dev/null |
      grep -E 'rootfs (snapshot|diff)' | sed -E "s/.*(rootfs [a-z]+).*elapsed=([^ ]+).*/overlay=$mode \\1 \\2/"
  done
done

echo "== 3. a throwaway container on that base: hoist run vs buildah from/run/rm =="
hyperfine -w 1 -r "$RUNS" \
  -n hoist-run "$HOIST run localhost/bench-base:1 -- cat /many/7/7" \
  -n buildah-from-run-rm "c=\$($B from -q localhost/bench-base:1) && $B run --isolation chroot \$c -- cat /many/7/7 && $B rm \$c"
